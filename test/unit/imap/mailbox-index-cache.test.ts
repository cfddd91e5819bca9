// MailboxIndexCache: always equal to the store's index, whoever changed it (this connection, another one), and bounded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailboxIndexCache, type MailboxIndex } from '../../../src/imap/mailbox-index-cache.js';
import { SelectedView } from '../../../src/imap/selected-view.js';
import type { IndexEntry } from '../../../src/store/mail-store.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-index-cache-'));
  const store = openSqliteStore({ dataDir: dir });
  // A second connection to the same files: what another process (the CLI, a second server) does.
  const other = openSqliteStore({ dataDir: dir });
  after(async () => {
    await store.close();
    await other.close();
    await rm(dir, { recursive: true, force: true });
  });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'unused').id;
  const inbox = store.getMailbox(bob, 'INBOX')!.id;
  return { store, other, bob, inbox };
}

async function deliver(store: SqliteStore, accountId: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const b = Buffer.from(`Subject: m${i}\r\n\r\nbody\r\n`);
    await store.deliver({
      queueId: `Q${i}`,
      envelope: { sender: 'x@remote.example' },
      traceHeaders: '',
      body: { kind: 'memory', chunks: [b], size: b.length },
      receivedAt: new Date('2026-11-23T10:00:00Z'),
      local: [{ accountId }],
      remote: [],
    });
  }
}

/** The cache's view as index entries, to compare with the store's own listIndex. */
function entries(index: MailboxIndex | null): IndexEntry[] {
  assert.ok(index);
  return index.uids.map((uid, i) => ({
    uid,
    flags: [...(index.flags[i] as string[])],
    modseq: index.modseqs[i] as number,
    messageId: index.messageIds[i] as number,
  }));
}

const fresh = (store: SqliteStore, id: number): IndexEntry[] =>
  store.mail.listIndex(id).map((e) => ({ ...e, flags: [...e.flags] }));

test('the cache follows deliveries, flags, expunges, COPY/MOVE made on this connection and on another one', async () => {
  const { store, other, bob, inbox } = await setup();
  const cache = new MailboxIndexCache(store.mail);
  assert.deepEqual(entries(cache.get(inbox)), []);
  await deliver(store, bob, 5);
  assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox), 'new messages, this connection');
  await deliver(other, bob, 3);
  assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox), 'new messages, another connection');
  await other.mail.storeFlags(inbox, [2, 7], 'add', ['\\Seen'], null);
  assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox), 'flags, another connection');
  await store.mail.storeFlags(inbox, [2], 'set', ['\\Flagged'], null);
  await other.mail.expunge(inbox, [1, 5, 8]);
  assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox), 'flags here, expunges there');
  const trash = store.getMailbox(bob, 'Trash')!.id;
  assert.deepEqual(entries(cache.get(trash)), []);
  await other.mail.move(inbox, [2, 3], trash);
  await other.mail.copy(trash, [1], inbox);
  assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox), 'MOVE out and COPY back');
  assert.deepEqual(entries(cache.get(trash)), fresh(store, trash), 'MOVE in');
  assert.deepEqual(
    cache.get(inbox)?.uids,
    store.mail.listIndex(inbox).map((e) => e.uid),
  );
});

test('a deleted mailbox is gone from the cache; a renamed INBOX is emptied', async () => {
  const { store, other, bob, inbox } = await setup();
  const cache = new MailboxIndexCache(store.mail);
  const box = store.mail.createMailbox(bob, 'box').id;
  await deliver(store, bob, 2);
  assert.equal(cache.get(inbox)?.uids.length, 2);
  assert.deepEqual(entries(cache.get(box)), []);
  other.mail.deleteMailbox(bob, 'box');
  assert.equal(cache.get(box), null);
  // RFC 9051 6.3.6: renaming INBOX moves its messages to the new name and leaves INBOX empty.
  other.mail.renameMailbox(bob, 'INBOX', 'old');
  assert.deepEqual(entries(cache.get(inbox)), []);
  const old = store.getMailbox(bob, 'old')!.id;
  assert.deepEqual(entries(cache.get(old)), fresh(store, old));
  assert.equal(cache.get(old)?.uids.length, 2);
});

