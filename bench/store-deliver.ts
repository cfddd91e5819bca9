// Micro-benchmark of SqliteStore.deliver(): N concurrent deliverers, msgs/s and p50/p99 latency, inline vs file bodies.
// Run: node --import tsx bench/store-deliver.ts [seconds-per-case]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

interface Case {
  name: string;
  deliverers: number;
  bodyBytes: number;
  inlineMaxBytes: number;
}

const seconds = Number(process.argv[2] ?? '3');

async function run(c: Case): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-bench-'));
  const store = openSqliteStore({ dataDir, inlineMaxBytes: c.inlineMaxBytes });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h');
  const body = Buffer.alloc(c.bodyBytes, 'a');
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  let n = 0;
  async function deliverer(): Promise<void> {
    while (performance.now() < until) {
      const id = n++;
      const t0 = performance.now();
      await store.deliver({
        queueId: `Q${id}`,
        envelope: { sender: 'load@remote.example' },
        traceHeaders: `Received: by bench id Q${id}\r\n`,
        body: { kind: 'memory', chunks: [body], size: body.length },
        receivedAt: new Date(),
        local: [{ accountId: bob.id }],
        remote: [],
      });
      latencies.push(performance.now() - t0);
    }
  }
  const start = performance.now();
  await Promise.all(Array.from({ length: c.deliverers }, deliverer));
  const elapsed = (performance.now() - start) / 1000;
  const stats = store.commitStats;
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const pct = (p: number): string =>
    (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(2);
  console.log(
    `${c.name.padEnd(44)} ${String(Math.round(latencies.length / elapsed)).padStart(7)} msgs/s  ` +
      `p50 ${pct(0.5).padStart(6)} ms  p99 ${pct(0.99).padStart(6)} ms  ` +
      `avg batch ${(stats.deliveries / stats.batches).toFixed(1)}`,
  );
}

const KiB = 1024;
const cases: Case[] = [
  // The figure the brief asks for: 20 concurrent deliverers of 4 KiB, inline (one WAL fsync per batch).
  { name: '20 x 4 KiB, inline (default)', deliverers: 20, bodyBytes: 4 * KiB, inlineMaxBytes: 64 * KiB },
  // The peer: the same load with every body as a file (fsync per file + directory fsync per batch).
  { name: '20 x 4 KiB, as files', deliverers: 20, bodyBytes: 4 * KiB, inlineMaxBytes: 0 },
  // One deliverer: what a single sequential session pays (one commit per message).
  { name: ' 1 x 4 KiB, inline', deliverers: 1, bodyBytes: 4 * KiB, inlineMaxBytes: 64 * KiB },
  // Where to put the inline limit: the same sizes both ways.
  { name: '20 x 64 KiB, inline', deliverers: 20, bodyBytes: 64 * KiB, inlineMaxBytes: 1024 * KiB },
  { name: '20 x 64 KiB, as files', deliverers: 20, bodyBytes: 64 * KiB, inlineMaxBytes: 0 },
  { name: '20 x 128 KiB, inline', deliverers: 20, bodyBytes: 128 * KiB, inlineMaxBytes: 1024 * KiB },
  { name: '20 x 128 KiB, as files', deliverers: 20, bodyBytes: 128 * KiB, inlineMaxBytes: 0 },
  { name: '20 x 512 KiB, inline', deliverers: 20, bodyBytes: 512 * KiB, inlineMaxBytes: 1024 * KiB },
  { name: '20 x 512 KiB, as files', deliverers: 20, bodyBytes: 512 * KiB, inlineMaxBytes: 0 },
];

const only = process.env.BENCH_CASES?.split(',');
for (const c of cases) if (!only || only.some((o) => c.name.includes(o))) await run(c);
