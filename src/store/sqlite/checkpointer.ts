// Runs SQLite WAL checkpoints on a worker thread, so the server's event loop never waits for one.
import { createRequire } from 'node:module';
import type { ResourceLimits } from 'node:worker_threads';
import {
  CHECKPOINTER_YOUNG_GENERATION_MB,
  WAL_CATCH_UP_MAX_WAIT_MS,
  WAL_RESTART_PAGES,
} from '../../config/limits.js';
import { startWorker } from '../../server/worker-thread.js';

/*
 * Why: a checkpoint copies the WAL into the database file and fsyncs both; run by SQLite's
 * auto-checkpoint it happens inside whichever COMMIT crosses the threshold, on the main thread,
 * and stalls every session for that long. The server turns auto-checkpoint off on its own
 * connection and lets this worker (its own connection, same file) checkpoint PASSIVE-ly - it never
 * waits for readers or writers - whenever the WAL has grown past `thresholdPages`.
 * Other processes (the admin CLI) keep SQLite's default auto-checkpoint: their writes are tiny.
 * A PASSIVE pass never waits, so under a steady load it never finds the WAL without new commits, and SQLite
 * restarts a WAL only once all of it is copied: the store holds its commits for one catchUp() pass when the
 * WAL is big (limits.ts WAL_RESTART_PAGES), so the WAL is written over again instead of growing without end.
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
// A wal_checkpoint row { busy, log, checkpointed } (log: the WAL's size in pages) of a pass that copied all of it.
const copiedAll = (row) => !!row && row.busy === 0 && row.checkpointed === row.log;
function later() { timer = setTimeout(tick, workerData.intervalMs); }
function tick() {
  if (stopped) return;
  try {
    let size = 0;
    try { size = statSync(workerData.dbPath + '-wal').size; } catch { size = 0; }
    if (size < workerData.thresholdPages * workerData.pageSize) return later();
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    // row: { busy, log, checkpointed } - log is the WAL size in pages.
    if (row && row.log > workerData.warnPages) parentPort.postMessage({ kind: 'large-wal', pages: row.log });
    // All of the WAL copied but what was committed during the pass: one more pass with the commits held
    // copies the rest, and the next commit then writes the WAL from its start (catchUp below).
    if (copiedAll(row) && row.log >= workerData.restartPages) {
      parentPort.postMessage({ kind: 'restart-ready' });
    }
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: String(error && error.message || error) });
  }
  later();
}
parentPort.on('message', (m) => {
  if (m === 'stop') { stopped = true; clearTimeout(timer); db.close(); parentPort.close(); return; }
  if (m && m.kind === 'catch-up' && !stopped) {
    let complete = false;
    try {
      const [row] = db.pragma('wal_checkpoint(PASSIVE)');
      complete = copiedAll(row);
    } catch (error) {
      parentPort.postMessage({ kind: 'error', message: String(error && error.message || error) });
    }
    parentPort.postMessage({ kind: 'caught-up', id: m.id, complete });
  }
});
later();
`;

export interface Checkpointer {
  stop(): Promise<void>;
  /**
   * One PASSIVE pass now; resolves true when it copied the whole WAL. Called with the commits held (the group
   * committer waits for it), so the WAL does not grow meanwhile and the next commit restarts it (WAL_RESTART_PAGES).
   * Resolves false after `maxWaitMs` without an answer: the worker is gone or stuck, and commits must go on.
   */
  catchUp(maxWaitMs?: number): Promise<boolean>;
  /** The worker's V8 limits (Worker.resourceLimits; for tests and figures). */
  resourceLimits(): ResourceLimits;
  /** Resolves once the worker runs (its bootstrap is over, the heap tuning is applied again). */
  readonly online: Promise<void>;
}

export function startCheckpointer(options: {
  dbPath: string;
  intervalMs?: number;
  thresholdPages?: number;
  /** WAL size in pages from which a pass that copied it all says so (onRestartReady); WAL_RESTART_PAGES. */
  restartPages?: number;
  onProblem?: (message: string) => void;
  /** The last pass copied all of a WAL of restartPages or more but the commits made during it. */
  onRestartReady?: () => void;
}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const thresholdPages = options.thresholdPages ?? 1000;
  const restartPages = options.restartPages ?? WAL_RESTART_PAGES;
  const worker = startWorker(WORKER_SOURCE, {
    eval: true,
    // Its own isolate: V8 would let its young generation grow to 48 MiB for a few objects per tick (issue 12).
    resourceLimits: { maxYoungGenerationSizeMb: CHECKPOINTER_YOUNG_GENERATION_MB },
    workerData: {
      driver,
      dbPath: options.dbPath,
      intervalMs: options.intervalMs ?? 200,
      thresholdPages,
      restartPages,
      // A checkpointer falling behind, not a WAL that is about to be restarted.
      warnPages: Math.max(thresholdPages * 4, restartPages * 2),
      pageSize: 4096,
    },
  });
  worker.unref();
  // After startWorker's heap-tuning listener, so whoever awaits this finds the tuning back in place.
  const online = new Promise<void>((done) => worker.once('online', () => done()));
  let nextId = 0;
  const catchUps = new Map<number, (complete: boolean) => void>();
  worker.on(
    'message',
    (m: { kind: string; message?: string; pages?: number; id?: number; complete?: boolean }) => {
      if (m.kind === 'restart-ready') {
        options.onRestartReady?.();
        return;
      }
      if (m.kind === 'caught-up') {
        catchUps.get(m.id ?? -1)?.(m.complete === true);
        return;
      }
      options.onProblem?.(
        m.kind === 'error' ? `checkpoint failed: ${m.message}` : `WAL is large: ${m.pages} pages`,
      );
    },
  );
  worker.on('error', (error) => options.onProblem?.(`checkpoint worker died: ${error.message}`));
  return {
    resourceLimits: () => worker.resourceLimits ?? {},
    online,
    catchUp(maxWaitMs = WAL_CATCH_UP_MAX_WAIT_MS) {
      const id = nextId++;
      return new Promise<boolean>((resolve) => {
        const finish = (complete: boolean): void => {
          clearTimeout(timer);
          catchUps.delete(id);
          // The worker is unref'd (it never keeps the process up), but whoever waits for its answer must.
          if (catchUps.size === 0) worker.unref();
          resolve(complete);
        };
        const timer = setTimeout(() => finish(false), maxWaitMs);
        catchUps.set(id, finish);
        worker.ref();
        worker.postMessage({ kind: 'catch-up', id });
      });
    },
    async stop() {
      // A pass asked for now would never be answered: whoever waits for one goes on.
      for (const done of [...catchUps.values()]) done(false);
      catchUps.clear();
      const exited = new Promise<void>((done) => worker.once('exit', () => done()));
      worker.ref(); // keep the process alive until the worker has closed its database
      worker.postMessage('stop');
      await Promise.race([exited, new Promise<void>((done) => setTimeout(done, 2000).unref())]);
      await worker.terminate();
    },
  };
}
