// Each store connection's SQLite page cache is SQLite's default size, not better-sqlite3's 16 MB (limits.ts SQLITE_CACHE_KIB).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLITE_CACHE_KIB } from '../../../src/config/limits.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'mailroom-pagecache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The connection's PRAGMA cache_size (negative: KiB), read through the store's private handle. */
function cacheSize(store: object): number {
  const db = (store as { db: { pragma(s: string, o: { simple: true }): unknown } }).db;
  return db.pragma('cache_size', { simple: true }) as number;
}

test('the writer and a reader (a JMAP worker) each keep at most SQLITE_CACHE_KIB of pages', async () => {
  // Under the IMAP mix the 16 MB default filled and held ~19 MiB of the process's PSS more (issue 12's 1.5x).
  assert.ok(SQLITE_CACHE_KIB <= 4_000);
  const writer = openSqliteStore({ dataDir: dir });
  const reader = openSqliteStore({ dataDir: dir, readOnly: true });
  assert.equal(cacheSize(writer), -SQLITE_CACHE_KIB);
  assert.equal(cacheSize(reader), -SQLITE_CACHE_KIB);
  await reader.close();
  await writer.close();
});
