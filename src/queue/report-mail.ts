// Queues a report this server makes about other domains (TLS-RPT, RFC 8460; DMARC aggregate, RFC 7489 7.2) as ordinary mail.
import type { RouteRecipient } from '../delivery/router.js';
import type { Logger } from '../observability/logger.js';
import type { ReportMessageInput } from '../mail/report-message.js';
import type { Store } from '../store/store.js';
import { rfc5322Date } from './dsn/build-dsn.js';

/**
 * Routes `to` like any recipient and stores the built message with its Received line and the start of its
 * `mailroom trace` timeline: local copies and the queue (DKIM signing and retries apply on the way out).
 * False when `to` cannot be routed (nothing stored).
 */
export async function queueReportMessage(
  store: Pick<Store, 'deliver'>,
  options: { hostname: string; route: RouteRecipient },
  report: { queueId: string; from: string; to: string; messageId: string; message: Buffer; now: Date },
): Promise<boolean> {
  const { queueId, from, to, now } = report;
  const route = options.route(to, from);
  if (route.kind !== 'accept') return false;
  await store.deliver({
    queueId,
    envelope: { sender: from },
    traceHeaders: `Received: by ${options.hostname} (Mailroom) id ${queueId};\r\n\t${rfc5322Date(now)}\r\n`,
    body: { kind: 'memory', chunks: [report.message], size: report.message.length },
    receivedAt: now,
    local: route.local,
    remote: route.remote.map((address) => ({ address })),
    trace: { messageId: report.messageId, via: 'report', recipients: [to] },
  });
  return true;
}

/** What the daily report senders need (dmarc-report-sender.ts, tls-rpt-sender.ts). */
export interface ReporterOptions {
  store: Store;
  /** Our host name: the report's submitter and organization (config hostname). */
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

/** The UTC day of a time, as both reports name their days: "YYYY-MM-DD". */
export const utcDay = (t: Date): string => t.toISOString().slice(0, 10);

/** A store table of per-day counters by policy domain (DMARC results, TLS results). */
export interface DailyRows<Row extends { policyDomain: string }> {
  daysBefore(day: string): string[];
  rows(day: string): Row[];
  /** Deletes a day's rows, of one policy domain or all. */
  drop(day: string, domain?: string): void;
}

/**
 * The loop of both reporters: every finished UTC day's rows are handed to `report` one policy domain at a time.
 * A domain's rows of the day go once `report` says 'done' (its reports queued, or nowhere to send them) and stay
 * for the next run on 'retry' (a temporary DNS failure); days older than `maxAgeDays` are dropped unsent.
 */
export async function sendDailyReports<Row extends { policyDomain: string }>(
  table: DailyRows<Row>,
  now: Date,
  maxAgeDays: number,
  report: (day: string, domain: string, rows: Row[]) => Promise<'done' | 'retry'>,
): Promise<void> {
  const today = utcDay(now);
  const oldest = utcDay(new Date(now.getTime() - maxAgeDays * 86_400_000));
  for (const day of table.daysBefore(today)) {
    if (day < oldest) {
      table.drop(day);
      continue;
    }
    const rows = table.rows(day);
    for (const domain of [...new Set(rows.map((r) => r.policyDomain))]) {
      const outcome = await report(
        day,
        domain,
        rows.filter((r) => r.policyDomain === domain),
      );
      if (outcome === 'done') table.drop(day, domain);
    }
  }
}

/**
 * Queues one gzipped report to each recipient, each copy with its own queue id, Message-ID (`<queue id>.<tag>@
 * hostname>`) and MIME boundary, and logs `what` for each one queued (an address that no longer routes is skipped).
 */
export async function queueReportToEach(
  options: ReporterOptions,
  report: {
    from: string;
    targets: readonly string[];
    policyDomain: string;
    reportId: string;
    day: string;
    gzipped: Buffer;
    now: Date;
    tag: string;
    /** The message for one recipient (tls-rpt.ts buildReportMessage, dmarc-report.ts buildDmarcReportMessage). */
    build: (parts: ReportMessageInput) => Buffer;
    what: string;
  },
): Promise<void> {
  const { from, policyDomain: domain, day, now } = report;
  for (const to of report.targets) {
    const queueId = options.newQueueId();
    const messageId = `<${queueId}.${report.tag}@${options.hostname}>`;
    const message = report.build({
      from,
      to,
      submitter: options.hostname,
      policyDomain: domain,
      reportId: report.reportId,
      day,
      gzipped: report.gzipped,
      date: rfc5322Date(now),
      messageId,
      boundary: `=_mailroom_${options.randomHex()}`,
    });
    if (!(await queueReportMessage(options.store, options, { queueId, from, to, messageId, message, now })))
      continue;
    options.logger.info({ queueId, domain, day, to }, report.what);
  }
}
