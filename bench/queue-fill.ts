// Fills a relay's data_dir with N deferred queue entries through the Store API of a given build (queue-scale figures).
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The slice of the Store API the fill uses; typed here so any build's dist (old or new) can be loaded. */
interface FillStore {
  deliver(request: {
    queueId: string;
    envelope: { sender: string };
    traceHeaders: string;
    body: { kind: 'memory'; chunks: Buffer[]; size: number };
    receivedAt: Date;
    local: never[];
    remote: { address: string }[];
  }): Promise<void>;
  queue: {
    recordResults(
      queueId: string,
      updates: {
        address: string;
        state: 'deferred';
        attempts: number;
        nextAttemptAt: Date;
        lastError: string;
        attemptAt: Date;
        dsn: null;
      }[],
    ): { retired: boolean };
  };
  close(): Promise<void>;
}

/**
 * Opens the store of the build whose CLI is `cli` (its dist/store/sqlite/sqlite-store.js, so the schema
 * matches the server that will run) and queues `count` messages with `rcpts` recipients each at `domain`,
 * each recorded as deferred after one attempt, next attempt `deferForMs` away: what a queue looks like
 * after a destination has been down for a while. Deliveries go in concurrent batches (group commit).
 */
export async function fillDeferred(o: {
  cli: string;
  dataDir: string;
  count: number;
  rcpts: number;
  domain: string;
  deferForMs: number;
  size: number;
}): Promise<{ ms: number }> {
  const url = pathToFileURL(join(dirname(o.cli), 'store', 'sqlite', 'sqlite-store.js')).href;
  const mod = (await import(url)) as { openSqliteStore(o: { dataDir: string }): FillStore };
  const store = mod.openSqliteStore({ dataDir: o.dataDir });
  const started = Date.now();
  const body = Buffer.from(
    `From: filler@relay.bench.test\r\nTo: someone@${o.domain}\r\nSubject: deferred\r\n\r\n` +
      'x'.repeat(Math.max(0, o.size - 80)) +
      '\r\n',
  );
  const BATCH = 500;
  try {
    for (let base = 0; base < o.count; base += BATCH) {
      const now = new Date();
      const ids: string[] = [];
      const work: Promise<void>[] = [];
      for (let i = base; i < Math.min(o.count, base + BATCH); i++) {
        const queueId = `DEFER${String(i).padStart(8, '0')}`;
        ids.push(queueId);
        work.push(
          store.deliver({
            queueId,
            envelope: { sender: 'filler@relay.bench.test' },
            traceHeaders: '',
            body: { kind: 'memory', chunks: [body], size: body.length },
            receivedAt: now,
            local: [],
            remote: Array.from({ length: o.rcpts }, (_, j) => ({ address: `q${i}r${j}@${o.domain}` })),
          }),
        );
      }
      await Promise.all(work);
      const next = new Date(now.getTime() + o.deferForMs);
      for (const [k, queueId] of ids.entries()) {
        const i = base + k;
        store.queue.recordResults(
          queueId,
          Array.from({ length: o.rcpts }, (_, j) => ({
            address: `q${i}r${j}@${o.domain}`,
            state: 'deferred' as const,
            attempts: 1,
            nextAttemptAt: next,
            lastError: '451 4.3.0 bench: deferred on purpose',
            attemptAt: now,
            dsn: null,
          })),
        );
      }
    }
  } finally {
    await store.close();
  }
  return { ms: Date.now() - started };
}