test('random changes from two connections: the cache always equals listIndex', async () => {
  const { store, other, bob, inbox } = await setup();
  const cache = new MailboxIndexCache(store.mail);
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 40; round++) {
    const s = rand(2) === 0 ? store : other;
    const uids = store.mail.listIndex(inbox).map((e) => e.uid);
    const pick = uids.filter(() => rand(3) === 0);
    switch (rand(3)) {
      case 0:
        await deliver(s, bob, 1 + rand(3));
        break;
      case 1:
        await s.mail.storeFlags(inbox, pick, rand(2) ? 'add' : 'remove', ['\\Seen', '$x'], null);
        break;
      default:
        await s.mail.expunge(inbox, pick);
    }
    if (rand(2) === 0) assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox), `round ${round}`);
  }
  assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox));
});

test('bounded: the least recently used mailboxes go past maxRows', async () => {
  const { store, bob, inbox } = await setup();
  const sent = store.getMailbox(bob, 'Sent')!.id;
  await deliver(store, bob, 4);
  await store.mail.copy(inbox, [1, 2, 3], sent);
  const cache = new MailboxIndexCache(store.mail, 5);
  cache.get(inbox);
  assert.equal(cache.size, 4);
  cache.get(sent);
  assert.equal(cache.size, 3, 'INBOX evicted: 4 + 3 rows are over 5');
  const again = cache.get(inbox);
  assert.equal(again?.uids.length, 4, 'reloaded when needed again');
  assert.equal(cache.size, 4);
});

/** A view of INBOX as SELECT makes it (commands/select.ts). */
const viewOf = (cache: MailboxIndexCache, inbox: number): SelectedView =>
  new SelectedView(inbox, 'INBOX', 1, false, cache.get(inbox)!);

const rowsOf = (v: SelectedView): unknown[] =>
  v.uids.map((uid, i) => [uid, [...(v.flags[i] as string[])], v.modseqs[i], v.messageIds[i]]);

test('issue 12: views selected at one MODSEQ share the cached arrays; changes copy, never touch the others', async () => {
  const { store, other, bob, inbox } = await setup();
  await deliver(store, bob, 6);
  const cache = new MailboxIndexCache(store.mail);
  const a = viewOf(cache, inbox);
  const b = viewOf(cache, inbox);
  // No copy per session: 32 bytes a message each, 320 KiB per idle client of a 10,000-message INBOX.
  assert.equal(a.uids, b.uids, 'one UID array for both sessions');
  assert.equal(a.flags, b.flags);
  assert.equal(a.modseqs, b.modseqs);
  assert.equal(a.messageIds, b.messageIds);
  const before = rowsOf(b);

  // Another connection changes the mailbox; a third session selects (the cache catches up) ...
  await other.mail.storeFlags(inbox, [2], 'add', ['\\Seen'], null);
  await other.mail.expunge(inbox, [3]);
  await deliver(other, bob, 1);
  const c = viewOf(cache, inbox);
  assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox));
  assert.deepEqual(rowsOf(c), rowsOf(viewOf(cache, inbox)));
  // ... and the first two still show the mailbox as they selected it, until they report the changes.
  assert.deepEqual(rowsOf(a), before, 'the cache did not change arrays a view holds');
  assert.deepEqual(rowsOf(b), before);

  // One view's own changes (its STORE, its EXPUNGE report) stay its own.
  a.setRow(1, ['\\Flagged'], 99);
  a.remove(a.uids[1] as number);
  assert.deepEqual(rowsOf(b), before, 'b unchanged by a');
  assert.deepEqual(a.flags[0], ['\\Flagged']);
  assert.equal(a.exists, 5);
  assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox), 'the cache unchanged by a');
  assert.deepEqual(rowsOf(c), rowsOf(viewOf(cache, inbox)), 'c unchanged by a');
});
