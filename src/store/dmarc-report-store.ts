// DMARC aggregate report counts (RFC 7489 7.2) per UTC day, policy domain and evaluated facts, for the daily reports.
import type { DmarcReportRow } from '../inbound/dmarc-report.js';

export interface DmarcReportStore {
  /** Adds one to the count of this row's (day, domain, source, facts). */
  recordDmarcResult(row: Omit<DmarcReportRow, 'count'>): void;
  /** Days with rows strictly before `day` (a day is reported once it is over). */
  dmarcResultDaysBefore(day: string): string[];
  dmarcResults(day: string): DmarcReportRow[];
  /** Forgets a day's rows (of one policy domain, or all). */
  deleteDmarcResults(day: string, policyDomain?: string): void;
}
