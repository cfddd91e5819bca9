// SMTP load (a) against an in-process server: bytes allocated per message (a figure the machine's load does not move), batches, fsyncs.
// Run: node --import tsx bench/smtp-alloc.ts [--messages N] [--sessions S] [--top N] > /dev/null   (the server's log goes to stdout)
import { mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfigText } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server/serve.js';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { runLoad } from './smtp/load.js';

/*
 * Why: server CPU ms per message (bench/run.ts) moves with the machine's load by more than most single
 * changes save, so comparing two builds on a shared machine needs a figure that does not. Allocation does
 * not: V8's sampling heap profiler, told to keep the objects the GC collected, reports every sampled
 * allocation with its stack; the bytes under frames of src/ are the server's (the generator runs in this
 * process too, under bench/). Young-generation GC work grows with it (a scavenge every semi-space worth).
 */

const { values: opt } = parseArgs({
  options: {
    messages: { type: 'string', default: '3000' },
    sessions: { type: 'string', default: '20' },
    size: { type: 'string', default: '4096' },
    top: { type: 'string', default: '0' }, // N: also list the N functions allocating most under server code
  },
});
const messages = Number(opt.messages);
const sessions = Number(opt.sessions);
const size = Number(opt.size);
const say = (line: string): void => void process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'mailroom-smtp-alloc-'));
const config = parseConfigText(
  [
    'hostname = "mx.bench.test"',
    `data_dir = "${dir}"`,
    '[smtp]\nlisten = ["127.0.0.1:0"]',
    ...['submission', 'submissions', 'pop3', 'pop3s', 'imap', 'imaps', 'http', 'https', 'metrics'].map(
      (s) => `[${s}]\nlisten = []`,
    ),
  ].join('\n'),
  { configPath: null, baseDir: dir, defaultHostname: 'x' },
);
// The server's own logger (stdout, info): its lines are part of what a message costs.
const server = await startServer({ config, logger: createLogger({ level: 'info' }) });
server.store.addDomain('bench.test');
server.store.addAccount('bob@bench.test', 'not-used');
const port = server.addresses.smtp![0]!.port;
const load = (n: number) =>
  runLoad({
    host: '127.0.0.1',
    port,
    sessions,
    messages: n,
    size,
    perConnection: 'many',
    from: 'load@remote.example',
    to: 'bob@bench.test',
    deadlineMs: 120_000,
  });

await load(Math.min(2000, messages)); // warm-up: JIT, caches, the young generation's size
const store = server.store as SqliteStore;
const before = { ...store.commitStats };
const inspector = new Session();
inspector.connect();
await inspector.post('HeapProfiler.startSampling', {
  samplingInterval: 1024,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const result = await load(messages);
const { profile } = await inspector.post('HeapProfiler.stopSampling');
inspector.disconnect();
const after = store.commitStats;

interface ProfileNode {
  callFrame: { url: string; functionName: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}
let all = 0;
let underServer = 0;
// A node's bytes are the server's when a frame of src/ is on its stack (Node internals called from it too).
const bySite = new Map<string, number>();
const walk = (node: ProfileNode, inServer: boolean): void => {
  const here = inServer || node.callFrame.url.includes('/src/');
  all += node.selfSize;
  if (here) {
    underServer += node.selfSize;
    const { functionName, url, lineNumber } = node.callFrame;
    const site = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, here);
};
walk(profile.head as unknown as ProfileNode, false);
const kib = (bytes: number): string => (bytes / result.accepted / 1024).toFixed(1);
const batches = after.batches - before.batches;
say(
  `accepted ${result.accepted}/${messages} (${sessions} sessions, ${size} B): ` +
    `allocated ${kib(underServer)} KiB/msg under server code (${kib(all)} KiB/msg in all, generator included); ` +
    `${batches} commits, ${((after.deliveries - before.deliveries) / batches).toFixed(1)} deliveries each`,
);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(opt.top))) {
  say(`  ${kib(bytes).padStart(6)} KiB/msg  ${site}`);
}
await server.shutdown();
rmSync(dir, { recursive: true, force: true });
