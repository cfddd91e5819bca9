// backupDataDir / restoreDataDir / checkDataDir: a consistent snapshot with exactly its blob files, a race with a delete, a damaged copy.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { backupDataDir, checkDataDir, restoreDataDir } from '../../../src/store/sqlite/backup.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { memoryBody, request } from '../../contract/store-contract.js';

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mailroom-backup-unit-'));
  after(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** A data_dir with two small messages and two large ones (blob files: the inline limit is 1 KiB here). */
async function filled(): Promise<string> {
  const dir = join(await tempDir(), 'data');
  const store = openSqliteStore({ dataDir: dir, inlineMaxBytes: 1024 });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h').id;
  for (const text of ['small one\r\n', 'small two\r\n', `${'x'.repeat(5000)}\r\n`, `${'y'.repeat(6000)}\r\n`])
    await store.deliver(request({ body: memoryBody(text), local: [{ accountId: bob }] }));
  await store.close();
  return dir;
}

describe('backupDataDir', () => {
  test('copies the snapshot and exactly the blob files it references; restore gives the same messages', async () => {
    const dir = await filled();
    writeFileSync(join(dir, 'blobs', 'stray-file'), 'not referenced');
    const target = join(await tempDir(), 'b');
    const result = backupDataDir(dir, target);
    assert.equal(result.messages, 4);
    assert.equal(result.blob_files, 2);
    assert.equal(result.attempts, 1);
    assert.deepEqual(
      readdirSync(join(target, 'blobs')).sort(),
      readdirSync(join(dir, 'blobs'))
        .filter((f) => f !== 'stray-file')
        .sort(),
    );
    const restoredDir = join(await tempDir(), 'restored');
    const restored = restoreDataDir(target, restoredDir);
    assert.deepEqual(restored.problems, []);
    assert.equal(restored.messages, 4);
    const a = openSqliteStore({ dataDir: dir });
    const b = openSqliteStore({ dataDir: restoredDir });
    try {
      const inboxOf = (s: typeof a) => s.getMailbox(s.getAccount('bob@example.test')!.id, 'INBOX')!.id;
      const read = async (s: typeof a) =>
        Promise.all(
          s.listMessages(inboxOf(s)).map(async (m) => (await s.readMessage(m.messageId)).toString()),
        );
      assert.deepEqual(await read(b), await read(a));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a message deleted between the snapshot and the copy of its file: the snapshot is taken again', async () => {
    const dir = await filled();
    const target = join(await tempDir(), 'b');
    const result = backupDataDir(dir, target, undefined, (attempt) => {
      if (attempt !== 1) return;
      // What an expunge does in the server: the rows go, then the file.
      const db = new Database(join(dir, 'mailroom.db'));
      const file = db
        .prepare('SELECT file FROM blobs WHERE file IS NOT NULL ORDER BY id LIMIT 1')
        .pluck()
        .get() as string;
      const blobId = db.prepare('SELECT id FROM blobs WHERE file = ?').pluck().get(file) as number;
      db.pragma('foreign_keys = OFF');
      db.transaction(() => {
        for (const m of db
          .prepare('SELECT id FROM messages WHERE blob_id = ?')
          .pluck()
          .all(blobId) as number[]) {
          for (const t of ['mailbox_messages', 'emails', 'thread_refs']) {
            try {
              db.prepare(`DELETE FROM ${t} WHERE message_id = ?`).run(m);
            } catch {
              // a table without message_id
            }
          }
          db.prepare('DELETE FROM messages WHERE id = ?').run(m);
        }
        db.prepare('DELETE FROM blobs WHERE id = ?').run(blobId);
      })();
      db.close();
      unlinkSync(join(dir, 'blobs', file));
    });
    assert.equal(result.attempts, 2);
    assert.equal(result.blob_files, 1);
    assert.equal(result.messages, 3);
    assert.deepEqual(checkDataDir(target).problems, []);
  });

  test('refuses a target that is not empty', async () => {
    const dir = await filled();
    const target = await tempDir();
    writeFileSync(join(target, 'something'), 'x');
    assert.throws(() => backupDataDir(dir, target), /is not empty/);
  });
});

describe('checkDataDir', () => {
  test('names a missing or truncated blob file', async () => {
    const dir = await filled();
    const files = readdirSync(join(dir, 'blobs'));
    assert.equal(files.length, 2);
    unlinkSync(join(dir, 'blobs', files[0]!));
    truncateSync(join(dir, 'blobs', files[1]!), 10);
    const check = checkDataDir(dir);
    assert.equal(check.ok, false);
    assert.equal(check.problems.length, 2);
    assert.match(check.problems.join('\n'), /is missing/);
    assert.match(check.problems.join('\n'), /has 10 bytes, expected/);
  });
});
