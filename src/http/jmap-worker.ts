// A JMAP API worker thread: runs requests of read-only method calls on its own read-only SQLite connection (see jmap-workers.ts).
import { parentPort, workerData } from 'node:worker_threads';
import {
  processRequest,
  type EngineLimits,
  type JmapResponse,
  type JmapUser,
  type MethodHandler,
} from '../jmap/core/engine.js';
import { coreEchoHandler } from '../jmap/core/methods.js';
import { mailMethods } from '../jmap/mail/index.js';
import { silentLogger } from '../observability/logger.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { JMAP_REPLY_BUFFERS } from '../config/limits.js';
import { ByteSink, writeJson } from '../jmap/core/json-bytes.js';
import {
  WORKER_METHODS,
  type WorkerBatch,
  type WorkerData,
  type WorkerJob,
  type WorkerReply,
} from './jmap-workers.js';

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

/** Answer buffers of JMAP_REPLY_BUFFERS.bytes, back from the main thread (jmap-workers.ts WorkerReply says why). */
const spare: ArrayBuffer[] = [];

/** The user and limits of the latest job that carried them (jmap-workers.ts PostedJob). */
let user: JmapUser | null = null;
let limits: EngineLimits | null = null;

/** A job that came without a user or limits and had none to inherit: a bug of the pool, answered as a failure. */
function noContext(id: number): WorkerReply {
  return { id, body: null, fresh: false, failures: [{ method: '', error: 'a job without user or limits' }] };
}

/** Answers not yet posted: sent together once this turn's jobs are done (jmap-workers.ts WorkerBatch says why). */
let outbox: WorkerReply[] = [];

function flush(): void {
  const replies = outbox;
  outbox = [];
  // Moved, not copied: each buffer is the main thread's until it comes back.
  const moved = replies.flatMap((r) => (r.body ? [r.body.buffer as ArrayBuffer] : []));
  port.postMessage({ replies }, moved);
}

port.on('message', (message: WorkerBatch | 'close') => {
  if (message === 'close') {
    void store.close().finally(() => port.close());
    return;
  }
  for (const buffer of message.recycled) {
    if (spare.length < JMAP_REPLY_BUFFERS.spare) spare.push(buffer);
  }
  for (const posted of message.jobs) {
    // Absent: the same as the previous job's (jmap-workers.ts PostedJob).
    if (posted.user) user = posted.user;
    if (posted.limits) limits = posted.limits;
    const job: WorkerJob | null =
      user && limits
        ? { id: posted.id, request: posted.request, sessionState: posted.sessionState, user, limits }
        : null;
    void (job ? run(job) : Promise.resolve(noContext(posted.id))).then((reply) => {
      if (outbox.length === 0) setImmediate(flush);
      outbox.push(reply);
    });
  }
});

/**
 * The Response's JSON as UTF-8, written into a spare buffer (json-bytes.ts: the Email objects Email/get
 * keeps by state are encoded once); an answer larger than that gets a buffer of its own.
 */
function encode(response: JmapResponse): { body: Uint8Array; fresh: boolean } {
  const reused = spare.pop();
  const sink = new ByteSink(reused ?? new ArrayBuffer(JMAP_REPLY_BUFFERS.bytes));
  try {
    writeJson(response, sink);
  } catch (err) {
    if (reused !== undefined) spare.push(reused);
    throw err;
  }
  // Grown past a pool buffer: the answer's own buffer, which the main thread does not keep.
  if (sink.grown && reused !== undefined) spare.push(reused);
  return { body: sink.view(), fresh: reused === undefined || sink.grown };
}

async function run(job: WorkerJob): Promise<WorkerReply> {
  const failures: WorkerReply['failures'] = [];
  try {
    const response = await processRequest(job.request, {
      user: job.user,
      methods,
      limits: job.limits,
      sessionState: job.sessionState,
      // Only WORKER_METHODS are registered here (none writes): the calls may share the states they read.
      readOnly: true,
      onServerFail: (err, method) =>
        failures.push({ method, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    });
    // Serialized and encoded here: the JSON of the answer is a good part of a request's cost.
    return { id: job.id, ...encode(response), failures };
  } catch (err) {
    return { id: job.id, body: null, fresh: false, failures: [{ method: '', error: String(err) }] };
  }
}

port.postMessage({ ready: true });
