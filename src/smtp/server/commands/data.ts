// DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030): start the body, finish it, and hand the message to storage.
import { REPLY, chunkReply, queuedReply, type Reply } from '../../reply-codes.js';
import type { DeliveryRequest, Envelope, SpooledBody } from '../../../store/store.js';
import { buildReceivedHeader } from '../../../mail/received-header.js';
import { HeaderScanner, submissionHeaders } from '../../../mail/submission.js';
import { isNoSpaceError } from '../../../store/free-space.js';
import { isOverQuota } from '../../../store/quota.js';
import type { SmtpCommand } from '../command-parser.js';
import { DATA_LINE_MAX } from '../../../config/limits.js';
import { BdatReceiver, DataReceiver, type DataFailure } from '../receivers.js';
import type { CommandState, SessionState, Transaction } from '../session-state.js';
import type { BodySpool } from '../services.js';
import { resetTransaction, type SessionCore } from './context.js';
import { checkInbound, filteringSpool, inboundApplies, type InboundOutcome } from '../inbound-checks.js';

/** How a spool write failed mid-body: a full disk is answered 452 4.3.1, anything else 451 4.3.0. */
export type WriteFailure = 'no-space' | 'error' | null;

export function writeFailureOf(error: unknown): Exclude<WriteFailure, null> {
  return isNoSpaceError(error) ? 'no-space' : 'error';
}

/** A storage failure's reply and logged reason: 452 4.3.1 when the disk is full, else 451 4.3.0. */
function refuseStorage(core: SessionCore, failure: Exclude<WriteFailure, null>): void {
  core.event({ kind: 'message-refused', reason: failure === 'no-space' ? 'no-space' : 'store-error' });
  core.reply(failure === 'no-space' ? REPLY.insufficientStorage : REPLY.storageError);
}

type TxState = Extract<SessionState, { kind: 'mail' | 'rcpt' }>;

export function handleData(core: SessionCore, state: TxState): void {
  if (state.kind === 'mail') return core.reply(REPLY.noValidRecipients);
  // RFC 3030 3: a BINARYMIME body can only be sent with BDAT.
  if (state.tx.params.body === 'BINARYMIME') return core.reply(REPLY.binaryNeedsBdat);
  const spool = openTxSpool(core, state.tx);
  core.state = {
    kind: 'data',
    tx: state.tx,
    spool,
    receiver: new DataReceiver(core.policy.maxMessageSize, DATA_LINE_MAX),
  };
  core.reply(REPLY.startData);
}

/** The end of DATA: refuse after the dot if the body broke a limit, else store it. */
export async function finishData(
  core: SessionCore,
  state: Extract<SessionState, { kind: 'data' }>,
  failure: DataFailure | undefined,
  writeFailed: WriteFailure,
): Promise<void> {
  if (failure !== undefined || writeFailed !== null) {
    resetTransaction(core);
    // A full disk mid-body is temporary (452), never a 250 and never a crash (issue 8 item 6).
    if (writeFailed !== null) return refuseStorage(core, writeFailed);
    core.event({ kind: 'message-refused', reason: failure ?? 'too-big' });
    return core.reply(failure === 'line-too-long' ? REPLY.dataLineTooLong : REPLY.messageTooBig);
  }
  await storeMessage(core, state.tx, state.spool);
}

/**
 * BDAT n [LAST]. A refused chunk is still read and dropped (RFC 3030 2: the octets follow the command
 * regardless), except when its size cannot be a real chunk: then we answer and close instead of reading
 * forever.
 */
export function handleBdat(
  core: SessionCore,
  state: Extract<CommandState, { kind: 'mail' | 'rcpt' | 'bdat-wait' }>,
  cmd: Extract<SmtpCommand, { verb: 'BDAT' }>,
): void {
  if (!Number.isFinite(cmd.size)) {
    resetTransaction(core);
    core.reply(REPLY.messageTooBig);
    core.state = { kind: 'closed' };
    return core.act('close');
  }
  if (state.kind === 'mail') return discardChunk(core, cmd.size, REPLY.noValidRecipients, state);
  const tx = state.tx;
  if (tx.bdatSize + cmd.size > core.policy.maxMessageSize) {
    resetTransaction(core);
    core.event({ kind: 'message-refused', reason: 'too-big' });
    return discardChunk(core, cmd.size, REPLY.messageTooBig, core.state as CommandState);
  }
  const spool = tx.spool ?? openTxSpool(core, tx);
  core.state = {
    kind: 'bdat',
    tx,
    spool,
    receiver: new BdatReceiver(cmd.size),
    last: cmd.last,
    size: cmd.size,
  };
}

/** Used for BDAT refused by the sequence table too: its chunk must not be read as commands. */
export function discardChunk(core: SessionCore, size: number, reply: Reply, next: CommandState): void {
  if (!Number.isFinite(size)) {
    core.reply(reply);
    core.state = { kind: 'closed' };
    return core.act('close');
  }
  core.state = { kind: 'discard', receiver: new BdatReceiver(size), reply, next };
}

