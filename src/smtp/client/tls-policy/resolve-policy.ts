// Which TLS policy each MX host of a destination gets (DANE over MTA-STS, RFC 8461 2), from injected lookups.
import type { Authenticated, AuthenticatedAddresses, MailResolver, TlsaRecord } from '../../../dns/types.js';
import { isTemporaryDnsError } from '../../../dns/types.js';
import type { TargetHost } from '../mx-resolver.js';
import type { HostTlsPolicy, TlsRptFailure } from './host-policy.js';
import { mxMatches, parseStsPolicy, parseStsTxt, stsRefreshDecision, type StsPolicy } from './mta-sts.js';
import type { StsFetcher } from './mta-sts-fetch.js';

/** A target host with the TLS policy the connection must apply (none: opportunistic STARTTLS). */
export type PolicyHost = TargetHost & { tlsPolicy?: HostTlsPolicy };

/** A policy-level event for TLS-RPT (RFC 8460 4.3 sts-policy-*, no MX host yet). */
export interface PolicyEvent {
  policyDomain: string;
  policyType: 'sts' | 'tlsa';
  policyStrings: string[];
  mxHost: string;
  result: TlsRptFailure;
  reason: string;
}

export interface TlsPolicyDeps {
  /** The lookups the policies need; a resolver without them (test fakes with MX only) means no policy. */
  resolver: Partial<
    Pick<
      MailResolver,
      'resolveTxt' | 'resolveMxAuthenticated' | 'resolveAddressesAuthenticated' | 'resolveTlsa'
    >
  >;
  /** MTA-STS policy fetch (mta-sts-fetch.ts); absent: MTA-STS is not applied. */
  fetchSts?: StsFetcher;
  /** The MTA-STS cache (store). */
  cache?: {
    getStsPolicy(domain: string): StsPolicy | null;
    putStsPolicy(domain: string, p: StsPolicy): void;
  };
  now: () => Date;
  onPolicyEvent?: (event: PolicyEvent) => void;
}

export type PolicyDecision = { kind: 'hosts'; hosts: PolicyHost[] } | { kind: 'defer'; reason: string };

/** RFC 8461 3.2 text of a policy, for TLS-RPT policy-string. */
export function stsPolicyStrings(p: StsPolicy): string[] {
  return ['version: STSv1', `mode: ${p.mode}`, ...p.mx.map((m) => `mx: ${m}`), `max_age: ${p.maxAgeS}`];
}

/** RFC 8460 4.4: TLSA records as presentation text. */
export function tlsaStrings(records: readonly TlsaRecord[]): string[] {
  return records.map((r) => `${r.usage} ${r.selector} ${r.matchingType} ${r.data.toString('hex')}`);
}

/** The domain's current MTA-STS policy (RFC 8461 5.1), fetching and caching as needed; null: none applies. */
export async function currentStsPolicy(domain: string, deps: TlsPolicyDeps): Promise<StsPolicy | null> {
  const { resolveTxt } = deps.resolver;
  if (!deps.fetchSts || !resolveTxt) return null;
  const now = deps.now().getTime();
  let txtId: string | null = null;
  try {
    txtId = parseStsTxt((await resolveTxt.call(deps.resolver, `_mta-sts.${domain}`)).map((r) => r.join('')));
  } catch {
    // No record, or DNS trouble: a cached policy still applies until it expires (RFC 8461 5.1).
  }
  const cached = deps.cache?.getStsPolicy(domain) ?? null;
  const decision = stsRefreshDecision(txtId, cached, now);
  if (decision.action === 'none') return null;
  if (decision.action === 'use') return decision.policy.mode === 'none' ? null : decision.policy;
  const fetched = await deps.fetchSts(domain);
  const parsed = fetched.ok ? parseStsPolicy(fetched.text, txtId ?? '', now) : null;
  if (parsed?.ok) {
    deps.cache?.putStsPolicy(domain, parsed.policy);
    return parsed.policy.mode === 'none' ? null : parsed.policy;
  }
  const reason = fetched.ok ? (parsed && !parsed.ok ? parsed.reason : 'invalid policy') : fetched.reason;
  deps.onPolicyEvent?.({
    policyDomain: domain,
    policyType: 'sts',
    policyStrings: decision.fallback ? stsPolicyStrings(decision.fallback) : [],
    mxHost: '',
    result: fetched.ok ? 'sts-policy-invalid' : 'sts-policy-fetch-error',
    reason,
  });
  // RFC 8461 5.1: a failed refresh keeps the cached policy in force while it is fresh.
  return decision.fallback && decision.fallback.mode !== 'none' ? decision.fallback : null;
}

/** What DANE says of one host: its TLSA records and the names its certificate may carry (RFC 7672 3.2.2). */
interface DaneMatch {
  tlsa: TlsaRecord[];
  names: string[];
}

/**
 * TLSA records at one name when DANE can use them: null when none (no records, or not DNSSEC-validated:
 * RFC 7672 2.2 ignores insecure records as if absent), 'error' on a lookup failure (RFC 7672 2.2.3: a
 * bogus or failed TLSA lookup makes the host unusable).
 */
async function tlsaAt(
  name: string,
  port: number,
  deps: TlsPolicyDeps,
): Promise<TlsaRecord[] | null | 'error'> {
  const { resolveTlsa } = deps.resolver;
  if (!resolveTlsa) return null;
  let answer: Authenticated<TlsaRecord>;
  try {
    answer = await resolveTlsa.call(deps.resolver, `_${port}._tcp.${name}`);
  } catch (e) {
    return isTemporaryDnsError(e) ? 'error' : null;
  }
  return answer.authenticated && answer.records.length > 0 ? answer.records : null;
}

