// IMAP APPEND for SQLite: the body goes through the delivery path (inline or blob file) and its group commit.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MailroomError } from '../../errors.js';
import type { DeliveryRequest, SpooledBody } from '../store.js';
import type { SqliteContext } from './context.js';
import { headerIndexOf, prepareDelivery } from './deliver.js';
import { computeStructureJson } from './mail-structure.js';
import { threadKeysOfHeaderIndex } from '../../mail/thread-keys.js';
import { emailRowAdded } from './emails.js';
import { requireQuota } from './quota.js';

/** The widest zone offset a date-time can carry, in minutes (RFC 9051 9: "+2359"). */
const MAX_ZONE_MINUTES = 23 * 60 + 59;

/**
 * Stores an APPENDed message (RFC 9051 6.3.12). Unlike SMTP delivery it gets no Return-Path or
 * Received (the client's bytes are the message), its flags and internal date come from the
 * command, and it goes to exactly the named mailbox (no INBOX fallback: the client asked for that
 * one, RFC 9051 6.3.12 [TRYCREATE]). The zone of the internal date is kept with it (messages.
 * internal_date_offset). Resolves once the commit is durable.
 */
export async function appendMessage(
  ctx: SqliteContext,
  mailboxId: number,
  body: SpooledBody,
  flags: readonly string[],
  internalDate: Date,
  internalDateOffset: number,
): Promise<{ uid: number; uidValidity: number }> {
  // A zone is at most 23:59 either way (RFC 9051 9 zone = ("+" / "-") 4DIGIT, parse-args.ts checks it).
  if (!Number.isInteger(internalDateOffset) || Math.abs(internalDateOffset) > MAX_ZONE_MINUTES) {
    if (body.kind === 'file') await unlink(body.path).catch(() => undefined);
    throw new RangeError(`internal date offset out of range: ${internalDateOffset}`);
  }
  const exists = ctx
    .prepare<[number], { account_id: number }>('SELECT account_id FROM mailboxes WHERE id = ?')
    .get(mailboxId);
  if (!exists) {
    if (body.kind === 'file') await unlink(body.path).catch(() => undefined);
    throw new MailroomError('NO_SUCH_MAILBOX', `mailbox ${mailboxId} no longer exists`);
  }
  const request: DeliveryRequest = {
    queueId: '',
    envelope: { sender: '' },
    traceHeaders: '',
    body,
    receivedAt: internalDate,
    local: [],
    remote: [],
  };
  const prepared = await prepareDelivery(request, ctx.blobs, ctx.inlineMaxBytes);
  prepared.structureJson = await computeStructureJson(
    prepared.head,
    prepared.body.kind === 'inline' ? prepared.body.data : join(ctx.blobs.blobDir, prepared.body.name),
  );
  // The SEARCH header index at once (mail-headers.ts): the bytes are at hand, so no later read.
  // writeDelivery stores it with the message row.
  prepared.headerIndex = await headerIndexOf(prepared.head, prepared.body, ctx.blobs);
  prepared.threadKeys = threadKeysOfHeaderIndex(prepared.headerIndex);
  prepared.internalDateOffset = internalDateOffset;
  const flagText = flags.join(' ');
  const receivedAt = internalDate.getTime();
  prepared.append = (prepare, messageId, rec) => {
    // RFC 9208 5.2 / RFC 5530 3: refused with OVERQUOTA inside the commit, against the usage the triggers keep.
    requireQuota(prepare, exists.account_id, prepared.size, 1);
    const c = prepare<[number], { uid: number; modseq: number; uidvalidity: number }>(
      'UPDATE mailboxes SET uidnext = uidnext + 1, highest_modseq = highest_modseq + 1 WHERE id = ? ' +
        'RETURNING uidnext - 1 AS uid, highest_modseq AS modseq, uidvalidity',
    ).get(mailboxId);
    if (!c) throw new MailroomError('NO_SUCH_MAILBOX', `mailbox ${mailboxId} no longer exists`);
    prepare(
      'INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, modseq, received_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(mailboxId, c.uid, messageId, flagText, c.modseq, receivedAt);
    emailRowAdded(
      prepare,
      rec,
      exists.account_id,
      mailboxId,
      messageId,
      receivedAt,
      prepared.threadKeys ?? null,
      true, // the message row was just written: no Email of it exists yet
    );
    return { uid: c.uid, uidValidity: c.uidvalidity };
  };
  const committed = await ctx.commit(prepared);
  const appended = committed.appended;
  if (!appended) throw new MailroomError('APPEND_FAILED', 'append did not store the message');
  ctx.emit('message', { accountId: exists.account_id, mailboxId, uid: appended.uid });
  return appended;
}
