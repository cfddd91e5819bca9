// JMAP bench (issue 9): 20 clients ask for the newest 50 of a 100,000-message INBOX over JMAP vs Dovecot's IMAP FETCH; idle EventSource memory.
// Run: npm run build && node --import tsx bench/jmap.ts [--quick] [--rounds N] ... (--help; bench/README.md)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ratio } from './lib/stats.js';
import { fmt, table } from './lib/table.js';
import { freePort, sleep } from './lib/wait.js';
import { fillMaildir, fillMailroom } from './imap/fill.js';
import { idleStreams, imapPages, jmapPages, PAGE, type IdleFigures, type PageFigures } from './jmap/load.js';
import { dovecotVersion, startDovecot, type DovecotServer } from './peers/dovecot.js';
import { startMailroom, type MailroomServer } from './peers/mailroom.js';
import type { BenchServer } from './peers/server.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DOMAIN = 'example.test';
const PASSWORD = 'bench-password';
const USER = `big@${DOMAIN}`;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' },
    clients: { type: 'string', default: '20' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    // Untimed seconds of the same loop per server before the rounds (JIT, worker threads, caches).
    warmup: { type: 'string' },
    streams: { type: 'string' },
    // [limits] jmap_workers of our server (JMAP API worker threads); absent: its default (cores - 1).
    'jmap-workers': { type: 'string' },
    // Writes a V8 CPU profile of the server (node --cpu-prof) into this directory at its exit.
    'cpu-prof': { type: 'string' },
    // Node/V8 flags for our server process only, space-separated (e.g. "--semi-space-growth-factor=1",
    // which NODE_OPTIONS does not take): compares GC settings without a rebuild.
    'server-node-args': { type: 'string' },
    'no-dovecot': { type: 'boolean', default: false },
    'no-ours': { type: 'boolean', default: false },
    cli: { type: 'string' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(
    'usage: node --import tsx bench/jmap.ts [--quick] [--messages N] [--clients C] [--seconds S] [--rounds R] [--warmup S]\n' +
      '       [--streams N] [--jmap-workers N] [--cpu-prof DIR] [--server-node-args=FLAGS] [--no-dovecot] [--no-ours] [--cli dist/cli.js] [--json FILE] [--keep]\n',
  );
  process.exit(0);
}
const int = (name: string, text: string, min: number, max: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`jmap bench: --${name} must be a whole number from ${min} to ${max}, got ${text}\n`);
    process.exit(2);
  }
  return n;
};
// --quick keeps the 100,000 messages (the goal is about a big mailbox) and shortens the loops.
const COUNT = int('messages', opt.messages ?? '100000', PAGE, 10_000_000);
const CLIENTS = int('clients', opt.clients, 1, 1000);
const SECONDS = int('seconds', opt.seconds ?? (opt.quick ? '5' : '10'), 1, 3600);
const ROUNDS = int('rounds', opt.rounds ?? (opt.quick ? '1' : '3'), 1, 20);
const WARMUP = int('warmup', opt.warmup ?? '2', 0, 600);
const STREAMS = int('streams', opt.streams ?? '1000', 0, 20_000);
const WORKERS =
  opt['jmap-workers'] === undefined ? undefined : int('jmap-workers', opt['jmap-workers'], 0, 64);
const CLI = opt.cli ?? join(HERE, '..', 'dist', 'cli.js');
const log = (s: string): void => void process.stderr.write(`jmap bench: ${s}\n`);

const isRoot = process.getuid?.() === 0;
let dcVersion = dovecotVersion();
if (!dcVersion && !opt['no-dovecot'] && isRoot) {
  log('dovecot not found: installing dovecot-imapd (bench/setup-peers.sh dovecot)');
  spawnSync('sh', [join(HERE, 'setup-peers.sh'), 'dovecot'], { stdio: ['ignore', 2, 2] });
  dcVersion = dovecotVersion();
}
const withDovecot = !opt['no-dovecot'] && isRoot && dcVersion !== null;
const noPeerWhy = opt['no-dovecot']
  ? '--no-dovecot'
  : !isRoot
    ? 'not root: cannot run a private Dovecot'
    : 'dovecot-imapd is not installed';

const active = new Set<BenchServer>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void Promise.allSettled([...active].map((s) => s.stop())).then(() => process.exit(130));
  });
}

const notes: string[] = [];
const runs: Record<'mailroom' | 'dovecot', PageFigures[]> = { mailroom: [], dovecot: [] };
let idle: IdleFigures | null = null;
const since = (t0: number): string => fmt((performance.now() - t0) / 1000, 1);

