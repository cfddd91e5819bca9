// A group commit's deliveries share their mailbox counters (delivery-batch.ts): one UPDATE per mailbox per batch, the same UIDs and MODSEQs as one each.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { memoryBody, request } from '../../contract/store-contract.js';

async function openStore(): Promise<{ store: SqliteStore; dbPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-delivery-batch-'));
  const store = openSqliteStore({ dataDir: dir });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, dbPath: join(dir, 'mailroom.db') };
}

/**
 * Counts the UPDATEs of mailboxes.uidnext the server's own connection makes: a trigger in the database
 * (created through a second connection; the store's sees the schema change at its next statement).
 */
function countCounterWrites(dbPath: string): () => number {
  const db = new Database(dbPath);
  db.exec(
    'CREATE TABLE test_counter_writes (n INTEGER NOT NULL); INSERT INTO test_counter_writes VALUES (0);' +
      'CREATE TRIGGER test_count_counter_writes AFTER UPDATE OF uidnext ON mailboxes BEGIN ' +
      'UPDATE test_counter_writes SET n = n + 1; END;',
  );
  after(() => db.close());
  return () => (db.prepare('SELECT n FROM test_counter_writes').get() as { n: number }).n;
}

const message = (n: number): string =>
  `From: a@remote.example\r\nMessage-ID: <b${n}@remote.example>\r\nSubject: batch ${n}\r\n\r\nbody ${n}\r\n`;

test('a batch of deliveries writes each mailbox row once, with the UIDs and MODSEQs one at a time would give (RFC 9051 2.3.1.1)', async () => {
  const { store, dbPath } = await openStore();
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h').id;
  const inbox = store.getMailbox(bob, 'INBOX');
  assert.ok(inbox);
  const archive = store.mail.createMailbox(bob, 'Projects');
  const writes = countCounterWrites(dbPath);
  const batches = store.commitStats.batches;
  // Submitted in one turn: one group commit. Every third goes to Projects, one to both mailboxes.
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      store.deliverWithResult(
        request({
          body: memoryBody(message(i)),
          local:
            i === 5
              ? [{ accountId: bob }, { accountId: bob, mailbox: 'Projects' }]
              : [{ accountId: bob, ...(i % 3 === 0 ? { mailbox: 'Projects' } : {}) }],
        }),
      ),
    ),
  );
  const commits = store.commitStats.batches - batches;
  assert.ok(store.commitStats.maxBatch > 1, 'the deliveries shared a commit');
  // Two mailboxes per commit at most: it was one UPDATE ... RETURNING per copy (13).
  assert.ok(writes() <= 2 * commits, `${writes()} mailbox writes for ${commits} commit(s)`);
  const copies = (mailboxId: number) =>
    results.flatMap((r) => r.copies.filter((c) => c.mailboxId === mailboxId).map((c) => c.uid));
  assert.deepEqual(copies(inbox.id), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(copies(archive.id), [1, 2, 3, 4, 5]);
  for (const box of [inbox.id, archive.id]) {
    const rows = store.listMessages(box);
    const meta = store.mail.getMailboxById(box);
    assert.ok(meta);
    assert.equal(meta.uidNext, rows.length + 1);
    // Each copy its own MODSEQ, increasing with the UID; the mailbox's highest is the last one handed out.
    const modseqs = rows.map((r) => r.modseq);
    assert.deepEqual(
      modseqs,
      [...modseqs].sort((a, b) => a - b),
    );
    assert.equal(new Set(modseqs).size, modseqs.length);
    assert.equal(meta.highestModseq, Math.max(...modseqs));
  }
});

test('an APPEND in the same batch as deliveries continues from the counters they took (no UID handed out twice)', async () => {
  const { store } = await openStore();
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h').id;
  const inbox = store.getMailbox(bob, 'INBOX');
  assert.ok(inbox);
  const batches = store.commitStats.batches;
  const deliver = (n: number) =>
    store.deliverWithResult(request({ body: memoryBody(message(n)), local: [{ accountId: bob }] }));
  const [a, b, appended, c] = await Promise.all([
    deliver(1),
    deliver(2),
    store.mail.appendAll(inbox.id, [
      { body: memoryBody(message(3)), flags: ['\\Seen'], internalDate: new Date(0), internalDateOffset: 0 },
      { body: memoryBody(message(4)), flags: [], internalDate: new Date(0), internalDateOffset: 0 },
    ]),
    deliver(5),
  ]);
  assert.equal(store.commitStats.batches - batches, 1, 'one commit for all four');
  const uids = [...a.copies, ...b.copies]
    .map((x) => x.uid)
    .concat(
      appended.uids,
      c.copies.map((x) => x.uid),
    );
  // Whichever order the group commit took them in, five different UIDs with no gap.
  assert.deepEqual(
    [...uids].sort((x, y) => x - y),
    [1, 2, 3, 4, 5],
  );
  const rows = store.listMessages(inbox.id);
  assert.deepEqual(
    rows.map((r) => r.uid),
    [1, 2, 3, 4, 5],
  );
  assert.equal(new Set(rows.map((r) => r.modseq)).size, 5);
  const meta = store.mail.getMailboxById(inbox.id);
  assert.equal(meta?.uidNext, 6);
  assert.equal(meta?.highestModseq, Math.max(...rows.map((r) => r.modseq)));
});
