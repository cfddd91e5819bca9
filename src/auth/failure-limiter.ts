// Authentication failure throttling (pure, clock passed in): per IP and per account, delay grows, then lockout.
import { AUTH_FAILURE_LIMITS } from '../config/limits.js';

export interface FailureLimits {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  lockoutAfter: number;
  lockoutMs: number;
  windowMs: number;
  ipFactor: number;
  maxTrackedKeys: number;
}

/** What to do with the next attempt. */
export type LimiterVerdict =
  | { kind: 'allow' }
  /** Let it proceed after waiting (tarpit): slows guessing without telling the guesser anything. */
  | { kind: 'delay'; delayMs: number }
  /** Refuse without checking the password: too many failures. */
  | { kind: 'refuse'; retryAfterMs: number };

interface Entry {
  failures: number[]; // times (ms) of failures inside the window, oldest first
  lockedUntil: number;
}

/**
 * Counts failures per key ("ip:<addr>" and "account:<address>"). Time is passed into every call
 * (no clock inside), so tests are exact. Memory is bounded: the oldest keys are dropped first.
 */
export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly limits: FailureLimits = AUTH_FAILURE_LIMITS) {}

  /** The verdict for an attempt from `ip` for `account` (lower-cased) at time `now`. */
  check(ip: string, account: string, now: number): LimiterVerdict {
    const verdicts = [
      this.verdictFor(`ip:${ip}`, now, this.limits.ipFactor),
      this.verdictFor(`account:${account}`, now, 1),
    ];
    let delay = 0;
    let refuse = 0;
    for (const v of verdicts) {
      if (v.kind === 'refuse') refuse = Math.max(refuse, v.retryAfterMs);
      else if (v.kind === 'delay') delay = Math.max(delay, v.delayMs);
    }
    if (refuse > 0) return { kind: 'refuse', retryAfterMs: refuse };
    if (delay > 0) return { kind: 'delay', delayMs: delay };
    return { kind: 'allow' };
  }

  recordFailure(ip: string, account: string, now: number): void {
    this.addFailure(`ip:${ip}`, now, this.limits.ipFactor);
    this.addFailure(`account:${account}`, now, 1);
  }

  /**
   * A success forgets the account's failures (the owner got in). The IP's count stays: one host
   * that owns one account must not be able to reset its budget for guessing others.
   */
  recordSuccess(_ip: string, account: string): void {
    this.entries.delete(`account:${account}`);
  }

  /** Number of keys tracked (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const cutoff = now - this.limits.windowMs;
    while (entry.failures.length > 0 && entry.failures[0]! <= cutoff) entry.failures.shift();
    if (entry.failures.length === 0 && entry.lockedUntil <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private verdictFor(key: string, now: number, factor: number): LimiterVerdict {
    const entry = this.live(key, now);
    if (!entry) return { kind: 'allow' };
    if (entry.lockedUntil > now) return { kind: 'refuse', retryAfterMs: entry.lockedUntil - now };
    const over = entry.failures.length - this.limits.freeFailures * factor;
    if (over <= 0) return { kind: 'allow' };
    // Doubling: 1s, 2s, 4s, ... capped, so a guesser's rate falls fast while a typo costs seconds.
    const delayMs = Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** Math.min(over - 1, 30));
    return { kind: 'delay', delayMs };
  }

  private addFailure(key: string, now: number, factor: number): void {
    const entry = this.live(key, now) ?? { failures: [], lockedUntil: 0 };
    entry.failures.push(now);
    if (entry.failures.length >= this.limits.lockoutAfter * factor) {
      entry.lockedUntil = now + this.limits.lockoutMs;
      entry.failures = [];
    }
    // Re-insert so Map order is least-recently-failed first; evict from the front when full.
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.limits.maxTrackedKeys) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
