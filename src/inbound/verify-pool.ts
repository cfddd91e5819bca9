// The inbound DKIM/ARC worker pool: the CPU-heavy part of the MX checks runs on worker threads; DNS stays on the main thread.
import type { Worker } from 'node:worker_threads';
import { VERIFY_WORKER_YOUNG_GENERATION } from '../config/limits.js';
import { INBOUND_VERIFY_MAX_IN_FLIGHT, INBOUND_VERIFY_RESPAWN_MS } from '../config/limits-trust.js';
import { startWorker, stopWorker, workerModuleSource } from '../server/worker-thread.js';
import type { MailauthResolver } from './dkim-keys.js';
import type { DkimMessage, DkimOutcome } from './dkim-verify.js';

/*
 * Why: the MX's event loop is its bottleneck (load (a) runs at 1 / its CPU per message), and mailauth's DKIM
 * pass - header parsing and canonicalization, the body hash, the RSA verification, the garbage of all three -
 * is the larger part of the checks' cost. A worker runs that pass on another core while the main thread takes
 * the next messages.
 *
 * Why it stays correct:
 * - The worker runs the very function the main thread would (dkim-verify.ts `verifyDkim`), on the same bytes.
 * - Every DNS question the worker's verifier asks is sent here and answered by the server's one resolver (its
 *   cache and TTLs, its counters); errors keep their node:dns `code`, which is all mailauth reads of them. The
 *   worker keeps an answer (a DKIM key record) for as long as it stays the resolver's cached answer, counted
 *   from before it asked (verify-worker.ts): a round trip per message saved, never an answer past its TTL.
 * - checkMessage awaits the outcome before its verdict, so the 250 still follows the checks and the fsync.
 * - A worker that stops with jobs in hand (posted, or queued for this turn's batch) rejects them: those messages
 *   get the checks' 451 (never a pass).
 *   Until a worker is ready (start-up, the respawn after a crash), or when the jobs in hand reach
 *   INBOUND_VERIFY_MAX_IN_FLIGHT, `run` returns null and the caller verifies on the main thread.
 */

/**
 * What crosses the threads, both ways, in one message: the jobs of one turn of the event loop (the results of
 * up to INBOUND_VERIFY_RESULT_CHUNK verifications), with any DNS answers (or questions) that are due. Why
 * batches (as jmap-workers.ts WorkerBatch): every message wakes the other thread (an eventfd write, and when it
 * sleeps a futex wake-up and a context switch); one message per job and one per result doubled the checks' CPU
 * per message (bench/inbound-verify.ts --workers 1). A DNS answer or question is never held back for a batch:
 * it is posted at once and takes along whatever jobs (results) are waiting, so the batching delays no DNS
 * round trip a verification waits for.
 */
export type ToWorker =
  | {
      type: 'batch';
      jobs: PostedJob[];
      answers: DnsAnswer[];
      /** The in-memory messages of `jobs`, back to back in one moved buffer (see messagesOf). */
      bytes?: Uint8Array;
    }
  | { type: 'close' };

/** worker -> main (see ToWorker) */
export type FromWorker =
  { type: 'ready' } | { type: 'batch'; results: JobResult[]; questions: DnsQuestion[] };

/** One message's DKIM/ARC pass: where its bytes are in the batch's `bytes`, or its spool file's path. */
export interface PostedJob {
  id: number;
  sender: string;
  at?: number;
  size?: number;
  path?: string;
}

export type JobResult =
  { id: number; ok: true; outcome: DkimOutcome } | { id: number; ok: false; error: string };

export interface DnsQuestion {
  id: number;
  job: number;
  name: string;
  rrtype: string;
}

export type DnsAnswer =
  | { id: number; ok: true; value: unknown; validForMs: number }
  | { id: number; ok: false; code: string | undefined; message: string };

interface Job {
  lookup: MailauthResolver;
  resolve(outcome: DkimOutcome): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker | null;
  ready: boolean;
  jobs: Map<number, Job>;
  /** Jobs not yet posted: sent together at the end of this turn of the event loop (ToWorker). */
  outbox: PostedJob[];
  /** outbox[i]'s message when it is in memory (null: a path), copied into the batch's buffer when posted. */
  messages: (readonly Buffer[] | null)[];
}

export interface VerifyPoolOptions {
  size: number;
  /** Jobs in hand across the pool past which `run` returns null (the caller verifies itself). */
  maxInFlight?: number;
  respawnMs?: number;
  /** A worker stopped unexpectedly (logged by the caller); another is started after respawnMs. */
  onWorkerExit?: (code: number) => void;
  /** Tests: the worker's code (eval'd) instead of verify-worker.ts. */
  entry?: string;
}

