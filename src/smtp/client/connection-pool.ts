// Idle outgoing SMTP connections kept per peer for a short time, so the next batch skips connect, greeting, EHLO, TLS, AUTH.
import type { ParkedSession } from './connection.js';

/*
 * Why: the queue sends whatever is due per destination as it comes, so under steady load a
 * destination gets many small batches. Without reuse each one paid a TCP connect, the greeting,
 * EHLO (and STARTTLS/AUTH where offered) and QUIT, on both sides (measured with bench/relay.ts:
 * ~13,000 connections for 15,000 message deliveries once the scheduler looked at the queue less
 * often). Postfix's smtp connection cache does the same (smtp_connection_cache_time_limit = 2s).
 * A connection is kept only while idle and only briefly, and never past maxAgeMs from its first park,
 * so a peer's configuration change (or DNS change) is picked up soon.
 */

export interface ConnectionPoolOptions {
  /** How long an idle connection waits for the next batch before QUIT. */
  idleMs?: number;
  /** A connection is not parked again once this old (from its first park). */
  maxAgeMs?: number;
  /** Idle connections in all, and per peer. */
  maxIdle?: number;
  maxIdlePerKey?: number;
  /** Monotonic ms (test seam). */
  now?: () => number;
}

export const POOL_DEFAULTS = {
  // Postfix's smtp_connection_cache_time_limit; well under any server's idle timeout (RFC 5321
  // 4.5.3.2.7 asks servers for at least 5 minutes), so a parked connection is rarely found closed.
  idleMs: 2_000,
  // Postfix's smtp_connection_reuse_time_limit.
  maxAgeMs: 300_000,
  // The scheduler's global and per-domain connection limits (scheduler.ts SCHEDULER_DEFAULTS).
  maxIdle: 100,
  maxIdlePerKey: 10,
} as const;

interface Entry {
  session: ParkedSession;
  timer: NodeJS.Timeout;
}

export class ConnectionPool {
  private readonly idle = new Map<string, Entry[]>();
  private count = 0;
  private readonly firstParked = new WeakMap<ParkedSession, number>();
  private readonly watched = new WeakSet<ParkedSession>();
  private readonly limits: Required<Omit<ConnectionPoolOptions, 'now'>>;
  private readonly now: () => number;
  private closed = false;
  /** Figures for logs and tests. */
  readonly stats = { parked: 0, reused: 0, expired: 0 };

  constructor(options: ConnectionPoolOptions = {}) {
    this.limits = {
      idleMs: options.idleMs ?? POOL_DEFAULTS.idleMs,
      maxAgeMs: options.maxAgeMs ?? POOL_DEFAULTS.maxAgeMs,
      maxIdle: options.maxIdle ?? POOL_DEFAULTS.maxIdle,
      maxIdlePerKey: options.maxIdlePerKey ?? POOL_DEFAULTS.maxIdlePerKey,
    };
    this.now = options.now ?? (() => performance.now());
  }

  /** Idle connections now. */
  get size(): number {
    return this.count;
  }

  /** An idle connection to this peer, taken out of the pool (the most recently parked), or null. */
  take(key: string): ParkedSession | null {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const entry = list.pop() as Entry;
      this.count--;
      clearTimeout(entry.timer);
      if (list.length === 0) this.idle.delete(key);
      if (entry.session.usable) {
        this.stats.reused++;
        return entry.session;
      }
    }
    return null;
  }

  /** Keeps an idle connection for the next batch to `key`, or QUITs it when over a limit. */
  put(key: string, session: ParkedSession): void {
    if (!session.usable) return;
    const now = this.now();
    const first = this.firstParked.get(session) ?? now;
    this.firstParked.set(session, first);
    const list = this.idle.get(key) ?? [];
    if (
      this.closed ||
      now - first >= this.limits.maxAgeMs ||
      this.count >= this.limits.maxIdle ||
      list.length >= this.limits.maxIdlePerKey
    ) {
      session.quit();
      return;
    }
    const timer = setTimeout(() => {
      if (this.remove(key, session)) {
        this.stats.expired++;
        session.quit();
      }
    }, this.limits.idleMs);
    timer.unref();
    list.push({ session, timer });
    this.idle.set(key, list);
    this.count++;
    this.stats.parked++;
    if (!this.watched.has(session)) {
      this.watched.add(session);
      // The peer hung up while idle (its timeout, a restart): forget it.
      session.onClose(() => void this.remove(key, session));
    }
  }

  /** QUITs every idle connection; later put()s QUIT at once (shutdown). */
  close(): void {
    this.closed = true;
    for (const [key, list] of [...this.idle]) {
      for (const e of [...list]) if (this.remove(key, e.session)) e.session.quit();
    }
  }

  private remove(key: string, session: ParkedSession): boolean {
    const list = this.idle.get(key);
    const at = list?.findIndex((e) => e.session === session) ?? -1;
    if (!list || at < 0) return false;
    const [entry] = list.splice(at, 1);
    if (entry) clearTimeout(entry.timer);
    if (list.length === 0) this.idle.delete(key);
    this.count--;
    return true;
  }
}
