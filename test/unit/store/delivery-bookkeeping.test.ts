// What a delivery writes for JMAP stays small (issue 9's SMTP figures): change runs, one state row, no rewritten thread refs, no index entry for subject-less threads; migration 18.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeId } from '../../../src/store/object-ids.js';
import { ChangeKind, ChangeRecorder, readChanges, readStates } from '../../../src/store/sqlite/changes.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from '../../../src/store/sqlite/schema.js';
import { cachedPrepare } from '../../../src/store/sqlite/statements.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { resolveThread } from '../../../src/store/sqlite/threads.js';
import { memoryBody, request } from '../../contract/store-contract.js';
import { assertConsistent } from '../../contract/jmap-contract.js';

async function openStore(): Promise<{ store: SqliteStore; dbPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-bookkeeping-'));
  const store = openSqliteStore({ dataDir: dir });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, dbPath: join(dir, 'mailroom.db') };
}

const message = (n: number, extra = ''): string =>
  `From: a@remote.example\r\nMessage-ID: <m${n}@remote.example>\r\n${extra}\r\nbody ${n}\r\n`;

/** Reads a type's changes from `since` in steps of `max`, as a client with maxChanges does. */
function walk(store: SqliteStore, account: number, since: string, max: number): string[][] {
  const steps: string[][] = [];
  let state = since;
  for (let i = 0; i < 50; i++) {
    const r = store.jmap.changes(account, 'Email', state, max);
    assert.ok(r.ok);
    steps.push(r.created);
    state = r.newState;
    if (!r.hasMoreChanges) break;
  }
  return steps;
}

test('a group commit logs its new Emails and Threads as runs, and /changes still stops inside a run (RFC 8620 5.2)', async () => {
  const { store, dbPath } = await openStore();
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h').id;
  const before = store.jmap.states(bob).Email;
  const batches = store.commitStats.batches;
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      store.deliver(request({ body: memoryBody(message(i)), local: [{ accountId: bob }] })),
    ),
  );
  const commits = store.commitStats.batches - batches;
  const db = new Database(dbPath, { readonly: true });
  const rows = (db.prepare('SELECT COUNT(*) AS n FROM jmap_changes').get() as { n: number }).n;
  db.close();
  // One row per changed object was 41 for one commit (20 Emails, 20 Threads, the mailbox's counts).
  assert.ok(rows <= 3 * commits, `${rows} rows for ${commits} commit(s)`);
  const all = walk(store, bob, before, 1000);
  assert.equal(all.length, 1);
  const created = all[0] as string[];
  assert.equal(created.length, 20);
  // maxChanges 7: three answers with intermediate states, every Email exactly once, in the same order.
  const steps = walk(store, bob, before, 7);
  assert.deepEqual(
    steps.map((s) => s.length),
    [7, 7, 6],
  );
  assert.deepEqual(steps.flat(), created);
  assertConsistent(store, bob);
});

test('a state in the middle of a run: /changes gives only the later objects of the run', () => {
  const d = new Database(':memory:');
  for (const sql of MIGRATIONS) d.exec(sql);
  d.exec(
    "INSERT INTO domains (name, created_at) VALUES ('example.test', 0);" +
      "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('bob@example.test', 'example.test', 'h', 0);",
  );
  const prepare = cachedPrepare(d);
  const rec = new ChangeRecorder();
  for (const id of [5, 3, 4, 6, 9]) rec.note(1, 'Email', id, ChangeKind.Created);
  rec.note(1, 'Email', 7, ChangeKind.Updated);
  rec.note(1, 'Mailbox', 2, ChangeKind.Counts);
  const states = rec.flush(prepare).get(1);
  assert.deepEqual(states, readStates(prepare, 1));
  // Runs: Email created 3-6, Email created 9, Email updated 7, Mailbox counts 2.
  assert.equal((prepare('SELECT COUNT(*) AS n FROM jmap_changes').get() as { n: number }).n, 4);
  const first = readChanges(prepare, 1, 'Email', '0', 2);
  assert.ok(first.ok);
  assert.deepEqual([first.created, first.hasMoreChanges], [['M3', 'M4'], true]);
  const rest = readChanges(prepare, 1, 'Email', first.newState, null);
  assert.ok(rest.ok);
  assert.deepEqual([rest.created, rest.updated, rest.hasMoreChanges], [['M5', 'M6', 'M9'], ['M7'], false]);
  assert.equal(rest.newState, states?.Email);
  d.close();
});

