// An inbound verify worker thread: runs the DKIM/ARC pass of messages, asking the main thread for every DNS answer (see verify-pool.ts).
import { parentPort } from 'node:worker_threads';
import { DKIM_KEY_CACHE_ENTRIES } from '../config/limits-trust.js';
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

/** Results not yet posted: sent together once this turn's verifications are done (verify-pool.ts ToWorker). */
let outbox: JobResult[] = [];

/** Posts the waiting results, with `questions` (never held back: a verification waits for their answers). */
function flush(questions: DnsQuestion[]): void {
  if (outbox.length === 0 && questions.length === 0) return;
  const results = outbox;
  outbox = [];
  send({ type: 'batch', results, questions });
}

function finish(result: JobResult): void {
  if (outbox.length === 0) setImmediate(() => flush([]));
  outbox.push(result);
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    port.close();
    return;
  }
  // Answers first: they were asked for by the verifications already running.
  for (const answer of message.answers) settle(answer);
  for (const job of message.jobs) run(job, message.bytes);
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

function run(message: PostedJob, bytes: Uint8Array | undefined): void {
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
    });
  };
  verifyDkim(input, sender, lookup).then(
    (outcome) => finish({ id, ok: true, outcome }),
    (e: unknown) => finish({ id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
}

// mailauth's verifier is loaded before the first job, so no job waits for it.
cachedMailauth();
send({ type: 'ready' });
