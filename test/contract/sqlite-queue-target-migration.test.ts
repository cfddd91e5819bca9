// Migration 25 (queued local copies keep their mailbox): an older database keeps its queue rows, which retry into INBOX; new rows carry the target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { assertSchemaCurrent, databaseBefore } from '../helpers/old-schema.js';

test('migration 25: queued recipients of an older database have no target (INBOX); the columns exist after', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-m25q-'));
  try {
    const old = databaseBefore(dir, 'ADD COLUMN local_mailbox');
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
      assertSchemaCurrent(dir);
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
