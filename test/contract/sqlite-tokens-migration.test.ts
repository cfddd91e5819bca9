// The SQLite migration that adds API tokens (schema.ts): an upgraded database takes tokens, and they go with their account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';

test('migration: api_tokens on an existing database; a token hash is unique and goes with its account', () => {
  const at = MIGRATIONS.findIndex((m) => m.includes('CREATE TABLE api_tokens'));
  assert.ok(at > 0);
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  for (const sql of MIGRATIONS.slice(0, at)) db.exec(sql);
  db.exec(
    "INSERT INTO domains (name, created_at) VALUES ('example.test', 0);" +
      "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('bob@example.test', 'example.test', 'h', 0);",
  );
  db.exec(MIGRATIONS[at] as string);
  db.exec("INSERT INTO api_tokens (account_id, token_hash, created_at) VALUES (1, 'aa', 0)");
  assert.throws(() =>
    db.exec("INSERT INTO api_tokens (account_id, token_hash, created_at) VALUES (1, 'aa', 0)"),
  );
  db.exec('DELETE FROM accounts WHERE id = 1');
  assert.equal(db.prepare('SELECT COUNT(*) FROM api_tokens').pluck().get(), 0);
  db.close();
});
