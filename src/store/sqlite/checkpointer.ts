// Runs SQLite WAL checkpoints on a worker thread, so the server's event loop never waits for one.
import { createRequire } from 'node:module';
import type { ResourceLimits } from 'node:worker_threads';
import { CHECKPOINTER_YOUNG_GENERATION_MB } from '../../config/limits.js';
import { startWorker } from '../../server/worker-thread.js';

/*
 * Why: a checkpoint copies the WAL into the database file and fsyncs both; run by SQLite's
 * auto-checkpoint it happens inside whichever COMMIT crosses the threshold, on the main thread,
 * and stalls every session for that long. The server turns auto-checkpoint off on its own
 * connection and lets this worker (its own connection, same file) checkpoint PASSIVE-ly - it never
 * waits for readers or writers - whenever the WAL has grown past `thresholdPages`.
 * Other processes (the admin CLI) keep SQLite's default auto-checkpoint: their writes are tiny.
 *
 * The worker is plain CommonJS evaluated from a string so it runs the same from dist/ and under tsx.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.dbPath, { timeout: 5000 });
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
let stopped = false;
let timer = null;
function later() { timer = setTimeout(tick, workerData.intervalMs); }
function tick() {
  if (stopped) return;
  try {
    let size = 0;
    try { size = statSync(workerData.dbPath + '-wal').size; } catch { size = 0; }
    if (size < workerData.thresholdPages * workerData.pageSize) return later();
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    // row: { busy, log, checkpointed } - log is the WAL size in pages.
    if (row && row.log > workerData.thresholdPages * 4) parentPort.postMessage({ kind: 'large-wal', pages: row.log });
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: String(error && error.message || error) });
  }
  later();
}
parentPort.on('message', (m) => {
  if (m === 'stop') { stopped = true; clearTimeout(timer); db.close(); parentPort.close(); }
});
later();
`;

export interface Checkpointer {
  stop(): Promise<void>;
  /** The worker's V8 limits (Worker.resourceLimits; for tests and figures). */
  resourceLimits(): ResourceLimits;
  /** Resolves once the worker runs (its bootstrap is over, the heap tuning is applied again). */
  readonly online: Promise<void>;
}

export function startCheckpointer(options: {
  dbPath: string;
  intervalMs?: number;
  thresholdPages?: number;
  onProblem?: (message: string) => void;
}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = startWorker(WORKER_SOURCE, {
    eval: true,
    // Its own isolate: V8 would let its young generation grow to 48 MiB for a few objects per tick (issue 12).
    resourceLimits: { maxYoungGenerationSizeMb: CHECKPOINTER_YOUNG_GENERATION_MB },
    workerData: {
      driver,
      dbPath: options.dbPath,
      intervalMs: options.intervalMs ?? 200,
      thresholdPages: options.thresholdPages ?? 1000,
      pageSize: 4096,
    },
  });
  worker.unref();
  // After startWorker's heap-tuning listener, so whoever awaits this finds the tuning back in place.
  const online = new Promise<void>((done) => worker.once('online', () => done()));
  worker.on('message', (m: { kind: string; message?: string; pages?: number }) => {
    options.onProblem?.(
      m.kind === 'error' ? `checkpoint failed: ${m.message}` : `WAL is large: ${m.pages} pages`,
    );
  });
  worker.on('error', (error) => options.onProblem?.(`checkpoint worker died: ${error.message}`));
  return {
    resourceLimits: () => worker.resourceLimits ?? {},
    online,
    async stop() {
      const exited = new Promise<void>((done) => worker.once('exit', () => done()));
      worker.ref(); // keep the process alive until the worker has closed its database
      worker.postMessage('stop');
      await Promise.race([exited, new Promise<void>((done) => setTimeout(done, 2000).unref())]);
      await worker.terminate();
    },
  };
}
