// The SQLite migration for issue 11's account states (schema.ts "21"): accounts from before it stay active, with no last login.
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

test('migration: accounts made before account states are active, never logged in, and can be disabled', async () => {
  const at = MIGRATIONS.findIndex((m) => m.includes('ADD COLUMN last_login_at'));
  assert.ok(at > 0);
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-accountmig-'));
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
  try {
    const bob = store.getAccount('bob@example.test');
    assert.equal(bob?.state, 'active');
    assert.equal(bob?.lastLoginAt, null);
    assert.equal(bob?.passwordHash, 'h');
    store.setAccountState('bob@example.test', 'disabled');
    assert.equal(store.getAccount('bob@example.test')?.state, 'disabled');
  } finally {
    await store.close();
  }
});
