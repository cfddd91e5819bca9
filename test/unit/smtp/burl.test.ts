// BURL (RFC 4468) in the SMTP session with a fake resolver: parsing, where it is offered, sequence, replies, size limit, BDAT mixing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commandForLog, SmtpSession } from '../../../src/smtp/server/session.js';
import { parseSmtpCommand } from '../../../src/smtp/server/command-parser.js';
import { ProtocolError } from '../../../src/errors.js';
import type { BurlFetch } from '../../../src/imap/urlauth.js';
import type { SmtpPolicy } from '../../../src/smtp/server/services.js';
import { fakeServices, testPeer, testPolicy } from '../../helpers/smtp-fakes.js';

const URLS: Record<string, BurlFetch> = {
  'imap://bob@example.test/Drafts/;UID=1;URLAUTH=submit+bob:INTERNAL:00': {
    kind: 'ok',
    bytes: Buffer.from('Subject: s\r\n\r\nbody\r\n'),
  },
  'imap://x/big': { kind: 'ok', bytes: Buffer.alloc(2000, 0x61) },
  'imap://x/gone': { kind: 'unavailable' },
  'imap://x/other': { kind: 'not-authorized' },
};
const GOOD = Object.keys(URLS)[0] as string;

function open(policy: Partial<SmtpPolicy> = {}, withBurl = true) {
  const services = fakeServices();
  const asked: Array<[string, string]> = [];
  if (withBurl) {
    services.burl = async (url, account) => {
      asked.push([url, account]);
      return URLS[url] ?? { kind: 'not-authorized' };
    };
  }
  const session = new SmtpSession({
    policy: testPolicy({ role: 'submission', maxMessageSize: 1000, ...policy }),
    services,
    peer: testPeer({ secure: true }),
  });
  session.greet();
  const send = async (text: string) =>
    (await session.feed(Buffer.from(text, 'utf8'))).replies.split('\r\n').filter((l) => l !== '');
  const login = async () => {
    await send('EHLO c.example\r\n');
    const auth = Buffer.from('\0bob@example.test\0bob-secret').toString('base64');
    assert.match((await send(`AUTH PLAIN ${auth}\r\n`))[0] ?? '', /^235 /);
    assert.match((await send('MAIL FROM:<bob@example.test>\r\n'))[0] ?? '', /^250 /);
  };
  return { services, send, login, asked };
}

describe('BURL command syntax (RFC 4468 3)', () => {
  test('rows', () => {
    assert.deepEqual(parseSmtpCommand(`BURL ${GOOD} LAST`), { verb: 'BURL', url: GOOD, last: true });
    assert.deepEqual(parseSmtpCommand('burl imap://h/x'), { verb: 'BURL', url: 'imap://h/x', last: false });
    // URLAUTH URLs outgrow 512 octets: BURL lines get the AUTH limit.
    const long = `imap://h/${'a'.repeat(900)}`;
    assert.deepEqual(parseSmtpCommand(`BURL ${long}`), { verb: 'BURL', url: long, last: false });
    for (const bad of ['BURL', 'BURL ', 'BURL a b', 'BURL a LAST x', `BURL ${'a'.repeat(13000)}`]) {
      assert.ok(parseSmtpCommand(bad) instanceof ProtocolError, bad);
    }
  });
});

describe('BURL in the session', () => {
  test('offered on submission only, and only with a resolver', async () => {
    const sub = open();
    assert.ok((await sub.send('EHLO c\r\n')).includes('250-BURL imap'));
    const mx = open({ role: 'mx' });
    assert.ok(!(await mx.send('EHLO c\r\n')).some((l) => l.includes('BURL')));
    const none = open({}, false);
    assert.ok(!(await none.send('EHLO c\r\n')).some((l) => l.includes('BURL')));
  });

  test('BURL LAST delivers the URL octets as the message; the resolver gets the signed-in user', async () => {
    const s = open();
    await s.login();
    await s.send('RCPT TO:<Jones@foo.com>\r\n');
    assert.match((await s.send(`BURL ${GOOD} LAST\r\n`))[0] ?? '', /^250 /);
    assert.deepEqual(s.asked, [[GOOD, 'bob@example.test']]);
    assert.equal(s.services.delivered.length, 1);
    assert.match(s.services.bodies[0] ?? '', /Subject: s\r\n\r\nbody\r\n$/);
  });

  test('without LAST it waits for more chunks; BDAT 0 LAST ends the message', async () => {
    const s = open();
    await s.login();
    await s.send('RCPT TO:<Jones@foo.com>\r\n');
    assert.match((await s.send(`BURL ${GOOD}\r\n`))[0] ?? '', /^250 /);
    assert.equal(s.services.delivered.length, 0);
    assert.match((await s.send('DATA\r\n'))[0] ?? '', /^503 /);
    assert.match((await s.send('BDAT 0 LAST\r\n'))[0] ?? '', /^250 /);
    assert.equal(s.services.delivered.length, 1);
  });

  test('refusals: no recipient, no AUTH, unavailable, not authorized, too big; each ends the transaction', async () => {
    const s = open();
    await s.login();
    assert.match((await s.send(`BURL ${GOOD} LAST\r\n`))[0] ?? '', /^554 5\.5\.1 /);
    await s.send('RCPT TO:<Jones@foo.com>\r\n');
    assert.match((await s.send('BURL imap://x/gone LAST\r\n'))[0] ?? '', /^554 5\.6\.6 /);
    assert.match((await s.send('RCPT TO:<Jones@foo.com>\r\n'))[0] ?? '', /^503 /);
    for (const [url, want] of [
      ['imap://x/other', /^554 5\.7\.0 /],
      ['imap://x/big', /^552 5\.3\.4 /],
    ] as const) {
      await s.send('MAIL FROM:<bob@example.test>\r\n');
      await s.send('RCPT TO:<Jones@foo.com>\r\n');
      assert.match((await s.send(`BURL ${url} LAST\r\n`))[0] ?? '', want);
    }
    assert.equal(s.services.delivered.length, 0);
    const anon = open({ requireAuth: false });
    await anon.send('EHLO c\r\n');
    await anon.send('MAIL FROM:<a@c.example>\r\n');
    await anon.send('RCPT TO:<Jones@foo.com>\r\n');
    assert.match((await anon.send(`BURL ${GOOD} LAST\r\n`))[0] ?? '', /^530 5\.7\.0 /);
    const mx = open({ role: 'mx' });
    await mx.send('EHLO c\r\n');
    await mx.send('MAIL FROM:<a@c.example>\r\n');
    await mx.send('RCPT TO:<Jones@foo.com>\r\n');
    assert.match((await mx.send(`BURL ${GOOD} LAST\r\n`))[0] ?? '', /^500 5\.5\.2 /);
    assert.equal(anon.asked.length + mx.asked.length, 0);
  });
});

test('the log shows a BURL command without its URLAUTH token (RFC 4467 9: the token is the authorization)', () => {
  assert.equal(
    commandForLog(
      Buffer.from(`BURL imap://b@h/INBOX/;UID=1;URLAUTH=submit+b:INTERNAL:${'ab'.repeat(32)} LAST\r\n`),
    ),
    'BURL imap://b@h/INBOX/;UID=1;URLAUTH=submit+b:INTERNAL:... LAST',
  );
});
