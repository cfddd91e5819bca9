// An inbound verify worker thread: runs the DKIM/ARC pass of messages, asking the main thread for every DNS answer (see verify-pool.ts).
import { parentPort } from 'node:worker_threads';
import { cachedMailauth } from './dkim-keys.js';
import { verifyDkim } from './dkim-verify.js';
import type { FromWorker, ToWorker } from './verify-pool.js';

const port = parentPort!;
let nextDns = 1;
const asked = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

const send = (message: FromWorker) => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    port.close();
    return;
  }
  if (message.type === 'dns') {
    const waiter = asked.get(message.id);
    asked.delete(message.id);
    if (!waiter) return;
    if (message.ok) waiter.resolve(message.value);
    // node:dns's shape: mailauth reads `code` (ENOTFOUND/ENODATA: no record; anything else: temperror).
    else waiter.reject(Object.assign(new Error(message.message), { code: message.code }));
    return;
  }
  const { id, sender } = message;
  // The bytes arrive as a Uint8Array whose buffer this thread now owns: a Buffer view of it, no copy.
  const input = message.bytes
    ? Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength)
    : { path: message.path! };
  const lookup = (name: string, rrtype: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const dns = nextDns++;
      asked.set(dns, { resolve, reject });
      send({ type: 'dns', id: dns, job: id, name, rrtype });
    });
  verifyDkim(input, sender, lookup).then(
    (outcome) => send({ type: 'done', id, outcome }),
    (e: unknown) => send({ type: 'failed', id, error: e instanceof Error ? e.message : String(e) }),
  );
});

// mailauth's verifier is loaded before the first job, so no job waits for it.
cachedMailauth();
send({ type: 'ready' });
