// TLS-RPT (RFC 8460) at work: records each session's TLS result per policy domain and day, and mails the daily reports.
import { gzipSync } from 'node:zlib';
import { TLS_RPT_MAX_AGE_DAYS } from '../config/limits.js';
import type { RouteRecipient } from '../delivery/router.js';
import { isTemporaryDnsError } from '../dns/types.js';
import type { Logger } from '../observability/logger.js';
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
import { rfc5322Date } from './dsn/build-dsn.js';
import { queueReportMessage } from './report-mail.js';

/** The UTC day of a time, as RFC 8460 4.4 date-range days: "YYYY-MM-DD". */
export const utcDay = (t: Date): string => t.toISOString().slice(0, 10);

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

export interface TlsReporterOptions {
  store: Store;
  /** TLS-Report-Submitter and organization-name (config hostname). */
  hostname: string;
  /** From and envelope sender; null: no local domain to send from, no reports. */
  from: () => string | null;
  resolver: { resolveTxt(name: string): Promise<string[][]> };
  route: RouteRecipient;
  logger: Logger;
  now: () => Date;
  newQueueId: () => string;
  randomHex: () => string;
}

/**
 * Returns sendReports(): for every finished UTC day with results, one report per policy domain that asks for
 * them (`_smtp._tls` TXT, RFC 8460 3) to each mailto: rua. Queued like any message (so DKIM signing and
 * retries apply); a day's rows are deleted per domain once its reports are stored, or when DNS says there is
 * no record. A temporary DNS failure keeps them for the next run.
 */
export function createTlsReporter(options: TlsReporterOptions): () => Promise<void> {
  const { store, logger } = options;
  return async () => {
    const now = options.now();
    const today = utcDay(now);
    const oldest = utcDay(new Date(now.getTime() - TLS_RPT_MAX_AGE_DAYS * 86_400_000));
    for (const day of store.tlsPolicy.tlsResultDaysBefore(today)) {
      if (day < oldest) {
        store.tlsPolicy.deleteTlsResults(day);
        continue;
      }
      const rows = store.tlsPolicy.tlsResults(day);
      for (const domain of [...new Set(rows.map((r) => r.policyDomain))]) {
        let rua: string[] | null;
        try {
          rua = parseTlsRptTxt(
            (await options.resolver.resolveTxt(`_smtp._tls.${domain}`)).map((r) => r.join('')),
          );
        } catch (e) {
          if (isTemporaryDnsError(e)) continue; // try again at the next run
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
          const gzipped = gzipSync(Buffer.from(JSON.stringify(json), 'utf8'));
          for (const to of mailto) {
            const queueId = options.newQueueId();
            const messageId = `<${queueId}.tlsrpt@${options.hostname}>`;
            const message = buildReportMessage({
              from,
              to,
              submitter: options.hostname,
              policyDomain: domain,
              reportId,
              day,
              gzipped,
              date: rfc5322Date(now),
              messageId,
              boundary: `=_mailroom_${options.randomHex()}`,
            });
            if (!(await queueReportMessage(store, options, { queueId, from, to, messageId, message, now })))
              continue;
            logger.info({ queueId, domain, day, to }, 'TLS-RPT report queued');
          }
        }
        store.tlsPolicy.deleteTlsResults(day, domain);
      }
    }
  };
}
