// IMAP EXPUNGE/COPY/MOVE and POP3 QUIT answer only once durable (writeLazy); the SEARCH header index is stored at delivery.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailboxIndexCache } from '../../../src/imap/mailbox-index-cache.js';
import { imapSession } from '../../helpers/imap-session.js';
import { LineReceiver } from '../../../src/pop3/command-parser.js';
import { MaildropLocks } from '../../../src/pop3/maildrop-lock.js';
import { createPop3Services } from '../../../src/pop3/services.js';
import { Pop3Session } from '../../../src/pop3/session.js';
import { headerIndexValues, type MailStore } from '../../../src/store/mail-store.js';
import {
  buildHeaderIndex,
  headerBlock,
  headerIndexOfFields,
} from '../../../src/store/sqlite/mail-headers.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { DeliveryRequest, SpooledBody, Store } from '../../../src/store/store.js';
import { HEADER_PIECES, randomTexts } from '../../helpers/random-text.js';

const T0 = new Date('2026-11-23T10:00:00Z');
/** Small, so a few KiB body is a blob file: both storage paths are covered. */
const INLINE_MAX = 1024;

async function setup(): Promise<{
  store: SqliteStore;
  dir: string;
  bob: number;
  inbox: number;
  trash: number;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-durable-'));
  const store = openSqliteStore({ dataDir: dir, clock: () => T0, inlineMaxBytes: INLINE_MAX });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'unused').id;
  const inbox = store.getMailbox(bob, 'INBOX')?.id ?? -1;
  const trash = store.getMailbox(bob, 'Trash')?.id ?? -1;
  return { store, dir, bob, inbox, trash };
}

function request(body: SpooledBody, local: DeliveryRequest['local'], remote = false): DeliveryRequest {
  return {
    queueId: 'Q1',
    envelope: { sender: 'alice@remote.example' },
    traceHeaders: 'Received: by mx.example.test id Q1\r\n',
    body,
    receivedAt: T0,
    local,
    remote: remote ? [{ address: 'carol@remote.example' }] : [],
  };
}

const memory = (text: string | Buffer): SpooledBody => {
  const b = Buffer.from(text);
  return { kind: 'memory', chunks: [b], size: b.length };
};

/** A message of about `bytes` with the given subject. */
const message = (subject: string, bytes = 100): string =>
  `From: Alice <alice@remote.example>\r\nSubject: ${subject}\r\n\r\n` + 'x'.repeat(bytes) + '\r\n';

/** The stored message_headers rows, read through a second connection (no SQL in the store's API for it). */
function storedIndexes(dir: string): Map<number, string> {
  const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT message_id, fields FROM message_headers').all() as Array<{
      message_id: number;
      fields: string;
    }>;
    return new Map(rows.map((r) => [r.message_id, r.fields]));
  } finally {
    db.close();
  }
}

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

test('delivery stores the header index with the message: inline, blob file, spooled file; none for queue-only', async () => {
  const { store, dir, bob, inbox } = await setup();
  await store.deliver(request(memory(message('=?utf-8?q?caf=C3=A9?= inline')), [{ accountId: bob }]));
  await store.deliver(request(memory(message('Big one', 8000)), [{ accountId: bob }]));
  const spooled = join(store.spoolDir, 'test-spooled');
  const text = message('Spooled\r\n folded', 9000);
  await writeFile(spooled, text);
  await store.deliver(
    request({ kind: 'file', path: spooled, size: Buffer.byteLength(text) }, [{ accountId: bob }]),
  );
  await store.deliver(request(memory(message('Queue only')), [], true));
  const ids = store.mail.listIndex(inbox).map((e) => e.messageId);
  const stored = storedIndexes(dir);
  assert.equal(stored.size, 3, 'one row per local message, none for the queue-only one');
  const subjects = ids.map((id) => headerIndexValues(stored.get(id) ?? '', 'subject'));
  assert.deepEqual(subjects, [['café inline'], ['big one'], ['spooled folded']]);
  for (const id of ids) {
    assert.ok(
      stored.get(id)?.startsWith('\nreturn-path:<alice@remote.example>\nreceived:by mx.example.test'),
    );
  }
  // SEARCH reads the same text (no second computation could differ from it).
  assert.deepEqual(
    await store.mail.searchHeaders(ids),
    ids.map((id) => stored.get(id)),
  );
  // APPEND still stores its own (one row, no duplicate insert).
  await store.mail.append(inbox, memory(message('Appended')), [], T0);
  assert.equal(storedIndexes(dir).size, 4);
});

