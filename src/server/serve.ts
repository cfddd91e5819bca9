// `mailroom serve`: builds the store, TLS, SMTP services and listeners from the config; start-up, reload (SIGHUP) and clean shutdown.
import { fetchForSubmit } from '../imap/urlauth.js';
import type { Socket } from 'node:net';
import { createAuthenticators, timerSleep, type AuthenticateBearer } from '../auth/authenticator.js';
import { SHUTDOWN_GRACE_MS, SPOOL_MEMORY_THRESHOLD } from '../config/limits.js';
import type { Config, ListenAddress, ListenerName } from '../config/schema.js';
import { addressBookOf, createRouter } from '../delivery/router.js';
import { withVacationResponder } from '../delivery/vacation-responder.js';
import { deliverAndLog } from '../delivery/delivery-log.js';
import { createSrsService } from '../delivery/srs-forwarding.js';
import { senderOwnedBy } from '../mail/submission.js';
import { startHttpListeners } from '../http/server.js';
import { AcmeChallenges } from '../acme/challenges.js';
import { startAcmeManager } from '../acme/manager.js';
import { listen, type Listener } from '../net/listener.js';
import type { TlsMaterial } from '../net/tls.js';
import { startHousekeeping } from './housekeeping.js';
import { addressesOf, createReloader, loadTlsOf, type LiveSettings } from './reload.js';
import type { ReloadPlan } from './reload-plan.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { startMetricsListener, type MetricsListener } from '../observability/metrics-server.js';
import { startPop3Listeners } from '../pop3/listeners.js';
import { startImapListeners } from '../imap/listeners.js';
import { isLoopback } from '../net/loopback.js';
import { serveSmtpConnection } from '../smtp/server/connection.js';
import { createSubmissionLimits, type SubmissionLimits } from '../abuse/rate-limits.js';
import { createGreylist, DEFAULT_GREYLIST_SETTINGS, type GreylistSettings } from '../abuse/greylist.js';
import type { SmtpPolicy, SmtpRole, SmtpServices } from '../smtp/server/services.js';
import { fixDataDirModes, prepareDataDir } from '../store/data-dir.js';
import { createBodySpool } from '../store/spool.js';
import type { FreeSpaceProbe, StorageLevel } from '../store/free-space.js';
import { startStorageGuard } from './storage-guard.js';
import { openSqliteStore, SqliteStore } from '../store/sqlite/sqlite-store.js';
import { startOutgoingQueue, type OutgoingQueue } from '../queue/outgoing.js';
import type { DeliveryRequest, Store } from '../store/store.js';
import { createQueueIdGenerator } from '../queue/queue-id.js';
import { createMailResolver } from '../dns/resolver.js';
import { LoginRecorder } from '../auth/login-recorder.js';
import { startAccountWatch, type SessionHandle } from './account-sessions.js';
import type { MailResolver } from '../dns/types.js';
import { createInboundChecks, type InboundChecks } from '../inbound/checks.js';

// Queue ids live in queue/queue-id.ts (JMAP submission makes them too); re-exported for existing callers.
export { createQueueIdGenerator } from '../queue/queue-id.js';

interface SmtpListenerSpec {
  name: 'smtp' | 'submission' | 'submissions';
  role: SmtpRole;
  implicitTls: boolean;
  requireAuth: boolean;
}

const SMTP_LISTENERS: readonly SmtpListenerSpec[] = [
  // RFC 5321: MX, anyone may deliver to local domains; STARTTLS offered (RFC 3207).
  { name: 'smtp', role: 'mx', implicitTls: false, requireAuth: false },
  // RFC 6409: message submission, STARTTLS then AUTH before MAIL.
  { name: 'submission', role: 'submission', implicitTls: false, requireAuth: true },
  // RFC 8314 3.3: submission over implicit TLS.
  { name: 'submissions', role: 'submissions', implicitTls: true, requireAuth: true },
];

