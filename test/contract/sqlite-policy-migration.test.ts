// The SQLite migration for issue 10's policy state (schema.ts 14): a store from before it opens with its data and gains the tables.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('migration: a database at the schema before server_secrets/greylist upgrades and keeps its rows', async () => {
  const at = MIGRATIONS.findIndex((m) => m.includes('CREATE TABLE server_secrets'));
  assert.ok(at > 0);
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-policymig-'));
  dirs.push(dir);
  const db = new Database(join(dir, 'mailroom.db'));
  db.pragma('journal_mode = WAL');
  for (const sql of MIGRATIONS.slice(0, at)) db.exec(sql);
  db.pragma(`user_version = ${at}`);
  db.exec(
    "INSERT INTO domains (name, created_at) VALUES ('example.test', 0);" +
      "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('bob@example.test', 'example.test', 'h', 0);",
  );
  db.close();
  const store = openSqliteStore({ dataDir: dir });
  assert.deepEqual(
    store.listAccounts().map((a) => a.address),
    ['bob@example.test'],
  );
  // The secret is made once and then read back, also by a second process (a second store).
  const key = store.policy.secret('srs', () => Buffer.alloc(32, 1));
  const other = openSqliteStore({ dataDir: dir });
  assert.deepEqual(
    other.policy.secret('srs', () => Buffer.alloc(32, 2)),
    key,
  );
  store.policy.greylistSave([{ key: 'N 192.0.2.0/24', firstSeen: 1, passedAt: 2, lastSeen: 3, passes: 1 }], {
    keepSince: 0,
    unretriedSince: 0,
    maxEntries: 10,
  });
  assert.deepEqual(other.policy.greylistRows(['N 192.0.2.0/24', 'N absent']), [
    { key: 'N 192.0.2.0/24', firstSeen: 1, passedAt: 2, lastSeen: 3, passes: 1 },
  ]);
  await other.close();
  await store.close();
});
