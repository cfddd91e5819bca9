// The SQLite migration that adds the \Recent mark (schema.ts): mail already stored is not recent afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';

test('migration: existing mailboxes start their \\Recent mark at UIDNEXT; new ones at 1', () => {
  const at = MIGRATIONS.findIndex((m) => m.includes('first_recent_uid'));
  assert.ok(at > 0);
  const db = new Database(':memory:');
  for (const sql of MIGRATIONS.slice(0, at)) db.exec(sql);
  db.exec(
    "INSERT INTO domains (name, created_at) VALUES ('example.test', 0);" +
      "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('bob@example.test', 'example.test', 'h', 0);" +
      "INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext) VALUES (1, 'INBOX', 1, 42);",
  );
  db.exec(MIGRATIONS[at] as string);
  db.exec("INSERT INTO mailboxes (account_id, name, uidvalidity) VALUES (1, 'Later', 2)");
  const marks = db.prepare('SELECT name, first_recent_uid AS f FROM mailboxes ORDER BY id').all();
  // Mail from before the upgrade was seen by someone; a mailbox created afterwards has all its mail recent.
  assert.deepEqual(marks, [
    { name: 'INBOX', f: 42 },
    { name: 'Later', f: 1 },
  ]);
  db.close();
});