export interface ServeOptions {
  config: Config;
  logger: Logger;
  /** The clock (queue ids, Received dates, auth throttling); injected for tests. */
  now?: () => Date;
  random?: (bytes: number) => Buffer;
  /** How long shutdown waits for in-flight deliveries before closing sessions. */
  shutdownGraceMs?: number;
  /** Only for tests: a store to use instead of opening the SQLite store in config.dataDir. */
  store?: Store;
  /** Only for tests: a fake free-space probe instead of statfs(data_dir). */
  freeSpaceProbe?: FreeSpaceProbe;
  /** Only for tests: a resolver instead of one on [dns] servers. */
  resolver?: MailResolver;
  /** The metrics registry; default a new one (served on [metrics] listen). */
  metrics?: Metrics;
}

export interface RunningServer {
  store: Store;
  /** Bound addresses per listener (port 0 resolved); a listener with none is absent. Follows reloads. */
  readonly addresses: Partial<Record<ListenerName, ListenAddress[]>>;
  /**
   * Applies a newly loaded config (SIGHUP, CONTRACT.md): re-reads the certificates, binds added
   * listener addresses and stops accepting on removed ones, and gives new sessions the new limits.
   * Open sessions keep going. Rejects (and changes nothing) when the certificates or an address fail;
   * logs `config-reloaded` / `config-reload-failed`.
   */
  reload(next: Config): Promise<ReloadPlan>;
  /** What GET /metrics serves. */
  metrics: Metrics;
  /** Stops accepting, waits for in-flight deliveries (bounded), closes sessions and the store. Idempotent. */
  shutdown(): Promise<void>;
}

/** The SmtpServices object: routing and auth over the store, spooling, durable delivery, ids and time. */
export function createSmtpServices(options: {
  store: Store;
  hostname: string;
  now: () => Date;
  random?: (bytes: number) => Buffer;
  onDeliver?: (request: DeliveryRequest) => Promise<void>;
  /** data_dir's free-space floor: MAIL gets 452 4.3.1 below it. */
  storage?: StorageLevel;
  /** Where the authenticator writes auth_failed / auth_throttled lines. */
  logger?: Logger;
  /** Greylisting on the MX ([inbound] greylisting); absent: off. */
  greylist?: GreylistSettings;
  /** Per-account submission limits, shared with JMAP; absent: none. */
  submissionLimits?: SubmissionLimits;
  /** MX checks (src/inbound/); absent: none. */
  inbound?: InboundChecks;
  /** Counts auth outcomes per protocol. */
  metrics?: Metrics;
}): SmtpServices & { authenticateBearer: AuthenticateBearer } {
  const { store, now, storage } = options;
  // Alias forwarding rewrites foreign senders with SRS; bounces to those addresses are reversed (issue 10).
  const srs = createSrsService({
    secret: (name, create) => store.policy.secret(name, create),
    isLocalDomain: (domain) => store.isLocalDomain(domain),
    now,
  });
  // user list --json's last_login: written at most once a minute per account.
  const logins = new LoginRecorder(
    store,
    () => now().getTime(),
    (err) => options.logger?.warn({ err }, 'recording the last login failed'),
  );
  // The one authenticator (and so the one failure limiter) of the process: SMTP, IMAP, POP3 and HTTP
  // all get this function, so failures count across protocols and connections; HTTP's Bearer tokens too.
  const auth = createAuthenticators({
    store,
    now: () => now().getTime(),
    sleep: timerSleep,
    ...(options.logger ? { logger: options.logger } : {}),
    onLogin: (account) => logins.record(account),
    ...(options.metrics ? { observe: options.metrics.auth } : {}),
  });
  return {
    routeRecipient: createRouter(store, { hostname: options.hostname, srs }),
    forwardSender: (sender, forwarderDomain) => srs.forward(sender, forwarderDomain),
    ...(options.greylist ? { greylist: greylistCheck(store, options.greylist, now) } : {}),
    ...(options.submissionLimits ? { submissionLimits: options.submissionLimits } : {}),
    authenticate: auth.password,
    authenticateBearer: auth.bearer,
    // Reads the store on every MAIL, so a new alias counts at once (CONTRACT.md: no restart).
    senderAllowed: (sender, account) => senderOwnedBy(addressBookOf(store), sender, account),
    openSpool: () => createBodySpool(store.spoolDir, SPOOL_MEMORY_THRESHOLD),
    deliver: options.onDeliver ?? ((request) => store.deliver(request)),
    // Per RCPT, like the routing lookups: 'recent' (store.ts LookupFreshness); the commit checks the quota exactly.
    mailboxFull: (accountId) => store.quotaReached(accountId, 'recent'),
    newQueueId: createQueueIdGenerator(() => now().getTime(), options.random),
    // RFC 4468 BURL on submission: URLAUTH URLs are checked against the store's keys (imap/urlauth.ts).
    burl: (url, account) => fetchForSubmit(store, url, account, now()),
    now,
    ...(storage ? { storageLow: () => storage.check() } : {}),
    ...(options.inbound ? { inbound: options.inbound } : {}),
  };
}

