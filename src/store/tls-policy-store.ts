// Outbound TLS policy state: the MTA-STS policy cache (RFC 8461 5.1) and TLS-RPT result counts per day (RFC 8460).
import type { StsPolicy } from '../smtp/client/tls-policy/mta-sts.js';

/** One counted TLS result: a success or a failure type (RFC 8460 4.3) for one policy and MX host on one UTC day. */
export interface TlsResultRow {
  /** UTC day, "YYYY-MM-DD" (RFC 8460 4.4 date-range). */
  day: string;
  /** The recipient domain the policy belongs to (RFC 8460 4.4 policy-domain). */
  policyDomain: string;
  /** RFC 8460 4.4 policy-type: sts, tlsa or no-policy-found. */
  policyType: 'sts' | 'tlsa' | 'no-policy-found';
  /** RFC 8460 4.4 policy-string: the policy lines or TLSA records as text. */
  policyStrings: string[];
  /** The MX host ('' for failures before one was chosen, such as a policy fetch error). */
  mxHost: string;
  /** 'success' or an RFC 8460 4.3 result type. */
  result: string;
  /** The receiving address, for failure details (RFC 8460 4.4 receiving-ip); '' when unknown. */
  receivingIp: string;
  /** Why, for failure-reason-code (ours, free text). */
  reason: string;
  count: number;
}

export interface TlsPolicyStore {
  getStsPolicy(domain: string): StsPolicy | null;
  putStsPolicy(domain: string, policy: StsPolicy): void;
  /** Adds one to the count of this (day, domain, policy, host, result, ip, reason). */
  recordTlsResult(row: Omit<TlsResultRow, 'count'>): void;
  /** Days with results strictly before `day` (reports are made once a day is over). */
  tlsResultDaysBefore(day: string): string[];
  tlsResults(day: string): TlsResultRow[];
  /** Forgets a day's results (of one policy domain) once its reports are queued, or too old to send. */
  deleteTlsResults(day: string, policyDomain?: string): void;
}
