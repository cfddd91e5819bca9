// The JMAP change log (store/sqlite/changes.ts): folding within a transaction, pruning, cannotCalculateChanges for pruned states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { ChangeKind, ChangeRecorder, readChanges, readStates } from '../../../src/store/sqlite/changes.js';
import { MIGRATIONS } from '../../../src/store/sqlite/schema.js';
import { cachedPrepare } from '../../../src/store/sqlite/statements.js';

function db(): { prepare: ReturnType<typeof cachedPrepare>; close: () => void } {
  const d = new Database(':memory:');
  for (const sql of MIGRATIONS) d.exec(sql);
  d.exec(
    "INSERT INTO domains (name, created_at) VALUES ('example.test', 0);" +
      "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('bob@example.test', 'example.test', 'h', 0);",
  );
  return { prepare: cachedPrepare(d), close: () => d.close() };
}

test('changes to one object within a transaction fold: created+updated = created, created+destroyed = nothing', () => {
  const { prepare, close } = db();
  const rec = new ChangeRecorder();
  rec.note(1, 'Email', 1, ChangeKind.Created);
  rec.note(1, 'Email', 1, ChangeKind.Updated);
  rec.note(1, 'Email', 2, ChangeKind.Created);
  rec.note(1, 'Email', 2, ChangeKind.Destroyed);
  rec.note(1, 'Mailbox', 7, ChangeKind.Counts);
  rec.note(1, 'Mailbox', 7, ChangeKind.Updated);
  rec.note(1, 'Mailbox', 7, ChangeKind.Counts);
  const states = rec.flush(prepare).get(1);
  assert.deepEqual(states, readStates(prepare, 1));
  // One row per object that anyone can have seen: M1 and F7 (M2 never existed for a client).
  assert.equal(prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM jmap_changes').get()?.n, 2);
  const e = readChanges(prepare, 1, 'Email', '0', null);
  assert.ok(e.ok);
  assert.deepEqual([e.created, e.updated, e.destroyed], [['M1'], [], []]);
  const m = readChanges(prepare, 1, 'Mailbox', '0', null);
  assert.ok(m.ok);
  assert.deepEqual([m.updated, m.countsOnly], [['F7'], false], 'a full update is not counts only');
  assert.equal(readStates(prepare, 1).Thread, '0');
  close();
});

test('the log keeps the last keepRows changes; older states get cannotCalculateChanges (RFC 8620 5.2)', () => {
  const { prepare, close } = db();
  const limits = { keepRows: 8, pruneEvery: 4 };
  const states: string[] = [];
  for (let i = 1; i <= 20; i++) {
    const rec = new ChangeRecorder();
    rec.note(1, 'Email', i, ChangeKind.Created);
    states.push((rec.flush(prepare, limits).get(1) as { Email: string }).Email);
  }
  const rows = prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM jmap_changes').get()?.n as number;
  assert.ok(rows <= 8 + 4, `bounded: ${rows} rows`);
  assert.deepEqual(readChanges(prepare, 1, 'Email', states[2] as string, null), {
    ok: false,
    error: 'cannotCalculateChanges',
  });
  const recent = readChanges(prepare, 1, 'Email', states[15] as string, null);
  assert.ok(recent.ok);
  assert.deepEqual(recent.created, ['Mh', 'Mi', 'Mj', 'Mk']);
  // A type with no change since its (old) state is answerable even below the kept rows.
  const m = readChanges(prepare, 1, 'Mailbox', '0', null);
  assert.ok(m.ok && m.updated.length === 0);
  close();
});
