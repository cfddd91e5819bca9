// SqliteTlsPolicyStore: the MTA-STS policy cache and TLS-RPT daily counts (tables of migration 17).
import type { StsMode, StsPolicy } from '../../smtp/client/tls-policy/mta-sts.js';
import type { TlsPolicyStore, TlsResultRow } from '../tls-policy-store.js';
import type { SqliteContext } from './context.js';

interface StsRow {
  policy_id: string;
  mode: string;
  mx_json: string;
  max_age: number;
  fetched_at: number;
}

interface ResultRow {
  day: string;
  policy_domain: string;
  policy_type: string;
  policy_json: string;
  mx_host: string;
  result: string;
  receiving_ip: string;
  reason: string;
  count: number;
}

export class SqliteTlsPolicyStore implements TlsPolicyStore {
  constructor(private readonly ctx: SqliteContext) {}

  getStsPolicy(domain: string): StsPolicy | null {
    const row = this.ctx
      .prepare<[string], StsRow>(
        'SELECT policy_id, mode, mx_json, max_age, fetched_at FROM mta_sts_policies WHERE domain = ?',
      )
      .get(domain);
    if (!row) return null;
    return {
      id: row.policy_id,
      mode: row.mode as StsMode,
      mx: JSON.parse(row.mx_json) as string[],
      maxAgeS: row.max_age,
      fetchedAt: row.fetched_at,
    };
  }

  putStsPolicy(domain: string, p: StsPolicy): void {
    // A cache: losing the last write to a power cut only means one more fetch, so no fsync wait.
    this.ctx.writeLazy(() =>
      this.ctx
        .prepare(
          'INSERT INTO mta_sts_policies (domain, policy_id, mode, mx_json, max_age, fetched_at) VALUES (?, ?, ?, ?, ?, ?) ' +
            'ON CONFLICT (domain) DO UPDATE SET policy_id = excluded.policy_id, mode = excluded.mode, ' +
            'mx_json = excluded.mx_json, max_age = excluded.max_age, fetched_at = excluded.fetched_at',
        )
        .run(domain, p.id, p.mode, JSON.stringify(p.mx), p.maxAgeS, p.fetchedAt),
    );
  }

  recordTlsResult(r: Omit<TlsResultRow, 'count'>): void {
    this.ctx.writeLazy(() =>
      this.ctx
        .prepare(
          'INSERT INTO tls_rpt_results (day, policy_domain, policy_type, policy_json, mx_host, result, receiving_ip, reason, count) ' +
            'VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1',
        )
        .run(
          r.day,
          r.policyDomain,
          r.policyType,
          JSON.stringify(r.policyStrings),
          r.mxHost,
          r.result,
          r.receivingIp,
          r.reason,
        ),
    );
  }

  tlsResultDaysBefore(day: string): string[] {
    return this.ctx
      .prepare<[string], { day: string }>(
        'SELECT DISTINCT day FROM tls_rpt_results WHERE day < ? ORDER BY day',
      )
      .all(day)
      .map((r) => r.day);
  }

  tlsResults(day: string): TlsResultRow[] {
    return this.ctx
      .prepare<[string], ResultRow>(
        'SELECT * FROM tls_rpt_results WHERE day = ? ORDER BY policy_domain, policy_type, mx_host, result',
      )
      .all(day)
      .map((r) => ({
        day: r.day,
        policyDomain: r.policy_domain,
        policyType: r.policy_type as TlsResultRow['policyType'],
        policyStrings: JSON.parse(r.policy_json) as string[],
        mxHost: r.mx_host,
        result: r.result,
        receivingIp: r.receiving_ip,
        reason: r.reason,
        count: r.count,
      }));
  }

  deleteTlsResults(day: string, policyDomain?: string): void {
    this.ctx.write(() =>
      this.ctx
        .prepare('DELETE FROM tls_rpt_results WHERE day = ? AND (? IS NULL OR policy_domain = ?)')
        .run(day, policyDomain ?? null, policyDomain ?? null),
    );
  }
}
