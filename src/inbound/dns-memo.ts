// Results computed from DNS answers alone (SPF verdicts, DMARC records, iprev), kept exactly as long as those answers.
import { INBOUND_DNS_MEMO_ENTRIES } from '../config/limits-trust.js';
import type { DnsReads, MailResolver } from '../dns/types.js';

export interface DnsMemoStats {
  hits: number;
  misses: number;
}

/**
 * Why: check_host() (RFC 7208 4), the DMARC record discovery (RFC 7489 6.6.3) and iprev (RFC 8601 2.7.3) are
 * functions of their inputs and the DNS answers they read; a busy MX computes the same ones for every message
 * of a regular sender (mailauth's SPF walk alone is several resolver calls, promises and its argument checks).
 *
 * Why it stays correct: a result is computed through a tracking view of the resolver (dns/resolver.ts), which
 * notes every answer read; it is answered from here only while each of those answers is still the cached one,
 * so never past the shortest TTL among them (RFC 1035 3.2.1), nor after any was replaced. A result that read an
 * uncached answer (TTL 0) or met a temporary failure is not kept. The key must hold every other input.
 */
export class DnsMemo<T> {
  private readonly entries = new Map<string, { value: T; reads: DnsReads }>();
  private readonly counters: DnsMemoStats = { hits: 0, misses: 0 };

  constructor(
    private readonly resolver: MailResolver,
    private readonly maxEntries = INBOUND_DNS_MEMO_ENTRIES,
  ) {}

  /** The value for `key`: the kept one while its answers are current, else `compute(resolver)` (kept if it may be). */
  async get(key: string, compute: (resolver: MailResolver) => Promise<T>): Promise<T> {
    const resolver = this.resolver;
    if (!resolver.tracking || !resolver.validForMs) return compute(resolver);
    const known = this.entries.get(key);
    if (known) {
      if (resolver.validForMs(known.reads) > 0) {
        this.counters.hits++;
        return known.value;
      }
      this.entries.delete(key);
    }
    this.counters.misses++;
    const view = resolver.tracking();
    const value = await compute(view.resolver);
    if (resolver.validForMs(view.reads) > 0) {
      this.entries.delete(key);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { value, reads: view.reads });
    }
    return value;
  }

  stats(): DnsMemoStats {
    return { ...this.counters };
  }
}
