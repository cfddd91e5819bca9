// DMARC aggregate reports (RFC 7489 7.2), pure: the row one evaluation adds, rua parsing, the XML and the report mail.
import type { InboundAction, InboundFacts, DmarcOutcome, DmarcRecord } from './policy.js';
import { buildAggregateReportMessage, type ReportMessageInput } from '../mail/report-message.js';

/** One counted row: a day's evaluations with the same facts (RFC 7489 Appendix C "record"). */
export interface DmarcReportRow {
  /** UTC day "YYYY-MM-DD" (the report covers whole days). */
  day: string;
  /** The domain whose record applied (RFC 7489 7.2.1.1 "Report Domain"): where _dmarc was found. */
  policyDomain: string;
  sourceIp: string;
  headerFrom: string;
  disposition: 'none' | 'quarantine' | 'reject';
  /** DMARC-aligned results (policy_evaluated). */
  dkimAligned: 'pass' | 'fail';
  spfAligned: 'pass' | 'fail';
  /** The published policy as evaluated (policy_published). */
  policy: Pick<DmarcRecord, 'p' | 'sp' | 'pct' | 'adkim' | 'aspf'>;
  /** Raw results (auth_results): every DKIM signature, and SPF. */
  dkim: { domain: string; result: string }[];
  spf: { domain: string; result: string };
  count: number;
}

/**
 * The row one DMARC evaluation adds, or null when it is not reported: no record, no single From domain,
 * a temporary failure (the message is deferred and comes back), or a deferral.
 */
export function reportRowOf(
  facts: InboundFacts,
  dmarc: DmarcOutcome,
  action: InboundAction,
  sourceIp: string,
  day: string,
): Omit<DmarcReportRow, 'count'> | null {
  const record = dmarc.record;
  if (!record || action.kind === 'defer' || (dmarc.result !== 'pass' && dmarc.result !== 'fail')) return null;
  const disposition =
    action.kind === 'reject' ? 'reject' : action.kind === 'deliver' && action.junk ? 'quarantine' : 'none';
  return {
    day,
    policyDomain: record.domain,
    sourceIp,
    headerFrom: dmarc.fromDomain,
    disposition,
    dkimAligned: dmarc.dkimAligned ? 'pass' : 'fail',
    spfAligned: dmarc.spfAligned ? 'pass' : 'fail',
    policy: {
      p: record.p,
      ...(record.sp ? { sp: record.sp } : {}),
      pct: record.pct,
      adkim: record.adkim,
      aspf: record.aspf,
    },
    dkim: facts.dkim.map((d) => ({ domain: d.domain, result: d.result })),
    spf: { domain: facts.spf.domain, result: facts.spf.result },
  };
}

/**
 * RFC 7489 6.2/6.3 rua: comma-separated URIs, each with an optional "!size" limit; only mailto: is mailed
 * (the RFC's only required scheme). Returns the addresses, lower-cased domain.
 */
export function ruaMailtos(rua: readonly string[]): string[] {
  const out: string[] = [];
  for (const uri of rua) {
    const m = /^mailto:([^!?]+)(?:\?[^!]*)?(?:![0-9]+[kmgt]?)?$/i.exec(uri.trim());
    if (!m) continue;
    let address: string;
    try {
      address = decodeURIComponent(m[1] ?? '');
    } catch {
      continue;
    }
    const at = address.lastIndexOf('@');
    if (at < 1 || at === address.length - 1 || /[\s<>"]/.test(address)) continue;
    out.push(`${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`);
  }
  return out;
}

/** RFC 7489 7.1: the TXT name that authorizes `ruaDomain` to receive reports for `policyDomain`. */
export function externalReportName(policyDomain: string, ruaDomain: string): string {
  return `${policyDomain}._report._dmarc.${ruaDomain}`;
}

/** RFC 7489 7.1: the authorization holds when one TXT record there starts with "v=DMARC1". */
export function externalReportAuthorized(txt: readonly string[]): boolean {
  return txt.some((t) => /^v=DMARC1\s*(;|$)/.test(t.trim()));
}

const xml = (s: string): string =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );

export interface ReportMeta {
  orgName: string;
  email: string;
  reportId: string;
  day: string;
}

/** The day's [begin, end] in Unix seconds (RFC 7489 Appendix C date_range). */
export function dayRange(day: string): [number, number] {
  const begin = Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000);
  return [begin, begin + 86_399];
}

/** RFC 7489 Appendix C: the aggregate report of one policy domain for one day. */
export function buildAggregateXml(
  meta: ReportMeta,
  policyDomain: string,
  rows: readonly DmarcReportRow[],
): string {
  const [begin, end] = dayRange(meta.day);
  // policy_published: the policy as last seen that day (rows keep the one each evaluation used).
  const p = rows[rows.length - 1]?.policy ?? { p: 'none', pct: 100, adkim: 'r', aspf: 'r' };
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<feedback>',
    '  <report_metadata>',
    `    <org_name>${xml(meta.orgName)}</org_name>`,
    `    <email>${xml(meta.email)}</email>`,
    `    <report_id>${xml(meta.reportId)}</report_id>`,
    `    <date_range><begin>${begin}</begin><end>${end}</end></date_range>`,
    '  </report_metadata>',
    '  <policy_published>',
    `    <domain>${xml(policyDomain)}</domain>`,
    `    <adkim>${p.adkim}</adkim>`,
    `    <aspf>${p.aspf}</aspf>`,
    `    <p>${p.p}</p>`,
    `    <sp>${p.sp ?? p.p}</sp>`,
    `    <pct>${p.pct}</pct>`,
    '  </policy_published>',
  ];
  for (const r of rows) {
    out.push(
      '  <record>',
      '    <row>',
      `      <source_ip>${xml(r.sourceIp)}</source_ip>`,
      `      <count>${r.count}</count>`,
      '      <policy_evaluated>',
      `        <disposition>${r.disposition}</disposition>`,
      `        <dkim>${r.dkimAligned}</dkim>`,
      `        <spf>${r.spfAligned}</spf>`,
      '      </policy_evaluated>',
      '    </row>',
      `    <identifiers><header_from>${xml(r.headerFrom)}</header_from></identifiers>`,
      '    <auth_results>',
      ...r.dkim.map(
        (d) => `      <dkim><domain>${xml(d.domain)}</domain><result>${xml(d.result)}</result></dkim>`,
      ),
      `      <spf><domain>${xml(r.spf.domain)}</domain><result>${xml(r.spf.result)}</result></spf>`,
      '    </auth_results>',
      '  </record>',
    );
  }
  out.push('</feedback>', '');
  return out.join('\n');
}

/** The same facts as a TLS-RPT report message (the submitter is RFC 7489 7.2.1.1's Submitter and the filename's receiver). */
export type DmarcReportMessageInput = ReportMessageInput;

/**
 * RFC 7489 7.2.1.1: Subject "Report Domain: ... Submitter: ... Report-ID: <...>", the gzip'd XML attached as
 * application/gzip named receiver "!" policy-domain "!" begin "!" end ".xml.gz".
 */
export function buildDmarcReportMessage(m: DmarcReportMessageInput): Buffer {
  const [begin, end] = dayRange(m.day);
  return buildAggregateReportMessage(m, {
    extraFields: [],
    contentType: [`Content-Type: multipart/mixed; boundary="${m.boundary}"`],
    preamble: [],
    text: `This is a DMARC aggregate report (RFC 7489) from ${m.submitter} for ${m.policyDomain}, ${m.day}.`,
    attachmentType: 'application/gzip',
    filename: `${m.submitter}!${m.policyDomain}!${begin}!${end}.xml.gz`,
  });
}
