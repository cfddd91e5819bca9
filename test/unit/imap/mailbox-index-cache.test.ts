// MailboxIndexCache: always equal to the store's index, whoever changed it (this connection, another one), and bounded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import v8 from 'node:v8';
import { join } from 'node:path';
import { MailboxIndexCache, type MailboxIndex } from '../../../src/imap/mailbox-index-cache.js';
import { SelectedView } from '../../../src/imap/selected-view.js';
import type { IndexEntry, MailStore } from '../../../src/store/mail-store.js';
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
  const r = index.rows;
  return Array.from(r.uids, (uid, i) => ({
    uid,
    flags: [...r.flagsAt(i)],
    modseq: r.modseqs[i] as number,
    messageId: r.messageIds[i] as number,
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
    Array.from(cache.get(inbox)!.rows.uids),
    store.mail.listIndex(inbox).map((e) => e.uid),
  );
});

test('a deleted mailbox is gone from the cache; a renamed INBOX is emptied', async () => {
  const { store, other, bob, inbox } = await setup();
  const cache = new MailboxIndexCache(store.mail);
  const box = store.mail.createMailbox(bob, 'box').id;
  await deliver(store, bob, 2);
  assert.equal(cache.get(inbox)?.rows.length, 2);
  assert.deepEqual(entries(cache.get(box)), []);
  other.mail.deleteMailbox(bob, 'box');
  assert.equal(cache.get(box), null);
  // RFC 9051 6.3.6: renaming INBOX moves its messages to the new name and leaves INBOX empty.
  other.mail.renameMailbox(bob, 'INBOX', 'old');
  assert.deepEqual(entries(cache.get(inbox)), []);
  const old = store.getMailbox(bob, 'old')!.id;
  assert.deepEqual(entries(cache.get(old)), fresh(store, old));
  assert.equal(cache.get(old)?.rows.length, 2);
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
  assert.equal(again?.rows.length, 4, 'reloaded when needed again');
  assert.equal(cache.size, 4);
});

/** A view of INBOX as SELECT makes it (commands/select.ts). */
const viewOf = (cache: MailboxIndexCache, inbox: number): SelectedView =>
  new SelectedView(inbox, 'INBOX', 1, false, cache.get(inbox)!);

const rowsOf = (v: SelectedView): unknown[] =>
  Array.from(v.uids, (uid, i) => [uid, [...v.flagsAt(i + 1)], v.modseqs[i], v.messageIds[i]]);

test('issue 12: views selected at one MODSEQ share the cached arrays; changes copy, never touch the others', async () => {
  const { store, other, bob, inbox } = await setup();
  await deliver(store, bob, 6);
  const cache = new MailboxIndexCache(store.mail);
  const a = viewOf(cache, inbox);
  const b = viewOf(cache, inbox);
  // No copy per session: 32 bytes a message each, 320 KiB per idle client of a 10,000-message INBOX.
  assert.equal(a.uids, b.uids, 'one UID array for both sessions');
  assert.equal(a.flagsAt(1), b.flagsAt(1), 'one flag list for equal flags');
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
  assert.deepEqual(a.flagsAt(1), ['\\Flagged']);
  assert.deepEqual(a.flags[0], ['\\Flagged'], 'the whole-view array follows the change');
  assert.equal(a.exists, 5);
  assert.deepEqual(entries(cache.get(inbox)), fresh(store, inbox), 'the cache unchanged by a');
  assert.deepEqual(rowsOf(c), rowsOf(viewOf(cache, inbox)), 'c unchanged by a');
});

/**
 * A MailStore holding one mailbox of `n` messages in memory, with just what the cache asks (the rest of
 * the interface is never called here, hence the cast): `touch` changes one message's flags.
 */
function memoryIndexStore(n: number) {
  let highest = n;
  const rows: IndexEntry[] = Array.from({ length: n }, (_, i) => ({
    uid: i + 1,
    flags: [],
    modseq: i + 1,
    messageId: 1000 + i,
  }));
  const store = {
    highestModseq: () => highest,
    listIndex: () => rows.map((r) => ({ ...r })),
    changedSince: (_: number, m: number) => rows.filter((r) => r.modseq > m).map((r) => ({ ...r })),
    vanishedSince: () => [],
  } as unknown as MailStore;
  const touch = (uid: number, flags: string[]): void => {
    const r = rows[uid - 1] as IndexEntry;
    r.flags = flags;
    r.modseq = ++highest;
  };
  return { store, touch };
}

test('issue 9: the copies made at a change (the cache between SELECTs, a view at its first change) stay off V8 heap', () => {
  // Each copy of a 10,000-message index was four JS arrays, 320 KiB on the heap the scavenger copies
  // and the mark-compactor marks; the columns are typed arrays, whose contents live outside it.
  const { store, touch } = memoryIndexStore(10_000);
  const cache = new MailboxIndexCache(store);
  const views: SelectedView[] = [viewOf(cache, 1)];
  const before = v8.getHeapStatistics().used_heap_size;
  for (let i = 0; i < 20; i++) {
    touch(1 + i, ['\\Seen']);
    const v = viewOf(cache, 1); // the cache copies: the last view holds its rows
    v.setRow(2 + i, ['\\Flagged'], 50_000 + i); // the view copies
    views.push(v);
  }
  const grown = v8.getHeapStatistics().used_heap_size - before;
  // 40 copies held alive: 12.5 MiB on the heap before; now a few small objects each.
  assert.ok(grown < 2 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB for 40 copies`);
  // And they are right: each view shows the cache's row and its own change.
  const last = views[20] as SelectedView;
  assert.deepEqual(last.flags[19], ['\\Seen']);
  assert.deepEqual(last.flags[20], ['\\Flagged']);
  assert.deepEqual((views[0] as SelectedView).flags[0], []);
});
