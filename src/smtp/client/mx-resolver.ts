// Which hosts to try for a destination domain (RFC 5321 5.1, RFC 7505 null MX), over an injected resolver.
import { isIP } from 'node:net';

/** The part of node:dns/promises Resolver we use; tests pass a fake with the same error codes. */
export interface DnsResolver {
  resolveMx(hostname: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
}

/** One host to try, in order, with its addresses (IPv4 first: more reliable reverse DNS and reputation). */
export interface TargetHost {
  host: string;
  port: number;
  addresses: string[];
  /** MX preference (implicit MX and routes: 0). */
  preference: number;
  /** mx: from MX records; implicit: the domain's own A/AAAA (RFC 5321 5.1); route: outbound.routes; literal. */
  source: 'mx' | 'implicit' | 'route' | 'literal';
}

export type Destination =
  | {
      kind: 'hosts';
      hosts: TargetHost[];
      /** The outbound.routes key that matched ('*' = smarthost), for per-route settings such as AUTH. */
      route: string | null;
      /** MX hosts skipped because they did not resolve: a note for last_error if all others fail. */
      unresolved: string[];
    }
  /** Never deliverable: bounce now. `enhanced` per RFC 3463 / RFC 7505. */
  | { kind: 'permanent'; enhanced: string; reason: string }
  /** DNS trouble: retry later. */
  | { kind: 'temporary'; enhanced: string; reason: string };

export interface ResolveOptions {
  resolver: DnsResolver;
  /** outbound.routes: domain (lower case) or '*' -> "host:port" / "[v6]:port" / "host". */
  routes?: Readonly<Record<string, string>>;
  /** outbound.port: the port for MX hosts and routes without a port. */
  port: number;
  /** Uniform in [0, 1): shuffles equal preferences (RFC 5321 5.1 "randomize"). Injected for exact tests. */
  random: () => number;
}

/** How many MX hosts we resolve and try per attempt (Postfix's smtp_mx_address_limit is 5; we allow 10). */
export const MAX_MX_HOSTS = 10;

/** Errors that mean "the name does not exist" or "has no such record", as node:dns reports them. */
const NOT_FOUND = new Set(['ENOTFOUND']);
const NO_DATA = new Set(['ENODATA']);

function dnsCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

/** Parses "host:port", "[v6addr]:port", "host" (default port). Returns null when malformed. */
export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } | null {
  const v = value.trim();
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracket) {
    host = bracket[1] ?? '';
    portText = bracket[2];
  } else {
    const parts = v.split(':');
    if (parts.length > 2) return isIP(v) === 6 ? { host: v, port: defaultPort } : null;
    host = parts[0] ?? '';
    portText = parts[1];
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  if (!host || !(isIP(host) || /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(host))) return null;
  return { host, port };
}

