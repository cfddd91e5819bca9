// The inbound DKIM/ARC worker pool: the CPU-heavy part of the MX checks runs on worker threads; DNS stays on the main thread.
import type { Worker } from 'node:worker_threads';
import { INBOUND_VERIFY_MAX_IN_FLIGHT, INBOUND_VERIFY_RESPAWN_MS } from '../config/limits-trust.js';
import { startWorker, workerModuleSource } from '../server/worker-thread.js';
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
 * - A worker that stops with jobs in hand rejects them: those messages get the checks' 451 (never a pass).
 *   Until a worker is ready (start-up, the respawn after a crash), or when the jobs in hand reach
 *   INBOUND_VERIFY_MAX_IN_FLIGHT, `run` returns null and the caller verifies on the main thread.
 */

/** main -> worker */
export type ToWorker =
  | { type: 'job'; id: number; sender: string; bytes?: Uint8Array; path?: string }
  | { type: 'dns'; id: number; ok: true; value: unknown; validForMs: number }
  | { type: 'dns'; id: number; ok: false; code: string | undefined; message: string }
  | { type: 'close' };

/** worker -> main */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'dns'; id: number; job: number; name: string; rrtype: string }
  | { type: 'done'; id: number; outcome: DkimOutcome }
  | { type: 'failed'; id: number; error: string };

interface Job {
  lookup: MailauthResolver;
  resolve(outcome: DkimOutcome): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker | null;
  ready: boolean;
  jobs: Map<number, Job>;
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
      const slot: Slot = { worker: null, ready: false, jobs: new Map() };
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
    let bytes: Uint8Array | undefined;
    let path: string | undefined;
    if (Buffer.isBuffer(message)) bytes = copyOf([message]);
    else if (Array.isArray(message)) bytes = copyOf(message as readonly Buffer[]);
    else if (typeof (message as { path?: unknown }).path === 'string' && !('pipe' in message)) {
      path = (message as { path: string }).path;
    } else return null;
    const id = this.nextId++;
    const slot = best;
    this.inFlight++;
    const worker = slot.worker!;
    // A job in hand keeps the process alive until it is answered; an idle pool does not (see spawn).
    if (slot.jobs.size === 0) worker.ref();
    return new Promise<DkimOutcome>((resolve, reject) => {
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
      const job: ToWorker = { type: 'job', id, sender, ...(bytes ? { bytes } : { path: path! }) };
      // The copy's buffer is moved, not cloned: the worker owns it from here.
      worker.postMessage(job, bytes ? [bytes.buffer as ArrayBuffer] : []);
    });
  }

  /** Stops every worker; jobs in hand are rejected (their messages get the checks' 451). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        slot.ready = false;
        if (!worker) return;
        const exited = new Promise<void>((done) => worker.once('exit', () => done()));
        worker.postMessage({ type: 'close' } satisfies ToWorker);
        const timer = setTimeout(() => void worker.terminate(), 2_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private spawn(slot: Slot): void {
    const source = this.options.entry ?? workerModuleSource(import.meta.url, 'verify-worker');
    const worker = startWorker(source, { eval: true });
    slot.worker = worker;
    worker.on('message', (message: FromWorker) => this.onMessage(slot, worker, message));
    // 'error' (an uncaught exception there) is followed by 'exit', which settles the jobs.
    worker.on('error', () => undefined);
    worker.on('exit', (code) => {
      slot.ready = false;
      slot.worker = null;
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
    if (message.type === 'dns') {
      const job = slot.jobs.get(message.job);
      const answer = (reply: ToWorker) => {
        if (slot.worker === worker) worker.postMessage(reply);
      };
      if (!job) {
        answer({ type: 'dns', id: message.id, ok: false, code: 'ECANCELLED', message: 'job gone' });
        return;
      }
      // With how long the answer stays cached here, so the worker asks again only after its TTL.
      const asked = job.lookup.timed
        ? job.lookup.timed(message.name, message.rrtype)
        : job.lookup(message.name, message.rrtype).then((value) => ({ value, validForMs: 0 }));
      asked.then(
        ({ value, validForMs }) => answer({ type: 'dns', id: message.id, ok: true, value, validForMs }),
        (e: unknown) =>
          answer({
            type: 'dns',
            id: message.id,
            ok: false,
            code: (e as { code?: string } | null)?.code,
            message: e instanceof Error ? e.message : String(e),
          }),
      );
      return;
    }
    const job = slot.jobs.get(message.id);
    if (!job) return;
    if (message.type === 'done') job.resolve(message.outcome);
    else job.reject(new Error(message.error));
  }
}

/** The message's bytes in one new buffer of its own (moved to the worker, so never a view of a shared pool). */
function copyOf(chunks: readonly Buffer[]): Uint8Array {
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
