// The queue scheduler: sleeps until the earliest due recipient or a store event, then sends per destination under limits.
import { performance } from 'node:perf_hooks';
import type { Logger } from '../observability/logger.js';
import type { DueRecipient, QueueStore, RecipientUpdate } from '../store/queue-store.js';
import type { RecipientResult } from '../smtp/client/client-types.js';
import { claimTime, groupByDestination, planUpdate, type MessageJob } from './delivery-attempt.js';
import type { RetrySchedule } from './retry-policy.js';
import type { AttemptTrace } from '../store/trace-store.js';

/** What one connection reports back per message (the transport calls it as each result arrives). */
export type MessageDone = (
  queueId: string,
  results: RecipientResult[],
  peer: { host: string; dsn: boolean },
) => void;

/**
 * Sends jobs (all for one destination domain) over one connection, or decides they cannot go (DNS).
 * Must call done() once per job before it resolves, and never throw.
 */
export type Transport = (domain: string, jobs: MessageJob[], done: MessageDone) => Promise<void>;

export interface SchedulerOptions {
  queue: QueueStore;
  schedule: RetrySchedule;
  transport: Transport;
  /**
   * Sends the DSNs the queue owes (bounce.ts); called after results are recorded and at each wake.
   * `busy`: messages with recipients being attempted now, whose DSN waits for those attempts.
   */
  sendDsns: (busy: (queueId: string) => boolean) => Promise<void>;
  logger: Logger;
  now?: () => Date;
  random?: () => number;
  /** Connections open at once, in all. */
  maxConnections?: number;
  /** Connections open at once to one destination domain (a slow one never takes all of them). */
  maxConnectionsPerDomain?: number;
  /** Messages carried by one connection before it is closed and another one opened. */
  maxMessagesPerConnection?: number;
  /** How often the store is asked whether another process (the `queue` CLI) changed the queue. */
  pollMs?: number;
  /** Least time between two looks at the queue (see SCHEDULER_DEFAULTS.minTickGapMs). */
  minTickGapMs?: number;
  /** Monotonic ms for that gap (test seam; `now` may be a fixed fake clock). */
  monotonic?: () => number;
  /** queue.delay_warning in ms: a recipient still deferred this long after arrival gets one delay DSN. */
  delayWarningMs?: number | null;
  /**
   * Each recipient's attempt result (metrics): the state it is left in, the ms from the connection's
   * start to the message's reply, and the ms since the message was queued.
   */
  observe?: (state: 'delivered' | 'deferred' | 'failed', attemptMs: number, sinceQueuedMs: number) => void;
}

export const SCHEDULER_DEFAULTS = {
  maxConnections: 100,
  maxConnectionsPerDomain: 10,
  maxMessagesPerConnection: 50,
  // PRAGMA data_version is one cheap read; once a second makes `queue flush` take effect at once to a human.
  pollMs: 1_000,
  // Due rows read per wake: bounds memory with 100,000 deferred messages waiting.
  batchRows: 2_000,
  // A destination that already has a connection gets another one only for at least this many waiting
  // messages; fewer wait for the open one to finish (it wakes us) and then go together on one connection.
  // Without it every accepted message opened its own connection to each of its domains (measured:
  // 3,000 connections for 1,000 messages x 3 domains), paying connect + greeting + EHLO per message.
  extraConnectionJobs: 10,
  // Under load every group commit and every finished connection wakes us, hundreds of times a second,
  // and each look reads the due rows still waiting for a busy destination again: 11% of the server's
  // CPU in bench/relay.ts (231,000 rows read for 15,000 deliveries; ~24,000 with this gap). The smaller
  // batches a look then starts are cheap because connections are reused (connection-pool.ts); an idle
  // queue still reacts to an event within this many ms.
  minTickGapMs: 25,
} as const;

