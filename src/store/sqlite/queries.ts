// Multi-statement reads and clean-ups of the SQLite store, kept apart so sqlite-store.ts stays readable.
import type { QueueEntry, QueueRecipient } from '../store.js';
import type { Prepare } from './statements.js';

/** Every queue entry with its recipients, oldest first (for `mailroom queue list`). */
export function listQueueEntries(prepare: Prepare, onlyId?: string): QueueEntry[] {
  const entries = prepare<
    [string | null, string | null],
    {
      id: string;
      sender: string;
      created_at: number;
      size: number;
      dsn_envid: string | null;
      dsn_ret: string | null;
    }
  >(
    'SELECT id, sender, created_at, size, dsn_envid, dsn_ret FROM queue WHERE (? IS NULL OR id = ?) ORDER BY created_at, id',
  ).all(onlyId ?? null, onlyId ?? null);
  const rcpts = prepare<
    [string],
    {
      address: string;
      orcpt: string | null;
      notify: string | null;
      state: QueueRecipient['state'];
      attempts: number;
      next_attempt_at: number | null;
      last_error: string | null;
      local_mailbox: string | null;
      local_special_use: string | null;
    }
  >(
    'SELECT address, orcpt, notify, state, attempts, next_attempt_at, last_error, local_mailbox, local_special_use ' +
      'FROM queue_recipients ' +
      'WHERE queue_id = ? ORDER BY rowid',
  );
  return entries.map((e) => ({
    id: e.id,
    sender: e.sender,
    createdAt: new Date(e.created_at),
    size: e.size,
    dsnEnvid: e.dsn_envid,
    dsnRet: e.dsn_ret === 'FULL' || e.dsn_ret === 'HDRS' ? e.dsn_ret : null,
    recipients: rcpts.all(e.id).map((r) => {
      const q: QueueRecipient = {
        address: r.address,
        state: r.state,
        attempts: r.attempts,
        nextAttemptAt: r.next_attempt_at === null ? null : new Date(r.next_attempt_at),
        lastError: r.last_error,
      };
      if (r.orcpt !== null) q.orcpt = r.orcpt;
      if (r.notify !== null) q.notify = r.notify.split(',');
      if (r.local_mailbox !== null) q.localMailbox = r.local_mailbox;
      if (r.local_special_use !== null) q.localSpecialUse = r.local_special_use;
      return q;
    }),
  }));
}

/** Deletes messages no mailbox references and blobs nothing references; returns blob files to unlink. */
export function collectGarbage(prepare: Prepare, messageIds: readonly number[]): string[] {
  const files: string[] = [];
  const stillUsed = prepare<[number], { x: number }>(
    'SELECT 1 AS x FROM mailbox_messages WHERE message_id = ?',
  );
  const blobOf = prepare<[number], { blob_id: number }>('SELECT blob_id FROM messages WHERE id = ?');
  const blobUsed = prepare<[number, number, number], { x: number }>(
    'SELECT 1 AS x FROM messages WHERE blob_id = ? UNION ALL SELECT 1 AS x FROM queue WHERE blob_id = ? ' +
      'UNION ALL SELECT 1 AS x FROM uploads WHERE blob_id = ? LIMIT 1',
  );
  const fileOf = prepare<[number], { file: string | null }>('SELECT file FROM blobs WHERE id = ?');
  for (const id of messageIds) {
    if (stillUsed.get(id)) continue;
    const blob = blobOf.get(id);
    prepare('DELETE FROM messages WHERE id = ?').run(id);
    if (!blob || blobUsed.get(blob.blob_id, blob.blob_id, blob.blob_id)) continue;
    const f = fileOf.get(blob.blob_id);
    if (f?.file) files.push(f.file);
    prepare('DELETE FROM blobs WHERE id = ?').run(blob.blob_id);
  }
  return files;
}

/** Deletes the blobs rows among `blobIds` that no message, queue entry or upload references; returns files to unlink. */
export function collectUnusedBlobs(prepare: Prepare, blobIds: Iterable<number>): string[] {
  const files: string[] = [];
  const used = prepare<[number, number, number], { x: number }>(
    'SELECT 1 AS x FROM messages WHERE blob_id = ? UNION ALL SELECT 1 AS x FROM queue WHERE blob_id = ? ' +
      'UNION ALL SELECT 1 AS x FROM uploads WHERE blob_id = ? LIMIT 1',
  );
  const fileOf = prepare<[number], { file: string | null }>('SELECT file FROM blobs WHERE id = ?');
  for (const id of new Set(blobIds)) {
    if (used.get(id, id, id)) continue;
    const f = fileOf.get(id);
    if (!f) continue;
    if (f.file) files.push(f.file);
    prepare('DELETE FROM blobs WHERE id = ?').run(id);
  }
  return files;
}
