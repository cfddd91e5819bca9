// HTTP Basic parsing (RFC 7617): the RFC's example, then malformed and hostile headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBasicAuth } from '../../../src/http/basic-auth.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

test('RFC 7617 2: "Aladdin:open sesame"', () => {
  assert.deepEqual(parseBasicAuth('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='), {
    username: 'Aladdin',
    password: 'open sesame',
  });
});

test('RFC 7617 2.1: UTF-8 user-id and password; the password may contain colons; the scheme is case-insensitive', () => {
  assert.deepEqual(parseBasicAuth(`basic ${b64('test:123£')}`), { username: 'test', password: '123£' });
  assert.deepEqual(parseBasicAuth(`BASIC ${b64('bob@example.test:a:b:c')}`), {
    username: 'bob@example.test',
    password: 'a:b:c',
  });
  assert.deepEqual(parseBasicAuth(`Basic ${b64('bob@example.test:')}`), {
    username: 'bob@example.test',
    password: '',
  });
});

test('anything else is null', () => {
  const rows: (string | undefined)[] = [
    undefined,
    '',
    'Bearer abc',
    'Basic',
    'Basic !!!',
    `Basic ${b64('no colon')}`,
    `Basic ${b64(':password only')}`,
    `Basic ${b64('bob\r\nX-Injected: 1:pw')}`,
    `Basic ${b64('bob:pw\0')}`,
    `Basic ${Buffer.from([0x62, 0xff, 0x3a, 0x70]).toString('base64')}`, // not UTF-8
    `Basic ${'A'.repeat(10_000)}`,
  ];
  for (const header of rows) assert.equal(parseBasicAuth(header), null, String(header).slice(0, 40));
});
