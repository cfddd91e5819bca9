// Wires the outgoing queue for `mailroom serve`: scheduler + SMTP transport + DSN sender over the store and config.
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { formatListenAddress } from '../config/schema.js';
import { createRouter } from '../delivery/router.js';
import { createSrsService } from '../delivery/srs-forwarding.js';
import type { Logger } from '../observability/logger.js';
import type { DnsResolver } from '../smtp/client/mx-resolver.js';
import type { ClientTimeouts } from '../smtp/client/client-types.js';
import type { StorageLevel } from '../store/free-space.js';
import type { Store } from '../store/store.js';
import { ConnectionPool } from '../smtp/client/connection-pool.js';
import { createOutboundSigner } from '../sender-auth/dkim-sign.js';
import { createDsnSender } from './bounce.js';
import { QueueScheduler, type SchedulerOptions } from './scheduler.js';
import { createSmtpTransport } from './transport.js';
import { withLocalDelivery } from './local-transport.js';
import { createMailResolver } from '../dns/resolver.js';
import { createStsFetcher } from '../smtp/client/tls-policy/mta-sts-fetch.js';
import type { TlsPolicyDeps } from '../smtp/client/tls-policy/resolve-policy.js';
import { TLS_RPT_CHECK_INTERVAL_MS } from '../config/limits.js';
import { createTlsReporter, createTlsResultRecorder } from './tls-rpt-sender.js';
import { createDmarcReporter } from './dmarc-report-sender.js';

export interface OutgoingQueueOptions {
  store: Store;
  config: Config;
  logger: Logger;
  now: () => Date;
  newQueueId: () => string;
  random?: () => number;
  /** data_dir's free-space floor: DSNs wait while below it. */
  storage?: StorageLevel;
  /** The process's one resolver ([dns] servers); tests may pass a fake with MX/A/AAAA only. */
  resolver?: DnsResolver;
  timeouts?: ClientTimeouts;
  /**
   * Test seam (never a config key): the CAs trusted for MTA-STS (policy fetch and MX certificates) and the
   * HTTPS port of mta-sts.DOMAIN, so tests run a local HTTPS server with a test CA.
   */
  tlsTrust?: { ca?: string[]; stsPort?: number };
  /** Each recipient's attempt result, for the metrics. */
  observe?: SchedulerOptions['observe'];
  limits?: Pick<
    SchedulerOptions,
    'maxConnections' | 'maxConnectionsPerDomain' | 'maxMessagesPerConnection' | 'pollMs'
  >;
}

export interface OutgoingQueue {
  scheduler: QueueScheduler;
  /** Queues the TLS-RPT reports of finished days now (also run hourly when outbound.tls_reports). */
  sendTlsReports(): Promise<void>;
  /** Queues the DMARC aggregate reports of finished days now (also run hourly when inbound.dmarc_reports). */
  sendDmarcReports(): Promise<void>;
  /** Stops new attempts and waits for running ones, at most graceMs (the rest are retried after restart). */
  stop(graceMs: number): Promise<void>;
}

