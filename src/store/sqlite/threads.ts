// Thread assignment in SQLite (RFC 8621 3): a new Email joins the thread of any message it names or that names it; late parents merge threads.
import { THREAD_LIMITS } from '../../config/limits.js';
import type { ThreadKeys } from '../../mail/thread-keys.js';
import { ChangeKind, type ChangeRecorder } from './changes.js';
import type { Prepare } from './statements.js';

/*
 * Tables (schema.ts migration 10):
 *   threads(id, account_id, subject, last_at)       subject: the collation-form base subject of the message that
 *                                                   started it; last_at: the newest receivedAt (subject window)
 *   thread_refs(account_id, msgid, thread_id)       every Message ID an Email of the thread has or refers to
 *   emails(id, account_id, message_id, thread_id, received_at)
 * A message's own id and the ids it refers to all point at its thread. So a reply finds its parent's thread
 * (the parent's own id), a parent arriving after its replies finds theirs (the replies' references), and two
 * replies to a missing parent share it. All lookups are primary-key probes: one per referenced id.
 * The keys come from mail/thread-keys.ts (the backend does not parse, DESIGN habit 8).
 */

/**
 * The thread a new Email of `accountId` with these keys belongs to, merging threads it links; records
 * Thread (and, for merges, Email) changes. Runs inside the caller's write transaction.
 */
export function resolveThread(
  prepare: Prepare,
  rec: ChangeRecorder,
  accountId: number,
  keys: ThreadKeys,
  receivedAt: number,
): number {
  const ids = keys.messageId !== null ? [keys.messageId, ...keys.references] : keys.references;
  const lookup = prepare<[number, string], { thread_id: number }>(
    'SELECT thread_id FROM thread_refs WHERE account_id = ? AND msgid = ?',
  );
  const found = new Set<number>();
  // Where each id pointed before the merge below (undefined: a new id).
  const before: (number | undefined)[] = [];
  for (const id of ids) {
    const row = lookup.get(accountId, id);
    before.push(row?.thread_id);
    if (row) found.add(row.thread_id);
  }
  if (found.size === 0 && keys.replySubject !== null) {
    const bySubject = prepare<[number, string, number], { id: number }>(
      // "subject <> ''" (always true here: replySubject is never empty) lets the partial index serve it.
      "SELECT id FROM threads WHERE account_id = ? AND subject = ? AND subject <> '' AND last_at >= ? " +
        'ORDER BY last_at DESC LIMIT 1',
    ).get(accountId, keys.replySubject, receivedAt - THREAD_LIMITS.subjectWindowMs);
    if (bySubject) found.add(bySubject.id);
  }
  let thread: number;
  if (found.size === 0) {
    thread = Number(
      prepare('INSERT INTO threads (account_id, subject, last_at) VALUES (?, ?, ?)').run(
        accountId,
        keys.subject,
        receivedAt,
      ).lastInsertRowid,
    );
    rec.note(accountId, 'Thread', thread, ChangeKind.Created);
  } else {
    // The oldest thread survives (lowest id); the others are merged into it.
    thread = Math.min(...found);
    for (const other of found) if (other !== thread) mergeThread(prepare, rec, accountId, other, thread);
    prepare('UPDATE threads SET last_at = max(last_at, ?) WHERE id = ?').run(receivedAt, thread);
    rec.note(accountId, 'Thread', thread, ChangeKind.Updated);
  }
  const link = prepare(
    'INSERT INTO thread_refs (account_id, msgid, thread_id) VALUES (?, ?, ?) ' +
      'ON CONFLICT (account_id, msgid) DO UPDATE SET thread_id = excluded.thread_id',
  );
  // Only ids not known before are written: a known id pointed at a thread in `found`, which is now
  // `thread` itself or was merged into it (mergeThread moved its ids). A reply's references are mostly
  // known, and rewriting a row with its own value still dirties its page of the random-keyed index.
  ids.forEach((id, i) => {
    if (before[i] === undefined) link.run(accountId, id, thread);
  });
  return thread;
}

/**
 * Moves thread `from` into `into`. threadId is immutable for an Email (RFC 8621 4.1.1), so each Email of
 * `from` is destroyed and re-created under a new id in `into` (jmap-store.ts explains the choice).
 */
function mergeThread(
  prepare: Prepare,
  rec: ChangeRecorder,
  accountId: number,
  from: number,
  into: number,
): void {
  prepare('UPDATE thread_refs SET thread_id = ? WHERE thread_id = ?').run(into, from);
  const moving = prepare<[number], { id: number; message_id: number; received_at: number }>(
    'SELECT id, message_id, received_at FROM emails WHERE thread_id = ? ORDER BY id',
  ).all(from);
  const remove = prepare('DELETE FROM emails WHERE id = ?');
  const insert = prepare(
    'INSERT INTO emails (account_id, message_id, thread_id, received_at) VALUES (?, ?, ?, ?)',
  );
  const mailboxesOf = prepare<[number, number], { mailbox_id: number }>(
    'SELECT mm.mailbox_id FROM mailbox_messages mm JOIN mailboxes b ON b.id = mm.mailbox_id ' +
      'WHERE mm.message_id = ? AND b.account_id = ?',
  );
  for (const e of moving) {
    remove.run(e.id);
    rec.note(accountId, 'Email', e.id, ChangeKind.Destroyed);
    const id = Number(insert.run(accountId, e.message_id, into, e.received_at).lastInsertRowid);
    rec.note(accountId, 'Email', id, ChangeKind.Created);
    // totalThreads of its mailboxes went down by one.
    for (const m of mailboxesOf.all(e.message_id, accountId))
      rec.note(accountId, 'Mailbox', m.mailbox_id, ChangeKind.Counts);
  }
  const last = prepare<[number], { last_at: number }>('SELECT last_at FROM threads WHERE id = ?').get(from);
  if (last) prepare('UPDATE threads SET last_at = max(last_at, ?) WHERE id = ?').run(last.last_at, into);
  prepare('DELETE FROM threads WHERE id = ?').run(from);
  rec.note(accountId, 'Thread', from, ChangeKind.Destroyed);
}

/** After an Email left thread `threadId`: the thread is destroyed with its last Email, else updated. */
export function threadLostEmail(
  prepare: Prepare,
  rec: ChangeRecorder,
  accountId: number,
  threadId: number,
): void {
  const left = prepare<[number], { one: number }>(
    'SELECT 1 AS one FROM emails WHERE thread_id = ? LIMIT 1',
  ).get(threadId);
  if (left) {
    rec.note(accountId, 'Thread', threadId, ChangeKind.Updated);
    return;
  }
  // Its references go too: a later reply to a vanished thread starts a new one (ids are never reused).
  prepare('DELETE FROM thread_refs WHERE thread_id = ?').run(threadId);
  prepare('DELETE FROM threads WHERE id = ?').run(threadId);
  rec.note(accountId, 'Thread', threadId, ChangeKind.Destroyed);
}