/** RFC 5321 4.1.3 address literal: "[1.2.3.4]" or "[IPv6:...]"; returns the IP or null. */
export function parseAddressLiteral(domain: string): string | null {
  const m = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(domain);
  if (!m) return null;
  const ip = m[1] ?? '';
  const isV6Tagged = /^\[IPv6:/i.test(domain);
  const family = isIP(ip);
  if (family === 4 && !isV6Tagged) return ip;
  if (family === 6 && isV6Tagged) return ip;
  return null;
}

/** Resolves where mail for `domain` goes. Never throws for DNS trouble: it becomes a Destination. */
export async function resolveDestination(domain: string, options: ResolveOptions): Promise<Destination> {
  const literal = parseAddressLiteral(domain);
  if (literal) {
    return {
      kind: 'hosts',
      hosts: [{ host: literal, port: options.port, addresses: [literal], preference: 0, source: 'literal' }],
      route: null,
      unresolved: [],
    };
  }
  if (domain.startsWith('['))
    return { kind: 'permanent', enhanced: '5.1.2', reason: `bad address literal ${domain}` };
  const name = domain.toLowerCase().replace(/\.$/, '');
  // Static routes first (config outbound.routes): exact domain, then the '*' smarthost.
  const routes = options.routes ?? {};
  const routeKey = Object.hasOwn(routes, name) ? name : Object.hasOwn(routes, '*') ? '*' : null;
  if (routeKey !== null) return resolveRoute(routeKey, routes[routeKey] ?? '', options);

  let records: { exchange: string; priority: number }[];
  try {
    records = await options.resolver.resolveMx(name);
  } catch (e) {
    const code = dnsCode(e);
    if (NOT_FOUND.has(code)) {
      // NXDOMAIN: the domain does not exist (RFC 3463 X.1.2 bad destination system address).
      return { kind: 'permanent', enhanced: '5.1.2', reason: `domain ${name} does not exist (${code})` };
    }
    if (!NO_DATA.has(code)) {
      return { kind: 'temporary', enhanced: '4.4.3', reason: `MX lookup for ${name} failed (${code})` };
    }
    records = [];
  }
  // RFC 7505 3: a lone MX of "." (node reports exchange ''): the domain accepts no mail.
  const real = records.filter((r) => r.exchange !== '' && r.exchange !== '.');
  if (records.length > 0 && real.length === 0) {
    return {
      kind: 'permanent',
      enhanced: '5.1.10',
      reason: `domain ${name} accepts no mail (null MX, RFC 7505)`,
    };
  }
  if (real.length === 0) return implicitMx(name, options);

  // The same host listed twice counts once, at its best preference.
  const best = new Map<string, { exchange: string; priority: number }>();
  for (const r of real) {
    const key = r.exchange.toLowerCase().replace(/\.$/, '');
    const seen = best.get(key);
    if (!seen || r.priority < seen.priority) best.set(key, { exchange: key, priority: r.priority });
  }
  // A hostile zone could list hundreds of MX hosts; trying more than a few never helps delivery.
  const ordered = orderByPreference([...best.values()], options.random).slice(0, MAX_MX_HOSTS);
  const hosts: TargetHost[] = [];
  const unresolved: string[] = [];
  let temporary = false;
  for (const mx of ordered) {
    const exchange = mx.exchange;
    const found = await addressesOf(exchange, options.resolver);
    if (found.kind === 'ok') {
      hosts.push({
        host: exchange,
        port: options.port,
        addresses: found.addresses,
        preference: mx.priority,
        source: 'mx',
      });
    } else {
      unresolved.push(`${exchange} (${found.code})`);
      if (found.temporary) temporary = true;
    }
  }
  if (hosts.length === 0) {
    // Every MX host failed to resolve. Even NXDOMAIN for an MX host is often a transient
    // misconfiguration on the receiving side; defer, and let queue.max_age bounce in the end.
    return {
      kind: 'temporary',
      enhanced: temporary ? '4.4.3' : '4.4.4',
      reason: `no MX host of ${name} resolves: ${unresolved.join(', ')}`,
    };
  }
  return { kind: 'hosts', hosts, route: null, unresolved };
}

/** RFC 5321 5.1: no MX at all -> the domain itself is the host (implicit MX, preference 0). */
async function implicitMx(name: string, options: ResolveOptions): Promise<Destination> {
  const found = await addressesOf(name, options.resolver);
  if (found.kind === 'ok') {
    return {
      kind: 'hosts',
      hosts: [
        { host: name, port: options.port, addresses: found.addresses, preference: 0, source: 'implicit' },
      ],
      route: null,
      unresolved: [],
    };
  }
  if (found.temporary)
    return {
      kind: 'temporary',
      enhanced: '4.4.3',
      reason: `address lookup for ${name} failed (${found.code})`,
    };
  return { kind: 'permanent', enhanced: '5.1.2', reason: `domain ${name} has no MX and no address records` };
}

async function resolveRoute(key: string, value: string, options: ResolveOptions): Promise<Destination> {
  const target = parseHostPort(value, options.port);
  if (!target)
    return {
      kind: 'temporary',
      enhanced: '4.3.5',
      reason: `outbound.routes["${key}"] is malformed: ${value}`,
    };
  if (isIP(target.host)) {
    const host: TargetHost = { ...target, addresses: [target.host], preference: 0, source: 'route' };
    return { kind: 'hosts', hosts: [host], route: key, unresolved: [] };
  }
  const found = await addressesOf(target.host.toLowerCase(), options.resolver);
  if (found.kind !== 'ok') {
    // A route is our own configuration: a failing name is ours to fix, never the sender's bounce.
    return {
      kind: 'temporary',
      enhanced: '4.4.3',
      reason: `route host ${target.host} does not resolve (${found.code})`,
    };
  }
  const host: TargetHost = { ...target, addresses: found.addresses, preference: 0, source: 'route' };
  return { kind: 'hosts', hosts: [host], route: key, unresolved: [] };
}

type AddressResult = { kind: 'ok'; addresses: string[] } | { kind: 'none'; code: string; temporary: boolean };

/** A and AAAA together; one family failing temporarily is fine when the other answers. */
async function addressesOf(host: string, resolver: DnsResolver): Promise<AddressResult> {
  if (isIP(host)) return { kind: 'ok', addresses: [host] }; // RFC 5321 5.1 forbids it; tolerated (common misconfig)
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const addresses = [
    ...(v4.status === 'fulfilled' ? v4.value : []),
    ...(v6.status === 'fulfilled' ? v6.value : []),
  ];
  if (addresses.length > 0) return { kind: 'ok', addresses };
  const codes = [v4, v6].filter((r) => r.status === 'rejected').map((r) => dnsCode(r.reason));
  const temporary = codes.some((c) => !NOT_FOUND.has(c) && !NO_DATA.has(c));
  return { kind: 'none', code: codes.find((c) => !NO_DATA.has(c)) ?? codes[0] ?? 'ENODATA', temporary };
}

/** Sorts by preference, shuffling each group of equal preference (Fisher-Yates with the injected random). */
export function orderByPreference<T extends { priority: number }>(
  records: readonly T[],
  random: () => number,
): T[] {
  const groups = new Map<number, T[]>();
  for (const r of records) {
    const g = groups.get(r.priority);
    if (g) g.push(r);
    else groups.set(r.priority, [r]);
  }
  const out: T[] = [];
  for (const pref of [...groups.keys()].sort((a, b) => a - b)) {
    const g = [...(groups.get(pref) ?? [])];
    for (let i = g.length - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(random() * (i + 1)));
      [g[i], g[j]] = [g[j] as T, g[i] as T];
    }
    out.push(...g);
  }
  return out;
}
