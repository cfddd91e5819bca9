// JMAP at scale (issue 9): the message list query walks an index in order and stops at the page, at any mailbox size.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { QUERY_MAILBOX_SQL } from '../../../src/store/sqlite/jmap-emails.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

test('Email/query inMailbox sorted by receivedAt desc: mailbox_messages_received, no sort of the mailbox', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-plan-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await openSqliteStore({ dataDir: dir }).close();
  const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
  try {
    const p = db
      .prepare<number[], { detail: string }>(`EXPLAIN QUERY PLAN ${QUERY_MAILBOX_SQL}`)
      .all(1, 1, 50, 0)
      .map((r) => r.detail);
    assert.ok(
      p.some((d) => /mailbox_messages_received/.test(d)),
      p.join(' | '),
    );
    assert.ok(!p.some((d) => /TEMP B-TREE/.test(d)), p.join(' | '));
  } finally {
    db.close();
  }
});
