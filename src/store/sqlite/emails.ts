// The Email lifecycle in SQLite (jmap-store.ts): an Email row exists while its account has a mailbox row for the message.
import { threadKeysOfHeaderIndex, type ThreadKeys } from '../../mail/thread-keys.js';
import { ChangeKind, type ChangeRecorder } from './changes.js';
import type { Prepare } from './statements.js';
import { resolveThread, threadLostEmail } from './threads.js';

/*
 * Every path that adds or removes mailbox_messages rows calls these inside its transaction:
 * deliver.ts (delivery, APPEND), mail-messages.ts (COPY, MOVE, STORE), mail-store.ts (EXPUNGE, POP3),
 * mail-folders.ts (DELETE, RENAME INBOX), directory.ts (account removal), jmap-emails.ts (Email/set).
 * test/contract/jmap-contract.ts checks after each operation that Emails and rows agree.
 */

/** Thread keys of a stored message from its header index (for a message whose keys are not at hand). */
export function storedThreadKeys(prepare: Prepare, messageId: number): ThreadKeys {
  const row = prepare<[number], { fields: string }>(
    'SELECT fields FROM message_headers WHERE message_id = ?',
  ).get(messageId);
  return threadKeysOfHeaderIndex(row?.fields ?? '');
}

/**
 * A row of `messageId` was added to `mailboxId` of `accountId`: creates the account's Email for the
 * message (with its thread) if it is the first row, else records that its mailboxIds changed. `keys`
 * when the caller has them (delivery, APPEND), else read from the stored header index. `fresh`: the
 * caller knows the account has no Email for the message yet (a delivery's first copy in the account,
 * the message row being new), which spares the look-up on every delivery.
 */
export function emailRowAdded(
  prepare: Prepare,
  rec: ChangeRecorder,
  accountId: number,
  mailboxId: number,
  messageId: number,
  receivedAt: number,
  keys: ThreadKeys | null,
  fresh = false,
): void {
  rec.note(accountId, 'Mailbox', mailboxId, ChangeKind.Counts);
  const existing = fresh
    ? undefined
    : prepare<[number, number], { id: number }>(
        'SELECT id FROM emails WHERE account_id = ? AND message_id = ?',
      ).get(accountId, messageId);
  if (existing) {
    rec.note(accountId, 'Email', existing.id, ChangeKind.Updated);
    return;
  }
  const thread = resolveThread(
    prepare,
    rec,
    accountId,
    keys ?? storedThreadKeys(prepare, messageId),
    receivedAt,
  );
  const id = Number(
    prepare('INSERT INTO emails (account_id, message_id, thread_id, received_at) VALUES (?, ?, ?, ?)').run(
      accountId,
      messageId,
      thread,
      receivedAt,
    ).lastInsertRowid,
  );
  rec.note(accountId, 'Email', id, ChangeKind.Created);
}

/**
 * A row of `messageId` left `mailboxId` of `accountId` (already deleted): the Email is destroyed with
 * its account's last row, else its mailboxIds changed. Must run before collectGarbage (queries.ts), which
 * may delete the message row the Email refers to.
 */
export function emailRowRemoved(
  prepare: Prepare,
  rec: ChangeRecorder,
  accountId: number,
  mailboxId: number,
  messageId: number,
): void {
  rec.note(accountId, 'Mailbox', mailboxId, ChangeKind.Counts);
  const email = prepare<[number, number], { id: number; thread_id: number }>(
    'SELECT id, thread_id FROM emails WHERE account_id = ? AND message_id = ?',
  ).get(accountId, messageId);
  if (!email) return;
  const still = prepare<[number, number], { one: number }>(
    'SELECT 1 AS one FROM mailbox_messages mm JOIN mailboxes b ON b.id = mm.mailbox_id ' +
      'WHERE mm.message_id = ? AND b.account_id = ? LIMIT 1',
  ).get(messageId, accountId);
  if (still) {
    rec.note(accountId, 'Email', email.id, ChangeKind.Updated);
    return;
  }
  prepare('DELETE FROM emails WHERE id = ?').run(email.id);
  rec.note(accountId, 'Email', email.id, ChangeKind.Destroyed);
  threadLostEmail(prepare, rec, accountId, email.thread_id);
}

/** Flags of a row changed: its Email's keywords may have, and the mailbox's unread counts if \Seen did. */
export function emailFlagsChanged(
  prepare: Prepare,
  rec: ChangeRecorder,
  accountId: number,
  mailboxId: number,
  messageId: number,
  seenChanged: boolean,
): void {
  const email = prepare<[number, number], { id: number }>(
    'SELECT id FROM emails WHERE account_id = ? AND message_id = ?',
  ).get(accountId, messageId);
  if (email) rec.note(accountId, 'Email', email.id, ChangeKind.Updated);
  if (seenChanged) rec.note(accountId, 'Mailbox', mailboxId, ChangeKind.Counts);
}
