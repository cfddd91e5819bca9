// The JMAP API worker pool: requests of read-only method calls run on worker threads with their own read-only SQLite connections.
import type { Worker } from 'node:worker_threads';
import type { EngineLimits, JmapUser } from '../jmap/core/engine.js';
import type { JmapRequest } from '../jmap/core/request.js';
import type { Logger } from '../observability/logger.js';
import { JMAP_REPLY_BUFFERS } from '../config/limits.js';
import { startWorker, stopWorker, workerModuleSource } from '../server/worker-thread.js';

/*
 * Why: one event loop did everything for every JMAP request - HTTP, authentication, the method engine,
 * the store's reads and the JSON of the answer - so JMAP used one core however many the machine has
 * (issue 9's bench: ~0.7 ms of CPU a page, Dovecot's processes on both cores). The engine and the JSON,
 * the larger part, now run on workers; HTTP, authentication, limits and every write stay here.
 *
 * Why it stays correct:
 * - Only requests whose every call is in WORKER_METHODS go to a worker: methods that only read the
 *   store. Anything else (a /set, an import, a submission, createdIds) runs on the main thread as
 *   before. The worker's connection is opened read-only, so a write sent there by mistake fails.
 * - Read after write: every write commits on the main thread's connection before its response is
 *   sent, and each worker statement starts a new SQLite read snapshot (WAL), so a request that follows
 *   the answer of a write sees it, whichever worker runs it.
 * - States (RFC 8620 5.1) come from the same rows on either side; the methods already read the state
 *   before the data, so a change committed between the two is reported again, never lost.
 * - A worker's caches are keyed by immutable ids or by state strings, like the main thread's.
 * Until a worker is ready (start-up, a respawn after a crash) its requests run on the main thread.
 */

/** Methods that only read the store (their handlers are the main thread's; see the comment above). */
export const WORKER_METHODS: ReadonlySet<string> = new Set([
  'Core/echo',
  'Mailbox/get',
  'Mailbox/changes',
  'Mailbox/query',
  'Mailbox/queryChanges',
  'Thread/get',
  'Thread/changes',
  'Email/get',
  'Email/changes',
  'Email/query',
  'Email/queryChanges',
]);

/** A worker is started again this long after it stopped unexpectedly (a crash loop stays slow). */
const RESPAWN_DELAY_MS = 1_000;

/** What a worker is started with. */
export interface WorkerData {
  dataDir: string;
  hostname: string;
}

/** One request for a worker: already parsed, authenticated and within the limits (jmap-routes.ts). */
export interface WorkerJob {
  id: number;
  request: JmapRequest;
  user: JmapUser;
  sessionState: string;
  limits: EngineLimits;
}

/**
 * What goes to a worker in one message: the jobs that came in during one turn of the event loop, and
 * answer buffers the main thread has written out, moved back for the worker to fill again. Why batches:
 * every message wakes the other thread (an eventfd write and, when it sleeps, a futex wake-up and a
 * context switch); at issue 9's 20 clients that wake-up, inside postMessage, was a quarter of the main
 * thread's CPU per page once the worker was quick enough to be asleep between two jobs.
 */
export interface WorkerBatch {
  jobs: PostedJob[];
  recycled: ArrayBuffer[];
}

/**
 * A job as posted: `user` and `limits` only when they are not the objects of the previous job posted to
 * that worker (the worker keeps those). Why: cloning them was a third of a job's structured clone, and a
 * client's requests carry the same user object (the verified-header cache's) and always the same limits.
 */
export interface PostedJob {
  id: number;
  request: JmapRequest;
  sessionState: string;
  user?: JmapUser;
  limits?: EngineLimits;
}

/** An Email preview computed on a worker, for the main thread to store (RFC 8621 4.1.4 preview). */
export interface StoredPreview {
  messageId: number;
  preview: string;
}

/**
 * The answer: the Response object's JSON as UTF-8 bytes (null if the engine itself failed) and what
 * failed inside. Why bytes in recycled buffers (JMAP_REPLY_BUFFERS): a string answer (~17 KB a page)
 * was copied into the main thread's heap, scanned for its length and encoded again for the socket;
 * those copies were most of what the main thread allocated, so most of its scavenges, each of which
 * holds up every request in progress. Fresh transferred buffers instead count as external memory that
 * only a full GC gives back (measured: full GCs took the scavenges' place); buffers that go back and
 * forth cost neither.
 */
export interface WorkerReply {
  id: number;
  /** A view of `length` bytes at the start of a moved ArrayBuffer. */
  body: Uint8Array | null;
  /** True when the worker had no recycled buffer that fit and allocated one (tests, diagnostics). */
  fresh: boolean;
  failures: { method: string; error: string }[];
}

/** True when every call of the request may run on a worker. */
export function runsOnWorker(request: JmapRequest): boolean {
  return request.createdIds === undefined && request.methodCalls.every(([name]) => WORKER_METHODS.has(name));
}

interface Slot {
  worker: Worker | null;
  ready: boolean;
  pending: Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>;
  /** Jobs not yet posted: sent together at the end of this turn of the event loop (WorkerBatch). */
  outbox: PostedJob[];
  /** The user and limits of the last job queued for this worker: what it will hold (PostedJob). */
  lastUser: JmapUser | null;
  lastLimits: EngineLimits | null;
}

