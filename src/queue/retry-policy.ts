// When to try a deferred recipient again, and when to give up (config queue.retry_intervals, queue.max_age).

/** The config's `queue` section as loaded (durations in ms). */
export interface RetrySchedule {
  /** Waits after the 1st, 2nd, ... failed attempt; the last one repeats ("then every last interval"). */
  retryIntervalsMs: readonly number[];
  /** Age of the message after which a still-undelivered recipient fails (bounce). */
  maxAgeMs: number;
}

/**
 * Up to +10% added to each wait. Many messages deferred by one outage would otherwise all come
 * due in the same second and hit the recovering peer together. Only ever later, never earlier,
 * so "retry after 5 minutes" is a promise we keep.
 */
export const RETRY_JITTER = 0.1;

export type RetryDecision =
  | { kind: 'retry'; at: Date }
  /** Older than max_age: fail the recipient (DSN "expired", RFC 3463 4.4.7 / 5.4.7). */
  | { kind: 'expire' };

/** The wait after `attempts` failed attempts (attempts >= 1), before jitter. */
export function baseInterval(schedule: RetrySchedule, attempts: number): number {
  const list = schedule.retryIntervalsMs;
  if (list.length === 0) throw new RangeError('queue.retry_intervals is empty');
  const i = Math.min(Math.max(attempts, 1), list.length) - 1;
  return list[i] ?? 0;
}

/** The moment a recipient of a message created at `createdAt` expires. */
export function expiresAt(schedule: RetrySchedule, createdAt: Date): Date {
  return new Date(createdAt.getTime() + schedule.maxAgeMs);
}

export function isExpired(schedule: RetrySchedule, createdAt: Date, now: Date): boolean {
  return now.getTime() >= expiresAt(schedule, createdAt).getTime();
}

/**
 * After a temporary failure (the `attempts`-th, counting it): retry at now + interval + jitter,
 * but never later than the expiry time, so the last attempt happens right at max_age instead of
 * the message waiting a whole interval past it; at or past expiry: expire.
 * `random` is uniform in [0, 1) (injected: exact tests).
 */
export function afterTemporaryFailure(
  schedule: RetrySchedule,
  input: { createdAt: Date; attempts: number; now: Date; random: () => number },
): RetryDecision {
  const expiry = expiresAt(schedule, input.createdAt).getTime();
  const now = input.now.getTime();
  if (now >= expiry) return { kind: 'expire' };
  const wait = baseInterval(schedule, input.attempts);
  const jitter = Math.floor(wait * RETRY_JITTER * clamp01(input.random()));
  return { kind: 'retry', at: new Date(Math.min(now + wait + jitter, expiry)) };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(Math.max(x, 0), 0.999999) : 0;
}
