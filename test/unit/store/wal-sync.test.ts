// Durability off the event loop: WAL fsyncs are coalesced, deliveries wait for one, checkpoints run on a worker.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalSync } from '../../../src/store/sqlite/wal-sync.js';
import { startCheckpointer } from '../../../src/store/sqlite/checkpointer.js';
import { CHECKPOINTER_YOUNG_GENERATION_MB } from '../../../src/config/limits.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { memoryBody, request } from '../../contract/store-contract.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mailroom-walsync-'));
}

function walDb(dir: string): Database.Database {
  const db = new Database(join(dir, 'x.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (v BLOB)');
  return db;
}

describe('WalSync', () => {
  test('concurrent sync() calls share fsyncs: one running, at most one more queued', async () => {
    const dir = tempDir();
    const db = walDb(dir);
    const sync = new WalSync(join(dir, 'x.db-wal'));
    try {
      db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(1000));
      await Promise.all(Array.from({ length: 50 }, () => sync.sync()));
      assert.ok(sync.syncs >= 1 && sync.syncs <= 2, `50 callers cost ${sync.syncs} fsyncs`);
      // A call made after a sync finished gets a fresh one (its commit may be newer).
      const before = sync.syncs;
      await sync.sync();
      assert.equal(sync.syncs, before + 1);
    } finally {
      await sync.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SqliteStore durability', () => {
  test('every deliver() resolves after a WAL fsync, and concurrent ones share them', async () => {
    const dir = tempDir();
    const store = openSqliteStore({ dataDir: dir });
    try {
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      const afterAdmin = store.walSyncs;
      assert.ok(afterAdmin >= 2, 'admin writes are synced too');
      await store.deliver(request({ body: memoryBody('one\r\n'), local: [{ accountId: bob }] }));
      assert.equal(store.walSyncs, afterAdmin + 1, 'one delivery, one fsync before it resolved');
      const base = store.walSyncs;
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.deliver(request({ body: memoryBody(`${i}\r\n`), local: [{ accountId: bob }] })),
        ),
      );
      const used = store.walSyncs - base;
      assert.ok(used >= 1 && used < 40, `40 concurrent deliveries cost ${used} fsyncs`);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('background checkpointer', () => {
  test('runs with a small young generation (issue 12: its own isolate, V8 would let it grow to 48 MiB)', async () => {
    const dir = tempDir();
    walDb(dir).close();
    const checkpointer = startCheckpointer({ dbPath: join(dir, 'x.db'), intervalMs: 20 });
    try {
      assert.equal(checkpointer.resourceLimits().maxYoungGenerationSizeMb, CHECKPOINTER_YOUNG_GENERATION_MB);
      assert.ok(CHECKPOINTER_YOUNG_GENERATION_MB <= 2);
    } finally {
      await checkpointer.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('copies the WAL into the database file on its own thread', async () => {
    const dir = tempDir();
    const db = walDb(dir);
    const checkpointer = startCheckpointer({ dbPath: join(dir, 'x.db'), intervalMs: 20, thresholdPages: 16 });
    try {
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      for (let i = 0; i < 100; i++) insert.run(Buffer.alloc(8000, i));
      const dbFile = join(dir, 'x.db');
      assert.ok(statSync(dbFile).size < 100_000, 'nothing checkpointed yet (auto-checkpoint is off)');
      const deadline = Date.now() + 5000;
      while (statSync(dbFile).size < 700_000 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.ok(statSync(dbFile).size >= 700_000, `database file is ${statSync(dbFile).size} bytes`);
    } finally {
      await checkpointer.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
