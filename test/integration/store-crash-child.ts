// Child of store-crash.test.ts: delivers in a loop with concurrent deliverers, printing each id once deliver() resolved.
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { SpooledBody } from '../../src/store/store.js';

const [dataDir, round, deliverersArg] = process.argv.slice(2);
if (!dataDir || !round) throw new Error('usage: store-crash-child DATA_DIR ROUND [DELIVERERS]');
const deliverers = Number(deliverersArg ?? '10');

// A small inline limit so that some bodies take the file path (write, fsync, rename, dir fsync).
const store = openSqliteStore({ dataDir, inlineMaxBytes: 2048 });
if (!store.isLocalDomain('example.test')) store.addDomain('example.test');
const bob = store.getAccount('bob@example.test') ?? store.addAccount('bob@example.test', 'h');
process.stdout.write(`ready ${JSON.stringify(store.orphansRemoved)}\n`);

let next = 0;
async function deliverer(): Promise<never> {
  for (;;) {
    const id = `r${round}-${next++}`;
    const filler = next % 4 === 0 ? 'x'.repeat(6000) : 'y'.repeat(100);
    const text = `X-Id: ${id}\r\nSubject: crash\r\n\r\n${filler}\r\n`;
    const body: SpooledBody = { kind: 'memory', chunks: [Buffer.from(text)], size: Buffer.byteLength(text) };
    await store.deliver({
      queueId: `Q${id}`,
      envelope: { sender: 'load@remote.example' },
      traceHeaders: `Received: by crash.test id Q${id}\r\n`,
      body,
      receivedAt: new Date(),
      local: [{ accountId: bob.id }],
      remote: next % 10 === 0 ? [{ address: 'far@remote.example' }] : [],
    });
    // Synchronous on Linux pipes: once written, the parent has it even if we are killed next.
    process.stdout.write(`ok ${id}\n`);
  }
}
await Promise.all(Array.from({ length: deliverers }, deliverer));