export class QueueScheduler {
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly limits: {
    global: number;
    perDomain: number;
    perConnection: number;
    pollMs: number;
    minTickGapMs: number;
  };
  private readonly monotonic: () => number;
  private lastTickAt = -Infinity;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private poller: NodeJS.Timeout | null = null;
  private ticking = false;
  private again = false;
  private token = -1;
  /**
   * Recipients being attempted by this process, by message: never claimed twice, even when their lease
   * runs out; and a message listed here has its DSN wait for them (one DSN per pass, bounce.ts).
   */
  private readonly inFlight = new Map<string, Set<string>>();
  private readonly messageBusy = (queueId: string): boolean => this.inFlight.has(queueId);
  private readonly perDomain = new Map<string, number>();
  private connections = 0;
  private readonly tasks = new Set<Promise<void>>();
  /** Results waiting for their commit: gathered over one event-loop turn, committed together (flushResults). */
  private results: { queueId: string; updates: RecipientUpdate[]; trace: AttemptTrace }[] = [];
  private resultsScheduled = false;
  private readonly onEvent = (): void => this.wake();
  /** Figures for logs and tests. */
  readonly stats = { connections: 0, delivered: 0, deferred: 0, failed: 0 };

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.limits = {
      global: options.maxConnections ?? SCHEDULER_DEFAULTS.maxConnections,
      perDomain: options.maxConnectionsPerDomain ?? SCHEDULER_DEFAULTS.maxConnectionsPerDomain,
      perConnection: options.maxMessagesPerConnection ?? SCHEDULER_DEFAULTS.maxMessagesPerConnection,
      pollMs: options.pollMs ?? SCHEDULER_DEFAULTS.pollMs,
      minTickGapMs: options.minTickGapMs ?? SCHEDULER_DEFAULTS.minTickGapMs,
    };
    this.monotonic = options.monotonic ?? (() => performance.now());
  }

  /** Starts working; `events` is the store's emitter (its `queue` event wakes us). */
  start(events?: { on(e: 'queue', f: () => void): unknown; off(e: 'queue', f: () => void): unknown }): void {
    if (this.running) return;
    this.running = true;
    events?.on('queue', this.onEvent);
    this.unsubscribe = () => events?.off('queue', this.onEvent);
    this.token = this.options.queue.changeToken();
    this.poller = setInterval(() => this.poll(), this.limits.pollMs);
    this.poller.unref();
    this.wake();
  }

  private unsubscribe: () => void = () => undefined;

  /** Stops starting attempts; waits for the ones running (their results are committed as they come). */
  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    this.timer = null;
    this.poller = null;
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    this.flushResults();
  }

  /** Looks at the queue now (an event, a finished connection, a timer). */
  wake(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    const wait = this.lastTickAt + this.limits.minTickGapMs - this.monotonic();
    if (wait <= 0) setImmediate(() => void this.tick());
    else setTimeout(() => void this.tick(), wait);
  }

  /** Work not finished yet (tests wait for it). */
  get busy(): boolean {
    return this.tasks.size > 0 || this.ticking;
  }

  private poll(): void {
    try {
      const token = this.options.queue.changeToken();
      if (token !== this.token) {
        this.token = token;
        this.wake();
      }
    } catch (err) {
      this.options.logger.warn({ err: String(err) }, 'queue poll failed');
    }
  }

  private async tick(): Promise<void> {
    try {
      this.again = false;
      // A look scheduled (after the gap) before stop(): the store may be closing.
      if (!this.running) return;
      this.lastTickAt = this.monotonic();
      await this.options.sendDsns(this.messageBusy);
      if (!this.running) return;
      // One reading of the clock for both: a row coming due between a later reading in arm() and this
      // one would be neither dispatched (not yet due) nor armed for (not after arm's now), and an idle
      // queue would then leave it waiting until the next event (seen under load: a deferral stuck 20 s).
      const now = this.now();
      this.dispatch(now);
      this.arm(now);
    } catch (err) {
      // A store error (disk, lock timeout): try again later rather than dying; nothing was half-done.
      this.options.logger.error({ err: String(err) }, 'queue scheduler tick failed');
      this.armIn(this.limits.pollMs);
    } finally {
      this.ticking = false;
      if (this.again) this.wake();
    }
  }

  private dispatch(now: Date): void {
    if (this.connections >= this.limits.global) return;
    const rows = this.options.queue
      .due(now, SCHEDULER_DEFAULTS.batchRows)
      .filter((r) => !(this.inFlight.get(r.queueId)?.has(r.address) ?? false));
    const planned: { domain: string; jobs: MessageJob[] }[] = [];
    let connections = this.connections;
    plan: for (const [domain, jobs] of groupByDestination(rows)) {
      let offset = 0;
      let open = this.perDomain.get(domain) ?? 0;
      while (offset < jobs.length) {
        if (connections >= this.limits.global) break plan;
        if (open >= this.limits.perDomain) break;
        if (open > 0 && jobs.length - offset < SCHEDULER_DEFAULTS.extraConnectionJobs) break;
        const batch = jobs.slice(offset, offset + this.limits.perConnection);
        offset += batch.length;
        planned.push({ domain, jobs: batch });
        connections++;
        open++;
      }
    }
    if (planned.length === 0) return;
    // Recorded before connecting (DESIGN habit 9): a crash leaves each row due at its retry time.
    // One commit for every connection this look starts (a commit each was 5% of the CPU in bench/relay.ts).
    // One jitter draw per message, so its recipients stay due together and keep sharing a transaction.
    this.options.queue.claim(
      planned.flatMap(({ jobs }) =>
        jobs.flatMap((job) => {
          const jitter = this.random();
          return job.recipients.map((r) => ({
            queueId: r.queueId,
            address: r.address,
            nextAttemptAt: claimTime(r, now, this.options.schedule, () => jitter),
          }));
        }),
      ),
    );
    for (const { domain, jobs } of planned) this.launch(domain, jobs);
  }

  /** Starts one connection's worth of jobs, already claimed. */
  private launch(domain: string, jobs: MessageJob[]): void {
    const rows = jobs.flatMap((j) => j.recipients);
    for (const r of rows) {
      const addresses = this.inFlight.get(r.queueId);
      if (addresses) addresses.add(r.address);
      else this.inFlight.set(r.queueId, new Set([r.address]));
    }
    this.connections++;
    this.stats.connections++;
    this.perDomain.set(domain, (this.perDomain.get(domain) ?? 0) + 1);
    const byId = new Map(jobs.map((j) => [j.queueId, j]));
    const reported = new Set<string>();
    const started = this.monotonic();
    const done: MessageDone = (queueId, results, peer) => {
      const job = byId.get(queueId);
      if (!job || reported.has(queueId)) return;
      reported.add(queueId);
      this.record(job, results, peer, this.monotonic() - started);
    };
    const task = (async () => {
      try {
        await this.options.transport(domain, jobs, done);
      } catch (err) {
        this.options.logger.error({ domain, err: String(err) }, 'transport failed');
      } finally {
        // This connection's results are committed before its rows leave inFlight (and before stop()
        // returns); after the commit already scheduled for this turn, so connections finishing
        // together still share it.
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.flushResults();
        // A job the transport never reported stays claimed until its lease; free it for the next wake.
        for (const r of rows) {
          const addresses = this.inFlight.get(r.queueId);
          addresses?.delete(r.address);
          if (addresses?.size === 0) this.inFlight.delete(r.queueId);
        }
        this.connections--;
        const n = (this.perDomain.get(domain) ?? 1) - 1;
        if (n <= 0) this.perDomain.delete(domain);
        else this.perDomain.set(domain, n);
        this.wake();
      }
    })();
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  /** Commits one message's results at once: the window for a duplicate is only remote 250 -> this commit. */
  private record(
    job: MessageJob,
    results: RecipientResult[],
    peer: { host: string; dsn: boolean },
    attemptMs: number,
  ): void {
    const now = this.now();
    const byAddress = new Map(results.map((r) => [r.address, r]));
    const updates = [];
    const jitter = this.random(); // one per message: see launch()
    for (const row of job.recipients) {
      const result = byAddress.get(row.address);
      if (!result) continue;
      const update = planUpdate(row, result, {
        now,
        schedule: this.options.schedule,
        random: () => jitter,
        ...(peer.host ? { remoteMta: peer.host } : {}),
        peerDsn: peer.dsn,
        delayWarningMs: this.options.delayWarningMs ?? null,
      });
      updates.push(update);
      if (update.state === 'delivered') this.stats.delivered++;
      else if (update.state === 'failed') this.stats.failed++;
      else this.stats.deferred++;
      const state = update.state === 'pending' ? 'deferred' : update.state;
      this.options.observe?.(state, attemptMs, now.getTime() - row.createdAt.getTime());
    }
    // One line per message and attempt: the MX that answered, and per recipient the state it is left in,
    // whether TLS carried it and the peer's own reply (its "queued as" id on success: issue 11).
    const outcome = updates.map((u) => {
      const r = byAddress.get(u.address);
      return {
        to: u.address,
        state: u.state,
        attempts: u.attempts,
        error: u.lastError,
        tls: r?.tls,
        reply: r?.reply
          ? [r.reply.code, r.reply.enhanced, r.reply.text].filter(Boolean).join(' ')
          : undefined,
      };
    });
    this.options.logger.info(
      { event: 'delivery-attempt', queueId: job.queueId, results: outcome, remote: peer.host || undefined },
      'delivery attempt',
    );
    // The same facts become the attempt's step of `mailroom trace`, committed with the results.
    const trace: AttemptTrace = { remote: peer.host || null, results: outcome };
    this.results.push({ queueId: job.queueId, updates, trace });
    if (!this.resultsScheduled) {
      this.resultsScheduled = true;
      // The replies read in one poll phase (many connections) share one commit: a transaction per
      // message was 11% of the CPU under bench/relay.ts. The duplicate window (remote 250 -> our
      // commit) grows by at most one event-loop turn; the rows stay claimed (not due) meanwhile.
      setImmediate(() => this.flushResults());
    }
  }

  /** Commits every gathered result in one transaction; wakes the loop when DSNs are owed. */
  private flushResults(): void {
    this.resultsScheduled = false;
    const batch = this.results;
    if (batch.length === 0) return;
    this.results = [];
    try {
      this.options.queue.recordResultsMany(batch);
    } catch (err) {
      // Not recorded: the rows stay claimed and come due at their claim time (a duplicate at worst).
      this.options.logger.error(
        { err: String(err), queueIds: batch.map((b) => b.queueId) },
        'recording delivery results failed',
      );
      return;
    }
    if (batch.some((b) => b.updates.some((u) => u.dsn))) this.wake();
  }

  /** Arms the timer for the first row due after `now`, the moment dispatch() looked at (see tick()). */
  private arm(now: Date): void {
    const next = this.options.queue.nextDueAfter(now);
    if (next === null) return;
    this.armIn(next.getTime() - now.getTime());
  }

  private armIn(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    // setTimeout holds at most 2^31-1 ms; a longer sleep just wakes early and re-arms.
    this.timer = setTimeout(() => this.wake(), Math.min(Math.max(ms, 0), 2 ** 31 - 1));
    this.timer.unref();
  }
}

export type { DueRecipient };
