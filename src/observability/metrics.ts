// The server's Prometheus metrics (prom-client): one registry per server, counters bumped on the hot paths, gauges read at scrape time.
import type { Socket } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  METRICS_COMMIT_BUCKETS,
  METRICS_DELIVERY_ATTEMPT_BUCKETS,
  METRICS_DELIVERY_DELAY_BUCKETS,
  METRICS_EVENT_LOOP_PRECISION_MS,
} from '../config/limits.js';

/** What an outgoing delivery attempt did to one recipient (the queue's final states are delivered/bounced). */
export type DeliveryResult = 'delivered' | 'deferred' | 'bounced';
export type AuthOutcome = 'ok' | 'failed' | 'throttled';

/** Figures only known to other modules, read when Prometheus scrapes (so the hot paths pay nothing). */
export interface ScrapeSources {
  /** The outgoing queue now: messages, recipients still waiting, the oldest entry's arrival. */
  queue?: () => { messages: number; recipients: number; oldest: Date | null };
  /** The resolver's cache counters since start (they only grow). */
  dns?: () => { hits: number; misses: number; negativeHits: number };
  /** Per listener, connections accepted and waiting for their turn to be set up (a burst). */
  waiting?: () => ReadonlyArray<{ listener: string; connections: number }>;
  now?: () => Date;
}

export interface Metrics {
  readonly registry: Registry;
  /** A connection admitted by a listener: counted, and shown open until its socket closes. */
  connectionOpened(listener: string, socket: Socket): void;
  /** A connection refused by a listener's limits (or a failed implicit-TLS handshake). */
  connectionRefused(listener: string, reason: string): void;
  /** A password or token check, per protocol (fail2ban sees the failures in the log too). */
  auth(protocol: string, outcome: AuthOutcome): void;
  /** A message acknowledged (250) by SMTP or taken by JMAP submission, with its local and remote recipients. */
  messageReceived(localRecipients: number, remoteRecipients: number): void;
  /** One remote recipient's attempt result; `seconds`: from connection start to the message's reply. */
  deliveryAttempt(result: DeliveryResult, attemptSeconds: number, sinceQueuedSeconds: number): void;
  /** One store group commit: deliveries in the batch and seconds until durable. */
  storeCommit(batchSize: number, seconds: number): void;
  /** Gauges and counters read at scrape time; later calls add to earlier ones. */
  watch(sources: ScrapeSources): void;
  /** The Prometheus text exposition (content type in `contentType`). */
  text(): Promise<string>;
  readonly contentType: string;
}