async function main(): Promise<void> {
  let ours: MailroomServer | null = null;
  let httpPort = 0;
  let dc: DovecotServer | null = null;
  if (!opt['no-ours']) {
    const t0 = performance.now();
    httpPort = await freePort();
    ours = await startMailroom({
      cli: CLI,
      port: await freePort(),
      httpPort,
      nodeArgs: [
        ...(opt['server-node-args']?.split(/\s+/).filter((a) => a !== '') ?? []),
        ...(opt['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', opt['cpu-prof']] : []),
      ],
      domain: DOMAIN,
      user: 'big',
      maxConnections: CLIENTS + STREAMS + 100,
      ...(WORKERS === undefined ? {} : { jmapWorkers: WORKERS }),
      keep: opt.keep,
      prefill: (dataDir) => fillMailroom({ cli: CLI, dataDir, mailboxes: [{ address: USER, count: COUNT }] }),
    });
    active.add(ours);
    notes.push(`mailroom: filled (store API) and started in ${since(t0)} s`);
    log(notes[notes.length - 1] as string);
  }
  if (withDovecot) {
    const t0 = performance.now();
    dc = await startDovecot({
      imapPort: await freePort(),
      imapsPort: await freePort(),
      users: [{ login: USER, password: PASSWORD }],
      maxUserIpConnections: CLIENTS + 10,
      keep: opt.keep,
      prefill: async (maildirOf) => fillMaildir(maildirOf(USER), COUNT),
    });
    active.add(dc);
    notes.push(`dovecot ${dc.version}: Maildir written and started in ${since(t0)} s`);
    log(notes[notes.length - 1] as string);
  }
  const jmapTarget = ours && {
    port: httpPort,
    user: USER,
    password: PASSWORD,
    count: COUNT,
    cpuSeconds: () => ours.cpuSeconds(),
    mainCpuSeconds: () => ours.mainThreadCpuSeconds(),
    memoryKiB: () => ours.memoryKiB(),
  };
  const imapTarget = dc && {
    endpoint: { host: '127.0.0.1', port: dc.imapPort, tls: false },
    user: USER,
    password: PASSWORD,
    count: COUNT,
    cpuSeconds: () => dc.cpuSeconds(),
    memoryKiB: () => dc.memoryKiB(),
  };
  if (jmapTarget && STREAMS > 0) {
    // Before the page loops: their garbage, collected while the streams open, made the difference
    // of RSS meaningless (even negative). The server has started and served only the fill's admin commands.
    idle = await idleStreams(jmapTarget, STREAMS, () => sleep(2000));
    log(`${idle.streams} idle EventSource streams: ${fmt(idle.perStreamKiB, 1)} KiB each`);
  }
  // A cold server's first seconds (our JMAP worker threads start at the first API request and then
  // compile their code; Dovecot forks its processes) are not what a page costs a running server:
  // the same loop, untimed, first. Its figures stay visible in the notes.
  if (WARMUP > 0) {
    for (const [who, r] of [
      ['mailroom', jmapTarget && (await jmapPages(jmapTarget, CLIENTS, WARMUP))],
      ['dovecot', imapTarget && (await imapPages(imapTarget, CLIENTS, WARMUP))],
    ] as const) {
      if (!r) continue;
      notes.push(
        `${who} warm-up (${WARMUP} s, untimed): ${fmt(r.pagesPerSec)} pages/s, p99 ${fmt(r.p99Ms, 1)} ms, ${r.errors} errors`,
      );
      log(notes[notes.length - 1] as string);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which server goes first: load from elsewhere on the shared machine then hits both alike.
    const order: ('mailroom' | 'dovecot')[] =
      round % 2 === 0 ? ['mailroom', 'dovecot'] : ['dovecot', 'mailroom'];
    for (const who of order) {
      let r: PageFigures | null = null;
      if (who === 'mailroom' && jmapTarget) r = await jmapPages(jmapTarget, CLIENTS, SECONDS);
      if (who === 'dovecot' && imapTarget) r = await imapPages(imapTarget, CLIENTS, SECONDS);
      if (!r) continue;
      runs[who].push(r);
      log(
        `round ${round + 1}/${ROUNDS} ${who}: ${fmt(r.pagesPerSec)} pages/s, p50 ${fmt(r.p50Ms, 1)} ms, ` +
          `p99 ${fmt(r.p99Ms, 1)} ms, ${r.errors} errors, server ${fmt(r.serverCores, 2)} cores, ` +
          `CPU/page server ${cpuPage(r)}, bench ${fmt(r.generatorCpuMsPerPage, 3)} ms`,
      );
    }
  }
}

/** Server CPU per page in ms, with the main thread's part for ours (workers are the rest). */
function cpuPage(r: PageFigures): string {
  const total = fmt(r.serverCpuMsPerPage, 3);
  return Number.isFinite(r.mainCpuMsPerPage) ? `${total} (main ${fmt(r.mainCpuMsPerPage, 3)})` : total;
}

/** The median run by pages/s (the table shows one whole run, not medians of each column). */
function median(rs: PageFigures[]): PageFigures | undefined {
  return [...rs].sort((a, b) => a.pagesPerSec - b.pagesPerSec)[Math.floor((rs.length - 1) / 2)];
}

function report(): void {
  const ours = median(runs.mailroom);
  const peer = median(runs.dovecot);
  const row = (name: string, r: PageFigures | undefined, what: string): string[] =>
    r
      ? [
          name,
          what,
          fmt(r.pagesPerSec),
          fmt(r.p50Ms, 2),
          fmt(r.p99Ms, 2),
          String(r.errors),
          fmt(r.serverCores, 2),
          cpuPage(r),
          fmt(r.peakMemKiB / 1024, 0),
          fmt(r.generatorCores, 2),
          fmt(r.generatorCpuMsPerPage, 3),
        ]
      : [name, what, '-', '-', '-', '-', '-', '-', '-', '-', '-'];
  const q = ratio(ours?.pagesPerSec ?? NaN, peer?.pagesPerSec ?? NaN);
  const out = [
    `Mailroom JMAP bench${opt.quick ? ' (--quick)' : ''}: ${new Date().toISOString()}, Node ${process.version}, ` +
      (withDovecot ? `Dovecot ${dcVersion} (private instance, Maildir)` : `no Dovecot (${noPeerWhy})`),
    '',
    `newest page of a ${fmt(COUNT)}-message INBOX, ${CLIENTS} clients, closed loop, ${SECONDS} s per round, ` +
      `${ROUNDS} alternating round(s) after ${WARMUP} s of untimed warm-up each, the median round shown`,
    table(
      [
        'server',
        'request',
        'pages/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'server cores',
        'server CPU ms/page',
        'peak MiB',
        'generator cores',
        'generator ms/page',
      ],
      [
        row('mailroom', ours, `JMAP Email/query + Email/get #ids (${PAGE})`),
        row('dovecot', peer, `IMAP FETCH last ${PAGE} (ENVELOPE FLAGS)`),
      ],
    ),
    '',
    `ratio mailroom/dovecot pages/s: ${fmt(q, 2)} (goal >= 1.0); mailroom p99 ${fmt(ours?.p99Ms, 1)} ms (goal <= 30 ms); ` +
      `errors ${ours?.errors ?? '-'} (goal 0)` +
      (ours && Number.isFinite(q)
        ? ` -> ${q >= 1 && ours.p99Ms <= 30 && ours.errors === 0 ? 'MET' : 'NOT MET'}`
        : ''),
    ...(['mailroom', 'dovecot'] as const).map(
      (w) =>
        `${w} rounds: ` +
        (runs[w].map((r) => `${fmt(r.pagesPerSec)} pages/s p99 ${fmt(r.p99Ms, 1)} ms`).join('; ') || 'none'),
    ),
    ...(['mailroom', 'dovecot'] as const).flatMap((w) =>
      runs[w].flatMap((r) => r.firstErrors.map((e) => `${w} error: ${e}`)),
    ),
    'JMAP: one keep-alive connection per client, HTTP Basic on loopback (the verified-password cache, not scrypt, per ' +
      'request); each answer is parsed and checked (50 Emails with from, subject, preview, keywords, receivedAt; newest ' +
      'first). IMAP: each client logged in with INBOX selected before timing (Dovecot builds its index there); each ' +
      'answer checked (50 FETCH responses with ENVELOPE and FLAGS). Every connection made one page before timing.',
    'server cores: CPU of the server process (Dovecot: its process tree) / wall time; server CPU ms/page: the same CPU / ' +
      'pages (ours: "main" is its main thread, the rest its JMAP worker threads); peak MiB: RSS (Dovecot: PSS of ' +
      'its tree); generator cores and ms/page: this process, which parses and checks every answer.',
  ];
  if (idle) {
    out.push(
      '',
      `idle EventSource: ${idle.streams} streams open (${idle.failed} failed), server RSS ${fmt(idle.rssBeforeKiB / 1024, 1)} -> ` +
        `${fmt(idle.rssAfterKiB / 1024, 1)} MiB: ${fmt(idle.perStreamKiB, 1)} KiB per stream (goal <= 16 KiB) -> ` +
        `${idle.perStreamKiB <= 16 && idle.failed === 0 ? 'MET' : 'NOT MET'}`,
    );
  }
  if (opt['server-node-args']) notes.push(`mailroom ran with node flags: ${opt['server-node-args']}`);
  out.push(...notes.map((n) => `note: ${n}`));
  process.stdout.write(out.join('\n') + '\n');
  if (opt.json) {
    writeFileSync(
      opt.json,
      JSON.stringify(
        { dovecot: dcVersion, messages: COUNT, clients: CLIENTS, seconds: SECONDS, runs, idle },
        null,
        2,
      ),
    );
  }
}

let failed: unknown = null;
try {
  await main();
} catch (err) {
  failed = err;
}
report();
await Promise.allSettled([...active].map((s) => s.stop()));
if (failed) {
  process.stderr.write(
    `jmap bench failed: ${failed instanceof Error ? (failed.stack ?? failed.message) : String(failed)}\n`,
  );
  process.exit(1);
}
