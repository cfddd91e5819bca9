// Pure steps of one delivery attempt: grouping due rows by destination, the claim time, and result -> row update + DSN.
import type { DueRecipient, OwedDsn, RecipientUpdate } from '../store/queue-store.js';
import type { OutboundMessage } from '../smtp/client/client-commands.js';
import type { RecipientResult } from '../smtp/client/client-types.js';
import { delayStatus, owesDelayWarning } from './dsn/delay-warning.js';
import { dsnStatus, successDsnAction, wantsDsn } from './dsn/notify.js';
import { applyAttempt, type AttemptOutcome, type RecipientStatus } from './recipient-status.js';
import { afterTemporaryFailure, baseInterval, expiresAt, type RetrySchedule } from './retry-policy.js';

/** The destination of an address: its domain, lower-cased (RFC 5321 2.4: domains are case-insensitive). */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

/** One message's recipients at one destination: what one MAIL transaction carries. */
export interface MessageJob {
  queueId: string;
  recipients: DueRecipient[];
}

/**
 * Groups due rows by destination domain, then by message, keeping the earliest-due order, so one
 * connection carries several RCPTs and several messages (RFC 5321 3.3: one transaction per message
 * per destination). At most `maxRecipients` per transaction (RFC 5321 4.5.3.1.8: 100 is the minimum
 * a server must accept); a longer list is split into more jobs.
 */
export function groupByDestination(
  rows: readonly DueRecipient[],
  maxRecipients = 100,
): Map<string, MessageJob[]> {
  const out = new Map<string, MessageJob[]>();
  const open = new Map<string, MessageJob>(); // domain + queue id -> job being filled
  for (const row of rows) {
    const domain = domainOf(row.address);
    const key = `${domain}\0${row.queueId}`;
    let job = open.get(key);
    if (!job || job.recipients.length >= maxRecipients) {
      job = { queueId: row.queueId, recipients: [] };
      open.set(key, job);
      const list = out.get(domain);
      if (list) list.push(job);
      else out.set(domain, [job]);
    }
    job.recipients.push(row);
  }
  return out;
}

/**
 * The next attempt recorded before connecting (DESIGN habit 9): when this attempt fails or the
 * process dies during it, the row comes due exactly when a failed attempt would have scheduled it.
 */
export function claimTime(row: DueRecipient, now: Date, schedule: RetrySchedule, random: () => number): Date {
  const d = afterTemporaryFailure(schedule, {
    createdAt: row.createdAt,
    attempts: row.attempts + 1,
    now,
    random,
  });
  // Already past max_age: this attempt is the last; a crash during it retries after one interval.
  return d.kind === 'retry' ? d.at : new Date(now.getTime() + baseInterval(schedule, row.attempts + 1));
}

/** The status union of a waiting row (only pending/deferred rows are ever due). */
export function statusOf(row: DueRecipient, now: Date): RecipientStatus {
  if (row.attempts === 0) return { state: 'pending', attempts: 0, nextAttemptAt: now };
  return { state: 'deferred', attempts: row.attempts, nextAttemptAt: now, lastError: row.lastError ?? '' };
}

export function attemptOutcome(result: RecipientResult): AttemptOutcome {
  if (result.outcome === 'delivered') return { kind: 'delivered', reply: result.diagnostic, tls: result.tls };
  if (result.outcome === 'failed') return { kind: 'failed', error: result.diagnostic };
  return { kind: 'deferred', error: result.diagnostic };
}

export interface PlanContext {
  now: Date;
  schedule: RetrySchedule;
  random: () => number;
  /** The host that answered (Remote-MTA), when a peer did. */
  remoteMta?: string;
  /** The peer advertised DSN: it got NOTIFY/ORCPT and reports successes itself (RFC 3461 5.2.2). */
  peerDsn: boolean;
  /** queue.delay_warning in ms (absent or null: no delay DSNs). */
  delayWarningMs?: number | null;
}

