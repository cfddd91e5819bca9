// IMAP server in-process over a real socket, driven by imapflow: login, LIST, APPEND, FETCH, SEARCH, STORE, COPY/MOVE, EXPUNGE, IDLE.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startImapServer } from '../helpers/imap-server.js';
import { ImapFlow } from 'imapflow';
import { hashPassword } from '../../src/auth/password-hash.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-imap-'));
  const store = openSqliteStore({ dataDir: dir });
  store.addDomain('example.test');
  const account = store.addAccount('bob@example.test', await hashPassword('secret', { params: PARAMS }));
  const server = await startImapServer(store);
  const port = server.port;
  after(async () => {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const client = () =>
    new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: 'bob@example.test', pass: 'secret' },
      logger: false,
    });
  return { store, account, client, dir };
}

const MESSAGE = (n: number) =>
  `From: Alice <alice@remote.example>\r\nTo: bob@example.test\r\nSubject: Hello ${n}\r\n` +
  `Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m${n}@remote.example>\r\n` +
  `Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody number ${n}\r\n--b\r\n` +
  `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--\r\n`;

test('imapflow: mailboxes, append, fetch, search, flags, copy, move, expunge', async () => {
  const { client } = await setup();
  const c = client();
  await c.connect();
  const boxes = await c.list();
  const names = boxes.map((b) => b.path).sort();
  assert.deepEqual(names, ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
  assert.equal(boxes.find((b) => b.path === 'Sent')?.specialUse, '\\Sent');
  await c.mailboxCreate('Work/Projects');
  assert.ok((await c.list()).some((b) => b.path === 'Work/Projects'));

  const a1 = await c.append('INBOX', MESSAGE(1), ['\\Flagged']);
  const a2 = await c.append('INBOX', MESSAGE(2));
  assert.ok(a1 && a2 && a2.uid === (a1.uid as number) + 1);

  const lock = await c.getMailboxLock('INBOX');
  try {
    assert.equal((c.mailbox as { exists: number }).exists, 2);
    const msgs = [];
    for await (const m of c.fetch('1:*', {
      envelope: true,
      flags: true,
      bodyStructure: true,
      uid: true,
      size: true,
    })) {
      msgs.push(m);
    }
    assert.equal(msgs.length, 2);
    assert.equal(msgs[0]?.envelope?.subject, 'Hello 1');
    assert.equal(msgs[0]?.envelope?.from?.[0]?.address, 'alice@remote.example');
    assert.ok(msgs[0]?.flags?.has('\\Flagged'));
    assert.equal(msgs[0]?.bodyStructure?.childNodes?.length, 2);

    const part = await c.download('2', '1', { uid: false });
    const chunks: Buffer[] = [];
    for await (const ch of part.content) chunks.push(ch as Buffer);
    assert.match(Buffer.concat(chunks).toString(), /body number 2/);

    const one = await c.fetchOne('2', { source: true });
    assert.ok(one && one.source?.toString().includes('Subject: Hello 2'));

    assert.deepEqual(await c.search({ subject: 'Hello 2' }), [2]);
    assert.deepEqual(await c.search({ flagged: true }), [1]);
    assert.deepEqual(await c.search({ body: 'number 1' }), [1]);

    await c.messageFlagsAdd('1', ['\\Seen', '$Important']);
    const f = await c.fetchOne('1', { flags: true });
    assert.ok(f && f.flags?.has('$Important'));

    const copied = await c.messageCopy('1', 'Archive');
    assert.ok(copied && copied.uidMap && copied.uidMap.size === 1);
    const moved = await c.messageMove('2', 'Trash');
    assert.ok(moved);
    assert.equal((c.mailbox as { exists: number }).exists, 1);

    await c.messageDelete('1');
    assert.equal((c.mailbox as { exists: number }).exists, 0);
  } finally {
    lock.release();
  }
  const st = await c.status('Archive', { messages: true, unseen: true, uidNext: true });
  assert.equal(st.messages, 1);
  assert.equal(st.unseen, 0);
  await c.logout();
});

test('IDLE: a delivery appears at once; a second session sees flags and expunges', async () => {
  const { store, account, client } = await setup();
  const watcher = client();
  const actor = client();
  await watcher.connect();
  await actor.connect();
  await watcher.mailboxOpen('INBOX');
  const gotExists = new Promise<number>((resolve) =>
    watcher.on('exists', (e: { count: number }) => resolve(e.count)),
  );
  void watcher.idle();
  const started = Date.now();
  await store.deliver({
    queueId: 'Q1',
    envelope: { sender: 'alice@remote.example' },
    traceHeaders: 'Received: from x by y; Mon, 23 Nov 2026 10:00:00 +0000\r\n',
    body: { kind: 'memory', chunks: [Buffer.from(MESSAGE(7))], size: MESSAGE(7).length },
    receivedAt: new Date(),
    local: [{ accountId: account.id }],
    remote: [],
  });
  assert.equal(await gotExists, 1);
  assert.ok(Date.now() - started < 1000, 'IDLE push within a second');

  await actor.mailboxOpen('INBOX');
  const gotFlags = new Promise<Set<string>>((resolve) =>
    watcher.on('flags', (e: { flags: Set<string> }) => resolve(e.flags)),
  );
  await actor.messageFlagsAdd('1', ['\\Answered']);
  assert.ok((await gotFlags).has('\\Answered'));
  const gotExpunge = new Promise<number>((resolve) =>
    watcher.on('expunge', (e: { seq?: number }) => resolve(e.seq ?? 0)),
  );
  await actor.messageDelete('1');
  assert.equal(await gotExpunge, 1);
  await actor.logout();
  await watcher.logout();
});

test('shared SELECT index: a re-SELECT sees what another session and another store connection changed', async () => {
  const { account, client, dir } = await setup();
  const a = client();
  const b = client();
  await a.connect();
  await b.connect();
  for (let n = 1; n <= 4; n++) await b.append('INBOX', MESSAGE(n));
  await a.mailboxOpen('INBOX'); // loads the shared index
  await a.mailboxClose();
  await b.mailboxOpen('INBOX');
  await b.messageFlagsAdd('2', ['\\Seen']);
  await b.messageFlagsAdd('3', ['\\Deleted']);
  await b.messageDelete('4'); // expunges 3 and 4 (both \Deleted)
  await b.append('INBOX', MESSAGE(5), ['\\Flagged']);
  // Another connection to the same files, as the CLI or a second process would change it.
  const other = openSqliteStore({ dataDir: dir });
  const inbox = other.getMailbox(account.id, 'INBOX');
  assert.ok(inbox);
  await other.mail.storeFlags(inbox.id, [1], 'add', ['$Other'], null);
  await other.close();
  const opened = await a.mailboxOpen('INBOX');
  assert.equal(opened.exists, 3);
  const seen: Array<[number | undefined, string[]]> = [];
  for await (const m of a.fetch('1:*', { uid: true, flags: true }))
    seen.push([m.uid, [...(m.flags ?? [])].sort()]);
  assert.deepEqual(seen, [
    [1, ['$Other']],
    [2, ['\\Seen']],
    [5, ['\\Flagged']],
  ]);
  // Header search through the stored index, the same from both sessions.
  assert.deepEqual(await a.search({ subject: 'hello 5' }, { uid: true }), [5]);
  assert.deepEqual(await b.search({ header: { 'message-id': 'm2@' } }, { uid: true }), [2]);
  await a.logout();
  await b.logout();
});
