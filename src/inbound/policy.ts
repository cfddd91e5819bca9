// Inbound policy, pure: DMARC alignment and verdict (RFC 7489), the local-domain rule, and what to do with the message.

/** A method result as RFC 8601 2.7 spells it (temperror/permerror as RFC 7208 2.6 and RFC 7489 11.2). */
export type MethodResult =
  'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

/** A published DMARC record's parts that decide (RFC 7489 6.3). */
export interface DmarcRecord {
  /** The domain the record was found at (the From domain, or its organizational domain). */
  domain: string;
  p: 'none' | 'quarantine' | 'reject';
  /** Subdomain policy; absent: p (RFC 7489 6.3). */
  sp?: 'none' | 'quarantine' | 'reject';
  /** 0..100, default 100 (RFC 7489 6.3, 6.6.4). */
  pct: number;
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  /** Aggregate report URIs (RFC 7489 6.3 rua), as published; absent: none asked for. */
  rua?: string[];
}

/** What the checks found, before any decision. */
export interface InboundFacts {
  /** RFC 7208: the checked identity's domain (MAIL FROM's, or HELO's when MAIL FROM is <>) and its result. */
  spf: { result: MethodResult; domain: string };
  /** Every DKIM signature (RFC 6376 6: each is evaluated; none at all is an empty list). */
  dkim: { result: MethodResult; domain: string }[];
  /** Domains of the From header's addresses (RFC 7489 6.6.1: DMARC needs exactly one). */
  fromDomains: string[];
  /** MAIL FROM's domain, or null for the null reverse-path. */
  senderDomain: string | null;
  /** The From domain's DMARC record: null when none is published, 'temperror' when DNS failed. */
  dmarcRecord: DmarcRecord | null | 'temperror';
}

/** The organizational domain (RFC 7489 3.2, the public suffix list); injected so this file stays pure. */
export type OrgDomainOf = (domain: string) => string;

export interface DmarcOutcome {
  result: MethodResult;
  /** The From domain evaluated (header.from), or '' when there was no single one. */
  fromDomain: string;
  /** The policy that applies to this From domain (sp for a subdomain of the record's domain), before pct. */
  policy: 'none' | 'quarantine' | 'reject' | null;
  record: DmarcRecord | null;
  /** Which aligned identifier passed (RFC 7489 Appendix C policy_evaluated), when a record was evaluated. */
  spfAligned?: boolean;
  dkimAligned?: boolean;
}

const norm = (d: string) => d.toLowerCase().replace(/\.$/, '');

/** RFC 7489 3.1: strict = the same domain; relaxed = the same organizational domain. */
export function aligned(a: string, b: string, strict: boolean, orgDomainOf: OrgDomainOf): boolean {
  const x = norm(a);
  const y = norm(b);
  if (x === y) return true;
  return !strict && norm(orgDomainOf(x)) === norm(orgDomainOf(y));
}

/** RFC 7489 6.6.2 / 4.2: DMARC passes when an SPF-pass or DKIM-pass identifier aligns with the From domain. */
export function evaluateDmarc(facts: InboundFacts, orgDomainOf: OrgDomainOf): DmarcOutcome {
  // RFC 7489 6.6.1: no single From domain means no DMARC evaluation (none; the message is odd, not forged).
  if (facts.fromDomains.length !== 1) return { result: 'none', fromDomain: '', policy: null, record: null };
  const from = norm(facts.fromDomains[0]!);
  const record = facts.dmarcRecord;
  if (record === 'temperror') return { result: 'temperror', fromDomain: from, policy: null, record: null };
  if (record === null) return { result: 'none', fromDomain: from, policy: null, record: null };
  // RFC 7489 6.6.3: sp applies when the record was found at the organizational domain, not the From domain.
  const policy = norm(record.domain) !== from && record.sp !== undefined ? record.sp : record.p;
  const spfOk =
    facts.spf.result === 'pass' && aligned(facts.spf.domain, from, record.aspf === 's', orgDomainOf);
  const dkimOk = facts.dkim.some(
    (s) => s.result === 'pass' && aligned(s.domain, from, record.adkim === 's', orgDomainOf),
  );
  return {
    result: spfOk || dkimOk ? 'pass' : 'fail',
    fromDomain: from,
    policy,
    record,
    spfAligned: spfOk,
    dkimAligned: dkimOk,
  };
}

