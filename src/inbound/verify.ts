// Runs the inbound checks of one message through the one resolver: SPF, DKIM, ARC (mailauth), the DMARC record, iprev.
import { isIP } from 'node:net';
import type { spf as MailauthSpf } from 'mailauth/lib/spf/index.js';
import { getDomain } from 'tldts';
import { IPREV_MAX_NAMES } from '../config/limits.js';
import { isTemporaryDnsError, type MailResolver } from '../dns/types.js';
import type { MailauthResolver } from './dkim-keys.js';
import { DnsMemo } from './dns-memo.js';
import { verifyDkim, type DkimMessage, type DkimRunner } from './dkim-verify.js';
import type { DmarcRecord, InboundFacts, MethodResult } from './policy.js';

/** What is known of the transaction when the body has ended. */
export interface MessageContext {
  remoteAddress: string;
  /** The EHLO/HELO name as given. */
  helo: string;
  /** MAIL FROM, '' for the null reverse-path. */
  sender: string;
}

export interface Verification {
  facts: InboundFacts;
  /** resinfo items in the order they go into Authentication-Results (dkim..., spf, arc, iprev). */
  resinfo: string[];
}

/** The organizational domain (RFC 7489 3.2) by the public suffix list, with mailauth's options (private suffixes too). */
export function orgDomainOf(domain: string): string {
  return getDomain(domain, { allowIcannDomains: true, allowPrivateDomains: true }) ?? domain;
}

const METHOD_RESULTS: readonly string[] = [
  'pass',
  'fail',
  'softfail',
  'neutral',
  'none',
  'temperror',
  'permerror',
  'policy',
];

/** mailauth spells some results its own way (`temperr`); anything unknown counts as permerror. */
function methodResult(r: string | undefined): MethodResult {
  if (r === 'temperr') return 'temperror';
  return (METHOD_RESULTS.includes(r ?? '') ? r : 'permerror') as MethodResult;
}

/** Strips a trailing dot and the IPv4-mapped prefix a dual-stack socket reports (`::ffff:192.0.2.1`). */
export function plainIp(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

function domainOfAddress(address: string): string | null {
  const at = address.lastIndexOf('@');
  return at < 0 ? null : address.slice(at + 1).toLowerCase();
}

/**
 * The From domain's DMARC record (RFC 7489 6.6.3): `_dmarc.<from>`, else `_dmarc.<organizational domain>`.
 * Several DMARC records, or none, mean none; a DNS failure is 'temperror'.
 */
export async function findDmarcRecord(
  fromDomain: string,
  resolver: MailResolver,
): Promise<DmarcRecord | null | 'temperror'> {
  const lookup = async (domain: string): Promise<string | null> => {
    try {
      const rows = (await resolver.resolveTxt(`_dmarc.${domain}`)).map((r) => r.join('').trim());
      const records = rows.filter((r) => /^v=DMARC1\s*(;|$)/i.test(r));
      return records.length === 1 ? records[0]! : null;
    } catch (e) {
      if (isTemporaryDnsError(e)) throw e;
      return null;
    }
  };
  try {
    let domain = fromDomain;
    let text = await lookup(domain);
    const org = orgDomainOf(fromDomain);
    if (text === null && org !== fromDomain) {
      domain = org;
      text = await lookup(org);
    }
    return text === null ? null : parseDmarcRecord(domain, text);
  } catch {
    return 'temperror';
  }
}

/** RFC 7489 6.3 tags; a record whose p is missing or unknown is treated as none published (6.6.3 step 6). */
export function parseDmarcRecord(domain: string, text: string): DmarcRecord | null {
  const tags = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0)
      tags.set(
        part.slice(0, eq).trim().toLowerCase(),
        part
          .slice(eq + 1)
          .trim()
          .toLowerCase(),
      );
  }
  const policy = (v: string | undefined) =>
    v === 'none' || v === 'quarantine' || v === 'reject' ? v : undefined;
  const p = policy(tags.get('p'));
  if (p === undefined) return null;
  const pctText = tags.get('pct');
  const pct = pctText !== undefined && /^[0-9]{1,3}$/.test(pctText) ? Math.min(100, Number(pctText)) : 100;
  const sp = policy(tags.get('sp'));
  // rua keeps its case (a mailto local part may need it): read from the text, not the lower-cased tags.
  const ruaText = /(?:^|;)\s*rua\s*=\s*([^;]*)/i.exec(text)?.[1]?.trim();
  const rua = ruaText
    ? ruaText
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== '')
    : [];
  return {
    domain,
    p,
    ...(sp ? { sp } : {}),
    pct,
    adkim: tags.get('adkim') === 's' ? 's' : 'r',
    aspf: tags.get('aspf') === 's' ? 's' : 'r',
    ...(rua.length > 0 ? { rua } : {}),
  };
}

