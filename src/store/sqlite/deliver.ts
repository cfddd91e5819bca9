// deliver() for SQLite: bodies stored once (inline or as a file), one row per local copy, queue rows (group-committer.ts commits them).
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MailroomError } from '../../errors.js';
import type { FileBlobStore } from '../blob-store.js';
import type { DeliveryRequest, EnvelopeRecipient } from '../store.js';
import { OverQuotaError, quotaVerdict } from '../quota.js';
import { quotaState } from './quota.js';
import type { Prepare } from './statements.js';
import { buildHeaderIndex, headerBlock, headerIndexOfFieldList, headerIndexOfFile } from './mail-headers.js';
import { computeStructure } from './mail-structure.js';
import { threadKeysOfHeaderIndex, type ThreadKeys } from '../../mail/thread-keys.js';
import type { ChangeRecorder } from './changes.js';
import { emailRowAdded } from './emails.js';
import { insertReceivedEvent } from './trace-store.js';
import { DeliveryBatch } from './delivery-batch.js';

/*
 * One stored blob serves both the local mailboxes and the queue. A blob is `head` + `body`:
 * - head is `Return-Path: <sender>` (RFC 5321 4.4: added by the final delivery, so only the
 *   local copies may carry it) followed by the trace headers (Received). It is always a column
 *   of the blobs row, small.
 * - body is what the client sent: inline in the same row when small, else a file in blobs/.
 * Local copies read the blob from offset 0; the queue row records blob_offset = the length of the
 * Return-Path line, so the copy sent on to other servers starts with Received. Keeping the head in
 * SQLite is what lets a large body that was spooled to a file be *renamed* into blobs/ untouched.
 *
 * Why small bodies are inline: a blob file costs its own fsync plus one of the directory, while
 * an inline body rides in the WAL, so a whole batch of small messages costs one fsync (the
 * commit). bench/store-deliver.ts measures the trade-off; see DEFAULT_INLINE_MAX_BYTES.
 */

/** Bodies up to this size are stored inside SQLite (see bench/store-deliver.ts for the figures). */
export const DEFAULT_INLINE_MAX_BYTES = 64 * 1024;

export interface PreparedDelivery {
  request: DeliveryRequest;
  head: Buffer;
  queueOffset: number;
  body: { kind: 'inline'; data: Buffer } | { kind: 'file'; name: string };
  size: number;
  /** Spool files to remove once the outcome is known (a small spooled body that was inlined). */
  spoolLeftovers: string[];
  /** ENVELOPE + MIME structure (JSON of MessageStructure), computed once here for IMAP (mail-structure.ts). */
  structureJson?: string | null;
  /** The SEARCH header index (mail-headers.ts), stored with the message so no SEARCH computes it later. */
  headerIndex?: string | null;
  /**
   * The zone of the internal date, minutes east of UTC (messages.internal_date_offset): APPEND's
   * date-time zone (mail-append.ts). SMTP delivery leaves it unset, which stores +0000 rather than this
   * host's zone: the process's TZ is configuration that differs between hosts (and the nodes sharing a
   * store later), and a stored zone must not depend on which node took the message.
   */
  internalDateOffset?: number;
  /** Thread keys (mail/thread-keys.ts) from the header index: where the new Emails go (threads.ts). */
  threadKeys?: ThreadKeys | null;
  /** IMAP APPEND: writes the mailbox row instead of local deliveries (mail-append.ts), inside the batch. */
  append?: (prepare: Prepare, messageId: number, rec: ChangeRecorder) => AppendPlacement;
}

/** Where an APPEND put its message: the UID in the named mailbox, and any further ones (AppendInput.alsoInto). */
export interface AppendPlacement {
  uid: number;
  uidValidity: number;
  also?: { mailboxId: number; uid: number }[];
}

/** One local copy as committed: where it went, with the names the `delivered` log line shows (delivery-log.ts). */
export interface CommittedCopy {
  accountId: number;
  mailboxId: number;
  uid: number;
  /** The mailbox's name and the account's address as of the commit, read by the same query that found the mailbox. */
  mailbox: string;
  account: string;
}

