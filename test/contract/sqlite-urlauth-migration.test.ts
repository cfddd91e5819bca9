// The SQLite migration for URLAUTH keys (schema.ts 22): a store from before it opens with its mailboxes, gains the table, and keys follow their mailbox.
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

test('migration: a database from before urlauth_keys upgrades; keys are per mailbox, shared by processes, reset and dropped with it', async () => {
  const at = MIGRATIONS.findIndex((m) => m.includes('CREATE TABLE urlauth_keys'));
  assert.ok(at > 0);
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-urlauthmig-'));
  dirs.push(dir);
  const db = new Database(join(dir, 'mailroom.db'));
  db.pragma('journal_mode = WAL');
  for (const sql of MIGRATIONS.slice(0, at)) db.exec(sql);
  db.pragma(`user_version = ${at}`);
  db.close();
  const old = openSqliteStore({ dataDir: dir });
  old.addDomain('example.test');
  const bob = old.addAccount('bob@example.test', 'h');
  await old.close();

  const store = openSqliteStore({ dataDir: dir });
  const other = openSqliteStore({ dataDir: dir });
  const inbox = store.mail.findMailbox(bob.id, 'INBOX');
  assert.ok(inbox);
  assert.equal(store.urlauth.existingKey(inbox.id), null);
  const key = store.urlauth.mailboxKey(inbox.id, () => Buffer.alloc(32, 1));
  // The first key wins: another process asking later gets it, not its own.
  assert.deepEqual(
    other.urlauth.mailboxKey(inbox.id, () => Buffer.alloc(32, 2)),
    key,
  );
  // Another account's RESETKEY does not touch it; the owner's does, for every process at once.
  other.urlauth.resetKeys(bob.id + 1000, null);
  assert.deepEqual(store.urlauth.existingKey(inbox.id), key);
  other.urlauth.resetKeys(bob.id, inbox.id);
  assert.equal(store.urlauth.existingKey(inbox.id), null);
  await other.close();
  await store.close();
});
