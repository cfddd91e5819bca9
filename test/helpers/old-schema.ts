// Migration tests: a data directory's database as an older version left it, and the check that it was upgraded.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite/schema.js';

/**
 * Opens `dir`/mailroom.db built by every migration before the one whose SQL contains `marker` (found by
 * text, so the test does not depend on the migration's number), with user_version set as each ran.
 */
export function databaseBefore(dir: string, marker: string): Database.Database {
  const at = MIGRATIONS.findIndex((m) => m.includes(marker));
  assert.ok(at > 0, `a migration contains ${JSON.stringify(marker)}`);
  const db = new Database(join(dir, 'mailroom.db'));
  for (const [i, sql] of MIGRATIONS.slice(0, at).entries()) {
    db.exec(sql);
    db.pragma(`user_version = ${i + 1}`);
  }
  return db;
}

/** Asserts that `dir`/mailroom.db is at the current schema version (the store upgraded it). */
export function assertSchemaCurrent(dir: string): void {
  const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
  try {
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  } finally {
    db.close();
  }
}