/**
 * iprev (RFC 8601 2.7.3, RFC 8601 3): the client IP's PTR names, each looked up forward; pass when one of them
 * leads back to the IP. NXDOMAIN/no PTR is fail (permanent), a DNS failure temperror.
 */
export async function checkIprev(
  ip: string,
  resolver: MailResolver,
): Promise<{ result: MethodResult; name?: string }> {
  let names: string[];
  try {
    names = (await resolver.reverse(ip)).slice(0, IPREV_MAX_NAMES);
  } catch (e) {
    return { result: isTemporaryDnsError(e) ? 'temperror' : 'fail' };
  }
  const v6 = ip.includes(':');
  let temporary = false;
  for (const name of names) {
    try {
      const addresses = v6 ? await resolver.resolve6(name) : await resolver.resolve4(name);
      if (addresses.some((a) => sameIp(a, ip))) return { result: 'pass', name: name.replace(/\.$/, '') };
    } catch (e) {
      if (isTemporaryDnsError(e)) temporary = true;
    }
  }
  return { result: temporary ? 'temperror' : 'fail', ...(names[0] ? { name: names[0] } : {}) };
}

function sameIp(a: string, b: string): boolean {
  if (!a.includes(':')) return a === b;
  const expand = (ip: string) => {
    const [head = '', tail = ''] = ip.toLowerCase().split('::');
    const h = head ? head.split(':') : [];
    const t = ip.includes('::') && tail ? tail.split(':') : [];
    const fill = ip.includes('::') ? Array<string>(8 - h.length - t.length).fill('0') : [];
    return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join(':');
  };
  return expand(a) === expand(b);
}

type SpfCheck = typeof MailauthSpf;
type SpfAuth = Awaited<ReturnType<SpfCheck>>;

/** The DNS-derived results one resolver's messages share while their answers last (dns-memo.ts). */
export interface VerifyMemos {
  /** Keyed by everything check_host() and mailauth's text read besides DNS: IP, HELO, MAIL FROM, our name. */
  spf: DnsMemo<SpfAuth>;
  /** Keyed by the From domain. */
  dmarc: DnsMemo<DmarcRecord | null | 'temperror'>;
  /** Keyed by the client IP. */
  iprev: DnsMemo<{ result: MethodResult; name?: string }>;
}

export function newVerifyMemos(resolver: MailResolver): VerifyMemos {
  return { spf: new DnsMemo(resolver), dmarc: new DnsMemo(resolver), iprev: new DnsMemo(resolver) };
}

let spfModule: Promise<SpfCheck> | undefined;

/**
 * mailauth's SPF check, loaded at the first MX message: memory a server taking no MX mail never pays. The promise
 * is kept, so later messages do not go through the module loader's resolve again (an `import()` per message
 * costs a resolve and a job lookup each time, and under a loader hook such as tsx's a round trip to its thread).
 * Its own module, not mailauth's index: the index loads every part of mailauth (BIMI, the signers, ~400 modules:
 * ~290 ms CPU and ~17 MiB RSS here) where lib/spf takes ~100 modules, ~110 ms (the same function the index exports).
 */
function loadSpf(): Promise<SpfCheck> {
  spfModule ??= import('mailauth/lib/spf/index.js').then(
    (m) => m.spf,
    (e: unknown) => {
      spfModule = undefined; // not kept: the next message tries again
      throw e;
    },
  );
  return spfModule;
}

