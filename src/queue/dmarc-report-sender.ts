// DMARC aggregate reports (RFC 7489 7.2) at work: once a UTC day is over, each policy domain's counts go to its rua.
import { gzipSync } from 'node:zlib';
import { DMARC_REPORT_MAX_AGE_DAYS } from '../config/limits.js';
import { isTemporaryDnsError } from '../dns/types.js';
import {
  buildAggregateXml,
  buildDmarcReportMessage,
  externalReportAuthorized,
  externalReportName,
  ruaMailtos,
} from '../inbound/dmarc-report.js';
import { orgDomainOf, parseDmarcRecord } from '../inbound/verify.js';
import { queueReportToEach, sendDailyReports, type ReporterOptions } from './report-mail.js';

/** The hostname is the report's org_name and Submitter. */
export type DmarcReporterOptions = ReporterOptions;

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
  const table = {
    daysBefore: (day: string) => store.dmarcReports.dmarcResultDaysBefore(day),
    rows: (day: string) => store.dmarcReports.dmarcResults(day),
    drop: (day: string, domain?: string) => store.dmarcReports.deleteDmarcResults(day, domain),
  };
  return async () => {
    const now = options.now();
    await sendDailyReports(table, now, DMARC_REPORT_MAX_AGE_DAYS, async (day, domain, rows) => {
      const rua = await currentRua(domain, options);
      if (rua === 'temp') return 'retry';
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
      if (retry) return 'retry';
      if (from && targets.length > 0) {
        const reportId = `${day}.${options.randomHex()}@${options.hostname}`;
        const xml = buildAggregateXml(
          { orgName: options.hostname, email: from, reportId, day },
          domain,
          rows,
        );
        await queueReportToEach(options, {
          from,
          targets,
          policyDomain: domain,
          reportId,
          day,
          gzipped: gzipSync(Buffer.from(xml, 'utf8')),
          now,
          tag: 'dmarc',
          build: buildDmarcReportMessage,
          what: 'DMARC aggregate report queued',
        });
      }
      return 'done';
    });
  };
}