/**
 * The row update for one recipient's result, with the DSN it owes (RFC 3461 4.1 NOTIFY, never to the
 * null sender). Failed and expired recipients owe a failure DSN; delivered ones a success DSN only
 * when asked (NOTIFY=SUCCESS) and the peer will not send it itself; deferred ones their one delay
 * DSN once past queue.delay_warning (dsn/delay-warning.ts).
 */
export function planUpdate(row: DueRecipient, result: RecipientResult, ctx: PlanContext): RecipientUpdate {
  const next = applyAttempt(statusOf(row, ctx.now), attemptOutcome(result), {
    now: ctx.now,
    createdAt: row.createdAt,
    schedule: ctx.schedule,
    random: ctx.random,
  });
  const base = { address: row.address, attempts: next.attempts, attemptAt: ctx.now };
  const diag = (dsn: OwedDsn): OwedDsn => {
    const withMta = result.fromPeer && ctx.remoteMta ? { ...dsn, remoteMta: ctx.remoteMta } : dsn;
    return result.fromPeer
      ? { ...withMta, smtpDiagnostic: result.diagnostic }
      : { ...withMta, localDiagnostic: result.diagnostic };
  };
  switch (next.state) {
    case 'deferred':
    case 'pending': {
      const warn = owesDelayWarning({
        sender: row.sender,
        notify: row.notify,
        createdAt: row.createdAt,
        delayWarnedAt: row.delayWarnedAt,
        now: ctx.now,
        delayWarningMs: ctx.delayWarningMs ?? null,
      });
      const owed = warn
        ? diag({
            action: 'delayed',
            status: delayStatus(result),
            lastAttemptAt: ctx.now.getTime(),
            // RFC 3464 2.3.8: when we give up is max_age after arrival (retry-policy.ts expires then).
            willRetryUntil: expiresAt(ctx.schedule, row.createdAt).getTime(),
          })
        : null;
      return {
        ...base,
        state: next.state,
        nextAttemptAt: next.nextAttemptAt,
        lastError: result.diagnostic,
        dsn: owed,
      };
    }
    case 'delivered': {
      const action = successDsnAction(ctx.peerDsn ? 'peer-with-dsn' : 'peer-without-dsn');
      const owed =
        action !== null && wantsDsn(row.sender, row.notify, action)
          ? diag({
              action: action === 'relayed' ? 'relayed' : 'delivered',
              status: dsnStatus(action, result.reply?.code, result.reply?.enhanced),
              lastAttemptAt: ctx.now.getTime(),
            })
          : null;
      return { ...base, state: 'delivered', nextAttemptAt: null, lastError: null, dsn: owed };
    }
    case 'failed': {
      // Expired while the peer still said 4xx: RFC 3463 4.4.7 "delivery time expired" when no better code.
      const status =
        next.reason === 'expired' && !(result.reply?.enhanced ?? '').startsWith('4')
          ? '4.4.7'
          : dsnStatus('failed', result.reply?.code, result.reply?.enhanced);
      const owed = wantsDsn(row.sender, row.notify, 'failed')
        ? diag({ action: 'failed', status, lastAttemptAt: ctx.now.getTime() })
        : null;
      const lastError = next.reason === 'expired' ? `expired: ${next.lastError}` : next.lastError;
      return { ...base, state: 'failed', nextAttemptAt: null, lastError, dsn: owed };
    }
  }
}

/** The client session's view of one job. `eightBit` is decided by the caller (it has the body). */
export function toOutboundMessage(job: MessageJob, eightBit: boolean): OutboundMessage {
  const first = job.recipients[0];
  const msg: OutboundMessage = {
    id: job.queueId,
    sender: first?.sender ?? '',
    recipients: job.recipients.map((r) => {
      const out: OutboundMessage['recipients'][number] = { address: r.address };
      if (r.notify) out.notify = r.notify;
      if (r.orcpt) out.orcpt = r.orcpt;
      return out;
    }),
    size: first?.size ?? 0,
    eightBit,
    smtpUtf8: first?.smtpUtf8 ?? false,
  };
  if (first?.dsnRet) msg.dsnRet = first.dsnRet;
  if (first?.dsnEnvid) msg.dsnEnvid = first.dsnEnvid;
  if (first?.requireTls) msg.requireTls = true;
  return msg;
}
