// An inbound verify worker thread: runs the DKIM/ARC pass of messages, asking the main thread for every DNS answer (see verify-pool.ts).
import { parentPort } from 'node:worker_threads';
import { DKIM_KEY_CACHE_ENTRIES, INBOUND_VERIFY_RESULT_CHUNK } from '../config/limits-trust.js';
import { cachedMailauth } from './dkim-keys.js';
import { verifyDkim } from './dkim-verify.js';
import type { DnsAnswer, DnsQuestion, FromWorker, JobResult, PostedJob, ToWorker } from './verify-pool.js';

const port = parentPort!;
let nextDns = 1;
const asked = new Map<
  number,
  { resolve(value: unknown): void; reject(error: Error): void; key: string; sentAt: number }
>();
/**
 * Answers kept until the main thread's resolver would drop them: `until` counts their remaining TTL from when
 * the question was sent (before the main thread measured it), so never later than there. Errors are not kept.
 */
const answers = new Map<string, { value: unknown; until: number }>();

const send = (message: FromWorker) => port.postMessage(message);

/** Results not yet posted (see finish). */
let outbox: JobResult[] = [];

/** Posts the waiting results, with `questions` (never held back: a verification waits for their answers). */
function flush(questions: DnsQuestion[]): void {
  if (outbox.length === 0 && questions.length === 0) return;
  const results = outbox;
  outbox = [];
  send({ type: 'batch', results, questions });
}

/**
 * In-memory messages not yet started. They run one at a time, so they finish one after another and the first
 * results can go back while the others are verified (INBOUND_VERIFY_RESULT_CHUNK says why); started together,
 * a batch's verifications interleaved and all finished at its end.
 */
const waiting: { job: PostedJob; bytes: Uint8Array }[] = [];
/** An in-memory message is being verified and is not waiting for the main thread (see `start`). */
let busy = false;

/** Results go back in chunks, and whenever nothing is left to start (no result waits on work not yet begun). */
function finish(result: JobResult): void {
  outbox.push(result);
  if (outbox.length >= INBOUND_VERIFY_RESULT_CHUNK || waiting.length === 0) flush([]);
}

function startWaiting(): void {
  while (!busy) {
    const next = waiting.shift();
    if (!next) return;
    busy = true;
    let released = false;
    // Called once: when the job is done, or when it first waits for a DNS answer (a round trip to the main
    // thread, or a resolver's timeout): the next message need not wait for that.
    start(next.job, next.bytes, () => {
      if (released) return;
      released = true;
      busy = false;
      startWaiting();
    });
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    port.close();
    return;
  }
  // Answers first: they were asked for by the verifications already running.
  for (const answer of message.answers) settle(answer);
  for (const job of message.jobs) {
    // A spool file is read with real I/O waits: such a job starts at once and interleaves with the others.
    if (job.path !== undefined) start(job, undefined, () => undefined);
    else waiting.push({ job, bytes: message.bytes! });
  }
  startWaiting();
});

function settle(message: DnsAnswer): void {
  const waiter = asked.get(message.id);
  asked.delete(message.id);
  if (!waiter) return;
  if (message.ok) {
    if (message.validForMs > 0) {
      if (answers.size >= DKIM_KEY_CACHE_ENTRIES) answers.delete(answers.keys().next().value!);
      answers.set(waiter.key, { value: message.value, until: waiter.sentAt + message.validForMs });
    }
    waiter.resolve(message.value);
  }
  // node:dns's shape: mailauth reads `code` (ENOTFOUND/ENODATA: no record; anything else: temperror).
  else waiter.reject(Object.assign(new Error(message.message), { code: message.code }));
}

/** Verifies one message; `release` is called when it no longer holds the thread (see startWaiting). */
function start(message: PostedJob, bytes: Uint8Array | undefined, release: () => void): void {
  const { id, sender } = message;
  // The batch's messages arrive in one Uint8Array whose buffer this thread now owns: a Buffer view of this
  // job's part of it, no copy.
  const input =
    message.path === undefined
      ? Buffer.from(bytes!.buffer, bytes!.byteOffset + message.at!, message.size!)
      : { path: message.path };
  const lookup = (name: string, rrtype: string): Promise<unknown> => {
    const key = `${rrtype} ${name.toLowerCase()}`;
    const kept = answers.get(key);
    if (kept) {
      if (performance.now() < kept.until) return Promise.resolve(kept.value);
      answers.delete(key);
    }
    return new Promise((resolve, reject) => {
      const dns = nextDns++;
      asked.set(dns, { resolve, reject, key, sentAt: performance.now() });
      flush([{ id: dns, job: id, name, rrtype }]);
      release();
    });
  };
  verifyDkim(input, sender, lookup).then(
    (outcome) => (finish({ id, ok: true, outcome }), release()),
    (e: unknown) => (finish({ id, ok: false, error: e instanceof Error ? e.message : String(e) }), release()),
  );
}

// mailauth's verifier is loaded before the first job, so no job waits for it.
cachedMailauth();
send({ type: 'ready' });
