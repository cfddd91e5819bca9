// The per-recipient queue status as a tagged union, and its pure transitions after each delivery attempt.
import { afterTemporaryFailure, type RetrySchedule } from './retry-policy.js';

/**
 * pending -> delivered | deferred | failed; deferred -> delivered | deferred | failed.
 * delivered and failed are final. Expiry is a failure with reason 'expired' (DSN Status 4.4.7 class).
 */
export type RecipientStatus =
  | { state: 'pending'; attempts: 0; nextAttemptAt: Date }
  | { state: 'deferred'; attempts: number; nextAttemptAt: Date; lastError: string }
  | { state: 'delivered'; attempts: number; at: Date; reply: string; tls: boolean }
  | {
      state: 'failed';
      attempts: number;
      at: Date;
      lastError: string;
      /** rejected: a 5xx or a local refusal; expired: still temporary at max_age. */
      reason: 'rejected' | 'expired';
    };

/** What one attempt said about a recipient (from the client session, or a DNS/connection failure). */
export type AttemptOutcome =
  | { kind: 'delivered'; reply: string; tls: boolean }
  | { kind: 'deferred'; error: string }
  | { kind: 'failed'; error: string };

export function newRecipientStatus(now: Date): RecipientStatus {
  return { state: 'pending', attempts: 0, nextAttemptAt: now };
}

export function isFinal(
  s: RecipientStatus,
): s is Extract<RecipientStatus, { state: 'delivered' | 'failed' }> {
  return s.state === 'delivered' || s.state === 'failed';
}

export class InvalidTransitionError extends Error {
  constructor(from: RecipientStatus['state']) {
    super(`recipient already ${from}: no further attempts`);
    this.name = 'InvalidTransitionError';
  }
}

/**
 * Applies an attempt's outcome. A final status never changes (a delivered recipient must not be
 * "re-failed" by a late result), so this throws on one: the caller has a bug, not the peer.
 */
export function applyAttempt(
  status: RecipientStatus,
  outcome: AttemptOutcome,
  ctx: { now: Date; createdAt: Date; schedule: RetrySchedule; random: () => number },
): RecipientStatus {
  if (isFinal(status)) throw new InvalidTransitionError(status.state);
  const attempts = status.attempts + 1;
  switch (outcome.kind) {
    case 'delivered':
      return { state: 'delivered', attempts, at: ctx.now, reply: outcome.reply, tls: outcome.tls };
    case 'failed':
      return { state: 'failed', attempts, at: ctx.now, lastError: outcome.error, reason: 'rejected' };
    case 'deferred': {
      const d = afterTemporaryFailure(ctx.schedule, {
        createdAt: ctx.createdAt,
        attempts,
        now: ctx.now,
        random: ctx.random,
      });
      if (d.kind === 'expire')
        return { state: 'failed', attempts, at: ctx.now, lastError: outcome.error, reason: 'expired' };
      return { state: 'deferred', attempts, nextAttemptAt: d.at, lastError: outcome.error };
    }
  }
}

/**
 * Expires a waiting recipient without an attempt (the scheduler's sweep: e.g. a destination that
 * stayed unreachable and was not tried again before max_age). Null when not yet expired.
 */
export function expireIfDue(
  status: RecipientStatus,
  ctx: { now: Date; createdAt: Date; schedule: RetrySchedule },
): RecipientStatus | null {
  if (isFinal(status)) return null;
  if (ctx.now.getTime() < ctx.createdAt.getTime() + ctx.schedule.maxAgeMs) return null;
  const lastError = status.state === 'deferred' ? status.lastError : 'message expired before any attempt';
  return { state: 'failed', attempts: status.attempts, at: ctx.now, lastError, reason: 'expired' };
}

/** The flat fields of store's QueueRecipient (CONTRACT.md `queue list --json`). */
export function toQueueFields(s: RecipientStatus): {
  state: RecipientStatus['state'];
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
} {
  switch (s.state) {
    case 'pending':
    case 'deferred':
      return {
        state: s.state,
        attempts: s.attempts,
        nextAttemptAt: s.nextAttemptAt,
        lastError: s.state === 'deferred' ? s.lastError : null,
      };
    case 'delivered':
      return { state: s.state, attempts: s.attempts, nextAttemptAt: null, lastError: null };
    case 'failed':
      return { state: s.state, attempts: s.attempts, nextAttemptAt: null, lastError: s.lastError };
  }
}