function greylistCheck(
  store: Store,
  settings: GreylistSettings,
  now: () => Date,
): NonNullable<SmtpServices['greylist']> {
  const check = createGreylist(store.policy, settings, () => now().getTime());
  return (facts) => check(facts).verdict;
}

/** Starts every configured listener; resolves once all accept connections. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const now = options.now ?? (() => new Date());
  const graceMs = options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS;
  const metrics = options.metrics ?? createMetrics();
  let modesFixed: string[] = [];
  if (!options.store) {
    // Data of older versions (0644/0755), or copied in by an admin, becomes private (issue 8 item 9).
    // Before the store opens: SQLite gives a new -wal/-shm the mode of mailroom.db, whatever the umask.
    prepareDataDir(config.dataDir);
    modesFixed = fixDataDirModes(config.dataDir);
  }
  const store =
    options.store ??
    openSqliteStore({
      dataDir: config.dataDir,
      backgroundCheckpoints: true,
      onCommit: metrics.storeCommit,
      headerCacheBytes: config.limits.headerCache,
    });
  // DSNs left owed while the disk was low go out when it recovers (the queue has no timer for them).
  let wakeQueue = (): void => undefined;
  const storageGuard = await startStorageGuard({
    config,
    logger,
    onRecovered: () => wakeQueue(),
    ...(options.freeSpaceProbe ? { probe: options.freeSpaceProbe } : {}),
  });
  const storage = storageGuard.guard;
  // The one resolver and its cache: every lookup of the process (MX, SPF, DKIM, DMARC, TLSA, DNSBL, PTR).
  const resolver = options.resolver ?? createMailResolver({ servers: config.dns.servers });
  const listeners: Listener[] = [];
  // What new sessions see: a reload swaps these; sessions already open keep what they started with.
  const live = { config, tls: null as TlsMaterial | null };

  // Open sessions, so shutdown can send each its 421, and the account watch can end those of a disabled account.
  const sessions = new Set<SessionHandle>();
  // In-flight deliveries are counted so shutdown can let them finish (their 250 is owed).
  const inFlight = new Set<Promise<void>>();
  // Local delivery answers for users on vacation (RFC 3834); SMTP and JMAP submission both go through it.
  const deliverLocally = withVacationResponder(
    deliverAndLog(store, logger.child({ component: 'delivery' })),
    {
      store,
      hostname: config.hostname,
      now,
      newQueueId: createQueueIdGenerator(() => now().getTime(), options.random),
      logger: logger.child({ component: 'vacation' }),
    },
  );
  // One set of counters for SMTP and JMAP submission, so an account cannot double its limit.
  const submissionLimits = createSubmissionLimits(
    {
      messagesPerHour: config.limits.submissionMessagesPerHour,
      recipientsPerHour: config.limits.submissionRecipientsPerHour,
    },
    () => now().getTime(),
    (fields) => logger.warn({ event: 'submission-limit', ...fields }, 'submission limit reached'),
  );
  const inbound = createInboundChecks({
    settings: config.inbound,
    hostname: config.hostname,
    resolver,
    isLocalDomain: (domain) => store.isLocalDomain(domain),
    // RFC 7489 7.2: counted only when [inbound] dmarc_reports is on (checks.ts asks settings).
    recordDmarc: (row) => store.dmarcReports.recordDmarcResult(row),
    now,
    onVerifyWorkerExit: (code) =>
      logger.warn({ event: 'verify-worker-exit', code }, 'inbound verify worker stopped; starting another'),
  });
  const services = createSmtpServices({
    store,
    hostname: config.hostname,
    now,
    logger,
    metrics,
    submissionLimits,
    ...(options.random ? { random: options.random } : {}),
    storage,
    ...(config.inbound.greylisting
      ? { greylist: { ...DEFAULT_GREYLIST_SETTINGS, delayMs: config.inbound.greylistDelayMs } }
      : {}),
    inbound,
    onDeliver: (request) => {
      const p = deliverLocally(request);
      inFlight.add(p);
      const forget = () => inFlight.delete(p);
      p.then(() => {
        forget();
        metrics.messageReceived(request.local.length, request.remote.length);
      }, forget);
      return p;
    },
  });

  // [acme]: the answers to pending challenges, shared by the manager and the HTTP listeners.
  const acmeChallenges = config.acme ? new AcmeChallenges() : null;
  let metricsListener: MetricsListener | null = null;
  try {
    const upgradeBackup = (store as { upgradeBackup?: string | null }).upgradeBackup;
    if (upgradeBackup)
      logger.info(
        { event: 'schema-upgrade-backup', path: upgradeBackup },
        'data_dir copied before a schema upgrade',
      );
    if (modesFixed.length > 0) {
      logger.warn(
        { dataDir: config.dataDir, count: modesFixed.length, paths: modesFixed.slice(0, 10) },
        'data_dir: made files 0600 and folders 0700 (they were readable by others)',
      );
    }
    const tls = await loadTlsOf(config, now(), logger);
    live.tls = tls;
    // Every listener section gets a Listener, with no address when off, so a reload can turn it on.
    for (const spec of SMTP_LISTENERS) {
      const wanted = config.listeners[spec.name];
      const log = logger.child({ listener: spec.name });
      const listener = await listen(wanted, {
        name: spec.name,
        ...(spec.implicitTls ? { tls: tls.serverOptions } : {}),
        maxConnections: config.limits.maxConnections,
        maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
        // RFC 5321 3.8 / 4.2.3: 421 means "service not available, closing"; 4.7.0 is a policy refusal (RFC 3463).
        refusal: `421 4.7.0 ${config.hostname} Too many connections, try later\r\n`,
        // Postfix anvil's connection rate: loopback (local tools, the benches) is never counted.
        connectionRatePerIp: config.limits.connectionRatePerIp,
        rateExempt: isLoopback,
        rateRefusal: `421 4.7.0 ${config.hostname} Too many connections from your address, slow down\r\n`,
        onConnection: (socket: Socket) => {
          metrics.connectionOpened(spec.name, socket);
          // Read per connection: a reload changes them for sessions from now on.
          const current = live.config;
          const policy: SmtpPolicy = {
            role: spec.role,
            hostname: current.hostname,
            maxMessageSize: current.limits.maxMessageSize,
            maxRecipients: current.limits.maxRecipients,
            tlsAvailable: !spec.implicitTls,
            allowLoopbackPlaintext: current.auth.allowLoopbackPlaintext,
            requireAuth: spec.requireAuth,
          };
          const handle = serveSmtpConnection(socket, {
            policy,
            services,
            logger: log,
            secureContext: (live.tls ?? tls).secureContext,
            deadlines: current.limits.deadlines,
            // The early-talker pause is the MX's alone, and loopback skips it (as postscreen's
            // permit_mynetworks): local tools, filters and the benchmarks are not strangers.
            greetPauseMs:
              spec.role === 'mx' && !isLoopback(socket.remoteAddress ?? '')
                ? current.inbound.greetPauseMs
                : 0,
            onClose: () => sessions.delete(handle),
          });
          sessions.add(handle);
        },
        onRefused: (info) => {
          metrics.connectionRefused(spec.name, info.reason);
          log.warn(
            { remoteAddress: info.remoteAddress, reason: info.reason, err: info.error?.message },
            'connection refused',
          );
        },
      });
      listeners.push(listener);
    }
    // POP3 and IMAP (issue 4): the same connection limits and the SMTP authenticator, so failures
    // share one limiter; their sessions get a goodbye at shutdown.
    const accessDeps = {
      // Getters: the protocols read them per connection, so a reload reaches new sessions.
      get config() {
        return live.config;
      },
      logger,
      store,
      get tls() {
        return live.tls ?? tls;
      },
      authenticate: services.authenticate,
      authenticateBearer: services.authenticateBearer,
      deliver: services.deliver,
      submissionLimits,
      now,
      storage,
      metrics,
      track: (handle: SessionHandle, open: boolean) =>
        open ? sessions.add(handle) : sessions.delete(handle),
      started: listeners,
    };
    await startPop3Listeners(accessDeps);
    await startImapListeners(accessDeps);
    // HTTP (issue 9): JMAP on [http] and [https], the same connection limits and authenticator.
    await startHttpListeners(accessDeps, acmeChallenges ? { acme: acmeChallenges } : {});
    // Last, so /healthz cannot answer before the mail listeners exist (it says 503 until `ready` anyway).
    // Started even with no address, so a reload that adds one binds it (and one that removes it closes it).
    metricsListener = await startMetricsListener(config.listeners.metrics, {
      metrics,
      logger,
      maxConnections: config.limits.maxConnections,
      maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
    });
  } catch (error) {
    for (const l of [...listeners, ...(metricsListener ? [metricsListener.listener] : [])]) {
      await l.stopAccepting();
      l.destroyAll();
    }
    if (!options.store) await store.close();
    throw error;
  }

  // The outgoing queue (issue 3): sends what authenticated users and remote aliases queued.
  const outgoing: OutgoingQueue = startOutgoingQueue({
    store,
    config,
    logger,
    now,
    newQueueId: createQueueIdGenerator(() => now().getTime(), options.random),
    storage,
    resolver,
    observe: (state, attemptMs, sinceQueuedMs) =>
      metrics.deliveryAttempt(state === 'failed' ? 'bounced' : state, attemptMs / 1000, sinceQueuedMs / 1000),
  });
  wakeQueue = () => outgoing.scheduler.wake();
  // `user disable` / `user remove` (usually the CLI, another process): the account's sessions end within ~1 s.
  const accountWatch = startAccountWatch({ store, sessions: () => sessions, logger });
  // Admin actions by the CLI become log lines; [retention] purges old trace steps (server/housekeeping.ts).
  const housekeeping = startHousekeeping({ trace: store.trace, logger, config: () => live.config, now });
  // Read at scrape time; the queue only while the store is open (a scrape can come during shutdown).
  let storeOpen = true;
  metrics.watch({
    queue: () => (storeOpen ? store.queue.summary() : { messages: 0, recipients: 0, oldest: null }),
    dns: () => resolver.stats(),
    waiting: () => listeners.map((l) => ({ listener: l.name ?? '', connections: l.waiting })),
    now,
  });
  metricsListener?.setHealth('ready');

  let stopping: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      // Load balancers see 503 from now on and send no new sessions (CONTRACT.md [metrics]).
      metricsListener?.setHealth('stopping');
      await Promise.all(listeners.map((l) => l.stopAccepting()));
      acme?.stop();
      accountWatch.stop();
      housekeeping.pollAdminActions();
      housekeeping.stop();
      // No new attempts; running ones get the grace period, then are abandoned (claimed rows retry after restart).
      await outgoing.stop(graceMs);
      const open = () => listeners.reduce((n, l) => n + l.sockets.size, 0);
      logger.info({ sessions: open(), deliveries: inFlight.size }, 'shutting down: no longer accepting');
      // Let deliveries that are being committed finish so their clients get the 250 they are owed.
      const deadline = now().getTime() + graceMs;
      while (inFlight.size > 0 && now().getTime() < deadline) {
        await Promise.race([
          Promise.allSettled([...inFlight]),
          sleep(Math.max(1, deadline - now().getTime())),
        ]);
      }
      // Every session gets 421 4.3.2 (after the reply to whatever it is doing); give the peers a moment to
      // read it, then close what is left. Nothing accepted is lost: a 250 is only sent after the commit, and
      // store.close() waits for commits in progress.
      for (const session of sessions) session.shutdown();
      const closeBy = now().getTime() + 1_000;
      while (open() > 0 && now().getTime() < closeBy) await sleep(20);
      for (const l of listeners) l.destroyAll();
      // A session whose connection closed while a command still ran (a LOGIN waiting for its password hash,
      // a commit) ends before the store closes, within the grace period: its work would otherwise meet a
      // closed store.
      const finishBy = now().getTime() + graceMs;
      const finishing = (): boolean => [...sessions].some((session) => session.finishing?.() ?? false);
      while (finishing() && now().getTime() < finishBy) await sleep(10);
      storageGuard.stop();
      await inbound.close?.();
      storeOpen = false;
      const closing = performance.now();
      await store.close();
      // Issue 12: a WAL past WAL_SIZE_LIMIT is left for the next start's checkpointer, not copied before exit.
      const walLeft = store instanceof SqliteStore ? store.walLeftAtClose : 0;
      logger.info(
        { event: 'store-closed', ms: Math.round(performance.now() - closing), walLeftBytes: walLeft },
        walLeft > 0 ? 'store closed; its WAL is checkpointed at the next start' : 'store closed',
      );
      // /healthz kept answering 503 while everything above drained; now it goes too.
      if (metricsListener) {
        await metricsListener.listener.stopAccepting();
        metricsListener.listener.destroyAll();
      }
      // The one resolver's cache over the whole run (issue 10: the bench prints its hit rate).
      logger.info({ event: 'dns-stats', ...resolver.stats() }, 'dns cache');
      logger.info('stopped');
    })();
    return stopping;
  };

  const reload = createReloader({
    // [metrics] follows the file too; it stays out of `listeners`, which shutdown stops first (/healthz goes last).
    listeners: metricsListener ? [...listeners, metricsListener.listener] : listeners,
    // The cast is sound: tls is set before startServer returns, and reload runs only after that.
    live: live as LiveSettings,
    logger,
    now,
    stopping: () => stopping !== null,
    rateLimited: new Set(SMTP_LISTENERS.map((spec) => spec.name)),
  });

  // After the listeners: the CA's validation requests need [http] / [https] up (src/acme/).
  const acme =
    config.acme && acmeChallenges
      ? startAcmeManager({
          settings: config.acme,
          dataDir: config.dataDir,
          challenges: acmeChallenges,
          logger,
          now,
          onCertificate: () => reload.refreshTls(),
        })
      : null;

  return {
    store,
    get addresses() {
      return addressesOf(metricsListener ? [...listeners, metricsListener.listener] : listeners);
    },
    metrics,
    shutdown,
    reload,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
