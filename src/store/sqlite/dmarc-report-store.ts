// SqliteDmarcReportStore: DMARC aggregate report counts per day (table of migration 24).
import type { DmarcReportRow } from '../../inbound/dmarc-report.js';
import type { DmarcReportStore } from '../dmarc-report-store.js';
import type { SqliteContext } from './context.js';

interface Row {
  day: string;
  policy_domain: string;
  source_ip: string;
  header_from: string;
  disposition: string;
  dkim_aligned: string;
  spf_aligned: string;
  policy_json: string;
  auth_json: string;
  count: number;
}

export class SqliteDmarcReportStore implements DmarcReportStore {
  constructor(private readonly ctx: SqliteContext) {}

  recordDmarcResult(r: Omit<DmarcReportRow, 'count'>): void {
    // Report bookkeeping: a count lost to a power cut is not worth an fsync per message.
    this.ctx.writeLazy(() =>
      this.ctx
        .prepare(
          'INSERT INTO dmarc_report_rows (day, policy_domain, source_ip, header_from, disposition, dkim_aligned, ' +
            'spf_aligned, policy_json, auth_json, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ' +
            'ON CONFLICT DO UPDATE SET count = count + 1',
        )
        .run(
          r.day,
          r.policyDomain,
          r.sourceIp,
          r.headerFrom,
          r.disposition,
          r.dkimAligned,
          r.spfAligned,
          JSON.stringify(r.policy),
          JSON.stringify({ dkim: r.dkim, spf: r.spf }),
        ),
    );
  }

  dmarcResultDaysBefore(day: string): string[] {
    return this.ctx
      .prepare<[string], { day: string }>(
        'SELECT DISTINCT day FROM dmarc_report_rows WHERE day < ? ORDER BY day',
      )
      .all(day)
      .map((r) => r.day);
  }

  dmarcResults(day: string): DmarcReportRow[] {
    return this.ctx
      .prepare<[string], Row>(
        'SELECT * FROM dmarc_report_rows WHERE day = ? ORDER BY policy_domain, source_ip, header_from',
      )
      .all(day)
      .map((r) => {
        const auth = JSON.parse(r.auth_json) as Pick<DmarcReportRow, 'dkim' | 'spf'>;
        return {
          day: r.day,
          policyDomain: r.policy_domain,
          sourceIp: r.source_ip,
          headerFrom: r.header_from,
          disposition: r.disposition as DmarcReportRow['disposition'],
          dkimAligned: r.dkim_aligned as DmarcReportRow['dkimAligned'],
          spfAligned: r.spf_aligned as DmarcReportRow['spfAligned'],
          policy: JSON.parse(r.policy_json) as DmarcReportRow['policy'],
          dkim: auth.dkim,
          spf: auth.spf,
          count: r.count,
        };
      });
  }

  deleteDmarcResults(day: string, policyDomain?: string): void {
    this.ctx.write(() =>
      this.ctx
        .prepare('DELETE FROM dmarc_report_rows WHERE day = ? AND (? IS NULL OR policy_domain = ?)')
        .run(day, policyDomain ?? null, policyDomain ?? null),
    );
  }
}
