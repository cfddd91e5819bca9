// \Recent for IMAP4rev1 sessions (RFC 3501 2.3.2): each mailbox's first UID no session has claimed yet.
import type { SqliteContext } from './context.js';

/**
 * MailStore.recentFrom. A claim is read-then-write in one BEGIN IMMEDIATE transaction, so two sessions
 * (or two processes) selecting at once never both get a message as \Recent. Only a claim that moves the
 * mark writes; a SELECT with no new mail since the last one costs one primary-key read. The claim's
 * fsync runs off the event loop and is not waited for: if power fails before it, the messages are
 * \Recent once more in the next session, which RFC 3501 2.3.2 tolerates (recency is session state).
 */
export function recentFrom(
  ctx: SqliteContext,
  mailboxId: number,
  below: number,
  claim: boolean,
): number | null {
  const read = ctx.prepare<[number], { f: number }>(
    'SELECT first_recent_uid AS f FROM mailboxes WHERE id = ?',
  );
  const seen = read.get(mailboxId);
  if (!seen) return null;
  if (!claim || seen.f >= below) return seen.f;
  const { result } = ctx.writeLazy(() => {
    // Re-read under the write lock: another session may have claimed since the read above.
    const now = read.get(mailboxId);
    if (!now) return null;
    if (now.f < below) {
      ctx.prepare('UPDATE mailboxes SET first_recent_uid = ? WHERE id = ?').run(below, mailboxId);
    }
    return now.f;
  });
  return result;
}

/** MailStore.recentCount: rows at or above the mark, a range read of the (mailbox_id, uid) primary key. */
export function recentCount(ctx: SqliteContext, mailboxId: number): number {
  const row = ctx
    .prepare<[number], { n: number }>(
      'SELECT count(*) AS n FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id ' +
        'WHERE mm.mailbox_id = ? AND mm.uid >= m.first_recent_uid',
    )
    .get(mailboxId);
  return row?.n ?? 0;
}
