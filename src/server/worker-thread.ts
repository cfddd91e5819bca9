// Starting the server's worker threads: one place that keeps the heap tuning and builds the module bootstrap.
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { keepHeapTuning } from './heap-tuning.js';

/**
 * Every worker thread the server starts goes through here: a starting worker sets V8's flags back to their
 * start-up values, so [limits] heap is applied again once it runs (heap-tuning.ts keepHeapTuning).
 */
export function startWorker(source: string, options: WorkerOptions): Worker {
  const worker = new Worker(source, options);
  keepHeapTuning(worker);
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
