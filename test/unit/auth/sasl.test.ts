// SASL PLAIN (RFC 4616) and LOGIN decoding: RFC examples first, then malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSaslBase64, decodeSaslPlain, encodeSaslPlain } from '../../../src/auth/sasl/plain.js';
import {
  LOGIN_PASSWORD_PROMPT,
  LOGIN_USERNAME_PROMPT,
  decodeSaslLoginField,
} from '../../../src/auth/sasl/login.js';

test('RFC 4616 4 examples', () => {
  // "\0tim\0tanstaaftanstaaf" and "Ursel\0Kurt\0xipj3plmq"
  assert.deepEqual(decodeSaslPlain('AHRpbQB0YW5zdGFhZnRhbnN0YWFm'), {
    ok: true,
    authzid: '',
    authcid: 'tim',
    password: 'tanstaaftanstaaf',
  });
  assert.deepEqual(decodeSaslPlain('VXJzZWwAS3VydAB4aXBqM3BsbXE='), {
    ok: true,
    authzid: 'Ursel',
    authcid: 'Kurt',
    password: 'xipj3plmq',
  });
  assert.deepEqual(decodeSaslPlain(encodeSaslPlain('ü@x', 'pä')), {
    ok: true,
    authzid: '',
    authcid: 'ü@x',
    password: 'pä',
  });
});

test('malformed PLAIN', () => {
  assert.deepEqual(decodeSaslPlain('!!!notbase64'), { ok: false, reason: 'bad-base64' });
  assert.deepEqual(decodeSaslPlain('abc'), { ok: false, reason: 'bad-base64' });
  assert.deepEqual(decodeSaslPlain('='), { ok: false, reason: 'malformed' });
  assert.deepEqual(decodeSaslPlain(Buffer.from('a\0b').toString('base64')), {
    ok: false,
    reason: 'malformed',
  });
  assert.deepEqual(decodeSaslPlain(Buffer.from('\0\0pw').toString('base64')), {
    ok: false,
    reason: 'malformed',
  });
  assert.deepEqual(decodeSaslPlain(Buffer.from('\0u\0p\0x').toString('base64')), {
    ok: false,
    reason: 'malformed',
  });
  assert.deepEqual(decodeSaslPlain(Buffer.from([0, 0x75, 0, 0xff]).toString('base64')), {
    ok: false,
    reason: 'malformed',
  });
  assert.deepEqual(decodeSaslBase64('QQ=='), Buffer.from('A'));
  assert.equal(decodeSaslBase64('Q Q='), null);
});

test('LOGIN prompts and fields', () => {
  assert.equal(LOGIN_USERNAME_PROMPT, 'VXNlcm5hbWU6');
  assert.equal(LOGIN_PASSWORD_PROMPT, 'UGFzc3dvcmQ6');
  assert.deepEqual(decodeSaslLoginField('YWxpY2U='), { ok: true, value: 'alice' });
  assert.deepEqual(decodeSaslLoginField('*'), { ok: false, reason: 'bad-base64' });
  assert.deepEqual(decodeSaslLoginField('='), { ok: false, reason: 'malformed' });
});
