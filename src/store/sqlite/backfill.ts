// After migration 10 (schema.ts): Emails and threads for the mail an older version stored, from the header index.
import type Database from 'better-sqlite3';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { threadKeysOfHeaderIndex } from '../../mail/thread-keys.js';
import { ChangeRecorder } from './changes.js';
import { emailRowAdded } from './emails.js';
import { buildHeaderIndex, headerBlock } from './mail-headers.js';
import type { Prepare } from './statements.js';

/** How much of a blob file is read for its header (the index needs only the header block). */
const HEADER_READ_BYTES = 256 * 1024;

/**
 * Runs once, when migration 10 left the 'emails_backfill' counter: one Email per (account, message)
 * with mailbox rows, oldest first so parents mostly come before replies (threads.ts merges the rest),
 * in one BEGIN IMMEDIATE transaction that first re-checks the counter (two processes opening the data
 * directory at once do it once). Nothing goes into the change log: no client holds a state from before.
 * Messages stored before the header index (migration 5) and never searched get their index now.
 * Returns how many Emails it made.
 */
export function backfillEmails(db: Database.Database, prepare: Prepare, blobDir: string): number {
  const pending = (): boolean =>
    prepare<[], { value: number }>("SELECT value FROM counters WHERE name = 'emails_backfill'").get()
      ?.value === 1;
  if (!pending()) return 0;
  return db
    .transaction((): number => {
      if (!pending()) return 0;
      const rows = prepare<
        [],
        { account_id: number; message_id: number; mailbox_id: number; received_at: number }
      >(
        'SELECT b.account_id, mm.message_id, MIN(mm.mailbox_id) AS mailbox_id, MIN(mm.received_at) AS received_at ' +
          'FROM mailbox_messages mm JOIN mailboxes b ON b.id = mm.mailbox_id ' +
          'WHERE NOT EXISTS (SELECT 1 FROM emails e WHERE e.account_id = b.account_id AND e.message_id = mm.message_id) ' +
          'GROUP BY b.account_id, mm.message_id ORDER BY received_at, mm.message_id',
      ).all();
      const rec = new ChangeRecorder(); // never flushed: see above
      for (const r of rows) {
        const index = headerIndexFor(prepare, r.message_id, blobDir);
        emailRowAdded(
          prepare,
          rec,
          r.account_id,
          r.mailbox_id,
          r.message_id,
          r.received_at,
          threadKeysOfHeaderIndex(index),
        );
      }
      prepare("DELETE FROM counters WHERE name = 'emails_backfill'").run();
      return rows.length;
    })
    .immediate();
}

/** The stored header index of a message, computed from its bytes (and kept) when there is none. */
function headerIndexFor(prepare: Prepare, messageId: number, blobDir: string): string {
  const row = prepare<[number], { fields: string }>(
    'SELECT fields FROM message_headers WHERE message_id = ?',
  ).get(messageId);
  if (row) return row.fields;
  const blob = prepare<[number], { head: Buffer; body: Buffer | null; file: string | null }>(
    'SELECT b.head, b.body, b.file FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = ?',
  ).get(messageId);
  if (!blob) return '';
  let start = blob.body ?? Buffer.alloc(0);
  if (blob.file !== null) {
    // Synchronous: this is start-up work inside the migration's transaction.
    try {
      const fd = openSync(join(blobDir, blob.file), 'r');
      try {
        const buf = Buffer.alloc(HEADER_READ_BYTES);
        start = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
      } finally {
        closeSync(fd);
      }
    } catch {
      start = Buffer.alloc(0); // a missing file: threaded alone, as a message without headers
    }
  }
  const index = buildHeaderIndex(headerBlock(blob.head, start));
  prepare('INSERT INTO message_headers (message_id, fields) VALUES (?, ?) ON CONFLICT DO NOTHING').run(
    messageId,
    index,
  );
  return index;
}
