// The SQLite migration that moves subscriptions to their own table (schema.ts): nothing subscribed is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';

test('migration: subscribed mailboxes become subscription rows; unsubscribed ones do not', () => {
  const at = MIGRATIONS.findIndex((m) => m.includes('CREATE TABLE subscriptions'));
  assert.ok(at > 0);
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  for (const sql of MIGRATIONS.slice(0, at)) db.exec(sql);
  db.exec(
    "INSERT INTO domains (name, created_at) VALUES ('example.test', 0);" +
      "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('bob@example.test', 'example.test', 'h', 0);" +
      "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('eve@example.test', 'example.test', 'h', 0);" +
      "INSERT INTO mailboxes (account_id, name, uidvalidity, subscribed) VALUES (1, 'INBOX', 1, 1);" +
      "INSERT INTO mailboxes (account_id, name, uidvalidity, subscribed) VALUES (1, 'Quiet', 2, 0);" +
      "INSERT INTO mailboxes (account_id, name, uidvalidity, subscribed) VALUES (1, 'a/b', 3, 1);" +
      "INSERT INTO mailboxes (account_id, name, uidvalidity, subscribed) VALUES (2, 'INBOX', 4, 1);",
  );
  db.exec(MIGRATIONS[at] as string);
  const rows = db.prepare('SELECT account_id AS a, name FROM subscriptions ORDER BY account_id, name').all();
  assert.deepEqual(rows, [
    { a: 1, name: 'INBOX' },
    { a: 1, name: 'a/b' },
    { a: 2, name: 'INBOX' },
  ]);
  // The rows go with their account (ON DELETE CASCADE).
  db.exec('DELETE FROM accounts WHERE id = 2');
  assert.equal(db.prepare('SELECT COUNT(*) AS n FROM subscriptions WHERE account_id = 2').pluck().get(), 0);
  db.close();
});