export type InboundAction =
  | { kind: 'deliver'; junk: boolean }
  /** 550 5.7.1: a DMARC p=reject failure, or a local domain claimed without authentication. */
  | { kind: 'reject'; reason: 'dmarc' | 'local-domain'; domain: string }
  /** 451 4.4.3: a DNS failure left the verdict open (RFC 7489 6.6.2, RFC 7208 8.6). */
  | { kind: 'defer'; reason: 'dmarc' | 'local-domain'; domain: string };

export interface PolicyOptions {
  mode: 'enforce' | 'monitor';
  isLocalDomain(domain: string): boolean;
  orgDomainOf: OrgDomainOf;
  /** A number in [0, 1) for pct sampling (RFC 7489 6.6.4); injected so tests are exact. */
  random(): number;
}

const isTemp = (r: MethodResult) => r === 'temperror';

/**
 * What happens to the message. First the local-domain rule, whatever DMARC says: a local domain in MAIL FROM or
 * From must be vouched for by SPF or DKIM aligned with it (relaxed), since we know our own domains send only
 * through us (or are signed by us). Then DMARC in enforce mode: p=reject -> refuse, p=quarantine -> Junk, with
 * pct sampling (a message outside the sample gets the next lower policy, RFC 7489 6.6.4).
 *
 * Temporary DNS failures defer (451 4.4.3) only where the answer could change the outcome; in monitor mode the
 * DMARC temperror is only recorded (RFC 7489 6.6.2 leaves the choice to the receiver: nothing is enforced, so
 * nothing is gained by making the sender retry). The local-domain rule defers in both modes.
 */
export function decideInbound(
  facts: InboundFacts,
  dmarc: DmarcOutcome,
  options: PolicyOptions,
): InboundAction {
  const claimed = new Set<string>();
  if (facts.senderDomain !== null && options.isLocalDomain(norm(facts.senderDomain))) {
    claimed.add(norm(facts.senderDomain));
  }
  for (const d of facts.fromDomains) if (options.isLocalDomain(norm(d))) claimed.add(norm(d));
  for (const domain of claimed) {
    const spfOk =
      facts.spf.result === 'pass' && aligned(facts.spf.domain, domain, false, options.orgDomainOf);
    const dkimOk = facts.dkim.some(
      (s) => s.result === 'pass' && aligned(s.domain, domain, false, options.orgDomainOf),
    );
    if (spfOk || dkimOk) continue;
    const maybe = isTemp(facts.spf.result) || facts.dkim.some((s) => isTemp(s.result));
    return { kind: maybe ? 'defer' : 'reject', reason: 'local-domain', domain };
  }
  if (options.mode === 'monitor') return { kind: 'deliver', junk: false };
  if (dmarc.result === 'temperror') return { kind: 'defer', reason: 'dmarc', domain: dmarc.fromDomain };
  if (dmarc.result !== 'fail' || dmarc.policy === null || dmarc.policy === 'none') {
    return { kind: 'deliver', junk: false };
  }
  // An SPF or DKIM temperror might have been the aligned pass: ask again later rather than punish.
  if (isTemp(facts.spf.result) || facts.dkim.some((s) => isTemp(s.result))) {
    return { kind: 'defer', reason: 'dmarc', domain: dmarc.fromDomain };
  }
  const pct = dmarc.record?.pct ?? 100;
  const sampled = options.random() * 100 < pct;
  const policy = sampled ? dmarc.policy : dmarc.policy === 'reject' ? 'quarantine' : 'none';
  if (policy === 'reject') return { kind: 'reject', reason: 'dmarc', domain: dmarc.fromDomain };
  return { kind: 'deliver', junk: policy === 'quarantine' };
}

/** The dmarc= resinfo of the Authentication-Results header (RFC 7489 11.2, RFC 8601 2.7). */
export function dmarcResinfo(dmarc: DmarcOutcome): string {
  const r = dmarc.record;
  const comment = r ? ` (p=${r.p}${r.sp ? ` sp=${r.sp}` : ''}${r.pct !== 100 ? ` pct=${r.pct}` : ''})` : '';
  return `dmarc=${dmarc.result}${comment}${dmarc.fromDomain ? ` header.from=${dmarc.fromDomain}` : ''}`;
}
