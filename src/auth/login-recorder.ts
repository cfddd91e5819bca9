// Records each account's last successful sign-in, at most once a minute per account (user list --json's last_login).
import { LAST_LOGIN_INTERVAL_MS, LAST_LOGIN_MAX_ENTRIES } from '../config/limits.js';
import type { Account, Store } from '../store/store.js';

/**
 * Clients that reconnect for every message (or poll every minute) sign in thousands of times a day; a
 * write each would cost a transaction and invalidate every lookup cache each time. So a sign-in is
 * written only when the last one written for that account is LAST_LOGIN_INTERVAL_MS old: the stored
 * value is exact to the interval. A failed write is reported and forgotten (it is bookkeeping).
 */
export class LoginRecorder {
  /** Account id -> when this process last wrote its sign-in. */
  private readonly written = new Map<number, number>();

  constructor(
    private readonly store: Pick<Store, 'recordLogin'>,
    private readonly now: () => number,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly intervalMs = LAST_LOGIN_INTERVAL_MS,
    private readonly maxEntries = LAST_LOGIN_MAX_ENTRIES,
  ) {}

  record(account: Pick<Account, 'id' | 'lastLoginAt'>): void {
    const now = this.now();
    // The stored value counts too, so a restart does not write again for a sign-in a moment ago.
    const last = this.written.get(account.id) ?? account.lastLoginAt?.getTime() ?? Number.NEGATIVE_INFINITY;
    if (now - last < this.intervalMs) return;
    if (this.written.size >= this.maxEntries) this.prune(now);
    this.written.set(account.id, now);
    try {
      this.store.recordLogin(account.id, new Date(now));
    } catch (err) {
      this.onError(err);
    }
  }

  /** Drops entries older than the interval (they would write anyway); if all are recent, all go. */
  private prune(now: number): void {
    for (const [id, at] of this.written) if (now - at >= this.intervalMs) this.written.delete(id);
    if (this.written.size >= this.maxEntries) this.written.clear();
  }
}