/** Builds a registry with every Mailroom metric and Node's process metrics (memory, event-loop lag). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  // Process memory, CPU, handles and nodejs_eventloop_lag_* (perf_hooks monitorEventLoopDelay).
  collectDefaultMetrics({
    register: registry,
    eventLoopMonitoringPrecision: METRICS_EVENT_LOOP_PRECISION_MS,
  });
  const registers = [registry];
  let sources: ScrapeSources = {};

  const connections = new Counter({
    name: 'mailroom_connections_total',
    help: 'Connections per listener: accepted, or refused (with the reason)',
    labelNames: ['listener', 'result'] as const,
    registers,
  });
  const sessionsOpen = new Gauge({
    name: 'mailroom_sessions_open',
    help: 'Sessions open now per listener (admitted connections not yet closed)',
    labelNames: ['listener'] as const,
    registers,
  });
  const authTotal = new Counter({
    name: 'mailroom_auth_total',
    help: 'Password and token checks per protocol and outcome (ok, failed, throttled)',
    labelNames: ['protocol', 'outcome'] as const,
    registers,
  });
  // Per message, received and local deliveries are counted in plain numbers and added to prom-client's
  // counters when they are read (collect runs before every scrape and get()): an inc there hashes the
  // labels and validates the value, ~1 us per message at load (a). A scrape shows the same totals.
  let receivedPending = 0;
  let localDeliveredPending = 0;
  new Counter({
    name: 'mailroom_messages_received_total',
    help: 'Messages accepted (SMTP 250 after DATA/BDAT, JMAP submission)',
    registers,
    collect() {
      if (receivedPending === 0) return;
      this.inc(receivedPending);
      receivedPending = 0;
    },
  });
  const deliveries = new Counter({
    name: 'mailroom_deliveries_total',
    help: 'Recipients handled: local (filed into a mailbox) or remote (per attempt: delivered, deferred, bounced)',
    labelNames: ['destination', 'result'] as const,
    registers,
    collect() {
      if (localDeliveredPending === 0) return;
      this.inc({ destination: 'local', result: 'delivered' }, localDeliveredPending);
      localDeliveredPending = 0;
    },
  });
  const attemptSeconds = new Histogram({
    name: 'mailroom_delivery_attempt_seconds',
    help: 'Outgoing attempts: from connection start to the reply for the message (MX lookup, TLS, transaction)',
    buckets: METRICS_DELIVERY_ATTEMPT_BUCKETS,
    registers,
  });
  const delaySeconds = new Histogram({
    name: 'mailroom_delivery_delay_seconds',
    help: 'Remote recipients reaching a final state (delivered or bounced): seconds since the message was queued',
    labelNames: ['result'] as const,
    buckets: METRICS_DELIVERY_DELAY_BUCKETS,
    registers,
  });
  const commitSeconds = new Histogram({
    name: 'mailroom_store_commit_seconds',
    help: 'Store group commits: seconds from the start of the batch until it is durable (fsync)',
    buckets: METRICS_COMMIT_BUCKETS,
    registers,
  });
  const batchSize = new Histogram({
    name: 'mailroom_store_commit_batch_size',
    help: 'Deliveries committed together in one store transaction and fsync',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers,
  });
  new Gauge({
    name: 'mailroom_queue_messages',
    help: 'Messages in the outgoing queue (with a recipient waiting or a DSN owed)',
    registers,
    collect() {
      const q = sources.queue?.();
      if (q) this.set(q.messages);
    },
  });
  new Gauge({
    name: 'mailroom_queue_recipients',
    help: 'Recipients in the outgoing queue still waiting (pending or deferred)',
    registers,
    collect() {
      const q = sources.queue?.();
      if (q) this.set(q.recipients);
    },
  });
  new Gauge({
    name: 'mailroom_queue_oldest_age_seconds',
    help: 'Age of the oldest message in the outgoing queue (0 when empty)',
    registers,
    collect() {
      const q = sources.queue?.();
      if (!q) return;
      const now = (sources.now ?? (() => new Date()))().getTime();
      this.set(q.oldest ? Math.max(0, (now - q.oldest.getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'mailroom_connections_waiting',
    help: 'Connections accepted and waiting for their turn to be set up, per listener (a burst is being served)',
    labelNames: ['listener'] as const,
    registers,
    collect() {
      const rows = sources.waiting?.();
      if (!rows) return;
      this.reset();
      for (const { listener, connections } of rows) this.inc({ listener }, connections);
    },
  });
  new Counter({
    name: 'mailroom_dns_cache_total',
    help: 'DNS lookups by the one resolver: answered from its cache (hit, negative_hit) or asked (miss)',
    labelNames: ['result'] as const,
    registers,
    collect() {
      const s = sources.dns?.();
      if (!s) return;
      // The resolver keeps the totals; a counter only goes up, so setting it from them is exact.
      this.reset();
      this.inc({ result: 'hit' }, s.hits - s.negativeHits);
      this.inc({ result: 'negative_hit' }, s.negativeHits);
      this.inc({ result: 'miss' }, s.misses);
    },
  });

  // Children per label value, so a hot-path increment is a Map lookup (prom-client hashes labels otherwise).
  const accepted = new Map<string, Counter.Internal>();
  const open = new Map<string, Gauge.Internal<'listener'>>();
  // One 'close' handler per listener, shared by its sockets: no closure and `once` wrapper per
  // connection, which an idle one (an EventSource stream, IMAP IDLE) would hold while it is open.
  const onClose = new Map<string, () => void>();

  return {
    registry,
    contentType: registry.contentType,
    connectionOpened(listener, socket) {
      let counter = accepted.get(listener);
      if (!counter) accepted.set(listener, (counter = connections.labels(listener, 'accepted')));
      let gauge = open.get(listener);
      if (!gauge) open.set(listener, (gauge = sessionsOpen.labels(listener)));
      counter.inc();
      gauge.inc();
      let closed = onClose.get(listener);
      if (!closed) {
        const g = gauge;
        onClose.set(listener, (closed = () => g.dec()));
      }
      // 'close' comes once per socket, so `on` (no wrapper) decrements exactly once.
      socket.on('close', closed);
    },
    connectionRefused(listener, reason) {
      connections.inc({ listener, result: `refused-${reason}` });
    },
    auth(protocol, outcome) {
      authTotal.inc({ protocol, outcome });
    },
    messageReceived(localRecipients) {
      receivedPending += 1;
      localDeliveredPending += localRecipients;
    },
    deliveryAttempt(result, attempt, sinceQueued) {
      deliveries.inc({ destination: 'remote', result });
      attemptSeconds.observe(attempt);
      if (result !== 'deferred') delaySeconds.observe({ result }, sinceQueued);
    },
    storeCommit(size, seconds) {
      batchSize.observe(size);
      commitSeconds.observe(seconds);
    },
    watch(more) {
      sources = { ...sources, ...more };
    },
    text: () => registry.metrics(),
  };
}