/** A BDAT chunk has been read completely. */
export async function finishChunk(
  core: SessionCore,
  state: Extract<SessionState, { kind: 'bdat' }>,
  writeFailed: WriteFailure,
): Promise<void> {
  state.tx.bdatSize += state.size;
  if (writeFailed !== null) {
    resetTransaction(core);
    return refuseStorage(core, writeFailed);
  }
  if (!state.last) {
    core.state = { kind: 'bdat-wait', tx: state.tx, spool: state.spool };
    return core.reply(chunkReply(state.size));
  }
  await storeMessage(core, state.tx, state.spool);
}

/**
 * Opens the transaction's body spool. On submission roles the bytes also pass through a HeaderScanner on
 * their way in, so storeMessage knows whether Message-ID and Date are missing without re-reading the body.
 */
function openTxSpool(core: SessionCore, tx: Transaction): BodySpool {
  let spool = core.services.openSpool();
  if (core.policy.role === 'mx' && inboundApplies(core)) {
    tx.inboundFilter = core.services.inbound!.newFilter();
    spool = filteringSpool(spool, tx.inboundFilter);
  }
  // Every role reads the header block for the Message-ID of the log line (issue 11); submission
  // also learns whether Message-ID and Date must be added.
  const scanner = new HeaderScanner();
  tx.idScan = scanner;
  if (core.policy.role !== 'mx') tx.headerScan = scanner;
  const inner = spool;
  const scanning: BodySpool = {
    write(chunk) {
      if (!scanner.headerEnded) scanner.write(chunk);
      return inner.write(chunk);
    },
    finish: () => inner.finish(),
    abort: () => inner.abort(),
  };
  tx.spool = scanning;
  return scanning;
}

/** `spf=pass dkim=pass dmarc=pass ...` of our Authentication-Results header (RFC 8601 2.2), and where a quarantine sent it. */
function authVerdicts(inbound: InboundOutcome): string {
  const verdicts = [...inbound.header.matchAll(/\b(spf|dkim|dmarc|arc|iprev|auth)=([a-z]+)/gi)].map(
    (m) => `${m[1]!.toLowerCase()}=${m[2]!.toLowerCase()}`,
  );
  return [...verdicts, ...(inbound.junk ? ['(quarantined to Junk)'] : [])].join(' ');
}

function envelopeOf(core: SessionCore, tx: Transaction): Envelope {
  const envelope: Envelope = { sender: tx.sender };
  // Forwarded through an alias: the queue copy leaves with an SRS sender (local copies keep the original).
  if (tx.forwardDomain !== undefined && tx.remote.size > 0 && core.services.forwardSender) {
    const rewritten = core.services.forwardSender(tx.sender, tx.forwardDomain);
    if (rewritten !== tx.sender) envelope.queueSender = rewritten;
  }
  if (tx.params.ret) envelope.dsnRet = tx.params.ret;
  if (tx.params.envid !== undefined) envelope.dsnEnvid = tx.params.envid;
  if (tx.params.smtpUtf8) envelope.smtpUtf8 = true;
  if (tx.params.requireTls) envelope.requireTls = true;
  if (tx.params.body) envelope.body = tx.params.body;
  return envelope;
}

