// The one resolver ([dns] servers): a caching stub over UDP/TCP that reports the AD bit, with node:dns's shapes and errors.
import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import type * as packet from 'dns-packet';
import { type CachedAnswer, DnsCache, MAX_CACHE_TTL_S } from './cache.js';
import { dnsError, type DnsServer, exchange, parseDnsServer } from './exchange.js';
import type { AuthenticatedAddresses, DnsReads, MailResolver, ResolverStats, TlsaRecord } from './types.js';

export interface MailResolverOptions {
  /** "ip" or "ip:port"; empty: the system's servers (/etc/resolv.conf). */
  servers: readonly string[];
  /** Per try, per server (RFC 1536 advises seconds, not tens of seconds: a dead server defers mail, never hangs). */
  timeoutMs?: number;
  /** Rounds over the server list. */
  tries?: number;
  now?: () => number;
}

/** Default time one question may take per server and try: 5 s, as glibc's resolver. */
export const DNS_TIMEOUT_MS = 5_000;
export const DNS_TRIES = 2;
/** RFC 2308 5: with no SOA in a negative answer, do not cache it long. */
const DEFAULT_NEGATIVE_TTL_S = 60;

const RCODE_ERRORS: Record<string, string> = {
  SERVFAIL: 'ESERVFAIL',
  REFUSED: 'EREFUSED',
  FORMERR: 'EFORMERR',
  NOTIMP: 'ENOTIMP',
};

function systemServers(): DnsServer[] {
  return getServers().map((s) => parseDnsServer(s));
}

/** A resource record with data (an OPT pseudo-record has none). */
type RecordAnswer = Exclude<packet.Answer, packet.OptAnswer>;

/** Answers of the asked type and their owner, following the CNAME chain the server included (RFC 1034 3.6.2). */
function recordsOfType(
  reply: packet.DecodedPacket,
  name: string,
  type: string,
): { owner: string; records: RecordAnswer[] } {
  const answers = (reply.answers ?? []).filter((a): a is RecordAnswer => a.type !== 'OPT');
  let owner = name.toLowerCase().replace(/\.$/, '');
  for (let hops = 0; hops < 8; hops++) {
    const cname = answers.find((a) => a.type === 'CNAME' && a.name.toLowerCase() === owner);
    if (!cname || type === 'CNAME') break;
    owner = String(cname.data).toLowerCase().replace(/\.$/, '');
  }
  return {
    owner,
    records: answers.filter((a) => a.type === type && a.name.toLowerCase().replace(/\.$/, '') === owner),
  };
}

/** RFC 2308 5: the negative TTL is the smaller of the SOA record's TTL and its MINIMUM field. */
function negativeTtl(reply: packet.DecodedPacket): number {
  const soa = (reply.authorities ?? []).find((a) => a.type === 'SOA') as packet.SoaAnswer | undefined;
  if (!soa) return DEFAULT_NEGATIVE_TTL_S;
  return Math.min(soa.ttl ?? DEFAULT_NEGATIVE_TTL_S, soa.data.minimum ?? DEFAULT_NEGATIVE_TTL_S);
}

function txtStrings(data: unknown): string[] {
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p)));
}

/** The reverse-lookup name of an address (RFC 1035 3.5, RFC 3596 2.5). */
export function reverseName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  if (isIP(ip) === 6) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = ip.includes('::') && tail ? tail.split(':') : [];
    const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    const nibbles = groups.map((g) => g.padStart(4, '0')).join('');
    return `${[...nibbles].reverse().join('.')}.ip6.arpa`;
  }
  throw dnsError('EINVAL', ip, 'not an IP address');
}

