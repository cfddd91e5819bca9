// Main-thread CPU per SMTP-like delivery of the server's store (background checkpoints on, 20 deliverers), and the WAL's largest size.
// Run: node --import tsx bench/store-main-cpu.ts [deliveries]   (compare builds in alternating runs)
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

/*
 * Why: bench/run.ts's server CPU per message at load (a) moves with the machine's load by more than a
 * store change saves; this runs the store alone, as the server opens it (backgroundCheckpoints: the WAL
 * checkpointer worker), with deliveries shaped like load (a)'s (4 KiB, a Message-ID, a trace row), and
 * reads the main thread's own CPU time from /proc (the checkpointer's thread is not in it).
 */
const total = Number(process.argv[2] ?? '10000');
const dir = mkdtempSync(join(tmpdir(), 'mailroom-store-cpu-'));
const store = openSqliteStore({ dataDir: dir, backgroundCheckpoints: true });
store.addDomain('example.test');
const bob = store.addAccount('bob@example.test', 'h');
const pad = 'x'.repeat(76) + '\r\n';
/** utime + stime of the main thread (/proc/<pid>/task/<pid>/stat fields 14 and 15, in 10 ms ticks). */
const mainCpuMs = (): number => {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
let maxWal = 0;
const sampler = setInterval(() => {
  try {
    maxWal = Math.max(maxWal, statSync(join(dir, 'mailroom.db-wal')).size);
  } catch {
    // No WAL yet.
  }
}, 50);

async function run(from: number, count: number): Promise<void> {
  let n = from;
  const deliverer = async (): Promise<void> => {
    while (n < from + count) {
      const i = n++;
      const body = Buffer.from(
        `From: <a@remote.example>\r\nSubject: bench message ${i}\r\nMessage-ID: <${i}@bench>\r\n\r\n` +
          pad.repeat(52),
      );
      await store.deliver({
        queueId: `Q${i}`,
        envelope: { sender: 'a@remote.example' },
        traceHeaders: `Received: by bench id Q${i}\r\n`,
        body: { kind: 'memory', chunks: [body], size: body.length },
        receivedAt: new Date(),
        local: [{ accountId: bob.id }],
        remote: [],
        trace: { messageId: `<${i}@bench>`, via: 'mx', recipients: ['bob@example.test'] },
      });
    }
  };
  await Promise.all(Array.from({ length: Number(process.env.DELIVERERS ?? 20) }, deliverer));
}

await run(0, 2000); // warm-up: JIT, the b-trees' first pages
const cpu0 = mainCpuMs();
const process0 = process.cpuUsage();
const t0 = performance.now();
await run(2000, total);
const elapsed = performance.now() - t0;
const cpu = mainCpuMs() - cpu0;
const processCpu = process.cpuUsage(process0);
clearInterval(sampler);
console.log(
  `${total} deliveries, ${((total / elapsed) * 1000).toFixed(0)}/s: main thread ${((cpu / total) * 1000).toFixed(1)} us ` +
    `CPU per delivery, process ${((processCpu.user + processCpu.system) / total).toFixed(1)} us; ` +
    `avg batch ${(store.commitStats.deliveries / store.commitStats.batches).toFixed(1)}`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
