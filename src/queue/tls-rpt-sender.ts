// TLS-RPT (RFC 8460) at work: records each session's TLS result per policy domain and day, and mails the daily reports.
import { gzipSync } from 'node:zlib';
import { TLS_RPT_MAX_AGE_DAYS } from '../config/limits.js';
import { isTemporaryDnsError } from '../dns/types.js';
import type { HostTlsPolicy, PeerCheck } from '../smtp/client/tls-policy/host-policy.js';
import type { PolicyEvent } from '../smtp/client/tls-policy/resolve-policy.js';
import { tlsaStrings } from '../smtp/client/tls-policy/resolve-policy.js';
import {
  buildReportMessage,
  buildTlsReport,
  mailtoAddresses,
  parseTlsRptTxt,
} from '../smtp/client/tls-policy/tls-rpt.js';
import type { Store } from '../store/store.js';
import { queueReportToEach, sendDailyReports, utcDay, type ReporterOptions } from './report-mail.js';

export { utcDay };

/** Records TLS outcomes in the store (one counter per day, domain, policy, host, result). */
export function createTlsResultRecorder(store: Store, now: () => Date) {
  return {
    session(
      domain: string,
      host: string,
      address: string,
      policy: HostTlsPolicy | undefined,
      check: PeerCheck,
    ) {
      store.tlsPolicy.recordTlsResult({
        day: utcDay(now()),
        policyDomain: policy?.policyDomain ?? domain.toLowerCase(),
        policyType: policy ? (policy.kind === 'dane' ? 'tlsa' : 'sts') : 'no-policy-found',
        policyStrings: policy ? (policy.kind === 'dane' ? tlsaStrings(policy.tlsa) : policy.policy) : [],
        mxHost: host,
        result: check.ok ? 'success' : check.type,
        receivingIp: check.ok ? '' : address,
        reason: check.ok ? '' : check.reason,
      });
    },
    policy(e: PolicyEvent) {
      store.tlsPolicy.recordTlsResult({
        day: utcDay(now()),
        policyDomain: e.policyDomain,
        policyType: e.policyType,
        policyStrings: e.policyStrings,
        mxHost: e.mxHost,
        result: e.result,
        receivingIp: '',
        reason: e.reason,
      });
    },
  };
}

/** The hostname is the report's TLS-Report-Submitter and organization-name. */
export type TlsReporterOptions = ReporterOptions;

/**
 * Returns sendReports(): for every finished UTC day with results, one report per policy domain that asks for
 * them (`_smtp._tls` TXT, RFC 8460 3) to each mailto: rua. Queued like any message (so DKIM signing and
 * retries apply); a day's rows are deleted per domain once its reports are stored, or when DNS says there is
 * no record. A temporary DNS failure keeps them for the next run.
 */
export function createTlsReporter(options: TlsReporterOptions): () => Promise<void> {
  const { store, logger } = options;
  const table = {
    daysBefore: (day: string) => store.tlsPolicy.tlsResultDaysBefore(day),
    rows: (day: string) => store.tlsPolicy.tlsResults(day),
    drop: (day: string, domain?: string) => store.tlsPolicy.deleteTlsResults(day, domain),
  };
  return async () => {
    const now = options.now();
    await sendDailyReports(table, now, TLS_RPT_MAX_AGE_DAYS, async (day, domain, rows) => {
      let rua: string[] | null;
      try {
        rua = parseTlsRptTxt(
          (await options.resolver.resolveTxt(`_smtp._tls.${domain}`)).map((r) => r.join('')),
        );
      } catch (e) {
        if (isTemporaryDnsError(e)) return 'retry'; // try again at the next run
        rua = null;
      }
      const from = options.from();
      if (rua && from) {
        const { mailto, skipped } = mailtoAddresses(rua);
        if (skipped.length > 0)
          logger.info(
            { domain, skipped },
            'TLS-RPT: https and other non-mailto rua are not supported; skipped',
          );
        const reportId = `${day}.${options.randomHex()}@${options.hostname}`;
        const json = buildTlsReport(
          { organizationName: options.hostname, contactInfo: from, reportId, day },
          domain,
          rows,
        );
        await queueReportToEach(options, {
          from,
          targets: mailto,
          policyDomain: domain,
          reportId,
          day,
          gzipped: gzipSync(Buffer.from(JSON.stringify(json), 'utf8')),
          now,
          tag: 'tlsrpt',
          build: buildReportMessage,
          what: 'TLS-RPT report queued',
        });
      }
      return 'done';
    });
  };
}
