// Queues a report this server makes about other domains (TLS-RPT, RFC 8460; DMARC aggregate, RFC 7489 7.2) as ordinary mail.
import type { RouteRecipient } from '../delivery/router.js';
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
