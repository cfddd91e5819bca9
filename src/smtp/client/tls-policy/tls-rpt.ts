// TLS-RPT (RFC 8460), pure: the _smtp._tls TXT record and the daily aggregate report (JSON of 4.4, message of 5.3).
import { buildAggregateReportMessage, type ReportMessageInput } from '../../../mail/report-message.js';
import type { TlsResultRow } from '../../../store/tls-policy-store.js';

/**
 * RFC 8460 3: `v=TLSRPTv1; rua=mailto:a@b.example,https://...` among the TXT records of `_smtp._tls.DOMAIN`;
 * exactly one record starting with v=TLSRPTv1. Returns its rua URIs, or null when there is no valid record.
 */
export function parseTlsRptTxt(records: readonly string[]): string[] | null {
  const rpt = records.filter((r) => /^v=TLSRPTv1\s*(;|$)/.test(r.trimStart()));
  if (rpt.length !== 1) return null;
  for (const field of (rpt[0] ?? '').split(';')) {
    const m = /^\s*rua\s*=\s*(.*?)\s*$/i.exec(field);
    if (!m) continue;
    const uris = (m[1] ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
    return uris.length > 0 ? uris : null;
  }
  return null;
}

/** The mailto: addresses of a rua list (RFC 8460 3: https: URIs are for HTTPS POST, which we do not do). */
export function mailtoAddresses(rua: readonly string[]): { mailto: string[]; skipped: string[] } {
  const mailto: string[] = [];
  const skipped: string[] = [];
  for (const uri of rua) {
    const m = /^mailto:([^?]+)/i.exec(uri);
    const address = m ? decodeURIComponent(m[1] ?? '') : '';
    if (m && /^[^@\s<>]+@[^@\s<>]+$/.test(address)) mailto.push(address);
    else skipped.push(uri);
  }
  return { mailto, skipped };
}

export interface ReportMeta {
  organizationName: string;
  contactInfo: string;
  reportId: string;
  /** The UTC day, YYYY-MM-DD. */
  day: string;
}

/** RFC 8460 4.4: the aggregate report of one policy domain for one UTC day. */
export function buildTlsReport(
  meta: ReportMeta,
  policyDomain: string,
  rows: readonly TlsResultRow[],
): unknown {
  const groups = new Map<string, TlsResultRow[]>();
  for (const r of rows) {
    if (r.policyDomain !== policyDomain) continue;
    const key = JSON.stringify([r.policyType, r.policyStrings, r.policyType === 'tlsa' ? r.mxHost : '']);
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const policies = [...groups.values()].map((g) => {
    const first = g[0] as TlsResultRow;
    const success = g.filter((r) => r.result === 'success').reduce((n, r) => n + r.count, 0);
    const failures = g.filter((r) => r.result !== 'success');
    // 4.4: mx-host is the policy's MX patterns for sts, the MX host for tlsa; absent for no-policy-found.
    const mxHosts =
      first.policyType === 'sts'
        ? first.policyStrings.filter((s) => s.startsWith('mx: ')).map((s) => s.slice(4))
        : first.policyType === 'tlsa'
          ? [first.mxHost]
          : [];
    return {
      policy: {
        'policy-type': first.policyType,
        ...(first.policyStrings.length > 0 ? { 'policy-string': first.policyStrings } : {}),
        'policy-domain': policyDomain,
        ...(mxHosts.length > 0 ? { 'mx-host': mxHosts } : {}),
      },
      summary: {
        'total-successful-session-count': success,
        'total-failure-session-count': failures.reduce((n, r) => n + r.count, 0),
      },
      ...(failures.length > 0
        ? {
            'failure-details': failures.map((r) => ({
              'result-type': r.result,
              ...(r.mxHost ? { 'receiving-mx-hostname': r.mxHost } : {}),
              ...(r.receivingIp ? { 'receiving-ip': r.receivingIp } : {}),
              'failed-session-count': r.count,
              ...(r.reason ? { 'failure-reason-code': r.reason } : {}),
            })),
          }
        : {}),
    };
  });
  return {
    'organization-name': meta.organizationName,
    'date-range': { 'start-datetime': `${meta.day}T00:00:00Z`, 'end-datetime': `${meta.day}T23:59:59Z` },
    'contact-info': meta.contactInfo,
    'report-id': meta.reportId,
    policies,
  };
}

export type { ReportMessageInput };

/** RFC 8460 5.3: multipart/report; report-type="tlsrpt" with the application/tlsrpt+gzip part (5.1 filename). */
export function buildReportMessage(m: ReportMessageInput): Buffer {
  const start = Math.floor(Date.parse(`${m.day}T00:00:00Z`) / 1000);
  const end = start + 86_399;
  return buildAggregateReportMessage(m, {
    extraFields: [`TLS-Report-Domain: ${m.policyDomain}`, `TLS-Report-Submitter: ${m.submitter}`],
    contentType: ['Content-Type: multipart/report; report-type="tlsrpt";', `\tboundary="${m.boundary}"`],
    preamble: ['This is a MIME-encapsulated message.'],
    text: `This is an aggregate TLS report (RFC 8460) from ${m.submitter} for ${m.policyDomain}, ${m.day}.`,
    attachmentType: 'application/tlsrpt+gzip',
    // 5.1: filename = sender "!" policy-domain "!" begin-timestamp "!" end-timestamp [ "!" unique-id ] "." extension
    filename: `${m.submitter}!${m.policyDomain}!${start}!${end}!${m.reportId}.json.gz`,
  });
}