/**
 * DANE for one host (RFC 7672 2.2.2), once its MX RRset (or, for the implicit MX of RFC 5321 5.1, the
 * domain's own address records, RFC 7672 2.2.1) is known to be secure:
 * - the host's A/AAAA records must be secure too, else DANE does not apply to it (MTA-STS or
 *   opportunistic TLS do, as for any host);
 * - when they were reached through a CNAME, TLSA is asked first at the fully expanded name, then at the
 *   original name; the certificate may then name either (RFC 7672 3.2.2).
 * null: no DANE for this host; { error }: a lookup failed, the host is not used (RFC 7672 2.2.2, 2.2.3).
 */
async function daneFor(host: TargetHost, deps: TlsPolicyDeps): Promise<DaneMatch | null | { error: string }> {
  const { resolveAddressesAuthenticated } = deps.resolver;
  if (!resolveAddressesAuthenticated) return null;
  let addresses: AuthenticatedAddresses;
  try {
    addresses = await resolveAddressesAuthenticated.call(deps.resolver, host.host);
  } catch (e) {
    return isTemporaryDnsError(e) ? { error: `address lookup for ${host.host} failed` } : null;
  }
  if (!addresses.authenticated) return null;
  const tlsaFailed = { error: `TLSA lookup for ${host.host} failed` };
  const original = host.host.toLowerCase().replace(/\.$/, '');
  const expanded = addresses.canonicalName.toLowerCase().replace(/\.$/, '');
  if (expanded !== original) {
    const atExpanded = await tlsaAt(expanded, host.port, deps);
    if (atExpanded === 'error') return tlsaFailed;
    if (atExpanded) return { tlsa: atExpanded, names: [original, expanded] };
  }
  const atOriginal = await tlsaAt(original, host.port, deps);
  if (atOriginal === 'error') return tlsaFailed;
  if (atOriginal === null) return null;
  return { tlsa: atOriginal, names: [original] };
}

/**
 * Attaches each MX host's TLS policy. DANE first (RFC 7672; it takes precedence, RFC 8461 2): only when
 * the MX RRset is authenticated (or, with no MX, the domain's address records: RFC 7672 2.2.1) and the
 * host's own address records are (daneFor). Then MTA-STS for hosts without DANE: `enforce` drops MX hosts that match
 * no mx pattern (RFC 8461 4.1) and defers when none is left; `testing` delivers as usual and reports.
 */
export async function applyTlsPolicies(
  domain: string,
  hosts: readonly TargetHost[],
  deps: TlsPolicyDeps,
): Promise<PolicyDecision> {
  // An address literal has no DNS name to hold a policy (RFC 5321 4.1.3).
  if (hosts.every((h) => h.source === 'literal')) return { kind: 'hosts', hosts: [...hosts] };
  const name = domain.toLowerCase().replace(/\.$/, '');
  let mxSecure = false;
  const { resolveMxAuthenticated } = deps.resolver;
  if (resolveMxAuthenticated && hosts.some((h) => h.source === 'mx')) {
    try {
      mxSecure = (await resolveMxAuthenticated.call(deps.resolver, name)).authenticated;
    } catch {
      mxSecure = false;
    }
  }
  const out: PolicyHost[] = [];
  const rest: TargetHost[] = [];
  const dropped: string[] = [];
  for (const host of hosts) {
    // RFC 7672 2.2.1: the implicit MX host is the domain itself; its secure address records stand for
    // the secure MX RRset it has none of (daneFor checks them).
    const candidate = (mxSecure && host.source === 'mx') || host.source === 'implicit';
    const dane = candidate ? await daneFor(host, deps) : null;
    if (dane && 'error' in dane) {
      dropped.push(`DANE: ${dane.error}`);
      continue;
    }
    if (dane) {
      const usable = dane.tlsa.filter((r) => r.usage === 2 || r.usage === 3);
      out.push({
        ...host,
        tlsPolicy: { kind: 'dane', policyDomain: name, tlsa: usable, names: dane.names },
      });
    } else rest.push(host);
  }
  const sts = rest.length > 0 ? await currentStsPolicy(name, deps) : null;
  for (const host of rest) {
    if (!sts) {
      out.push(host);
      continue;
    }
    const policy = stsPolicyStrings(sts);
    if (sts.mode === 'enforce' && !mxMatches(sts.mx, host.host)) {
      dropped.push(
        `MTA-STS: MX host ${host.host} is not in the policy of ${name} (mx: ${sts.mx.join(', ')})`,
      );
      deps.onPolicyEvent?.({
        policyDomain: name,
        policyType: 'sts',
        policyStrings: policy,
        mxHost: host.host,
        result: 'validation-failure',
        reason: 'MX host not in policy',
      });
      continue;
    }
    out.push({
      ...host,
      tlsPolicy: {
        kind: 'mta-sts',
        policyDomain: name,
        enforce: sts.mode === 'enforce',
        names: [host.host],
        policy,
      },
    });
  }
  // Keep the MX order (DANE and MTA-STS hosts were split above only to ask for the STS policy once).
  const order = new Map(hosts.map((h, i) => [h, i]));
  out.sort((a, b) => (order.get(hostOf(hosts, a)) ?? 0) - (order.get(hostOf(hosts, b)) ?? 0));
  if (out.length === 0) return { kind: 'defer', reason: dropped.join('; ') || 'no MX host is usable' };
  return { kind: 'hosts', hosts: out };
}

function hostOf(hosts: readonly TargetHost[], h: PolicyHost): TargetHost {
  return hosts.find((x) => x.host === h.host && x.port === h.port) ?? h;
}