test('headerBlock copies only the header and indexes exactly as the whole message would', () => {
  const head = Buffer.from('Return-Path: <a@b.example>\r\nReceived: by x\r\n');
  // [body, header block expected from it alone (head empty)]
  const rows: Array<[string, string]> = [
    // RFC 5322 2.1: the header ends at the first empty line.
    ['Subject: a\r\n\r\nbody\r\n\r\nmore\r\n', 'Subject: a\r\n\r\n'],
    ['Subject: a\r\n folded\r\nTo: b\r\n\r\nbody', 'Subject: a\r\n folded\r\nTo: b\r\n\r\n'],
    // Real mail: bare LF line ends.
    ['Subject: a\nTo: b\n\nbody\n', 'Subject: a\nTo: b\n\n'],
    // No header at all.
    ['\r\nSubject: body text\r\n', ''],
    ['\nSubject: body text\n', ''],
    // Hostile: no blank line, nothing, a lone CR, NUL and 8-bit bytes.
    ['Subject: never ends\r\n', 'Subject: never ends\r\n'],
    ['', ''],
    ['Subject: a\r\r\nX: \u0000\u00ff\r\n\r\nb', 'Subject: a\r\r\nX: \u0000\u00ff\r\n\r\n'],
  ];
  for (const [body, want] of rows) {
    const b = Buffer.from(body, 'latin1');
    assert.equal(headerBlock(Buffer.alloc(0), b).toString('latin1'), want, JSON.stringify(body));
    assert.equal(
      buildHeaderIndex(headerBlock(head, b)),
      buildHeaderIndex(Buffer.concat([head, b])),
      `same index with the head: ${JSON.stringify(body)}`,
    );
  }
  const big = Buffer.from('Subject: s\r\n\r\n' + 'y'.repeat(60_000));
  assert.equal(headerBlock(head, big).length, head.length + 14, 'the body is not copied');
});

test('the ASCII fast path indexes exactly as mail/headers.ts parseHeaderBlock does: fixtures, then random blocks', async () => {
  const dir = join(import.meta.dirname, '../../fixtures/mime');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.eml'));
  assert.ok(names.length > 5);
  for (const name of names) {
    const text = await readFile(join(dir, name));
    // Each fixture as it is, and as ASCII (8-bit bytes replaced) so the fast path runs on it too.
    const ascii = Buffer.from(text.map((b) => (b > 0x7e ? 0x3f : b)));
    for (const bytes of [text, ascii]) {
      const block = headerBlock(Buffer.alloc(0), bytes);
      assert.equal(buildHeaderIndex(block), headerIndexOfFields(block), name);
    }
  }
  // Random blocks from the pieces that matter: names, colons, folding, bare CR/LF, encoded words, junk lines.
  const pieces = [...HEADER_PIECES, '=?utf-8?q?caf=C3=A9?=', '=?x?b?QQ==?=', '\0', '::'];
  for (const text of randomTexts(pieces, 3000, 11)) {
    const block = Buffer.from(text, 'latin1');
    assert.equal(buildHeaderIndex(block), headerIndexOfFields(block), JSON.stringify(text));
  }
});

test('expunge, copy and move resolve only after a WAL fsync; freed blob files go only after it', async () => {
  const { store, dir, bob, inbox, trash } = await setup();
  for (let i = 1; i <= 4; i++) {
    await store.deliver(request(memory(message(`m${i}`, 4000)), [{ accountId: bob }]));
  }
  for (const [name, run] of [
    ['copy', () => store.mail.copy(inbox, [1], trash)],
    ['move', () => store.mail.move(inbox, [2], trash)],
    ['expunge', () => store.mail.expunge(inbox, [3])],
  ] as const) {
    const before = store.walSyncs;
    let settled = false;
    const p = (run() as Promise<unknown>).then(() => (settled = true));
    // Committed at once (visible to every session), but not yet answered.
    assert.equal(settled, false, `${name} answered before its fsync`);
    await p;
    assert.ok(store.walSyncs > before, `${name}: a WAL fsync ran before it resolved`);
  }
  assert.deepEqual(
    store.mail.listIndex(inbox).map((e) => e.uid),
    [1, 4],
  );
  assert.deepEqual(
    store.mail.listIndex(trash).map((e) => e.uid),
    [1, 2],
  );

  // The body of UID 4 is referenced only by INBOX: expunging it frees its file, but never before durable.
  const id4 = store.mail.listIndex(inbox).find((e) => e.uid === 4)?.messageId ?? -1;
  const file = blobFileOf(dir, id4);
  assert.ok(existsSync(file));
  const p = store.mail.expunge(inbox, [4]);
  assert.ok(existsSync(file), 'the file stays while the expunge may still be lost to a power failure');
  assert.deepEqual(await p, [4]);
  // Collection is asynchronous (an unlink after the fsync): wait by the clock, not by event-loop turns,
  // which pass faster than the disk under a loaded parallel suite.
  for (const end = Date.now() + 5_000; existsSync(file) && Date.now() < end;) await delay(10);
  assert.equal(existsSync(file), false, 'collected once durable');
  await assert.rejects(store.mail.copy(inbox, [1], 999_999), /no such mailbox/i);
});

