// `mailroom doctor DOMAIN`: what a local domain's DNS says against what it should say, record by record, with the record to publish.
import { isIP } from 'node:net';
import { spf } from 'mailauth/lib/spf/index.js';
import { isTemporaryDnsError, type MailResolver } from '../dns/types.js';
import { reverseName } from '../dns/resolver.js';
import type { StsFetcher } from '../smtp/client/tls-policy/mta-sts-fetch.js';
import { mxMatches, parseStsPolicy, parseStsTxt } from '../smtp/client/tls-policy/mta-sts.js';

export type CheckStatus = 'ok' | 'missing' | 'wrong' | 'error';

export interface CheckResult {
  /** MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, PTR. */
  record: string;
  /** The DNS name looked at (or the URL for the MTA-STS policy file). */
  name: string;
  status: CheckStatus;
  /** What was found there, as text. */
  found: string[];
  /** The exact record(s) to publish when status is not ok (zone-file syntax); empty when ok. */
  publish: string[];
  /** One sentence: why it is not ok, or a note on an ok record. */
  detail: string;
}

/** A DKIM key of the domain as the store holds it (public part only). */
export interface DoctorDkimKey {
  selector: string;
  /** `S._domainkey.DOMAIN` */
  dnsName: string;
  /** The TXT value to publish: `v=DKIM1; k=rsa; p=...` */
  dnsTxt: string;
  active: boolean;
}

export interface DoctorInput {
  domain: string;
  /** Config `hostname`: the MX target and the name our outbound connections use in EHLO. */
  hostname: string;
  /** Config outbound.source_address ('' or absent: none): the address mail leaves from, in place of the hostname's of its family. */
  sourceAddress?: string;
  dkimKeys: DoctorDkimKey[];
  resolver: MailResolver;
  /** The MTA-STS policy fetcher the queue uses (certificate checks, 200 and text/plain only, bounded). */
  fetchPolicy: StsFetcher;
  /** For the suggested MTA-STS id. */
  now: () => Date;
}

const txt = (name: string, value: string) => `${name}. IN TXT "${value}"`;

/** TXT records of a name joined per record, those starting with `prefix` (case-insensitive); null on NXDOMAIN/NODATA. */
async function txtRecords(resolver: MailResolver, name: string, prefix: string): Promise<string[]> {
  try {
    const records = (await resolver.resolveTxt(name)).map((parts) => parts.join(''));
    return records.filter((r) => r.toLowerCase().startsWith(prefix.toLowerCase()));
  } catch (e) {
    if (isTemporaryDnsError(e)) throw e;
    return [];
  }
}

async function addressesOf(resolver: MailResolver, host: string): Promise<string[]> {
  const found: string[] = [];
  for (const lookup of [resolver.resolve4, resolver.resolve6]) {
    try {
      found.push(...(await lookup.call(resolver, host)));
    } catch (e) {
      if (isTemporaryDnsError(e)) throw e;
    }
  }
  return found;
}

/** `v=DKIM1; k=rsa; p=ABC` -> its tags, keys lower case (RFC 6376 3.2 tag-list). */
function tags(record: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) map.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return map;
}

async function guarded(
  record: string,
  name: string,
  check: () => Promise<CheckResult>,
): Promise<CheckResult> {
  try {
    return await check();
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    return { record, name, status: 'error', found: [], publish: [], detail: `could not check: ${code}` };
  }
}

function checkMx(input: DoctorInput): Promise<CheckResult> {
  const { domain, hostname, resolver } = input;
  const publish = [`${domain}. IN MX 10 ${hostname}.`];
  return guarded('MX', domain, async () => {
    let mx: { exchange: string; priority: number }[] = [];
    try {
      mx = await resolver.resolveMx(domain);
    } catch (e) {
      if (isTemporaryDnsError(e)) throw e;
    }
    const found = mx.map((m) => `${m.priority} ${m.exchange}`);
    if (mx.length === 0)
      return { record: 'MX', name: domain, status: 'missing', found, publish, detail: 'no MX record' };
    if (mx.some((m) => m.exchange.toLowerCase() === hostname.toLowerCase()))
      return {
        record: 'MX',
        name: domain,
        status: 'ok',
        found,
        publish: [],
        detail: `points at ${hostname}`,
      };
    return {
      record: 'MX',
      name: domain,
      status: 'wrong',
      found,
      publish,
      detail: `no MX points at this server (${hostname}); mail for ${domain} goes elsewhere`,
    };
  });
}

