// Durability off the event loop: WAL fsyncs are coalesced, deliveries wait for one, checkpoints run on a worker.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalSync } from '../../../src/store/sqlite/wal-sync.js';
import { startCheckpointer } from '../../../src/store/sqlite/checkpointer.js';
import {
  CHECKPOINTER_YOUNG_GENERATION_MB,
  WAL_RESTART_PAGES,
  WAL_SIZE_LIMIT,
} from '../../../src/config/limits.js';
import type { GroupCommitter } from '../../../src/store/sqlite/group-committer.js';
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

  test('a steady stream of deliveries gets the WAL restarted: the file stays near the restart size', async () => {
    // Under load a commit follows another every few ms, so a background pass never copies the whole WAL and
    // SQLite never starts it over: every frame extended the file (~300 MB for load (a)'s 10,000 messages).
    // Now the commits wait for one catch-up pass once the WAL is past restartPages (WAL_RESTART_PAGES).
    const dir = tempDir();
    const restartPages = 256;
    const store = openSqliteStore({
      dataDir: dir,
      backgroundCheckpoints: true,
      checkpoints: { intervalMs: 5, thresholdPages: 64, restartPages },
    });
    const walFile = join(dir, 'mailroom.db-wal');
    const body = 'x'.repeat(76) + '\r\n';
    try {
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      let n = 0;
      let largest = 0;
      // 20 deliverers, each delivering again as soon as its last one is durable: commits never pause by themselves.
      const deliverer = async (): Promise<void> => {
        while (n < 1500) {
          const i = n++;
          await store.deliver(
            request({
              body: memoryBody(`Subject: ${i}\r\n\r\n${body.repeat(52)}`),
              local: [{ accountId: bob }],
            }),
          );
          if (i % 50 === 0) largest = Math.max(largest, statSync(walFile).size);
        }
      };
      await Promise.all(Array.from({ length: 20 }, deliverer));
      largest = Math.max(largest, statSync(walFile).size);
      // ~6 frames of 4 KiB per delivery: 1,500 of them are ~36 MB of WAL when it is never restarted.
      assert.ok(largest < restartPages * 4096 * 6, `the WAL file reached ${largest} bytes`);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('catchUp() copies the whole WAL of a quiet database, and answers false once the worker is stopped', async () => {
    const dir = tempDir();
    const db = walDb(dir);
    // A long interval: the only pass is the one asked for.
    const checkpointer = startCheckpointer({ dbPath: join(dir, 'x.db'), intervalMs: 60_000 });
    try {
      await checkpointer.online;
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      for (let i = 0; i < 50; i++) insert.run(Buffer.alloc(8000, i));
      assert.equal(await checkpointer.catchUp(), true);
      assert.ok(statSync(join(dir, 'x.db')).size >= 400_000, 'the rows are in the database file');
      // The next write starts the WAL over: it is written from its first frame, the file does not grow.
      const walSize = statSync(join(dir, 'x.db-wal')).size;
      insert.run(Buffer.alloc(8000, 1));
      assert.equal(statSync(join(dir, 'x.db-wal')).size, walSize);
    } finally {
      await checkpointer.stop();
      db.close();
    }
    assert.equal(await checkpointer.catchUp(50), false);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the restart size fits under the WAL size limit (above it SQLite cuts the file back after a restart)', () => {
    assert.ok(WAL_RESTART_PAGES * 4096 <= WAL_SIZE_LIMIT);
  });
});

describe('group commit hold', () => {
  test('deliveries wait while the commits are held, then commit together; a failed hold releases them too', async () => {
    const dir = tempDir();
    const store = openSqliteStore({ dataDir: dir });
    // The committer is private to the store; the hold is its own API (the store calls it from the checkpointer's event).
    const committer = (store as unknown as { committer: GroupCommitter }).committer;
    try {
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      let release!: () => void;
      committer.hold(new Promise<void>((r) => (release = r)));
      let done = 0;
      const deliveries = Array.from({ length: 5 }, (_, i) =>
        store
          .deliver(request({ body: memoryBody(`${i}\r\n`), local: [{ accountId: bob }] }))
          .then(() => done++),
      );
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      assert.equal(done, 0, 'nothing committed while held');
      const batches = store.commitStats.batches;
      release();
      await Promise.all(deliveries);
      assert.equal(store.commitStats.batches, batches + 1, 'the held deliveries form one batch');
      committer.hold(Promise.reject(new Error('worker gone')));
      await store.deliver(request({ body: memoryBody('after\r\n'), local: [{ accountId: bob }] }));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