export function startOutgoingQueue(options: OutgoingQueueOptions): OutgoingQueue {
  const { store, config, now } = options;
  const random = options.random ?? Math.random;
  const logger = options.logger.child({ component: 'queue' });
  const routes: Record<string, string> = {};
  for (const [domain, address] of Object.entries(config.outbound.routes))
    routes[domain] = formatListenAddress(address);
  // Connections stay open briefly after a batch for the next one to the same peer (connection-pool.ts).
  const pool = new ConnectionPool();
  const resolver = options.resolver ?? createMailResolver({ servers: config.dns.servers });
  const trust = options.tlsTrust ?? {};
  // DANE and MTA-STS need TXT/TLSA and the AD bit: the one resolver has them (a test fake may not).
  const policyResolver = resolver as DnsResolver & TlsPolicyDeps['resolver'];
  const recorder = config.outbound.tlsReports ? createTlsResultRecorder(store, now) : null;
  const record =
    <A extends unknown[]>(f: (...a: A) => void) =>
    (...a: A) => {
      try {
        f(...a);
      } catch (err) {
        // Bookkeeping for reports must never change a delivery.
        logger.warn({ err }, 'TLS-RPT: recording a result failed');
      }
    };
  const tlsPolicy: TlsPolicyDeps = {
    resolver: policyResolver,
    fetchSts: createStsFetcher({
      resolver,
      ...(trust.ca ? { ca: trust.ca } : {}),
      ...(trust.stsPort ? { port: trust.stsPort } : {}),
    }),
    cache: store.tlsPolicy,
    now,
    ...(recorder ? { onPolicyEvent: record(recorder.policy) } : {}),
  };
  // Local recipients in the queue (a mailbox that was over its quota) are stored here, never sent by SMTP.
  const transport = withLocalDelivery(
    createSmtpTransport({
      queue: store.queue,
      hostname: config.hostname,
      port: config.outbound.port,
      sourceAddress: config.outbound.sourceAddress,
      routes,
      routeAuth: config.outbound.routeAuth,
      resolver,
      random,
      pool,
      // Every message leaving for another host whose From is a local domain with a DKIM key is signed;
      // DSNs and vacation replies are queued messages like any other, so they are signed on this path too.
      signer: createOutboundSigner({
        keys: store.dkim,
        hostname: config.hostname,
        onError: (queueId, err) =>
          logger.error({ queueId, err: err.message }, 'DKIM signing failed; sent unsigned'),
      }),
      tlsPolicy: {
        ...tlsPolicy,
        ...(trust.ca ? { tlsCa: trust.ca } : {}),
        ...(recorder ? { onTlsResult: record(recorder.session) } : {}),
      },
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    }),
    { store, now },
  );
  const sendDsns = createDsnSender({
    store,
    hostname: config.hostname,
    // A DSN for forwarded mail goes to its SRS sender: reversed here to the original sender (issue 10).
    route: createRouter(store, {
      hostname: config.hostname,
      srs: createSrsService({
        secret: (name, create) => store.policy.secret(name, create),
        isLocalDomain: (domain) => store.isLocalDomain(domain),
        now,
      }),
    }),
    logger,
    now,
    newQueueId: options.newQueueId,
    randomHex: () => randomBytes(12).toString('hex'),
    ...(options.storage ? { storage: options.storage } : {}),
  });
  const scheduler = new QueueScheduler({
    queue: store.queue,
    schedule: { retryIntervalsMs: config.queue.retryIntervalsMs, maxAgeMs: config.queue.maxAgeMs },
    transport,
    sendDsns,
    logger,
    now,
    random,
    maxConnections: config.queue.maxConnections,
    maxConnectionsPerDomain: config.queue.maxConnectionsPerDomain,
    delayWarningMs: config.queue.delayWarningMs,
    ...(options.observe ? { observe: options.observe } : {}),
    ...options.limits,
  });
  scheduler.start(store.events);
  const router = createRouter(store, { hostname: config.hostname });
  const txtResolver = policyResolver.resolveTxt
    ? { resolveTxt: policyResolver.resolveTxt.bind(resolver) }
    : null;
  // TLS-RPT (RFC 8460) and DMARC aggregate (RFC 7489 7.2) reports: the same sender, routing and ids.
  const reportDeps = txtResolver && {
    store,
    hostname: config.hostname,
    from: () =>
      config.outbound.tlsRptFrom || (store.listDomains()[0] ? `postmaster@${store.listDomains()[0]}` : null),
    resolver: txtResolver,
    route: router,
    logger,
    now,
    newQueueId: options.newQueueId,
    randomHex: () => randomBytes(8).toString('hex'),
  };
  /** One run of a reporter; a failure is logged and the next run tries again. */
  const logged = (run: (() => Promise<void>) | null, what: string) => async (): Promise<void> => {
    try {
      await run?.();
    } catch (err) {
      logger.warn({ err }, `${what}: sending reports failed; retried at the next run`);
    }
  };
  const sendTlsReports = logged(reportDeps && createTlsReporter(reportDeps), 'TLS-RPT');
  const sendDmarcReports = logged(reportDeps && createDmarcReporter(reportDeps), 'DMARC reports');
  const reportTimer =
    config.outbound.tlsReports || config.inbound.dmarcReports
      ? setInterval(() => {
          if (config.outbound.tlsReports) void sendTlsReports();
          if (config.inbound.dmarcReports) void sendDmarcReports();
        }, TLS_RPT_CHECK_INTERVAL_MS)
      : null;
  reportTimer?.unref();
  return {
    scheduler,
    sendTlsReports,
    sendDmarcReports,
    async stop(graceMs) {
      if (reportTimer) clearInterval(reportTimer);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        scheduler.stop(),
        new Promise<void>((done) => {
          timer = setTimeout(done, graceMs);
        }),
      ]);
      clearTimeout(timer);
      pool.close();
    },
  };
}