test('migration 18 keeps every state and change of a schema-13 database', () => {
  const d = new Database(':memory:');
  for (const sql of MIGRATIONS.slice(0, 13)) d.exec(sql);
  d.pragma('user_version = 13');
  d.exec(
    "INSERT INTO domains (name, created_at) VALUES ('example.test', 0);" +
      "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('bob@example.test', 'example.test', 'h', 0);" +
      "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('ann@example.test', 'example.test', 'h', 0);" +
      // As schema 13's changes.ts wrote them: bob's Email 10 created (1), Mailbox 4 counts (2), Email 11
      // created (3), Email 10 updated (4), Identity 1 created (5); ann never changed anything.
      'INSERT INTO jmap_changes (account_id, modseq, type, object_id, kind) VALUES ' +
      '(1, 1, 0, 10, 0), (1, 2, 1, 4, 3), (1, 3, 0, 11, 0), (1, 4, 0, 10, 1), (1, 5, 3, 1, 0);' +
      'INSERT INTO jmap_type_states (account_id, type, modseq) VALUES (1, 0, 4), (1, 1, 2), (1, 3, 5);' +
      'INSERT INTO jmap_accounts (account_id, modseq, lowest) VALUES (1, 5, 0);',
  );
  migrate(d);
  assert.equal(d.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  const prepare = cachedPrepare(d);
  assert.deepEqual(readStates(prepare, 1), {
    Email: '4',
    Mailbox: '2',
    Thread: '0',
    Identity: '5',
    EmailSubmission: '0',
    VacationResponse: '0',
  });
  assert.equal(readStates(prepare, 2).Email, '0');
  const e = readChanges(prepare, 1, 'Email', '1', null);
  assert.ok(e.ok);
  assert.deepEqual(
    [e.created, e.updated, e.newState],
    [[encodeId('email', 11)], [encodeId('email', 10)], '4'],
  );
  const m = readChanges(prepare, 1, 'Mailbox', '0', null);
  assert.ok(m.ok);
  assert.deepEqual([m.updated, m.countsOnly], [[encodeId('mailbox', 4)], true]);
  // The next change continues the counter.
  const rec = new ChangeRecorder();
  rec.note(1, 'Thread', 3, ChangeKind.Created);
  assert.equal(rec.flush(prepare).get(1)?.Thread, '6');
  d.close();
});

test('a reply whose references are known rewrites none of them (only its own Message-ID is new)', async () => {
  const { store, dbPath } = await openStore();
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h').id;
  await store.deliver(request({ body: memoryBody(message(1)), local: [{ accountId: bob }] }));
  await store.deliver(
    request({
      body: memoryBody(message(2, 'References: <m1@remote.example>\r\n')),
      local: [{ accountId: bob }],
    }),
  );
  await store.close();
  const d = new Database(dbPath);
  d.pragma('foreign_keys = ON');
  const prepare = cachedPrepare(d);
  const keys = {
    messageId: 'm3@remote.example',
    references: ['m1@remote.example', 'm2@remote.example'],
    replySubject: null,
    subject: '',
  };
  const changed = d.transaction(() => {
    const before = (d.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const thread = resolveThread(prepare, new ChangeRecorder(), bob, keys, Date.now());
    const n = (d.prepare('SELECT total_changes() AS n').get() as { n: number }).n - before;
    return { thread, n };
  })();
  // The thread's last_at and the new id's row: the two known ids are not written again.
  assert.equal(changed.n, 2);
  const refs = d.prepare('SELECT msgid, thread_id FROM thread_refs ORDER BY msgid').all();
  assert.deepEqual(
    refs,
    ['m1@remote.example', 'm2@remote.example', 'm3@remote.example'].map((msgid) => ({
      msgid,
      thread_id: changed.thread,
    })),
  );
  d.close();
});

test('threads without a subject take no entry in the subject index; a "Re:" still finds its thread by subject', async () => {
  const { store, dbPath } = await openStore();
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h').id;
  for (let i = 0; i < 3; i++) {
    await store.deliver(request({ body: memoryBody(message(i)), local: [{ accountId: bob }] }));
  }
  await store.deliver(
    request({ body: memoryBody(message(10, 'Subject: Lunch\r\n')), local: [{ accountId: bob }] }),
  );
  const reply = 'From: c@remote.example\r\nSubject: Re: Lunch\r\n\r\nyes\r\n';
  await store.deliver(request({ body: memoryBody(reply), local: [{ accountId: bob }] }));
  const d = new Database(dbPath, { readonly: true });
  const cells = d
    .prepare("SELECT sum(ncell) AS n FROM dbstat WHERE name = 'threads_account' AND pagetype = 'leaf'")
    .get() as { n: number };
  assert.equal(cells.n, 1, 'only the "Lunch" thread is in the index');
  const threads = d.prepare('SELECT COUNT(DISTINCT thread_id) AS n FROM emails').get() as { n: number };
  assert.equal(threads.n, 4, 'three subject-less threads and Lunch with its reply');
  d.close();
  assertConsistent(store, bob);
});
