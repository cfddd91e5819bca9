// Remembers Authorization headers already verified, so a JMAP client's every request is not a full login (issue 9 bench).
import { createHmac, randomBytes } from 'node:crypto';

/*
 * Why: HTTP Basic sends the password with every request (RFC 7617), and a JMAP client makes many
 * requests a second. The full check (failure limiter turn, account lookup, the verified-password HMAC,
 * building the user and its session state) was ~10% of the server's CPU per page under bench/jmap.ts.
 * A header seen to succeed maps here to what that success produced.
 *
 * Never weaker than the full check:
 * - the key is an HMAC of the whole header under a key that exists only in this process's memory, so
 *   neither the header nor an unsalted hash of the password is kept;
 * - only successes are remembered: a wrong password always takes the full, throttled path;
 * - each hit compares the account's stored password hash (read from the store then) with the one the
 *   success was checked against: a changed password, or a removed account, misses at once;
 * - bounded (least recently used out) and entries expire (limits.ts JMAP_BASIC_CACHE).
 * A hit skips the failure limiter's turn: only the holder of the right password can hit, so what the
 * limiter protects (guessing) is unchanged.
 */
export class BasicCredentialCache<V> {
  private readonly entries = new Map<
    string,
    { address: string; passwordHash: string; value: V; expiresAt: number }
  >();
  private readonly key = randomBytes(32);

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  /**
   * What `remember` stored for this exact header, if still valid: not expired, and `storedHash(address)`
   * (the account's password hash now, null when it is gone) is the hash it was verified against.
   */
  lookup(header: string, now: number, storedHash: (address: string) => string | null): V | null {
    const k = this.keyOf(header);
    const entry = this.entries.get(k);
    if (!entry) return null;
    if (entry.expiresAt <= now || storedHash(entry.address) !== entry.passwordHash) {
      this.entries.delete(k);
      return null;
    }
    // Refresh its place in the LRU order (a Map iterates in insertion order).
    this.entries.delete(k);
    this.entries.set(k, entry);
    return entry.value;
  }

  /** Records a header the full check accepted for `address`, whose stored hash was `passwordHash`. */
  remember(header: string, address: string, passwordHash: string, value: V, now: number): void {
    const k = this.keyOf(header);
    this.entries.delete(k);
    this.entries.set(k, { address, passwordHash, value, expiresAt: now + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private keyOf(header: string): string {
    return createHmac('sha256', this.key).update(header, 'utf8').digest('base64');
  }
}
