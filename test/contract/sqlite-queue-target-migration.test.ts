// Migration 25 (queued local copies keep their mailbox): an older database keeps its queue rows, which retry into INBOX; new rows carry the target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite/schema.js';

test('migration 25: queued recipients of an older database have no target (INBOX); the columns exist after', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-m25q-'));
  try {
    const at = MIGRATIONS.findIndex((m) => m.includes('ADD COLUMN local_mailbox'));
    assert.ok(at > 0, 'the queue target migration exists');
    const old = new Database(join(dir, 'mailroom.db'));
    for (const [i, sql] of MIGRATIONS.slice(0, at).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${i + 1}`);
    }
    old.exec("INSERT INTO blobs (size, head, body, file) VALUES (3, '', X'616263', NULL)");
    old.exec(
      "INSERT INTO queue (id, blob_id, blob_offset, size, sender, created_at) VALUES ('Q0', 1, 0, 3, 'a@b.test', 0)",
    );
    old.exec(
      "INSERT INTO queue_recipients (queue_id, address, state, attempts, next_attempt_at) VALUES ('Q0', 'ann@example.test', 'pending', 0, 0)",
    );
    old.close();

    const store = openSqliteStore({ dataDir: dir });
    try {
      const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      db.close();
      const [rcpt] = store.queue.get('Q0')!.recipients;
      assert.equal(rcpt?.address, 'ann@example.test');
      assert.equal(rcpt?.localMailbox, undefined);
      assert.equal(rcpt?.localSpecialUse, undefined);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
