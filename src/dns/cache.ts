// The resolver's answer cache: TTLs honoured (RFC 1035 3.2.1), negative answers cached per RFC 2308, bounded in size.

/** What a lookup found: records of the asked type (CNAMEs followed), or that there are none and why. */
export interface CachedAnswer {
  /** 'ok': records found; 'nxdomain': the name does not exist; 'nodata': it exists without this type. */
  status: 'ok' | 'nxdomain' | 'nodata';
  /** Decoded records (dns-packet answer data), only for 'ok'. */
  records: unknown[];
  authenticated: boolean;
  /** The name the records are owned by after CNAMEs were followed (RFC 1034 3.6.2), when it differs. */
  canonicalName?: string;
}

interface Entry {
  answer: CachedAnswer;
  expiresAt: number;
}

/** Longest we keep anything, whatever the TTL says (as Unbound's cache-max-ttl default of one day). */
export const MAX_CACHE_TTL_S = 86_400;
/** RFC 2308 5: negative answers are cached no longer than the SOA says, and we cap them at 1 hour. */
export const MAX_NEGATIVE_TTL_S = 3_600;
/** Entries kept; the oldest inserted go first (a flood of distinct names cannot grow memory). */
export const MAX_CACHE_ENTRIES = 20_000;

export class DnsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxEntries = MAX_CACHE_ENTRIES,
  ) {}

  get(key: string): CachedAnswer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  /** Milliseconds `answer` stays the cached answer for `key`: 0 when expired, evicted or replaced. */
  remainingMs(key: string, answer: CachedAnswer): number {
    const entry = this.entries.get(key);
    if (!entry || entry.answer !== answer) return 0;
    return Math.max(0, entry.expiresAt - this.now());
  }

  /** ttlSeconds 0 is not cached (RFC 1035 3.2.1: zero means use only for the transaction in progress). */
  set(key: string, answer: CachedAnswer, ttlSeconds: number): void {
    const cap = answer.status === 'ok' ? MAX_CACHE_TTL_S : MAX_NEGATIVE_TTL_S;
    const ttl = Math.min(Math.max(0, ttlSeconds), cap);
    if (ttl === 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { answer, expiresAt: this.now() + ttl * 1000 });
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