function checkSpf(input: DoctorInput, outbound: string[]): Promise<CheckResult> {
  const { domain, hostname, resolver } = input;
  // A source address is where mail leaves from, not necessarily an MX address: name it (ip4:/ip6:, RFC 7208 5.6).
  const source = input.sourceAddress ? ` ip${isIP(input.sourceAddress)}:${input.sourceAddress}` : '';
  const publish = [txt(domain, `v=spf1 mx${source} -all`)];
  return guarded('SPF', domain, async () => {
    const found = await txtRecords(resolver, domain, 'v=spf1');
    const result = (status: CheckStatus, detail: string): CheckResult => ({
      record: 'SPF',
      name: domain,
      status,
      found,
      publish: status === 'ok' ? [] : publish,
      detail,
    });
    if (found.length === 0)
      return result('missing', 'no SPF record: receivers cannot tell our mail from forgeries');
    // RFC 7208 3.2: more than one v=spf1 record is a permanent error.
    if (found.length > 1)
      return result('wrong', 'more than one SPF record (RFC 7208 3.2: permerror); keep one');
    if (outbound.length === 0) return result('error', `cannot evaluate: ${hostname} has no address`);
    for (const ip of outbound) {
      const verdict = await spf({
        sender: `postmaster@${domain}`,
        ip,
        helo: hostname,
        mta: hostname,
        resolver: resolver.resolve.bind(resolver),
      });
      if (verdict.status.result !== 'pass')
        return result('wrong', `mail sent from ${ip} (${hostname}) gets spf=${verdict.status.result}`);
    }
    return result('ok', `passes for ${outbound.join(', ')}`);
  });
}

function checkDkim(input: DoctorInput): Promise<CheckResult[]> {
  const { domain, resolver, dkimKeys } = input;
  const active = dkimKeys.find((k) => k.active);
  if (!active)
    return Promise.resolve([
      {
        record: 'DKIM',
        name: `*._domainkey.${domain}`,
        status: 'missing',
        found: [],
        publish: [],
        detail: `no DKIM key: run \`mailroom dkim generate ${domain}\` and publish the record it prints`,
      },
    ]);
  // Every key is checked: a new selector published before it is activated is how rotation stays safe.
  return Promise.all(
    dkimKeys.map((key) =>
      guarded('DKIM', key.dnsName, async () => {
        const found = await txtRecords(resolver, key.dnsName, '');
        const want = tags(key.dnsTxt).get('p');
        const matching = found.some((r) => tags(r).get('p') === want);
        const label = key.active ? 'the active key' : 'an inactive key';
        const status: CheckStatus = matching ? 'ok' : found.length === 0 ? 'missing' : 'wrong';
        return {
          record: 'DKIM',
          name: key.dnsName,
          status,
          found,
          publish: matching ? [] : [txt(key.dnsName, key.dnsTxt)],
          detail: matching
            ? `${label} (selector ${key.selector}) is published`
            : found.length === 0
              ? `${label} (selector ${key.selector}) is not published${key.active ? ': our signatures fail' : ''}`
              : `the published key is not ${label} (selector ${key.selector})`,
        };
      }),
    ),
  );
}

function checkDmarc(input: DoctorInput): Promise<CheckResult> {
  const name = `_dmarc.${input.domain}`;
  const publish = [txt(name, `v=DMARC1; p=quarantine; rua=mailto:postmaster@${input.domain}`)];
  return guarded('DMARC', name, async () => {
    const found = await txtRecords(input.resolver, name, 'v=DMARC1');
    const result = (status: CheckStatus, detail: string): CheckResult => ({
      record: 'DMARC',
      name,
      status,
      found,
      publish: status === 'ok' ? [] : publish,
      detail,
    });
    if (found.length === 0) return result('missing', 'no DMARC record: large providers may refuse our mail');
    if (found.length > 1) return result('wrong', 'more than one DMARC record (RFC 7489 6.6.3: none applies)');
    const p = tags(found[0] ?? '').get('p');
    if (!p || !['none', 'quarantine', 'reject'].includes(p.toLowerCase()))
      return result('wrong', 'the record has no valid p= tag');
    return result('ok', `policy p=${p}${p === 'none' ? ' (monitoring only)' : ''}`);
  });
}

