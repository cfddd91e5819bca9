// Remembers recent successful password checks so a client that reconnects does not pay scrypt each time.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * Why: scrypt is deliberately slow (tens of ms of CPU). Mail clients and submission agents
 * authenticate on every connection, so without a cache the server spends most of its CPU re-proving
 * passwords it verified seconds ago (Dovecot keeps an auth cache for the same reason).
 *
 * What is kept is not the password: per account, an HMAC of (stored hash, password) under a key that
 * exists only in this process's memory. A changed password changes the stored hash, so old entries
 * stop matching at once; only successes are cached, so failures always cost the full scrypt and stay
 * rate-limited. Bounded (least recently used entries go first) and entries expire.
 */
export class VerifiedCache {
  private readonly entries = new Map<string, { tag: Buffer; expiresAt: number }>();
  private readonly key = randomBytes(32);

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  /** True when this password was verified against this stored hash within the TTL. */
  matches(account: string, storedHash: string, password: string, now: number): boolean {
    const entry = this.entries.get(account);
    if (!entry) return false;
    if (entry.expiresAt <= now) {
      this.entries.delete(account);
      return false;
    }
    const ok = timingSafeEqual(entry.tag, this.tag(storedHash, password));
    if (ok) {
      // Refresh its place in the LRU order (a Map iterates in insertion order).
      this.entries.delete(account);
      this.entries.set(account, entry);
    }
    return ok;
  }

  remember(account: string, storedHash: string, password: string, now: number): void {
    this.entries.delete(account);
    this.entries.set(account, { tag: this.tag(storedHash, password), expiresAt: now + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private tag(storedHash: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(storedHash).update('\0').update(password, 'utf8').digest();
  }
}
