// Sends the DSNs the queue owes (RFC 3464): one per message and queue pass, from MAILER-DAEMON with the null sender.
import type { RouteRecipient } from '../delivery/router.js';
import type { Logger } from '../observability/logger.js';
import type { DsnDue } from '../store/queue-store.js';
import type { StorageLevel } from '../store/free-space.js';
import type { Store } from '../store/store.js';
import { buildDsn, rfc5322Date, type DsnRecipient } from './dsn/build-dsn.js';

export interface DsnSenderOptions {
  store: Store;
  /** Reporting-MTA and MAILER-DAEMON@hostname. */
  hostname: string;
  /** Routes the original sender: local INBOX, alias, or remote (then the DSN is queued). */
  route: RouteRecipient;
  logger: Logger;
  now: () => Date;
  newQueueId: () => string;
  /** Hex randomness for the MIME boundary. */
  randomHex: () => string;
  /** data_dir's free-space floor: below it DSNs stay owed (a deferral, never lost, never a bounce). */
  storage?: StorageLevel;
}

/** How many messages' DSNs are sent per call; the next wake sends the rest. */
const DSNS_PER_CALL = 100;

/**
 * Returns sendDsns(): builds and stores every owed DSN. The DSN is stored (durably, via deliver)
 * before the owed marks are cleared, so a crash in between sends it again rather than never.
 */
export function createDsnSender(
  options: DsnSenderOptions,
): (busy?: (queueId: string) => boolean) => Promise<void> {
  const { store, logger } = options;
  return async (busy) => {
    // Below the floor a DSN would be new mail like any other: leave it owed; the queue is woken when
    // space returns (serve.ts), and a failed write would only log an error per DSN per wake.
    if (await options.storage?.check()) return;
    for (const due of store.queue.dsnsDue(DSNS_PER_CALL)) {
      const { entry } = due;
      // Other recipients of the message are being attempted (another domain's connection): their
      // outcome goes into the same DSN, sent at the wake after they finish, not in a second one.
      if (busy?.(entry.id)) continue;
      // Each with what it reported: a delay warning replaced meanwhile by a failure keeps the failure owed.
      const sent = due.recipients.map((r) => ({ address: r.address, action: r.dsn.action }));
      // A delay warning ("still trying") about a recipient delivered or failed since is no longer true.
      const current = due.recipients.filter((r) => !isStaleWarning(r));
      try {
        // RFC 3461 6.2 / RFC 5321 4.5.5: never a DSN about a DSN (the null sender); nothing owed then.
        if (entry.sender === '' || current.length === 0) {
          store.queue.dsnsSent(entry.id, sent);
          continue;
        }
        const original = await store.queue.readMessage(entry.id);
        const now = options.now();
        const recipients: DsnRecipient[] = current.map((r) => {
          const d: DsnRecipient = {
            finalRecipient: r.address,
            action: r.dsn.action,
            status: r.dsn.status,
            lastAttemptDate: new Date(r.dsn.lastAttemptAt),
          };
          if (r.orcpt) d.orcpt = r.orcpt;
          if (r.dsn.remoteMta) d.remoteMta = r.dsn.remoteMta;
          if (r.dsn.smtpDiagnostic) d.smtpDiagnostic = r.dsn.smtpDiagnostic;
          if (r.dsn.localDiagnostic) d.localDiagnostic = r.dsn.localDiagnostic;
          if (r.dsn.willRetryUntil !== undefined) d.willRetryUntil = new Date(r.dsn.willRetryUntil);
          return d;
        });
        const queueId = options.newQueueId();
        const dsn = buildDsn({
          reportingMta: options.hostname,
          originalSender: entry.sender,
          ...(entry.dsnEnvid ? { envelopeId: entry.dsnEnvid } : {}),
          arrivalDate: entry.createdAt,
          date: now,
          messageId: `<${queueId}.dsn@${options.hostname}>`,
          boundary: `=_mailroom_${options.randomHex()}`,
          recipients,
          original,
          // RFC 8689 5: a REQUIRETLS message's DSN returns its headers only (its body may be confidential).
          ...(entry.requireTls ? { ret: 'HDRS' as const } : entry.dsnRet ? { ret: entry.dsnRet } : {}),
          smtpUtf8: entry.smtpUtf8,
        });
        const route = options.route(dsn.envelopeRecipient, `MAILER-DAEMON@${options.hostname}`);
        if (route.kind !== 'accept') {
          // The sender's own domain is ours but the address is gone: nowhere to put it (logged, dropped).
          logger.warn({ queueId: entry.id, sender: entry.sender }, 'DSN undeliverable: sender unknown');
        } else {
          await store.deliver({
            queueId,
            envelope: {
              sender: '',
              ...(dsn.smtpUtf8 ? { smtpUtf8: true } : {}),
              // RFC 8689 5: ... and it travels with REQUIRETLS itself.
              ...(entry.requireTls ? { requireTls: true } : {}),
              ...(dsn.eightBit ? { body: '8BITMIME' as const } : {}),
            },
            traceHeaders: `Received: by ${options.hostname} (Mailroom) id ${queueId};\r\n\t${rfc5322Date(now)}\r\n`,
            body: { kind: 'memory', chunks: [dsn.message], size: dsn.message.length },
            receivedAt: now,
            local: route.local,
            remote: route.remote.map((address) => ({ address })),
            // Its timeline, and a `dsn` step in the timeline of the message it reports on.
            trace: {
              messageId: `<${queueId}.dsn@${options.hostname}>`,
              via: 'dsn',
              recipients: [dsn.envelopeRecipient],
              about: { queueId: entry.id, actions: recipients.map((r) => r.action) },
            },
            // A local sender's full mailbox: the DSN waits in the queue for room (queue/local-transport.ts).
            overQuota: 'queue',
          });
          logger.info(
            {
              queueId: entry.id,
              dsnQueueId: queueId,
              to: entry.sender,
              actions: recipients.map((r) => r.action),
            },
            'DSN sent',
          );
        }
        store.queue.dsnsSent(entry.id, sent);
      } catch (err) {
        // Left owed: the next wake tries again.
        logger.error({ queueId: entry.id, err: String(err) }, 'sending DSN failed');
      }
    }
  };
}

/** A delay DSN owed for a recipient that has since been delivered or failed: sending it would mislead. */
export function isStaleWarning(r: Pick<DsnDue['recipients'][number], 'dsn' | 'state'>): boolean {
  return r.dsn.action === 'delayed' && r.state !== 'pending' && r.state !== 'deferred';
}
