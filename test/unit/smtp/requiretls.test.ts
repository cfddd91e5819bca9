// REQUIRETLS (RFC 8689): advertised and accepted only over TLS, carried in the envelope, honoured by the client; TLS-Required: No.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpSession } from '../../../src/smtp/server/session.js';
import { parseMailParams } from '../../../src/smtp/esmtp-params.js';
import { localRefusal } from '../../../src/smtp/client/client-pending.js';
import {
  mailCommand,
  NO_EXTENSIONS,
  type OutboundMessage,
} from '../../../src/smtp/client/client-commands.js';
import { tlsRequiredNo } from '../../../src/smtp/client/tls-policy/require-tls.js';
import { fakeServices, testPeer, testPolicy } from '../../helpers/smtp-fakes.js';
import type { SmtpPeer } from '../../../src/smtp/server/services.js';

function open(peer: Partial<SmtpPeer>) {
  const services = fakeServices();
  const session = new SmtpSession({
    policy: testPolicy({ tlsAvailable: true }),
    services,
    peer: testPeer(peer),
  });
  session.greet();
  const send = async (text: string) =>
    (await session.feed(Buffer.from(text, 'utf8'))).replies.split('\r\n').filter((l) => l !== '');
  return { services, send };
}

describe('REQUIRETLS on the server (RFC 8689 2, 3)', () => {
  test('offered in EHLO only within TLS', async () => {
    const plain = open({ secure: false });
    assert.ok(!(await plain.send('EHLO c.example\r\n')).some((l) => l.endsWith('REQUIRETLS')));
    const secure = open({ secure: true });
    assert.ok((await secure.send('EHLO c.example\r\n')).some((l) => l.slice(4) === 'REQUIRETLS'));
  });

  test('MAIL FROM ... REQUIRETLS outside TLS: 530 5.7.10; within TLS it is stored with the message', async () => {
    const plain = open({ secure: false });
    await plain.send('EHLO c.example\r\n');
    assert.match((await plain.send('MAIL FROM:<a@c.example> REQUIRETLS\r\n'))[0] ?? '', /^530 5\.7\.10 /);
    const secure = open({ secure: true });
    await secure.send('EHLO c.example\r\n');
    assert.match((await secure.send('MAIL FROM:<a@c.example> REQUIRETLS\r\n'))[0] ?? '', /^250 /);
    await secure.send('RCPT TO:<Jones@foo.com>\r\n');
    await secure.send('DATA\r\n');
    await secure.send('Subject: s\r\n\r\nhi\r\n.\r\n');
    assert.equal(secure.services.delivered[0]?.envelope.requireTls, true);
  });

  test('the parameter takes no value', () => {
    assert.deepEqual(parseMailParams('REQUIRETLS'), { requireTls: true });
    assert.ok(parseMailParams('REQUIRETLS=YES') instanceof Error);
  });
});

describe('REQUIRETLS on the client (RFC 8689 4.2.1)', () => {
  const msg: OutboundMessage = {
    id: 'Q1',
    sender: 'a@a.test',
    recipients: [{ address: 'b@b.test' }],
    size: 10,
    eightBit: false,
    smtpUtf8: false,
    requireTls: true,
  };
  const ext = { ...NO_EXTENSIONS, requireTls: true };
  test('no TLS or an unvalidated certificate: 5.7.10; no REQUIRETLS at the peer: 5.7.30; else sent with the parameter', () => {
    assert.match(localRefusal(msg, ext, { active: false, verified: false }) ?? '', /^550 5\.7\.10 /);
    assert.match(localRefusal(msg, ext, { active: true, verified: false }) ?? '', /^550 5\.7\.10 /);
    assert.match(localRefusal(msg, NO_EXTENSIONS, { active: true, verified: true }) ?? '', /^550 5\.7\.30 /);
    assert.equal(localRefusal(msg, ext, { active: true, verified: true }), null);
    assert.equal(mailCommand(msg, ext, undefined), 'MAIL FROM:<a@a.test> REQUIRETLS\r\n');
    // A message without REQUIRETLS is unaffected.
    assert.equal(localRefusal({ ...msg, requireTls: false }, NO_EXTENSIONS), null);
  });
});

describe('TLS-Required: No (RFC 8689 5)', () => {
  const rows: [string, boolean][] = [
    ['TLS-Required: No\r\nSubject: x\r\n\r\nbody', true],
    ['Subject: x\r\ntls-required:no\r\n\r\nbody', true],
    ['Subject: x\r\nTLS-Required:\r\n No\r\n\r\nbody', true], // folded
    ['Subject: x\r\n\r\nTLS-Required: No\r\n', false], // in the body
    ['TLS-Required: Yes\r\n\r\n', false],
    ['X-TLS-Required: No\r\n\r\n', false],
  ];
  for (const [text, expected] of rows)
    test(JSON.stringify(text), () => assert.equal(tlsRequiredNo(Buffer.from(text)), expected));
});