/**
 * Runs every check of one message. The message is read once, by mailauth's DKIM verifier (dkim-verify.ts: it
 * parses the headers, hashes the body per canonicalization and checks every DKIM-Signature and the newest
 * ARC-Message-Signature, then the ARC chain). SPF, the DMARC record and iprev only need DNS and run beside it.
 * This is mailauth's `authenticate` minus what we do not use (Received parsing, BIMI, DMARC: policy.ts) and
 * without its copy of the message into 64 KiB slices, one per event-loop turn. `message` is the filtered body as
 * stored (own-id Authentication-Results removed, no trace headers of ours yet): the spool file (a stream or its
 * path), or the chunks in memory. `runDkim` runs the DKIM/ARC pass: here by default, or on a worker
 * (verify-pool.ts); either way its DNS questions go to `resolver`. With `memos`, SPF, the DMARC record and iprev
 * are taken from there while the DNS answers they were computed from are current (dns-memo.ts).
 */
export async function verifyMessage(
  message: DkimMessage,
  context: MessageContext,
  hostname: string,
  resolver: MailResolver,
  runDkim: DkimRunner = verifyDkim,
  memos?: VerifyMemos,
): Promise<Verification> {
  const ip = plainIp(context.remoteAddress);
  const iprev = memos ? memos.iprev.get(ip, (r) => checkIprev(ip, r)) : checkIprev(ip, resolver);
  const spf = await loadSpf();
  const lookup: MailauthResolver = (name, type) => resolver.resolve(name, type);
  if (resolver.tracking && resolver.validForMs) {
    const { tracking, validForMs } = resolver as Required<Pick<MailResolver, 'tracking' | 'validForMs'>>;
    lookup.timed = async (name, type) => {
      const view = tracking.call(resolver);
      const value = await view.resolver.resolve(name, type);
      return { value, validForMs: validForMs.call(resolver, view.reads) };
    };
  }
  // As authenticate: no HELO name means the IP, and an address literal is given in brackets (RFC 5321 4.1.3).
  const helo = context.helo || ip;
  const spfHelo = isIP(helo) ? `[${helo}]` : helo;
  const checkHost = (r: MailResolver) =>
    spf({
      ip,
      helo: spfHelo,
      sender: context.sender,
      mta: hostname,
      // mailauth's DNSResolver type narrows rrtype; resolve() is node:dns shaped
      resolver: ((name: string, type: string) => r.resolve(name, type)) as never,
    });
  const spfResult = memos
    ? memos.spf.get(`${ip}\0${spfHelo}\0${context.sender}\0${hostname}`, checkHost)
    : checkHost(resolver);
  // Until the DKIM pass has run, a rejected SPF promise would count as unhandled.
  spfResult.catch(() => undefined);
  const dkimPass = await runDkim(message, context.sender, lookup);
  const spfAuth = await spfResult;
  const dkimRows = dkimPass.rows;
  const dkim = dkimRows
    .filter((r) => r.signingDomain)
    .map((r) => ({ result: methodResult(r.result), domain: r.signingDomain.toLowerCase() }));
  const spfOutcome = spfAuth ? methodResult(spfAuth.status.result) : 'none';
  const spfDomain =
    (spfAuth && spfAuth.domain) || domainOfAddress(context.sender) || context.helo.toLowerCase();
  const fromDomains = dkimPass.headerFrom.map((a) => domainOfAddress(a) ?? a.toLowerCase());
  const fromDomain = fromDomains.length === 1 ? fromDomains[0]! : null;
  const dmarcRecord =
    fromDomain === null
      ? null
      : memos
        ? await memos.dmarc.get(fromDomain, (r) => findDmarcRecord(fromDomain, r))
        : await findDmarcRecord(fromDomain, resolver);
  const rev = await iprev;
  const resinfo = [
    ...dkimRows.map((r) => r.info),
    ...(spfAuth ? [spfAuth.info] : []),
    ...(dkimPass.arcInfo ? [dkimPass.arcInfo] : []),
    `iprev=${rev.result} policy.iprev=${ip}${rev.name ? ` (${rev.name})` : ''}`,
  ];
  return {
    facts: {
      spf: { result: spfOutcome, domain: spfDomain },
      dkim,
      fromDomains,
      senderDomain: context.sender === '' ? null : domainOfAddress(context.sender),
      dmarcRecord,
    },
    resinfo,
  };
}

/** The Authentication-Results field (RFC 8601 2.2), CRLF-terminated; one resinfo a line. */
export function formatAuthenticationResults(hostname: string, resinfo: readonly string[]): string {
  if (resinfo.length === 0) return `Authentication-Results: ${hostname}; none\r\n`;
  return `Authentication-Results: ${hostname};\r\n ${resinfo.join(';\r\n ')}\r\n`;
}
