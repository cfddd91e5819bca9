// DMARC aggregate reports (RFC 7489 7.2) at work: once a UTC day is over, each policy domain's counts go to its rua.
import { gzipSync } from 'node:zlib';
import { DMARC_REPORT_MAX_AGE_DAYS } from '../config/limits.js';
import type { RouteRecipient } from '../delivery/router.js';
import { isTemporaryDnsError } from '../dns/types.js';
import {
  buildAggregateXml,
  buildDmarcReportMessage,
  externalReportAuthorized,
  externalReportName,
  ruaMailtos,
} from '../inbound/dmarc-report.js';
import { orgDomainOf, parseDmarcRecord } from '../inbound/verify.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import { rfc5322Date } from './dsn/build-dsn.js';
import { queueReportMessage } from './report-mail.js';
import { utcDay } from './tls-rpt-sender.js';

export interface DmarcReporterOptions {
  store: Store;
  /** org_name and the Submitter (config hostname). */
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

/** The rua of a domain's current DMARC record; null: none published; 'temp': ask again at the next run. */
async function currentRua(domain: string, options: DmarcReporterOptions): Promise<string[] | null | 'temp'> {
  try {
    const records = (await options.resolver.resolveTxt(`_dmarc.${domain}`))
      .map((r) => r.join('').trim())
      .filter((t) => /^v=DMARC1\s*(;|$)/i.test(t));
    // RFC 7489 6.6.3: not exactly one record means none.
    const record = records.length === 1 ? parseDmarcRecord(domain, records[0] ?? '') : null;
    return record?.rua ?? null;
  } catch (e) {
    return isTemporaryDnsError(e) ? 'temp' : null;
  }
}

/**
 * RFC 7489 7.1: an rua outside the policy domain's organizational domain must publish
 * `<policy-domain>._report._dmarc.<rua-domain>` TXT "v=DMARC1", or it gets nothing (reports are not
 * mailed to a stranger just because a record names it). 'temp': DNS failed, ask again later.
 */
async function authorized(
  policyDomain: string,
  address: string,
  options: DmarcReporterOptions,
): Promise<boolean | 'temp'> {
  const ruaDomain = address.slice(address.lastIndexOf('@') + 1);
  if (orgDomainOf(ruaDomain) === orgDomainOf(policyDomain)) return true;
  try {
    const txt = await options.resolver.resolveTxt(externalReportName(policyDomain, ruaDomain));
    return externalReportAuthorized(txt.map((r) => r.join('')));
  } catch (e) {
    return isTemporaryDnsError(e) ? 'temp' : false;
  }
}

/**
 * Returns sendReports(): for every finished UTC day with counts, one report per policy domain to each of its
 * (authorized) mailto: rua, queued like any message (DKIM-signed, retried). A day's rows of a domain are
 * deleted once its reports are queued or DNS says there is nowhere to send them; a temporary DNS failure keeps
 * them for the next run, and rows older than DMARC_REPORT_MAX_AGE_DAYS are dropped.
 */
export function createDmarcReporter(options: DmarcReporterOptions): () => Promise<void> {
  const { store, logger } = options;
  return async () => {
    const now = options.now();
    const today = utcDay(now);
    const oldest = utcDay(new Date(now.getTime() - DMARC_REPORT_MAX_AGE_DAYS * 86_400_000));
    for (const day of store.dmarcReports.dmarcResultDaysBefore(today)) {
      if (day < oldest) {
        store.dmarcReports.deleteDmarcResults(day);
        continue;
      }
      const rows = store.dmarcReports.dmarcResults(day);
      for (const domain of [...new Set(rows.map((r) => r.policyDomain))]) {
        const rua = await currentRua(domain, options);
        if (rua === 'temp') continue;
        const from = options.from();
        const targets: string[] = [];
        let retry = false;
        for (const to of rua ? ruaMailtos(rua) : []) {
          const ok = await authorized(domain, to, options);
          if (ok === 'temp') retry = true;
          else if (ok) targets.push(to);
          else
            logger.info(
              { domain, to },
              'DMARC report: rua not authorized by the receiving domain (RFC 7489 7.1); skipped',
            );
        }
        if (retry) continue;
        if (from && targets.length > 0) {
          const reportId = `${day}.${options.randomHex()}@${options.hostname}`;
          const xml = buildAggregateXml(
            { orgName: options.hostname, email: from, reportId, day },
            domain,
            rows.filter((r) => r.policyDomain === domain),
          );
          const gzipped = gzipSync(Buffer.from(xml, 'utf8'));
          for (const to of targets) {
            const queueId = options.newQueueId();
            const messageId = `<${queueId}.dmarc@${options.hostname}>`;
            const message = buildDmarcReportMessage({
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
            logger.info({ queueId, domain, day, to }, 'DMARC aggregate report queued');
          }
        }
        store.dmarcReports.deleteDmarcResults(day, domain);
      }
    }
  };
}