function checkMtaSts(input: DoctorInput): Promise<CheckResult[]> {
  const { domain, hostname } = input;
  const name = `_mta-sts.${domain}`;
  const url = `https://mta-sts.${domain}/.well-known/mta-sts.txt`;
  const stamp = input.now().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const policyText = `version: STSv1\nmode: enforce\nmx: ${hostname}\nmax_age: 604800`;
  const dns = guarded('MTA-STS', name, async () => {
    const found = await txtRecords(input.resolver, name, 'v=STSv1');
    const ok = parseStsTxt(found) !== null;
    return {
      record: 'MTA-STS',
      name,
      status: ok ? 'ok' : found.length === 0 ? 'missing' : 'wrong',
      found,
      publish: ok ? [] : [txt(name, `v=STSv1; id=${stamp}`)],
      detail: ok
        ? 'policy announced'
        : found.length === 0
          ? 'no MTA-STS record (RFC 8461 3.1)'
          : 'the record is malformed',
    };
  });
  const file = guarded('MTA-STS', url, async () => {
    const publish = [`${url} (text/plain):\n${policyText}`];
    // The same fetch and parse as delivery uses, so doctor says ok exactly when senders would see the policy.
    const fetched = await input.fetchPolicy(domain);
    if (!fetched.ok)
      return { record: 'MTA-STS', name: url, status: 'missing', found: [], publish, detail: fetched.reason };
    const found = [fetched.text.trim()];
    const parsed = parseStsPolicy(fetched.text, 'doctor', input.now().getTime());
    const problem = !parsed.ok
      ? parsed.reason
      : parsed.policy.mode !== 'none' && !mxMatches(parsed.policy.mx, hostname)
        ? `no mx: line matches ${hostname}`
        : null;
    return {
      record: 'MTA-STS',
      name: url,
      status: problem ? 'wrong' : 'ok',
      found,
      publish: problem ? publish : [],
      detail: problem ?? `mode ${parsed.ok ? parsed.policy.mode : ''}`,
    };
  });
  return Promise.all([dns, file]);
}

function checkTlsRpt(input: DoctorInput): Promise<CheckResult> {
  const name = `_smtp._tls.${input.domain}`;
  return guarded('TLS-RPT', name, async () => {
    const found = await txtRecords(input.resolver, name, 'v=TLSRPTv1');
    const ok = found.length === 1 && /rua=/i.test(found[0] ?? '');
    return {
      record: 'TLS-RPT',
      name,
      status: ok ? 'ok' : found.length === 0 ? 'missing' : 'wrong',
      found,
      publish: ok ? [] : [txt(name, `v=TLSRPTv1; rua=mailto:postmaster@${input.domain}`)],
      detail: ok
        ? 'reports requested'
        : found.length === 0
          ? 'no TLS-RPT record (RFC 8460 3)'
          : 'the record is malformed',
    };
  });
}

/** Forward-confirmed reverse DNS of every address of `hostname` (what receivers check as iprev). */
function checkPtr(input: DoctorInput, outbound: string[]): Promise<CheckResult[]> {
  const { hostname, resolver } = input;
  if (outbound.length === 0)
    return Promise.resolve([
      {
        record: 'PTR',
        name: hostname,
        status: 'missing',
        found: [],
        publish: [`${hostname}. IN A <this server's public IPv4 address>`],
        detail: `${hostname} has no address, so no reverse DNS can match it`,
      },
    ]);
  return Promise.all(
    outbound.map((ip) =>
      guarded('PTR', reverseName(ip), async () => {
        let names: string[] = [];
        try {
          names = await resolver.reverse(ip);
        } catch (e) {
          if (isTemporaryDnsError(e)) throw e;
        }
        const ok = names.some((n) => n.toLowerCase() === hostname.toLowerCase());
        return {
          record: 'PTR',
          name: reverseName(ip),
          status: ok ? 'ok' : names.length === 0 ? 'missing' : 'wrong',
          found: names,
          publish: ok
            ? []
            : [
                `${reverseName(ip)}. IN PTR ${hostname}.   (set by whoever owns ${ip}: your hosting provider)`,
              ],
          detail: ok ? `${ip} -> ${hostname} -> ${ip}` : `${ip} must point back at ${hostname}`,
        };
      }),
    ),
  );
}

export async function runDoctor(input: DoctorInput): Promise<CheckResult[]> {
  let outbound: string[] = [];
  try {
    outbound = await addressesOf(input.resolver, input.hostname);
  } catch {
    // PTR and SPF then say they could not check
  }
  // Connections to peers of its family leave from outbound.source_address; the others from the system's choice.
  const source = input.sourceAddress;
  if (source) outbound = [source, ...outbound.filter((ip) => isIP(ip) !== isIP(source))];
  const [mx, spfResult, dkim, dmarc, mtaSts, tlsRpt, ptr] = await Promise.all([
    checkMx(input),
    checkSpf(input, outbound),
    checkDkim(input),
    checkDmarc(input),
    checkMtaSts(input),
    checkTlsRpt(input),
    checkPtr(input, outbound),
  ]);
  return [mx, spfResult, ...dkim, dmarc, ...mtaSts, tlsRpt, ...ptr];
}

/** The report as text: one line per record, the record to publish indented below it. */
export function formatDoctorReport(domain: string, results: CheckResult[]): string {
  const lines = [`DNS of ${domain}:`];
  for (const r of results) {
    lines.push(`${r.status.padEnd(8)}${r.record.padEnd(9)}${r.name}: ${r.detail}`);
    for (const p of r.publish) for (const line of p.split('\n')) lines.push(`          publish: ${line}`);
  }
  const bad = results.filter((r) => r.status !== 'ok').length;
  lines.push(bad === 0 ? 'everything is in place' : `${bad} of ${results.length} need attention`);
  return `${lines.join('\n')}\n`;
}
