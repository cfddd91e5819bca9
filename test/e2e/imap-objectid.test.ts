// imapflow (npm) against `mailroom serve`: OBJECTID (RFC 8474) - mailboxId on CREATE and SELECT, emailId/threadId in FETCH, SEARCH by them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';

let server: MailroomInstance;
let client: ImapFlow;

before(async () => {
  server = await createMailroom({ enable: ['imap'] });
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'bob@example.test', '--password', 'bob-secret']);
  await server.start();
  client = new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imap as number,
    secure: false,
    doSTARTTLS: true,
    auth: { user: 'bob@example.test', pass: 'bob-secret' },
    tls: { rejectUnauthorized: false },
    logger: false,
  });
  client.on('error', () => undefined);
  await client.connect();
});

after(async () => {
  await client.logout().catch(() => client.close());
  await server.cleanup();
});

const message = (headers: string): string =>
  `From: ann@remote.example\r\nTo: bob@example.test\r\n${headers}\r\n\r\nhello\r\n`;

test('imapflow sees MAILBOXID, EMAILID and THREADID and searches by them', async () => {
  assert.ok(client.capabilities.has('OBJECTID'));
  const created = await client.mailboxCreate('Threads');
  assert.match(String(created.mailboxId), /^[A-Za-z0-9_-]+$/);
  await client.append('Threads', message('Subject: Plan\r\nMessage-ID: <p@remote.example>'));
  await client.append(
    'Threads',
    message('Subject: Re: Plan\r\nMessage-ID: <r@remote.example>\r\nIn-Reply-To: <p@remote.example>'),
  );
  await client.append('Threads', message('Subject: Lunch\r\nMessage-ID: <l@remote.example>'));
  const box = await client.mailboxOpen('Threads');
  assert.equal(box.mailboxId, created.mailboxId);
  const got: Array<{ uid: number; emailId?: string; threadId?: string }> = [];
  for await (const m of client.fetch('1:*', { uid: true, threadId: true })) {
    got.push({ uid: m.uid, emailId: m.emailId, threadId: m.threadId });
  }
  assert.equal(got.length, 3);
  const [p, r, l] = got;
  assert.ok(p?.emailId && p.threadId && r?.threadId && l?.threadId);
  assert.equal(r.threadId, p.threadId);
  assert.notEqual(l.threadId, p.threadId);
  assert.deepEqual(await client.search({ threadId: p.threadId }, { uid: true }), [p.uid, r.uid]);
  assert.deepEqual(await client.search({ emailId: l.emailId as string }, { uid: true }), [l.uid]);
  // MOVE keeps the EMAILID (RFC 8474 5.1).
  await client.messageMove(String(l.uid), 'INBOX', { uid: true });
  await client.mailboxOpen('INBOX');
  const moved = await client.fetchOne('*', { uid: true });
  assert.ok(moved);
  assert.equal(moved.emailId, l.emailId);
});