export interface CommittedDelivery {
  messageId: number | null;
  copies: CommittedCopy[];
  queueId: string | null;
  /** Set for an IMAP APPEND (see PreparedDelivery.append). */
  appended?: AppendPlacement;
  /** Local accounts whose quota refused the message; they were queued instead (writeDelivery). */
  overQuota?: { accountId: number; permanent: boolean }[];
  /**
   * The local recipients' accounts whose VacationResponse is enabled, as of this commit (RFC 8621 8):
   * read here, inside the write transaction, where it is one primary-key probe each, so the auto-reply
   * (delivery/vacation-responder.ts) needs no look-up of its own (a data_version read per delivery).
   */
  vacationAccounts?: number[];
}

/** Builds head and moves/writes the body so only the metadata commit is left. Async, off the event loop. */
export async function prepareDelivery(
  request: DeliveryRequest,
  blobs: FileBlobStore,
  inlineMaxBytes: number,
): Promise<PreparedDelivery> {
  const returnPath = request.local.length > 0 ? `Return-Path: <${request.envelope.sender}>\r\n` : '';
  const head = Buffer.from(returnPath + request.traceHeaders, 'utf8');
  const queueOffset = Buffer.byteLength(returnPath, 'utf8');
  const b = request.body;
  const spoolLeftovers: string[] = [];
  let body: PreparedDelivery['body'];
  let bodySize: number;
  if (b.kind === 'memory') {
    bodySize = b.chunks.reduce((n, c) => n + c.length, 0);
    body =
      bodySize <= inlineMaxBytes
        ? { kind: 'inline', data: Buffer.concat(b.chunks, bodySize) }
        : { kind: 'file', name: await blobs.writeChunks(b.chunks) };
  } else if (b.size <= inlineMaxBytes) {
    // Spooled although small (the spool threshold is below the inline one): inline it.
    const data = await readFile(b.path);
    bodySize = data.length;
    body = { kind: 'inline', data };
    spoolLeftovers.push(b.path);
  } else {
    // Already fsynced by BodySpool.finish(); the rename is made durable by the batch's syncDir().
    body = { kind: 'file', name: await blobs.adopt(b.path) };
    bodySize = b.size;
  }
  // Parsed once here, kept with the message, so IMAP FETCH never parses a body again (issue 4 item 3).
  const local = request.local.length > 0;
  const { structureJson, headerIndex } = local
    ? await structureAndIndex(head, body, blobs)
    : { structureJson: null, headerIndex: null };
  return {
    request,
    head,
    queueOffset,
    body,
    size: head.length + bodySize,
    spoolLeftovers,
    structureJson,
    headerIndex,
    threadKeys: headerIndex !== null ? threadKeysOfHeaderIndex(headerIndex) : null,
  };
}

/**
 * The stored structure and the SEARCH header index of a prepared body (also used by APPEND, mail-append.ts).
 * The index comes from the header the MIME parser has just parsed (one parse of the header block per
 * message); only when that header was not clean is the block parsed again (a file body: one read of its start).
 */
export async function structureAndIndex(
  head: Buffer,
  body: PreparedDelivery['body'],
  blobs: FileBlobStore,
): Promise<{ structureJson: string; headerIndex: string }> {
  const s = await computeStructure(head, body.kind === 'inline' ? body.data : join(blobs.blobDir, body.name));
  const headerIndex =
    s.headerFields !== null ? headerIndexOfFieldList(s.headerFields) : await headerIndexOf(head, body, blobs);
  return { structureJson: s.json, headerIndex };
}

/** The SEARCH header index of a prepared body, parsed from its header block. */
export function headerIndexOf(
  head: Buffer,
  body: PreparedDelivery['body'],
  blobs: FileBlobStore,
): Promise<string> {
  if (body.kind === 'inline') return Promise.resolve(buildHeaderIndex(headerBlock(head, body.data)));
  return headerIndexOfFile(head, join(blobs.blobDir, body.name));
}

/** Removes what a prepared delivery put on disk: used when its rows did not commit. */
export async function discardPrepared(p: PreparedDelivery, blobs: FileBlobStore): Promise<void> {
  if (p.body.kind === 'file') await blobs.remove([p.body.name]);
  await Promise.all(p.spoolLeftovers.map((f) => unlink(f).catch(() => undefined)));
}

