// Starting the server's worker threads: one place that keeps the heap tuning and builds the module bootstrap.
import { setFlagsFromString } from 'node:v8';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { WORKER_BOOT_WAIT_MS } from '../config/limits.js';
import { heapTuningActive, keepHeapTuning, restoreHeapTuning } from './heap-tuning.js';

/** What startWorker may size beyond WorkerOptions. */
export interface WorkerHeapStart {
  /**
   * The worker's young generation starts with semi-spaces of this many MiB (V8 takes at most half of
   * resourceLimits.maxYoungGenerationSizeMb's semi-space). Its growth after start follows the process-wide
   * growth factor, which the main thread's cap holds at 1 most of the time (heap-tuning.ts), so a worker
   * that allocates per message must start at the size it works at.
   */
  startSemiSpaceMb?: number;
}

/**
 * The first line of a gated worker's source: it tells the main thread that its heap is made (the gate), and
 * gives its own code the workerData it was started with. A block, so it declares nothing in the source's scope.
 */
const BOOT_SIGNAL =
  "{ const t = require('node:worker_threads'); const w = t.workerData;" +
  ' t.workerData = w.data; Atomics.store(w.gate, 0, 1); Atomics.notify(w.gate, 0); }\n';

/**
 * Every worker thread the server starts goes through here, so that none undoes [limits] heap.
 *
 * Why the wait: V8 sets the young generation's growth factor back to 2 while it makes a new isolate's heap
 * (seen on Node 20), and the flag is the process's, so from then until the cap's 1 is set again the main
 * thread's young generation may grow a step past its cap (heap-tuning.ts). That window was the worker's
 * whole bootstrap (~40 ms, until 'online'), and the step mostly fell in it: the size under load depended on
 * which worker had started when (config/limits.ts YOUNG_GENERATION_CAP_MIB). With a tuning in force, the
 * main thread now waits (Atomics.wait, at most WORKER_BOOT_WAIT_MS) until the worker runs its first line,
 * and sets the flags then: a thread that waits allocates nothing, so no scavenge of its can grow the young
 * generation meanwhile. A worker starts a few times in a server's life (the checkpointer, the JMAP and
 * verify pools, a respawn).
 */
export function startWorker(source: string, options: WorkerOptions, heap: WorkerHeapStart = {}): Worker {
  const gate = heapTuningActive() && options.eval === true ? new Int32Array(new SharedArrayBuffer(4)) : null;
  // --min-semi-space-size is read when the worker's heap is made, on its own thread after `new Worker` returns.
  const sized = heap.startSemiSpaceMb !== undefined;
  if (sized) setFlagsFromString(`--min-semi-space-size=${heap.startSemiSpaceMb}`);
  const worker = gate
    ? new Worker(BOOT_SIGNAL + source, { ...options, workerData: { gate, data: options.workerData } })
    : new Worker(source, options);
  const booted = gate !== null && Atomics.wait(gate, 0, 0, WORKER_BOOT_WAIT_MS) !== 'timed-out';
  if (gate) restoreHeapTuning();
  if (sized) {
    // Set back at once when the worker's heap is known to be made, else once it is online (or gone).
    const reset = () => setFlagsFromString('--min-semi-space-size=0');
    if (booted) reset();
    else {
      worker.once('online', reset);
      worker.once('exit', reset);
    }
  }
  // A worker waited for has had its flags set again above; one not waited for gets them once it is online.
  if (!booted) keepHeapTuning(worker);
  return worker;
}

/**
 * The eval source of a worker that imports `name`.js beside `callerUrl` (the caller's import.meta.url). Run
 * from source under tsx (tests, `node --import tsx`), the worker gets no tsx of its own (loader hooks are per
 * thread), so it registers tsx first and imports the .ts file.
 */
export function workerModuleSource(callerUrl: string, name: string): string {
  const fromSource = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, callerUrl).href;
  return fromSource
    ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`
    : `import(${JSON.stringify(entry)});`;
}

/** How long a worker asked to stop may take to finish what it holds before it is terminated. */
const WORKER_STOP_GRACE_MS = 2_000;

/** Asks a worker to stop with `message` (it exits on its own) and waits for its exit; terminated after a grace period. */
export async function stopWorker(worker: Worker, message: unknown): Promise<void> {
  const exited = new Promise<void>((done) => worker.once('exit', () => done()));
  worker.postMessage(message);
  const timer = setTimeout(() => void worker.terminate(), WORKER_STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
