// SQLite-specific store behaviour: schema version, inline vs file blobs, queue offset, garbage, orphans, group commit.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MailroomError } from '../../../src/errors.js';
import { newOwnedFileName, ownerPid } from '../../../src/store/blob-store.js';
import { SCHEMA_VERSION } from '../../../src/store/sqlite/schema.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { createBodySpool } from '../../../src/store/spool.js';
import { memoryBody, request } from '../../contract/store-contract.js';

const INLINE = 1024;

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mailroom-sqlite-'));
  after(() => rm(d, { recursive: true, force: true }));
  return d;
}

function open(dir: string): SqliteStore {
  const s = openSqliteStore({ dataDir: dir, inlineMaxBytes: INLINE });
  after(() => s.close());
  return s;
}

function withBob(dir: string): { store: SqliteStore; bob: number } {
  const store = open(dir);
  store.addDomain('example.test');
  return { store, bob: store.addAccount('bob@example.test', 'h').id };
}

/** A pid that certainly belongs to no running process: one that has just exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  assert.ok(r.pid);
  return r.pid;
}

void describe('SqliteStore (embedded specifics)', () => {
  void test('creates data_dir, blobs/ and spool/, and records the schema version', async () => {
    const dir = join(await dataDir(), 'nested', 'data');
    const store = open(dir);
    assert.ok(existsSync(join(dir, 'blobs')) && existsSync(join(dir, 'spool')));
    assert.equal(store.spoolDir, join(dir, 'spool'));
    const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    assert.equal(store.integrityCheck(), 'ok');
  });

  void test('a database from a newer Mailroom is refused, not misread', async () => {
    const dir = await dataDir();
    open(dir);
    const db = new Database(join(dir, 'mailroom.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => openSqliteStore({ dataDir: dir }),
      (e: unknown) => e instanceof MailroomError && e.code === 'SCHEMA_TOO_NEW',
    );
  });

  void test('small bodies live inside SQLite; large ones are files, a spooled one renamed (not copied)', async () => {
    const dir = await dataDir();
    const { store, bob } = withBob(dir);
    await store.deliver(request({ body: memoryBody('small\r\n'), local: [{ accountId: bob }] }));
    assert.deepEqual(readdirSync(join(dir, 'blobs')), []);
    const spool = createBodySpool(store.spoolDir, 10);
    await spool.write(Buffer.alloc(INLINE + 1, 'a'));
    const body = await spool.finish();
    assert.ok(body.kind === 'file');
    await store.deliver(request({ body, local: [{ accountId: bob }] }));
    await store.deliver(
      request({ body: memoryBody(Buffer.alloc(INLINE + 1, 'b')), local: [{ accountId: bob }] }),
    );
    assert.equal(readdirSync(join(dir, 'blobs')).length, 2);
    assert.deepEqual(readdirSync(store.spoolDir), [], 'the spool file moved into blobs/');
    assert.equal(existsSync(body.path), false);
  });

  void test('the queue copy starts after the local Return-Path line', async () => {
    const { store, bob } = withBob(await dataDir());
    const r = request({
      queueId: 'QX',
      body: memoryBody('Subject: s\r\n\r\nb\r\n'),
      local: [{ accountId: bob }],
      remote: [{ address: 'x@remote.example' }],
    });
    await store.deliver(r);
    const q = (await store.readQueueMessage('QX')).toString();
    assert.equal(q, r.traceHeaders + 'Subject: s\r\n\r\nb\r\n');
    assert.equal(store.listQueue()[0]?.size, Buffer.byteLength(q));
    await assert.rejects(store.readQueueMessage('nope'), (e: unknown) => e instanceof MailroomError);
  });

  void test('a queue-only delivery has no Return-Path and no mailbox row', async () => {
    const { store, bob } = withBob(await dataDir());
    await store.deliver(
      request({ queueId: 'QR', body: memoryBody('x\r\n'), remote: [{ address: 'x@remote.example' }] }),
    );
    assert.match((await store.readQueueMessage('QR')).toString(), /^Received:/);
    assert.equal(store.getMailbox(bob, 'INBOX')?.messageCount, 0);
  });

  void test('removeAccount deletes its messages and their blob files, but keeps a blob the queue still needs', async () => {
    const dir = await dataDir();
    const { store, bob } = withBob(dir);
    const big = (c: string) => memoryBody(Buffer.alloc(INLINE * 2, c));
    await store.deliver(request({ body: big('a'), local: [{ accountId: bob }] }));
    await store.deliver(
      request({
        queueId: 'QK',
        body: big('b'),
        local: [{ accountId: bob }],
        remote: [{ address: 'r@remote.example' }],
      }),
    );
    assert.equal(readdirSync(join(dir, 'blobs')).length, 2);
    store.removeAccount('bob@example.test');
    // File removal follows the commit, asynchronously: poll rather than guess a delay.
    for (let waited = 0; readdirSync(join(dir, 'blobs')).length !== 1; waited += 10) {
      assert.ok(waited < 3000, 'the removed account’s blob file is deleted');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(
      (await store.readQueueMessage('QK')).length,
      INLINE * 2 + request({ body: big('b') }).traceHeaders.length,
    );
  });

  void test('orphans at open: dead writers’ spool files and unreferenced blob files go; live ones and others stay', async () => {
    const dir = await dataDir();
    const { store, bob } = withBob(dir);
    await store.deliver(
      request({ body: memoryBody(Buffer.alloc(INLINE * 2, 'k')), local: [{ accountId: bob }] }),
    );
    const kept = readdirSync(join(dir, 'blobs'));
    assert.equal(kept.length, 1);
    await store.close();

    const dead = deadPid();
    const deadName = (): string => newOwnedFileName().replace(/^\d+/, String(dead));
    const orphanBlob = deadName();
    const orphanSpool = `${deadName()}.spool`;
    const liveBlob = newOwnedFileName(); // ours: this process is alive and may be mid-delivery
    writeFileSync(join(dir, 'blobs', orphanBlob), 'crash between rename and commit');
    writeFileSync(join(dir, 'spool', orphanSpool), 'crash while receiving');
    writeFileSync(join(dir, 'blobs', liveBlob), 'in flight');
    writeFileSync(join(dir, 'blobs', 'README'), 'not ours');
    assert.equal(ownerPid(orphanBlob), dead);

    const reopened = open(dir);
    assert.deepEqual(reopened.orphansRemoved, { spool: [orphanSpool], blobs: [orphanBlob] });
    assert.deepEqual(readdirSync(join(dir, 'blobs')).sort(), [...kept, liveBlob, 'README'].sort());
    assert.deepEqual(readdirSync(join(dir, 'spool')), []);
    const msgs = reopened.listMessages(reopened.getMailbox(bob, 'INBOX')?.id ?? -1);
    assert.equal((await reopened.readMessage(msgs[0]?.messageId ?? -1)).length, msgs[0]?.size);
  });

  void test('group commit: concurrent deliveries share commits', async () => {
    const { store, bob } = withBob(await dataDir());
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.deliver(request({ body: memoryBody(`${i}\r\n`), local: [{ accountId: bob }] })),
      ),
    );
    const { batches, deliveries, maxBatch } = store.commitStats;
    assert.equal(deliveries, 40);
    assert.ok(batches < 40 / 4, `${batches} commits for 40 deliveries`);
    assert.ok(maxBatch >= 10, `largest batch ${maxBatch}`);
  });

  void test('a failed commit rejects the whole batch and removes its blob files', async () => {
    const dir = await dataDir();
    const { store, bob } = withBob(dir);
    // Another connection holds the write lock past the busy timeout: the batch's BEGIN IMMEDIATE fails.
    const locked = openSqliteStore({ dataDir: dir, inlineMaxBytes: INLINE, busyTimeoutMs: 50 });
    after(() => locked.close());
    const blocker = new Database(join(dir, 'mailroom.db'));
    blocker.exec('BEGIN IMMEDIATE');
    const r = await Promise.allSettled([
      locked.deliver(
        request({ body: memoryBody(Buffer.alloc(INLINE * 2, 'z')), local: [{ accountId: bob }] }),
      ),
      locked.deliver(request({ body: memoryBody('small\r\n'), local: [{ accountId: bob }] })),
    ]);
    blocker.exec('ROLLBACK');
    blocker.close();
    assert.deepEqual(
      r.map((x) => x.status),
      ['rejected', 'rejected'],
    );
    assert.deepEqual(readdirSync(join(dir, 'blobs')), [], 'no orphan left behind');
    assert.equal(store.getMailbox(bob, 'INBOX')?.messageCount, 0);
  });
});

void test('a throwing event listener does not fail a committed delivery', async () => {
  const { store, bob } = withBob(await dataDir());
  store.events.on('message', () => {
    throw new Error('subscriber bug');
  });
  const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
  await store.deliver(request({ body: memoryBody('x\r\n'), local: [{ accountId: bob }] }));
  assert.match((await warned).message, /subscriber bug/);
  assert.equal(store.getMailbox(bob, 'INBOX')?.messageCount, 1);
});