export class DkimVerifyPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private inFlight = 0;
  private closed = false;
  private readonly maxInFlight: number;
  /** Messages and jobs posted to workers, messages and results back (tests, diagnostics: the batching). */
  readonly traffic = { jobMessages: 0, jobs: 0, resultMessages: 0, results: 0 };

  /** Starts no thread yet: the first message does (a server taking no MX mail never pays for one). */
  constructor(private readonly options: VerifyPoolOptions) {
    this.maxInFlight = options.maxInFlight ?? INBOUND_VERIFY_MAX_IN_FLIGHT;
  }

  /** Workers ready to take jobs (tests wait for them). */
  get ready(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /** Jobs sent and not yet answered. */
  get pending(): number {
    return this.inFlight;
  }

  start(): void {
    if (this.closed || this.slots.length > 0) return;
    for (let i = 0; i < this.options.size; i++) {
      const slot: Slot = { worker: null, ready: false, jobs: new Map(), outbox: [], messages: [] };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  /**
   * The DKIM/ARC pass of one message on the ready worker with the fewest jobs; null when none is ready, the
   * pool is full, or the message is a stream (only bytes or a file path can be handed over). The outcome's DNS
   * questions are answered by `lookup`. Rejects if the worker stops before answering.
   */
  run(message: DkimMessage, sender: string, lookup: MailauthResolver): Promise<DkimOutcome> | null {
    this.start();
    if (this.inFlight >= this.maxInFlight) return null;
    let best: Slot | null = null;
    for (const s of this.slots) {
      if (s.ready && s.worker !== null && (best === null || s.jobs.size < best.jobs.size)) best = s;
    }
    if (best === null) return null;
    let chunks: readonly Buffer[] | null = null;
    let path: string | undefined;
    if (Buffer.isBuffer(message)) chunks = [message];
    else if (Array.isArray(message)) chunks = message as readonly Buffer[];
    else if (typeof (message as { path?: unknown }).path === 'string' && !('pipe' in message)) {
      path = (message as { path: string }).path;
    } else return null;
    const id = this.nextId++;
    const slot = best;
    this.inFlight++;
    const worker = slot.worker!;
    // A worker with nothing in hand starts on this message at once; the messages that follow while it works go
    // together once the poll phase that finished them has finished the others too (setImmediate). Why not all
    // at the poll phase's end: the sessions' messages come in bursts (their 250s leave with one commit), and the
    // burst's first job then waited for the main thread to read the whole burst while the worker sat idle;
    // started at once it overlaps that reading (bench/README.md, inbound checks: ~+9% msgs/s, 3 of 4 pairs).
    // (A job waiting in the outbox is in hand too: `jobs` holds every job from here until it is answered.)
    const idle = slot.jobs.size === 0;
    // A job in hand keeps the process alive until it is answered; an idle pool does not (see spawn).
    if (idle) worker.ref();
    if (slot.outbox.length === 0 && !idle) setImmediate(() => this.flush(slot, []));
    // The bytes are copied when the batch is posted: the spool holds these chunks, unchanged, until the
    // message is stored, which waits for this verification.
    slot.outbox.push(chunks ? { id, sender, at: 0, size: 0 } : { id, sender, path: path! });
    slot.messages.push(chunks);
    const outcome = new Promise<DkimOutcome>((resolve, reject) => {
      const settle = () => {
        slot.jobs.delete(id);
        this.inFlight--;
        if (slot.jobs.size === 0 && slot.worker === worker) worker.unref();
      };
      slot.jobs.set(id, {
        lookup,
        resolve: (o) => (settle(), resolve(o)),
        reject: (e) => (settle(), reject(e)),
      });
    });
    if (idle) this.flush(slot, []);
    return outcome;
  }

  /** Posts the slot's waiting jobs, with `answers`, as one message (ToWorker). */
  private flush(slot: Slot, answers: DnsAnswer[]): void {
    const jobs = slot.outbox;
    // Nothing to send, or the worker stopped (its exit rejected the jobs and emptied the outbox).
    if ((jobs.length === 0 && answers.length === 0) || slot.worker === null) return;
    const bytes = messagesOf(jobs, slot.messages);
    slot.outbox = [];
    slot.messages = [];
    if (bytes) {
      // Moved, not cloned: the worker owns it from here.
      slot.worker.postMessage({ type: 'batch', jobs, answers, bytes } satisfies ToWorker, [
        bytes.buffer as ArrayBuffer,
      ]);
    } else slot.worker.postMessage({ type: 'batch', jobs, answers } satisfies ToWorker);
    if (jobs.length > 0) {
      this.traffic.jobMessages++;
      this.traffic.jobs += jobs.length;
    }
  }

  /** Stops every worker; jobs in hand are rejected (their messages get the checks' 451). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        slot.ready = false;
        if (!worker) return;
        this.flush(slot, []); // the jobs in hand go first, as they were queued
        await stopWorker(worker, { type: 'close' } satisfies ToWorker);
      }),
    );
  }

  private spawn(slot: Slot): void {
    const source = this.options.entry ?? workerModuleSource(import.meta.url, 'verify-worker');
    // Its own young generation, sized for the messages it verifies (config/limits.ts says why).
    const worker = startWorker(
      source,
      { eval: true, resourceLimits: { maxYoungGenerationSizeMb: VERIFY_WORKER_YOUNG_GENERATION.maxMb } },
      { startSemiSpaceMb: VERIFY_WORKER_YOUNG_GENERATION.startSemiSpaceMb },
    );
    slot.worker = worker;
    worker.on('message', (message: FromWorker) => this.onMessage(slot, worker, message));
    // 'error' (an uncaught exception there) is followed by 'exit', which settles the jobs.
    worker.on('error', () => undefined);
    worker.on('exit', (code) => {
      slot.ready = false;
      slot.worker = null;
      // Queued or posted, every job of this worker is lost with it (a new worker starts with an empty outbox).
      slot.outbox = [];
      slot.messages = [];
      const lost = [...slot.jobs.values()];
      for (const job of lost)
        job.reject(new Error(`inbound verify worker exited (${code}) with the message`));
      if (this.closed) return;
      this.options.onWorkerExit?.(code);
      setTimeout(() => {
        if (!this.closed) this.spawn(slot);
      }, this.options.respawnMs ?? INBOUND_VERIFY_RESPAWN_MS).unref();
    });
    // A pool never keeps the process alive by itself (the server's shutdown closes it). After the listeners:
    // adding a 'message' listener refs the worker's port again.
    worker.unref();
  }

  private onMessage(slot: Slot, worker: Worker, message: FromWorker): void {
    if (message.type === 'ready') {
      slot.ready = !this.closed;
      return;
    }
    for (const question of message.questions) this.ask(slot, worker, question);
    if (message.results.length > 0) {
      this.traffic.resultMessages++;
      this.traffic.results += message.results.length;
    }
    for (const result of message.results) {
      const job = slot.jobs.get(result.id);
      if (!job) continue;
      if (result.ok) job.resolve(result.outcome);
      else job.reject(new Error(result.error));
    }
  }

  /** Answers a DNS question of the worker's verifier with the job's resolver, at once (ToWorker says why). */
  private ask(slot: Slot, worker: Worker, question: DnsQuestion): void {
    const job = slot.jobs.get(question.job);
    const answer = (reply: DnsAnswer) => {
      if (slot.worker === worker) this.flush(slot, [reply]);
    };
    if (!job) {
      answer({ id: question.id, ok: false, code: 'ECANCELLED', message: 'job gone' });
      return;
    }
    // With how long the answer stays cached here, so the worker asks again only after its TTL.
    const asked = job.lookup.timed
      ? job.lookup.timed(question.name, question.rrtype)
      : job.lookup(question.name, question.rrtype).then((value) => ({ value, validForMs: 0 }));
    asked.then(
      ({ value, validForMs }) => answer({ id: question.id, ok: true, value, validForMs }),
      (e: unknown) =>
        answer({
          id: question.id,
          ok: false,
          code: (e as { code?: string } | null)?.code,
          message: e instanceof Error ? e.message : String(e),
        }),
    );
  }
}

/**
 * The in-memory messages of a batch's jobs back to back in one new buffer, moved to the worker; sets each such
 * job's `at` and `size`. Undefined when no job of the batch is in memory.
 * - Why a copy and not the chunks' own buffers: the store writes these very chunks to the mailbox after the
 *   checks, and a chunk is often a view of a buffer it shares (Node's allocation pool, the socket's read
 *   buffer), which moving would detach.
 * - Why one buffer per batch: moving a buffer costs more than copying 4 KiB into one (Node 20, 8 jobs of 4.7 KiB
 *   per postMessage: 46 us moving 8 buffers, 24 cloning them, 12 moving one), and each buffer is an allocation.
 */
function messagesOf(
  jobs: PostedJob[],
  messages: readonly (readonly Buffer[] | null)[],
): Uint8Array | undefined {
  let total = 0;
  for (const chunks of messages) if (chunks) for (const c of chunks) total += c.length;
  if (total === 0) return undefined;
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < jobs.length; i++) {
    const chunks = messages[i];
    if (!chunks) continue;
    const job = jobs[i]!;
    job.at = at;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    job.size = at - job.at;
  }
  return out;
}