/**
 * Writes the rows of one delivery. Runs inside the batch transaction, so it must be synchronous;
 * when it throws, the batch is rolled back and committed again without it (group-committer.ts commitBatch).
 * `batch` is what the transaction's deliveries share (delivery-batch.ts); the caller flushes it before
 * the transaction ends. Without one, this delivery gets its own, flushed here.
 */
export function writeDelivery(
  prepare: Prepare,
  p: PreparedDelivery,
  rec: ChangeRecorder,
  shared?: DeliveryBatch,
): CommittedDelivery {
  const batch = shared ?? new DeliveryBatch();
  const result = writeRows(prepare, p, rec, batch);
  if (!shared) batch.flush(prepare);
  return result;
}

function writeRows(
  prepare: Prepare,
  p: PreparedDelivery,
  rec: ChangeRecorder,
  batch: DeliveryBatch,
): CommittedDelivery {
  const r = p.request;
  const now = r.receivedAt.getTime();
  const blobId = Number(
    prepare('INSERT INTO blobs (size, head, body, file) VALUES (?, ?, ?, ?)').run(
      p.size,
      p.head,
      p.body.kind === 'inline' ? p.body.data : null,
      p.body.kind === 'file' ? p.body.name : null,
    ).lastInsertRowid,
  );
  const result: CommittedDelivery = { messageId: null, copies: [], queueId: null };
  // The queue's recipients: the remote ones, plus local ones whose mailbox is full (below).
  const queued: (EnvelopeRecipient & { localMailbox?: string; localSpecialUse?: string })[] = [...r.remote];

  if (r.local.length > 0 || p.append) {
    const messageId = Number(
      prepare(
        'INSERT INTO messages (blob_id, size, internal_date, internal_date_offset, queue_id, sender, bodystructure_json) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(
        blobId,
        p.size,
        now,
        p.internalDateOffset ?? 0,
        r.queueId,
        r.envelope.sender,
        p.structureJson ?? null,
      ).lastInsertRowid,
    );
    result.messageId = messageId;
    if (p.headerIndex !== undefined && p.headerIndex !== null) {
      prepare('INSERT INTO message_headers (message_id, fields) VALUES (?, ?)').run(messageId, p.headerIndex);
    }
    if (p.append) {
      // The APPEND places its message with its own UPDATE of the mailbox counters (mail-append.ts): the
      // counters this batch has handed out so far are written first, so it continues from them.
      batch.flush(prepare);
      result.appended = p.append(prepare, messageId, rec);
    }
    const insertCopy = prepare(
      // saved_at (RFC 8514 SAVEDATE): a delivered message is saved when it is received.
      "INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, modseq, received_at, saved_at) VALUES (?, ?, ?, '', ?, ?, ?)",
    );
    const seen = new Set<number>();
    const refused: { accountId: number; permanent: boolean; target: DeliveryRequest['local'][number] }[] = [];
    // Accounts given an Email by this delivery: the message row is new, so the first copy in an account
    // creates its Email without looking for one (emails.ts emailRowAdded `fresh`).
    const accounts = new Set<number>();
    for (const target of r.local) {
      // The mailbox, the names the log line shows and the account's quota limits (delivery-batch.ts).
      const mailbox = batch.targetMailbox(prepare, target);
      if (!mailbox) {
        throw new MailroomError('NO_SUCH_ACCOUNT', `account ${target.accountId} no longer exists`);
      }
      if (seen.has(mailbox.id)) continue;
      seen.add(mailbox.id);
      // The quota is checked here, inside the commit, against usage the triggers keep (schema.ts 23).
      // No limit on the account (both null): quotaVerdict would say 'ok' whatever the usage.
      const limited = mailbox.quota_bytes !== null || mailbox.quota_messages !== null;
      const quota = limited ? quotaState(prepare, target.accountId) : null;
      const verdict = quota ? quotaVerdict(quota, p.size, 1) : 'ok';
      if (verdict !== 'ok') {
        refused.push({ accountId: target.accountId, permanent: verdict === 'too-big', target });
        continue;
      }
      // The UID and MODSEQ handed out are exactly the ones counted (RFC 9051 2.3.1.1), written at the batch's end.
      const counters = batch.take(prepare, mailbox.id);
      if (!counters) throw new MailroomError('NO_SUCH_MAILBOX', `mailbox ${mailbox.id} vanished`);
      insertCopy.run(mailbox.id, counters.uid, messageId, counters.modseq, now, now);
      const fresh = !accounts.has(target.accountId);
      accounts.add(target.accountId);
      emailRowAdded(prepare, rec, target.accountId, mailbox.id, messageId, now, p.threadKeys ?? null, fresh);
      result.copies.push({
        accountId: target.accountId,
        mailboxId: mailbox.id,
        uid: counters.uid,
        mailbox: mailbox.name,
        account: mailbox.address,
      });
    }
    if (refused.length > 0) {
      // Nothing else delivered: the whole delivery is refused (rolled back), so SMTP answers 452/552 and
      // the sender keeps the message. Otherwise the others have it, and the full mailboxes wait in the
      // queue (its local transport retries them, then bounces at queue max_age: queue/local-transport.ts).
      if (result.copies.length === 0 && r.remote.length === 0 && !p.append && r.overQuota !== 'queue') {
        throw new OverQuotaError(
          refused[0]!.accountId,
          refused.every((x) => x.permanent),
        );
      }
      const address = prepare<[number], { address: string }>('SELECT address FROM accounts WHERE id = ?');
      for (const x of refused) {
        const a = address.get(x.accountId);
        // The queued copy keeps where it was routed (Junk, a named mailbox): the local path retries it there.
        if (a) {
          queued.push({
            address: a.address,
            ...(x.target.mailbox !== undefined && { localMailbox: x.target.mailbox }),
            ...(x.target.specialUse !== undefined && { localSpecialUse: x.target.specialUse }),
          });
        }
      }
      result.overQuota = refused.map(({ accountId, permanent }) => ({ accountId, permanent }));
      if (result.copies.length === 0 && !p.append) {
        // Every copy went to the queue ('queue' mode): the message row would belong to no mailbox.
        prepare('DELETE FROM message_headers WHERE message_id = ?').run(messageId);
        prepare('DELETE FROM messages WHERE id = ?').run(messageId);
        result.messageId = null;
      }
    }
  }

  if (r.local.length > 0) {
    const away: number[] = [];
    for (const { accountId } of r.local) {
      if (!away.includes(accountId) && batch.vacationEnabled(prepare, accountId)) away.push(accountId);
    }
    result.vacationAccounts = away;
  }

  if (queued.length > 0) {
    const env = r.envelope;
    prepare(
      'INSERT INTO queue (id, blob_id, blob_offset, size, sender, dsn_envid, dsn_ret, smtputf8, body_type, created_at, require_tls) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(
      r.queueId,
      blobId,
      p.queueOffset,
      p.size - p.queueOffset,
      env.queueSender ?? env.sender,
      env.dsnEnvid ?? null,
      env.dsnRet ?? null,
      env.smtpUtf8 ? 1 : 0,
      env.body ?? null,
      now,
      env.requireTls ? 1 : 0,
    );
    const insertRcpt = prepare(
      'INSERT INTO queue_recipients (queue_id, address, orcpt, notify, state, attempts, next_attempt_at, local_mailbox, local_special_use) ' +
        "VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (queue_id, address) DO NOTHING",
    );
    for (const rcpt of queued) {
      insertRcpt.run(
        r.queueId,
        rcpt.address,
        rcpt.orcpt ?? null,
        rcpt.notify?.join(',') ?? null,
        now,
        rcpt.localMailbox ?? null,
        rcpt.localSpecialUse ?? null,
      );
    }
    result.queueId = r.queueId;
  }
  // `mailroom trace`: the timeline starts in the same commit as the message (trace-store.ts).
  if (r.trace) {
    insertReceivedEvent(prepare, r.queueId, r.receivedAt, r.trace, {
      from: r.envelope.sender,
      size: p.size,
      stored: result.copies.map(({ accountId, mailboxId, uid }) => ({ accountId, mailboxId, uid })),
      // Remote recipients and full local mailboxes waiting for room (the queue's local path).
      queued: queued.map((rcpt) => rcpt.address),
    });
  }
  return result;
}
