// IMAP APPEND for SQLite: the body goes through the delivery path (inline or blob file) and its group commit.
import { unlink } from 'node:fs/promises';
import { MailroomError } from '../../errors.js';
import type { DeliveryRequest, SpooledBody } from '../store.js';
import type { SqliteContext } from './context.js';
import { discardPrepared, prepareDelivery, structureAndIndex, type PreparedDelivery } from './deliver.js';
import { threadKeysOfHeaderIndex } from '../../mail/thread-keys.js';
import { emailRowAdded } from './emails.js';
import { requireQuota } from './quota.js';

/** The widest zone offset a date-time can carry, in minutes (RFC 9051 9: "+2359"). */
const MAX_ZONE_MINUTES = 23 * 60 + 59;

/** One message of an APPEND (several with MULTIAPPEND, RFC 3502). */
export interface AppendInput {
  body: SpooledBody;
  flags: readonly string[];
  internalDate: Date;
  /** The zone of the internal date, minutes east of UTC (messages.internal_date_offset). */
  internalDateOffset: number;
  /**
   * Further mailboxes of the same account the message is placed in, in the same transaction (JMAP
   * Email/import with several mailboxIds, RFC 8621 4.8: the Email is created whole or not at all).
   */
  alsoInto?: readonly number[];
}

async function dropBodies(bodies: readonly SpooledBody[]): Promise<void> {
  await Promise.all(
    bodies.map((b) => (b.kind === 'file' ? unlink(b.path).catch(() => undefined) : undefined)),
  );
}

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
  const r = await appendMessages(ctx, mailboxId, [{ body, flags, internalDate, internalDateOffset }]);
  return { uid: r.uids[0] as number, uidValidity: r.uidValidity };
}

/**
 * Stores the messages of one APPEND (MULTIAPPEND, RFC 3502 6.3.11: "all or none"): every body is
 * prepared (blob files written, structures parsed) first, then all rows go into one transaction of
 * the group commit, so a failure anywhere - a bad message, a vanished mailbox, a crash before the
 * commit - stores none of them. Their UIDs are consecutive (one transaction holds the write lock).
 * The store owns every 'file' body from the call on (removed on failure).
 */
export async function appendMessages(
  ctx: SqliteContext,
  mailboxId: number,
  messages: readonly AppendInput[],
): Promise<{ uids: number[]; uidValidity: number }> {
  const bodies = messages.map((m) => m.body);
  // A zone is at most 23:59 either way (RFC 9051 9 zone = ("+" / "-") 4DIGIT, parse-args.ts checks it).
  for (const m of messages) {
    if (!Number.isInteger(m.internalDateOffset) || Math.abs(m.internalDateOffset) > MAX_ZONE_MINUTES) {
      await dropBodies(bodies);
      throw new RangeError(`internal date offset out of range: ${m.internalDateOffset}`);
    }
  }
  const exists = ctx
    .prepare<[number], { account_id: number }>('SELECT account_id FROM mailboxes WHERE id = ?')
    .get(mailboxId);
  if (!exists) {
    await dropBodies(bodies);
    throw new MailroomError('NO_SUCH_MAILBOX', `mailbox ${mailboxId} no longer exists`);
  }
  const group: PreparedDelivery[] = [];
  try {
    for (const [i, m] of messages.entries()) {
      group.push(await prepareAppend(ctx, mailboxId, exists.account_id, m));
      bodies[i] = { kind: 'memory', chunks: [], size: 0 }; // now owned by the prepared delivery
    }
  } catch (err) {
    await Promise.all(group.map((p) => discardPrepared(p, ctx.blobs)));
    await dropBodies(bodies);
    throw err;
  }
  const committed = await ctx.commitGroup(group);
  const uids: number[] = [];
  let uidValidity = 0;
  for (const c of committed) {
    if (!c.appended) throw new MailroomError('APPEND_FAILED', 'append did not store the message');
    uids.push(c.appended.uid);
    uidValidity = c.appended.uidValidity;
  }
  for (const uid of uids) ctx.emit('message', { accountId: exists.account_id, mailboxId, uid });
  for (const c of committed) {
    for (const a of c.appended?.also ?? []) ctx.emit('message', { accountId: exists.account_id, ...a });
  }
  return { uids, uidValidity };
}

/** Writes one APPEND body (inline or blob file) and computes what its rows need; the rows are written at commit. */
async function prepareAppend(
  ctx: SqliteContext,
  mailboxId: number,
  accountId: number,
  m: AppendInput,
): Promise<PreparedDelivery> {
  const request: DeliveryRequest = {
    queueId: '',
    envelope: { sender: '' },
    traceHeaders: '',
    body: m.body,
    receivedAt: m.internalDate,
    local: [],
    remote: [],
  };
  const prepared = await prepareDelivery(request, ctx.blobs, ctx.inlineMaxBytes);
  try {
    // The SEARCH header index at once (mail-headers.ts): the bytes are at hand, so no later read.
    // writeDelivery stores it with the message row.
    const { structureJson, headerIndex } = await structureAndIndex(prepared.head, prepared.body, ctx.blobs);
    prepared.structureJson = structureJson;
    prepared.headerIndex = headerIndex;
  } catch (err) {
    await discardPrepared(prepared, ctx.blobs);
    throw err;
  }
  prepared.threadKeys = threadKeysOfHeaderIndex(prepared.headerIndex);
  prepared.internalDateOffset = m.internalDateOffset;
  const flagText = m.flags.join(' ');
  const receivedAt = m.internalDate.getTime();
  // RFC 8514 3: the save date is when the server stored it, whatever internal date the client gave.
  const savedAt = ctx.clock().getTime();
  const others = [...new Set(m.alsoInto ?? [])].filter((id) => id !== mailboxId);
  prepared.append = (prepare, messageId, rec) => {
    // RFC 9208 5.2 / RFC 5530 3: refused with OVERQUOTA inside the commit, against the usage the triggers
    // keep; a message in several mailboxes counts in each (RFC 9208 5.1), all checked before any row.
    requireQuota(prepare, accountId, prepared.size * (1 + others.length), 1 + others.length);
    const bump = prepare<[number, number], { uid: number; modseq: number; uidvalidity: number }>(
      'UPDATE mailboxes SET uidnext = uidnext + 1, highest_modseq = highest_modseq + 1 WHERE id = ? AND account_id = ? ' +
        'RETURNING uidnext - 1 AS uid, highest_modseq AS modseq, uidvalidity',
    );
    const insert = prepare(
      'INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, modseq, received_at, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const place = (box: number, fresh: boolean) => {
      const c = bump.get(box, accountId);
      // A mailbox gone (or another account's) fails the whole transaction: nothing is stored.
      if (!c) throw new MailroomError('NO_SUCH_MAILBOX', `mailbox ${box} no longer exists`);
      insert.run(box, c.uid, messageId, flagText, c.modseq, receivedAt, savedAt);
      // The message row was just written: its first placement creates the Email, the others find it.
      emailRowAdded(prepare, rec, accountId, box, messageId, receivedAt, prepared.threadKeys ?? null, fresh);
      return c;
    };
    const c = place(mailboxId, true);
    const also = others.map((box) => ({ mailboxId: box, uid: place(box, false).uid }));
    return { uid: c.uid, uidValidity: c.uidvalidity, also };
  };
  return prepared;
}
