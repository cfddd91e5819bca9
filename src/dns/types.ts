// The one resolver every DNS lookup goes through ([dns] servers): the interface the rest of the server codes against.
import type { DnsResolver } from '../smtp/client/mx-resolver.js';

/** A TLSA record (RFC 6698 2.1): certificate usage, selector, matching type, association data. */
export interface TlsaRecord {
  usage: number;
  selector: number;
  matchingType: number;
  data: Buffer;
}

/** Records with the answer's AD bit (RFC 4035 3.2.3): true only from a validating resolver that checked them. */
export interface Authenticated<T> {
  records: T[];
  authenticated: boolean;
}

/** Address records with the AD bit and their owner after CNAME expansion (`name` itself when no CNAME). */
export interface AuthenticatedAddresses extends Authenticated<string> {
  canonicalName: string;
}

/** Cache counters, printed by the benches and exported as metrics. */
export interface ResolverStats {
  hits: number;
  misses: number;
  /** Answers served from a negative (NXDOMAIN / NODATA) cache entry; also counted in hits. */
  negativeHits: number;
}

/**
 * Failures are thrown as node:dns does, with the same `code`, so callers and libraries (mailauth) that know
 * node:dns keep working: ENOTFOUND = the name does not exist (NXDOMAIN), ENODATA = no record of that type,
 * ETIMEOUT / ESERVFAIL / ECONNREFUSED / EREFUSED = a temporary failure (answer 4xx, never 5xx).
 */
export interface MailResolver extends DnsResolver {
  resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  /** TXT records, each as its character-strings (join them for SPF/DKIM/DMARC). */
  resolveTxt(name: string): Promise<string[][]>;
  /** PTR names of an address's reverse name (`1.0.0.127.in-addr.arpa`); `reverse(ip)` builds that name. */
  resolvePtr(name: string): Promise<string[]>;
  /** PTR names of an IP address, as node:dns `reverse`. */
  reverse(ip: string): Promise<string[]>;
  /** MX with the AD bit, for DANE (RFC 7672 2.2: TLSA is only used when the MX RRset is secure). */
  resolveMxAuthenticated(name: string): Promise<Authenticated<{ exchange: string; priority: number }>>;
  /**
   * A/AAAA with the AD bit (RFC 7672 2.2.2: DANE needs the address records of the MX host to be secure too),
   * and the CNAME-expanded name they belong to (the TLSA lookup tries that name first).
   */
  resolveAddressesAuthenticated(name: string): Promise<AuthenticatedAddresses>;
  /** TLSA records of `_port._tcp.host` with the AD bit (RFC 7672). */
  resolveTlsa(name: string): Promise<Authenticated<TlsaRecord>>;
  /**
   * node:dns/promises `resolve(name, rrtype)`: the shape mailauth's `resolver` option expects
   * ('TXT' -> string[][], 'MX' -> {exchange, priority}[], 'A'/'AAAA'/'PTR'/'CNAME' -> string[]).
   */
  resolve(name: string, rrtype: string): Promise<string[][] | string[]>;
  stats(): ResolverStats;
  /**
   * A view of this resolver that notes every answer it hands out (`reads`), so that a result computed from
   * DNS answers alone (an SPF verdict, a DMARC record, iprev) can be kept exactly as long as every answer it
   * read is still the cached one: see validForMs. Absent (test doubles without a cache): nothing is kept.
   */
  tracking?(): { resolver: MailResolver; reads: DnsReads };
  /**
   * Milliseconds until the first of `reads`' answers expires (its TTL, RFC 1035 3.2.1); 0 when one already
   * has, was never cached (TTL 0), was replaced, or a lookup got no answer at all (a temporary failure).
   */
  validForMs?(reads: DnsReads): number;
}

/** What a tracking view read (opaque: only the resolver that made it reads it). */
export interface DnsReads {
  readonly complete: boolean;
}

/** True when a DNS error means "try again later" rather than "there is no such record". */
export function isTemporaryDnsError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code !== 'ENOTFOUND' && code !== 'ENODATA';
}
