// A JMAP API worker thread: runs requests of read-only method calls on its own read-only SQLite connection (see jmap-workers.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { processRequest, type MethodHandler } from '../jmap/core/engine.js';
import { coreEchoHandler } from '../jmap/core/methods.js';
import { mailMethods } from '../jmap/mail/index.js';
import { silentLogger } from '../observability/logger.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { WORKER_METHODS, type WorkerData, type WorkerJob, type WorkerReply } from './jmap-workers.js';

const data = workerData as WorkerData;
const port = parentPort!;
const store = openSqliteStore({ dataDir: data.dataDir, readOnly: true });
// This connection cannot write: previews computed here go to the main thread, which stores them.
store.jmap.storePreviews = (previews) => port.postMessage({ previews: [...previews] });
// The handlers are the main thread's own (mailMethods); only those of WORKER_METHODS are ever called here.
const all = mailMethods({
  store,
  // Failures go back to the main thread with the reply and are logged there, with the request's context.
  logger: silentLogger(),
  hostname: data.hostname,
  now: () => new Date(),
});
all.set('Core/echo', coreEchoHandler);
const methods = new Map<string, MethodHandler>([...all].filter(([name]) => WORKER_METHODS.has(name)));

port.on('message', (message: WorkerJob | 'close') => {
  if (message === 'close') {
    void store.close().finally(() => port.close());
    return;
  }
  void run(message).then((reply) => port.postMessage(reply));
});

async function run(job: WorkerJob): Promise<WorkerReply> {
  const failures: WorkerReply['failures'] = [];
  try {
    const response = await processRequest(job.request, {
      user: job.user,
      methods,
      limits: job.limits,
      sessionState: job.sessionState,
      onServerFail: (err, method) =>
        failures.push({ method, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    });
    // Serialized here: JSON.stringify of the answer is a good part of a request's cost.
    return { id: job.id, json: JSON.stringify(response), failures };
  } catch (err) {
    return { id: job.id, json: null, failures: [{ method: '', error: String(err) }] };
  }
}

port.postMessage({ ready: true });