export class JmapWorkerPool {
  private readonly slots: Slot[] = [];
  /** Answer buffers written out and not yet sent back to a worker (recycle). */
  private readonly recycled: ArrayBuffer[] = [];
  private nextId = 1;
  private closed = false;
  /** Messages and jobs posted to workers, messages and answers back (tests, diagnostics: the batching). */
  readonly traffic = { jobMessages: 0, jobs: 0, users: 0, replyMessages: 0, replies: 0 };

  /** Starts no thread yet: the first request does (a server that serves no JMAP API never pays for them). */
  constructor(
    private readonly options: {
      size: number;
      data: WorkerData;
      logger: Logger;
      /** Previews a worker computed (Email/get): its connection is read-only, so the main thread stores them. */
      storePreviews?: (previews: StoredPreview[]) => void;
    },
  ) {}

  /** Starts the workers (once); the first request calls it. */
  start(): void {
    if (this.closed || this.slots.length > 0) return;
    for (let i = 0; i < this.options.size; i++) {
      const slot: Slot = {
        worker: null,
        ready: false,
        pending: new Map(),
        outbox: [],
        lastUser: null,
        lastLimits: null,
      };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  /** Workers ready to take requests (tests wait for them). */
  get ready(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /**
   * Runs the job on the ready worker with the fewest requests in hand; null when none is ready (the
   * caller then runs it itself). Rejects if that worker stops before answering.
   */
  run(job: Omit<WorkerJob, 'id'>): Promise<WorkerReply> | null {
    this.start();
    let best: Slot | null = null;
    for (const s of this.slots) {
      if (s.ready && (best === null || s.pending.size < best.pending.size)) best = s;
    }
    if (best === null || best.worker === null) return null;
    const id = this.nextId++;
    const slot = best;
    // Posted once the poll phase that read this request has read the others too (setImmediate).
    if (slot.outbox.length === 0) setImmediate(() => this.flush(slot));
    // Jobs reach the worker in the order queued, so it holds what the previous one carried.
    const posted: PostedJob = { id, request: job.request, sessionState: job.sessionState };
    if (job.user !== slot.lastUser) {
      posted.user = slot.lastUser = job.user;
      this.traffic.users++;
    }
    if (job.limits !== slot.lastLimits) posted.limits = slot.lastLimits = job.limits;
    slot.outbox.push(posted);
    return new Promise<WorkerReply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
    });
  }

  /** Posts the slot's waiting jobs as one message (WorkerBatch). */
  private flush(slot: Slot): void {
    const jobs = slot.outbox;
    if (jobs.length === 0 || slot.worker === null) return; // none, or the worker stopped (exit rejected them)
    slot.outbox = [];
    // Written-out buffers ride back with the jobs (no message, no wake-up of their own).
    const recycled = this.recycled.splice(0, JMAP_REPLY_BUFFERS.perJob * jobs.length);
    slot.worker.postMessage({ jobs, recycled } satisfies WorkerBatch, recycled);
    this.traffic.jobMessages++;
    this.traffic.jobs += jobs.length;
  }

  /**
   * Gives an answer's buffer back once its bytes are written out (the response's 'finish'), for a
   * worker to fill again. Only pool-sized ones; an answer that is never written is simply collected.
   */
  recycle(body: Uint8Array): void {
    const buffer = body.buffer;
    if (
      buffer instanceof ArrayBuffer &&
      buffer.byteLength === JMAP_REPLY_BUFFERS.bytes &&
      this.recycled.length < JMAP_REPLY_BUFFERS.spare &&
      !this.closed
    ) {
      this.recycled.push(buffer);
    }
  }

  /** Stops every worker (each closes its connection first). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        slot.ready = false;
        if (!worker) return;
        await stopWorker(worker, 'close');
      }),
    );
  }

  private spawn(slot: Slot): void {
    const worker = startWorker(workerModuleSource(import.meta.url, 'jmap-worker'), {
      eval: true,
      workerData: this.options.data satisfies WorkerData,
    });
    // A pool never keeps the process alive by itself: the server's shutdown closes it.
    worker.unref();
    slot.worker = worker;
    worker.on(
      'message',
      (message: { replies: WorkerReply[] } | { ready: true } | { previews: StoredPreview[] }) => {
        if ('ready' in message) {
          slot.ready = !this.closed;
          return;
        }
        if ('previews' in message) {
          try {
            this.options.storePreviews?.(message.previews);
          } catch (err) {
            // Only a cache: they are computed again next time.
            this.options.logger.warn({ err }, 'storing Email previews failed');
          }
          return;
        }
        this.traffic.replyMessages++;
        this.traffic.replies += message.replies.length;
        for (const reply of message.replies) {
          const waiter = slot.pending.get(reply.id);
          slot.pending.delete(reply.id);
          waiter?.resolve(reply);
        }
      },
    );
    worker.on('error', (err) => this.options.logger.error({ err }, 'jmap worker failed'));
    worker.on('exit', (code) => {
      slot.ready = false;
      slot.worker = null;
      for (const { reject } of slot.pending.values()) reject(new Error(`jmap worker exited (${code})`));
      slot.pending.clear();
      slot.outbox = [];
      // A new worker holds nothing yet: its first job carries both.
      slot.lastUser = null;
      slot.lastLimits = null;
      if (this.closed) return;
      this.options.logger.warn({ code }, 'jmap worker stopped; starting another');
      setTimeout(() => {
        if (!this.closed) this.spawn(slot);
      }, RESPAWN_DELAY_MS).unref();
    });
  }
}