export function createMailResolver(options: MailResolverOptions): MailResolver {
  const servers = options.servers.length > 0 ? options.servers.map(parseDnsServer) : systemServers();
  const timeoutMs = options.timeoutMs ?? DNS_TIMEOUT_MS;
  const tries = options.tries ?? DNS_TRIES;
  const cache = new DnsCache(options.now);
  const inFlight = new Map<string, Promise<CachedAnswer>>();
  const stats: ResolverStats = { hits: 0, misses: 0, negativeHits: 0 };

  /** Asks the servers in turn until one answers (NOERROR or NXDOMAIN); SERVFAIL and timeouts move on. */
  async function ask(name: string, type: packet.RecordType): Promise<CachedAnswer> {
    let lastError: Error = dnsError('ECONNREFUSED', name, 'no DNS server configured');
    for (let round = 0; round < tries; round++) {
      for (const server of servers) {
        let reply: packet.DecodedPacket;
        try {
          reply = await exchange(server, name, type, timeoutMs);
        } catch (e) {
          lastError = e as Error;
          continue;
        }
        const rcode = (reply as { rcode?: string }).rcode ?? 'NOERROR';
        if (rcode === 'NXDOMAIN') {
          const answer: CachedAnswer = { status: 'nxdomain', records: [], authenticated: reply.flag_ad };
          cache.set(`${type} ${name}`, answer, negativeTtl(reply));
          return answer;
        }
        if (rcode !== 'NOERROR') {
          lastError = dnsError(RCODE_ERRORS[rcode] ?? 'ESERVFAIL', name, `queryFailed (${rcode})`);
          continue;
        }
        const { owner, records } = recordsOfType(reply, name, type);
        const answer: CachedAnswer = {
          status: records.length > 0 ? 'ok' : 'nodata',
          records: records.map((r) => r.data),
          authenticated: reply.flag_ad,
          ...(owner !== name ? { canonicalName: owner } : {}),
        };
        const ttl = records.length > 0 ? Math.min(...records.map((r) => r.ttl ?? 0)) : negativeTtl(reply);
        cache.set(`${type} ${name}`, answer, ttl);
        return answer;
      }
    }
    throw lastError;
  }

  /** One lookup: from the cache, or shared with an identical one already on the wire. */
  function lookup(rawName: string, type: packet.RecordType): Promise<CachedAnswer> {
    const name = rawName.toLowerCase().replace(/\.$/, '');
    const key = `${type} ${name}`;
    const cached = cache.get(key);
    if (cached) {
      stats.hits++;
      if (cached.status !== 'ok') stats.negativeHits++;
      return Promise.resolve(cached);
    }
    const pending = inFlight.get(key);
    if (pending) {
      stats.hits++;
      return pending;
    }
    stats.misses++;
    const asked = ask(name, type).finally(() => inFlight.delete(key));
    inFlight.set(key, asked);
    return asked;
  }

  /** Records or node:dns's ENOTFOUND / ENODATA; `reads` (a tracking view's) notes the answer handed out. */
  async function records(name: string, type: packet.RecordType, reads?: Reads): Promise<CachedAnswer> {
    let answer: CachedAnswer;
    try {
      answer = await lookup(name, type);
    } catch (e) {
      // No answer (timeout, SERVFAIL): nothing cached, so nothing computed from it may be kept.
      if (reads) reads.complete = false;
      throw e;
    }
    reads?.answers.push([`${type} ${name.toLowerCase().replace(/\.$/, '')}`, answer]);
    if (answer.status === 'nxdomain') throw dnsError('ENOTFOUND', name, `query${type}`);
    if (answer.status === 'nodata') throw dnsError('ENODATA', name, `query${type}`);
    return answer;
  }

  const resolver: MailResolver = {
    ...lookups((name, type) => records(name, type)),
    stats: () => ({ ...stats }),
    tracking() {
      const reads: Reads = { answers: [], complete: true };
      const view: MailResolver = {
        ...lookups((name, type) => records(name, type, reads)),
        stats: resolver.stats,
      };
      return { resolver: view, reads };
    },
    validForMs(reads) {
      const { answers, complete } = reads as Reads;
      if (!complete) return 0;
      let left = MAX_CACHE_TTL_S * 1000;
      for (const [key, answer] of answers) {
        // Expired (RFC 1035 3.2.1), never cached (TTL 0), evicted, or replaced by a newer answer: not current.
        const ms = cache.remainingMs(key, answer);
        if (ms <= 0) return 0;
        if (ms < left) left = ms;
      }
      return left;
    },
  };
  return resolver;
}

/** What a tracking view read: each answer under its cache key, and whether every lookup had one. */
interface Reads extends DnsReads {
  answers: [string, CachedAnswer][];
  complete: boolean;
}

type RecordsOf = (name: string, type: packet.RecordType) => Promise<CachedAnswer>;

const mxOf = (answer: CachedAnswer) =>
  (answer.records as packet.MxData[]).map((m) => ({
    exchange: m.exchange.replace(/\.$/, ''),
    priority: m.preference ?? 0,
  }));
const stringsOf = (answer: CachedAnswer) => (answer.records as string[]).map((s) => s.replace(/\.$/, ''));

/** The lookup methods in node:dns shapes over one way of getting records (the resolver's, or a tracking view's). */
function lookups(records: RecordsOf): Omit<MailResolver, 'stats' | 'tracking' | 'validForMs'> {
  const methods: Omit<MailResolver, 'stats' | 'tracking' | 'validForMs'> = {
    resolveMx: async (name) => mxOf(await records(name, 'MX')),
    resolve4: async (name) => stringsOf(await records(name, 'A')),
    resolve6: async (name) => stringsOf(await records(name, 'AAAA')),
    resolveTxt: async (name) => (await records(name, 'TXT')).records.map(txtStrings),
    resolvePtr: async (name) => stringsOf(await records(name, 'PTR')),
    reverse: async (ip) => stringsOf(await records(reverseName(ip), 'PTR')),
    async resolveMxAuthenticated(name) {
      const answer = await records(name, 'MX');
      return { records: mxOf(answer), authenticated: answer.authenticated };
    },
    async resolveAddressesAuthenticated(name) {
      const settled = await Promise.allSettled([records(name, 'A'), records(name, 'AAAA')]);
      const found = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      if (found.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
      return {
        records: found.flatMap(stringsOf),
        authenticated: found.every((a) => a.authenticated),
        canonicalName: found[0]?.canonicalName ?? name.toLowerCase().replace(/\.$/, ''),
      } satisfies AuthenticatedAddresses;
    },
    async resolveTlsa(name) {
      const answer = await records(name, 'TLSA');
      return {
        records: (answer.records as packet.TlsaData[]).map((t): TlsaRecord => ({
          usage: t.usage,
          selector: t.selector,
          matchingType: t.matchingType,
          data: t.certificate,
        })),
        authenticated: answer.authenticated,
      };
    },
    async resolve(name, rrtype) {
      switch (rrtype) {
        case 'TXT':
          return methods.resolveTxt(name);
        case 'MX':
          // mailauth's DNSResolver type says strings, but it reads MX answers as node:dns gives them: objects.
          return (await methods.resolveMx(name)) as unknown as string[];
        case 'A':
        case 'AAAA':
        case 'PTR':
        case 'CNAME':
        case 'NS':
          return stringsOf(await records(name, rrtype));
        default:
          throw dnsError('ENOTIMP', name, `query${rrtype}`);
      }
    },
  };
  return methods;
}