/** Finish the spool, build the DeliveryRequest, wait until it is durable; only then 250 (CONTRACT.md). */
async function storeMessage(core: SessionCore, tx: Transaction, spool: BodySpool): Promise<void> {
  // The transaction ends here whatever happens (RFC 5321 4.1.1.4): back to 'ready' first.
  core.state = { kind: 'ready' };
  let body: SpooledBody;
  try {
    body = await spool.finish();
  } catch (error) {
    spool.abort();
    core.event({ kind: 'service-error', operation: 'spool.finish', error });
    return refuseStorage(core, writeFailureOf(error));
  }
  // MX: SPF/DKIM/DMARC/ARC/iprev before the 250 (src/inbound/); a refusal has been answered already.
  let inbound: InboundOutcome | null = null;
  if (tx.inboundFilter) {
    inbound = await checkInbound(core, tx, spool, body);
    if (inbound === null) return;
  }
  const queueId = core.services.newQueueId();
  const receivedAt = core.services.now();
  const traceHeaders = buildReceivedHeader({
    heloName: core.heloName,
    remoteAddress: core.peer.remoteAddress,
    hostname: core.policy.hostname,
    greeting: core.greeting ?? 'EHLO',
    secure: core.peer.secure,
    authenticated: core.authenticatedAs !== null,
    smtpUtf8: tx.params.smtpUtf8 === true,
    ...(core.peer.tlsProtocol ? { tlsProtocol: core.peer.tlsProtocol } : {}),
    ...(core.peer.tlsCipher ? { tlsCipher: core.peer.tlsCipher } : {}),
    queueId,
    ...(tx.recipients.length === 1 ? { recipient: tx.recipients[0] } : {}),
    date: receivedAt,
  });
  // RFC 6409 8.2 / 8.3: submission adds a missing Message-ID and Date, prepended after the trace header.
  const added = tx.headerScan
    ? submissionHeaders(tx.headerScan.presence, { queueId, hostname: core.policy.hostname, date: receivedAt })
    : '';
  let envelope: Envelope;
  try {
    envelope = envelopeOf(core, tx);
  } catch (error) {
    // The SRS key is read from the store on first use: a store failure is a temporary refusal.
    spool.abort();
    core.event({ kind: 'service-error', operation: 'forwardSender', error });
    return refuseStorage(core, 'error');
  }
  // The id submission added (RFC 6409 8.2) is the one the message now carries.
  const messageId = tx.idScan?.messageId ?? /^Message-ID: (.*)\r\n/m.exec(added)?.[1] ?? null;
  const auth = inbound ? authVerdicts(inbound) : undefined;
  const request: DeliveryRequest = {
    queueId,
    envelope,
    // Return-Path and Received first (CONTRACT.md), then our Authentication-Results (RFC 8601 5).
    traceHeaders: traceHeaders + (inbound?.header ?? '') + added,
    body,
    receivedAt,
    // RFC 7489 6.6.4 quarantine: into each recipient's \Junk mailbox (RFC 6154) instead of where it was going.
    local: [...tx.local.values()].map((t) =>
      inbound?.junk ? { accountId: t.accountId, specialUse: '\\Junk' } : t,
    ),
    remote: [...tx.remote.values()],
    trace: {
      messageId,
      via: core.policy.role === 'mx' ? 'mx' : 'submission',
      client: { ip: core.peer.remoteAddress, helo: core.heloName, tls: core.peer.tlsProtocol ?? null },
      ...(core.authenticatedAs !== null ? { account: core.authenticatedAs } : {}),
      ...(auth !== undefined ? { auth } : {}),
      recipients: tx.recipients,
    },
  };
  try {
    await core.services.deliver(request);
  } catch (error) {
    if (isOverQuota(error)) {
      // Every local recipient was over quota, checked in the commit (store/quota.ts): nothing stored.
      core.event({ kind: 'message-refused', reason: 'over-quota' });
      return core.reply(error.permanent ? REPLY.quotaExceeded : REPLY.mailboxFull);
    }
    core.event({ kind: 'service-error', operation: 'deliver', error });
    return refuseStorage(core, writeFailureOf(error));
  }
  if (core.authenticatedAs !== null)
    core.services.submissionLimits?.record(core.authenticatedAs, tx.recipients.length);
  core.event({
    kind: 'accepted',
    queueId,
    size: body.size,
    sender: tx.sender,
    recipients: tx.recipients,
    messageId,
    ...(auth !== undefined ? { auth } : {}),
  });
  core.reply(queuedReply(queueId));
}

/**
 * BURL url [LAST] (RFC 4468 3): appends what an IMAP URLAUTH URL names to the message being built,
 * like a BDAT chunk whose octets come from the store; BURL and BDAT may be mixed. LAST ends the
 * message, stored and fsynced before the 250 like DATA. Any failure ends the transaction (RFC 4468
 * 3: the message data would be incomplete; the client starts again after RSET/MAIL).
 */
export async function handleBurl(
  core: SessionCore,
  state: Extract<CommandState, { kind: 'mail' | 'rcpt' | 'bdat-wait' }>,
  cmd: Extract<SmtpCommand, { verb: 'BURL' }>,
): Promise<void> {
  const fetch = core.services.burl;
  if (!fetch || core.policy.role === 'mx') return core.reply(REPLY.commandUnrecognized);
  if (core.authenticatedAs === null) return core.reply(REPLY.burlNeedsAuth);
  if (state.kind === 'mail') return core.reply(REPLY.noValidRecipients);
  const tx = state.tx;
  let result: Awaited<ReturnType<typeof fetch>>;
  try {
    result = await fetch(cmd.url, core.authenticatedAs);
  } catch (error) {
    resetTransaction(core);
    core.event({ kind: 'service-error', operation: 'burl', error });
    return core.reply(REPLY.storageError);
  }
  if (result.kind !== 'ok') {
    resetTransaction(core);
    core.event({ kind: 'message-refused', reason: 'burl' });
    return core.reply(result.kind === 'unavailable' ? REPLY.burlUnavailable : REPLY.burlNotAuthorized);
  }
  const bytes = result.bytes;
  if (tx.bdatSize + bytes.length > core.policy.maxMessageSize) {
    resetTransaction(core);
    core.event({ kind: 'message-refused', reason: 'too-big' });
    return core.reply(REPLY.messageTooBig);
  }
  const spool = tx.spool ?? openTxSpool(core, tx);
  try {
    await spool.write(bytes);
  } catch (error) {
    resetTransaction(core);
    core.event({ kind: 'service-error', operation: 'spool.write', error });
    return refuseStorage(core, writeFailureOf(error));
  }
  tx.bdatSize += bytes.length;
  if (!cmd.last) {
    core.state = { kind: 'bdat-wait', tx, spool };
    return core.reply(chunkReply(bytes.length));
  }
  await storeMessage(core, tx, spool);
}