/** Where the blob file of a message is (the store's layout: blobs.file names under blobs/). */
function blobFileOf(dir: string, messageId: number): string {
  const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
  try {
    const row = db
      .prepare('SELECT b.file FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = ?')
      .get(messageId) as { file: string | null } | undefined;
    assert.ok(row?.file, 'stored as a file');
    return join(dir, 'blobs', row.file);
  } finally {
    db.close();
  }
}

/** A Store whose EXPUNGE/COPY/MOVE commit at once but report durability only when `release` is called. */
function gated(store: Store): { store: Store; release: () => void } {
  let open = (): void => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const hold =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const r = await fn(...a);
      await gate;
      return r;
    };
  const real = store.mail;
  const mail: MailStore = Object.assign(Object.create(real) as MailStore, {
    expunge: hold(real.expunge.bind(real)),
    copy: hold(real.copy.bind(real)),
    move: hold(real.move.bind(real)),
  });
  const wrapped = new Proxy(store, {
    get: (target, key, receiver): unknown => (key === 'mail' ? mail : Reflect.get(target, key, receiver)),
  });
  return { store: wrapped, release: open };
}

test('IMAP EXPUNGE, UID MOVE, COPY and CLOSE send their tagged OK only once the store says durable', async () => {
  const { store, bob, inbox } = await setup();
  for (let i = 1; i <= 5; i++) await store.deliver(request(memory(message(`m${i}`)), [{ accountId: bob }]));
  const g = gated(store);
  // The index cache reads the real store; commands go to the gated one.
  const send = imapSession(g.store, { indexCache: new MailboxIndexCache(store.mail), now: () => T0 });
  assert.match(await send('a LOGIN bob@example.test x'), /^a OK/m);
  assert.match(await send('b SELECT INBOX'), /^b OK/m);
  assert.match(await send('c STORE 1,3 +FLAGS.SILENT (\\Deleted)'), /^c OK/m);

  const pending = async (line: string): Promise<{ reply: Promise<string>; done: () => boolean }> => {
    let finished = false;
    const reply = send(line).then((r) => ((finished = true), r));
    await ticks(10);
    return { reply, done: () => finished };
  };
  const ex = await pending('d EXPUNGE');
  assert.equal(ex.done(), false, 'no OK before durable');
  assert.deepEqual(
    store.mail.listIndex(inbox).map((e) => e.uid),
    [2, 4, 5],
    'committed meanwhile',
  );
  g.release();
  assert.equal(await ex.reply, '* 3 EXPUNGE\r\n* 1 EXPUNGE\r\nd OK EXPUNGE completed\r\n');

  // From here the gate is open: the replies show the order (untagged before tagged) stays right.
  assert.equal(
    await send('e UID MOVE 4 Trash'),
    '* OK [COPYUID ' +
      String(store.getMailbox(bob, 'Trash')?.uidValidity) +
      ' 4 1] Moved\r\n* 2 EXPUNGE\r\ne OK MOVE completed\r\n',
  );
  assert.match(await send('f COPY 1 Trash'), /^f OK \[COPYUID \d+ 2 2\] COPY completed\r\n$/);
  assert.match(await send('g STORE 2 +FLAGS.SILENT (\\Deleted)'), /^g OK/m);
  assert.equal(await send('h CLOSE'), 'h OK CLOSE completed\r\n');
  assert.deepEqual(
    store.mail.listIndex(inbox).map((e) => e.uid),
    [2],
  );
});

test('POP3 QUIT over the SQLite store: +OK after the removal is durable; the removal is kept', async () => {
  const { store, bob, inbox } = await setup();
  for (let i = 1; i <= 3; i++) await store.deliver(request(memory(message(`m${i}`)), [{ accountId: bob }]));
  const locks = new MaildropLocks();
  const services = createPop3Services({
    store,
    authenticate: async () => ({ kind: 'ok', account: 'bob@example.test' }),
    locks,
  });
  const session = new Pop3Session(
    { hostname: 'mx.example.test', tlsAvailable: false, allowLoopbackPlaintext: true },
    services,
    { remoteAddress: '127.0.0.1', secure: false, loopback: true },
  );
  const receiver = new LineReceiver();
  const send = async (line: string): Promise<string> => {
    receiver.limit = session.lineLimit;
    const [received] = receiver.push(Buffer.from(`${line}\r\n`));
    assert.ok(received);
    return (await session.handle(received)).reply;
  };
  await send('USER bob@example.test');
  assert.match(await send('PASS x'), /^\+OK/);
  await send('DELE 2');
  const before = store.walSyncs;
  assert.match(await send('QUIT'), /^\+OK .*\(2 messages left\)/);
  assert.ok(store.walSyncs > before, 'a WAL fsync ran before +OK');
  assert.equal(locks.isLocked(bob), false);
  assert.deepEqual(
    store.mail.listIndex(inbox).map((e) => e.uid),
    [1, 3],
  );
});
