// `npm run bench`: SMTP loads (a) (b) (c) against our server and a private Postfix in the same run; prints ratios.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fdLimits, raiseFdLimit, which } from './lib/proc.js';
import { ratio } from './lib/stats.js';
import { fmt, table } from './lib/table.js';
import { freePort } from './lib/wait.js';
import { startMailroom, type MailroomServer } from './peers/mailroom.js';
import { postfixVersion, startPostfix } from './peers/postfix.js';
import type { BenchServer } from './peers/server.js';
import { benchPlan, type ThroughputLoad } from './smtp/loads.js';
import {
  measureIdle,
  measureThroughput,
  SENDER,
  warmUp,
  warmupShareOf,
  type Generator,
  type IdleFigures,
  type ThroughputFigures,
} from './smtp/measure.js';
import { smtpSourceArgs } from './smtp/smtp-source.js';
import { dnsStatsOf, reusingSigner, startInboundSetup, type DnsStats } from './smtp/inbound.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DOMAIN = 'example.test';
const USER = 'bob';
const RECIPIENT = `${USER}@${DOMAIN}`;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'a,b,c' },
    'no-postfix': { type: 'boolean', default: false },
    'no-ours': { type: 'boolean', default: false },
    'no-inbound': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' }, // DIR: our servers run with node --cpu-prof into DIR
    'node-args': { type: 'string', default: '' }, // more node flags for our servers (e.g. "--trace-gc")
    cli: { type: 'string' }, // another build's dist/cli.js (an old build's server under this bench, for CPU/msg)
    'old-config': { type: 'boolean', default: false }, // --cli is a build from before issue 11: no [metrics]/[https]
    heap: { type: 'string' }, // [limits] heap of our servers (small | node): what the heap tuning costs per message
    'no-observability': { type: 'boolean', default: false },
    'verify-workers': { type: 'string' }, // [inbound] verify_workers of the checks-on server (default: the server's own)
    generator: { type: 'string', default: 'both' }, // smtp-source | mailroom-load | both
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '50' }, // percent of each load sent untimed first (measure.ts warmUp); 0: cold
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(
    'usage: npm run bench -- [--quick] [--only a,b,c] [--no-postfix] [--no-ours] [--no-inbound] [--no-observability]\n' +
      '                        [--cpu-prof DIR (our servers)] [--node-args "--flag ..."] [--cli PATH [--old-config]]\n' +
      '                        [--heap small|node] [--verify-workers N]\n' +
      '                        [--generator smtp-source|mailroom-load|both] [--rounds N] [--warmup PERCENT]\n' +
      '                        [--json FILE] [--keep]\n' +
      'see bench/README.md\n',
  );
  process.exit(0);
}
// The server under test: this checkout's build, or another build's (an old commit's worktree) run by this bench.
const CLI = opt.cli ?? join(HERE, '..', 'dist', 'cli.js');
const rounds = Number(opt.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
  process.stderr.write(`bench: --rounds must be a whole number from 1 to 20, got ${opt.rounds}\n`);
  process.exit(2);
}
/** The share of each load every server takes untimed before its timed load (smtp/measure.ts warmUp says why). */
const warmupShare =
  warmupShareOf(opt.warmup) ??
  (process.stderr.write(`bench: --warmup must be a whole percent from 0 to 100, got ${opt.warmup}\n`),
  process.exit(2));
const only = new Set(opt.only.split(',').map((s) => s.trim()));
const plan = benchPlan(opt.quick);
const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);
/** Node flags for every server of ours: --cpu-prof's, then --node-args's. */
const ourNodeArgs = [
  ...(opt['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', opt['cpu-prof']] : []),
  ...opt['node-args'].split(/\s+/).filter((a) => a.length > 0),
];

// ---- peers: install Postfix when missing and possible; the bench still runs without it.
let smtpSource = which('smtp-source');
const isRoot = process.getuid?.() === 0;
if (!smtpSource && !opt['no-postfix'] && isRoot) {
  log('smtp-source not found: installing Postfix (bench/setup-peers.sh)');
  const r = spawnSync('sh', [join(HERE, 'setup-peers.sh'), 'postfix'], { stdio: 'inherit' });
  if (r.status !== 0) log('Postfix install failed: measuring our server alone');
  smtpSource = which('smtp-source');
}
const pfVersion = postfixVersion();
const withPostfix = !opt['no-postfix'] && isRoot && pfVersion !== null;
if (!opt['no-postfix'] && !withPostfix) {
  log(isRoot ? 'Postfix is not installed: no peer figures' : 'not root: cannot run a private Postfix');
}
const withOurs = !opt['no-ours'];
let oursBroken: string | null = null;

if (!['both', 'smtp-source', 'mailroom-load'].includes(opt.generator)) {
  log(`unknown --generator ${opt.generator}`);
  process.exit(2);
}
const wantedGenerators: Generator[] =
  opt.generator === 'both' ? ['smtp-source', 'mailroom-load'] : [opt.generator as Generator];
const generators = wantedGenerators.filter((g) => g !== 'smtp-source' || smtpSource !== null);
if (generators.length === 0) {
  log('no load generator available');
  process.exit(2);
}

// ---- the idle load needs one descriptor per connection in this process (and in our server, which inherits it).
const fdWanted = plan.c.connections + 1024;
if (only.has('c') && raiseFdLimit(fdWanted) < fdWanted) {
  const soft = fdLimits().soft;
  plan.c.connections = Math.max(100, soft - 1024);
  log(`open-file limit is ${soft}: holding ${plan.c.connections} idle connections instead`);
}

type Starter = (maxConnections: number) => Promise<BenchServer>;
/** What every server of ours in this bench starts with; each load adds its own options. */
const oursBase = async (maxConnections: number) => ({
  cli: CLI,
  port: await freePort(),
  domain: DOMAIN,
  user: USER,
  maxConnections,
  keep: opt.keep,
});
const startOurs: Starter = async (maxConnections) =>
  startMailroom({
    ...(await oursBase(maxConnections)),
    nodeArgs: ourNodeArgs,
    preIssue11Config: opt['old-config'],
    ...(opt.heap !== undefined ? { heap: opt.heap } : {}),
  });
const startPeer: Starter = async (processLimit) =>
  startPostfix({ port: await freePort(), domain: DOMAIN, user: USER, processLimit, keep: opt.keep });

// Ctrl-C must not leave a private Postfix (or our server) running, nor its temp dir behind.
const active = new Set<BenchServer>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping ${active.size} server(s)`);
    void Promise.allSettled([...active].map((s) => s.stop())).then(() => process.exit(130));
  });
}

/** Starts a server, runs fn, always stops it. A server that fails to start is reported, not fatal. */
async function withServer<T>(
  name: string,
  start: () => Promise<BenchServer>,
  fn: (s: BenchServer) => Promise<T>,
) {
  let server: BenchServer;
  try {
    server = await start();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    log(`${name} did not start: ${msg}`);
    if (name === 'mailroom') oursBroken = msg.split('\n')[0] ?? msg;
    return undefined;
  }
  active.add(server);
  try {
    return await fn(server);
  } finally {
    active.delete(server);
    await server.stop();
  }
}

const throughput: {
  load: ThroughputLoad;
  generator: Generator;
  ours?: ThroughputFigures;
  peer?: ThroughputFigures;
  rounds?: { ours: number[]; peer: number[] };
}[] = [];

/** The run with the median msgs/s (the lower middle one for an even count), so its other figures match. */
function medianRun<T>(runs: readonly T[], msgsPerSec: (run: T) => number): T | undefined {
  const sorted = [...runs].sort((x, y) => msgsPerSec(x) - msgsPerSec(y));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
const idle: { ours?: IdleFigures; peer?: IdleFigures } = {};

for (const load of [plan.a, plan.b]) {
  if (!only.has(load.id)) continue;
  for (const generator of generators) {
    const row: (typeof throughput)[number] = { load, generator };
    const cmd =
      generator === 'smtp-source'
        ? `smtp-source ${smtpSourceArgs({
            ...load,
            binary: '',
            host: '127.0.0.1',
            port: 0,
            from: SENDER,
            to: RECIPIENT,
            deadlineMs: 0,
          })
            .join(' ')
            .replace(':0', ':PORT')}`
        : `mailroom-load ${load.sessions} sessions, ${load.messages} msgs, ${load.size} B, ${load.perConnection} per connection`;
    log(`${load.title} with ${cmd}`);
    // Each server gets a fresh instance per run: peak memory and store counts belong to this run alone.
    // Rounds alternate which server goes first, and the median round is kept: the machine is shared,
    // and load from elsewhere that lands on one server's turn would otherwise skew the ratio.
    const oursRuns: ThroughputFigures[] = [];
    const peerRuns: ThroughputFigures[] = [];
    for (let round = 0; round < rounds; round++) {
      const runOurs = async (): Promise<void> => {
        if (!withOurs || oursBroken) return;
        const f = await withServer(
          'mailroom',
          () => startOurs(1000),
          async (s) => {
            // Server CPU per message (whole process, and its main thread): steadier than msgs/s on a shared machine.
            const m = s as MailroomServer;
            const warm = await warmUp(s, load, generator, RECIPIENT, smtpSource, warmupShare);
            const cpu0 = m.cpuSeconds();
            const main0 = m.mainThreadCpuSeconds();
            const figures = await measureThroughput(s, load, generator, RECIPIENT, smtpSource);
            if (warm) figures.notes.push(warm);
            const perMsg = (sec: number): string => fmt((sec * 1000) / figures.accepted || NaN, 3);
            figures.notes.push(
              `server CPU ${perMsg(m.cpuSeconds() - cpu0)} ms/msg (main thread ${perMsg(m.mainThreadCpuSeconds() - main0)})`,
            );
            return figures;
          },
        );
        if (f) oursRuns.push(f);
        if (f) log(`  mailroom: ${fmt(f.msgsPerSec)} msgs/s ${f.notes.join('; ')}`);
      };
      const runPeer = async (): Promise<void> => {
        if (!withPostfix) return;
        const f = await withServer(
          'postfix',
          () => startPeer(100),
          async (s) => {
            const warm = await warmUp(s, load, generator, RECIPIENT, smtpSource, warmupShare);
            const figures = await measureThroughput(s, load, generator, RECIPIENT, smtpSource);
            if (warm) figures.notes.push(warm);
            return figures;
          },
        );
        if (f) peerRuns.push(f);
        if (f) log(`  postfix:  ${fmt(f.msgsPerSec)} msgs/s ${f.notes.join('; ')}`);
      };
      if (round % 2 === 0) {
        await runOurs();
        await runPeer();
      } else {
        await runPeer();
        await runOurs();
      }
    }
    row.ours = medianRun(oursRuns, (f) => f.msgsPerSec);
    row.peer = medianRun(peerRuns, (f) => f.msgsPerSec);
    row.rounds = { ours: oursRuns.map((f) => f.msgsPerSec), peer: peerRuns.map((f) => f.msgsPerSec) };
    throughput.push(row);
  }
}

// ---- load (a) with inbound checks on (issue 10): SPF, DKIM (every message RSA-2048 signed), DMARC, ARC, iprev.
// The same signed messages go to a server without checks (127.0.0.1 trusted, the default) and to one with them,
// so the CPU difference per message is the checks' cost; the goal is >= 3x Postfix's (a) figure of this run.
interface InboundRow {
  mode: string;
  figures?: ThroughputFigures;
  cpuMsPerMsg: number;
  /** The server's main thread alone (the event loop that bounds msgs/s; the verify workers excluded). */
  mainMsPerMsg: number;
  dns: DnsStats | null;
  /** Every round's msgs/s and CPU ms/msg (the row shows the median round by msgs/s). */
  rounds: { msgsPerSec: number; cpuMsPerMsg: number; mainMsPerMsg: number }[];
}
const inboundRows: InboundRow[] = [];
const INBOUND_GOAL = 3;
if (only.has('a') && withOurs && !oursBroken && !opt['no-inbound']) {
  const setup = await startInboundSetup(SENDER.split('@')[1]!, opt['verify-workers']);
  const runs: Record<
    'off' | 'on',
    { figures: ThroughputFigures; cpuMsPerMsg: number; mainMsPerMsg: number; dns: DnsStats | null }[]
  > = {
    off: [],
    on: [],
  };
  const modeName = (on: boolean): string => (on ? 'inbound checks on' : 'checks off (same signed msgs)');
  // Signed once, sent again by every warm-up and round, both modes.
  const sign = reusingSigner((m) => setup.sign(m), plan.a.messages);
  try {
    // Rounds alternate which mode goes first, as the loads above do (the machine is shared).
    for (let round = 0; round < rounds; round++) {
      for (const on of round % 2 === 0 ? [false, true] : [true, false]) {
        let dns: DnsStats | null = null;
        let cpu = NaN;
        let main = NaN;
        const f = await withServer(
          'mailroom',
          async () =>
            startMailroom({
              ...(await oursBase(1000)),
              ...(on ? { extraToml: setup.toml } : {}),
              nodeArgs: ourNodeArgs,
              onStopped: (text) => (dns = dnsStatsOf(text)),
            }),
          async (s) => {
            const warm = await warmUp(s, plan.a, 'mailroom-load', RECIPIENT, null, warmupShare, sign);
            const cpu0 = (s as MailroomServer).cpuSeconds();
            const main0 = (s as MailroomServer).mainThreadCpuSeconds();
            const r = await measureThroughput(s, plan.a, 'mailroom-load', RECIPIENT, null, sign);
            if (warm) r.notes.push(warm);
            cpu = ((s as MailroomServer).cpuSeconds() - cpu0) * 1000;
            main = ((s as MailroomServer).mainThreadCpuSeconds() - main0) * 1000;
            return r;
          },
        );
        if (f) log(`  mailroom, ${modeName(on)}: ${fmt(f.msgsPerSec)} msgs/s ${f.notes.join('; ')}`);
        if (f)
          runs[on ? 'on' : 'off'].push({
            figures: f,
            cpuMsPerMsg: cpu / f.accepted,
            mainMsPerMsg: main / f.accepted,
            dns,
          });
      }
    }
  } finally {
    await setup.close();
  }
  for (const on of [false, true]) {
    const all = runs[on ? 'on' : 'off'];
    const median = medianRun(all, (r) => r.figures.msgsPerSec);
    inboundRows.push({
      mode: modeName(on),
      ...(median ? { figures: median.figures } : {}),
      cpuMsPerMsg: median?.cpuMsPerMsg ?? NaN,
      mainMsPerMsg: median?.mainMsPerMsg ?? NaN,
      dns: median?.dns ?? null,
      rounds: all.map((r) => ({
        msgsPerSec: r.figures.msgsPerSec,
        cpuMsPerMsg: r.cpuMsPerMsg,
        mainMsPerMsg: r.mainMsPerMsg,
      })),
    });
  }
}

// ---- load (a) with logs and metrics off, then on (issue 11): the persistent-session figure with every
// per-connection and per-message log line written and /metrics scraped every second stays within 5%.
interface ObservabilityRun {
  figures: ThroughputFigures;
  cpuMsPerMsg: number;
  mainMsPerMsg: number;
  scrapes: number;
}
interface ObservabilityRow {
  mode: string;
  figures?: ThroughputFigures;
  cpuMsPerMsg: number;
  scrapes: number;
  /** Every round's msgs/s and CPU ms/msg (the row shows the median round by msgs/s). */
  rounds: { msgsPerSec: number; cpuMsPerMsg: number; mainMsPerMsg: number }[];
}
const observabilityRows: ObservabilityRow[] = [];
const OBSERVABILITY_BUDGET = 0.05;

/** One server with logs and metrics on (or both off), load (a) against it; undefined if it failed. */
async function observabilityRun(on: boolean): Promise<ObservabilityRun | undefined> {
  let cpu = NaN;
  let main = NaN;
  let scrapes = 0;
  const metricsPort = await freePort();
  const f = await withServer(
    'mailroom',
    async () =>
      startMailroom({
        ...(await oursBase(1000)),
        nodeArgs: ourNodeArgs,
        ...(on ? { metricsPort } : { logLevel: 'warn' }),
      }),
    async (s) => {
      const warm = await warmUp(s, plan.a, 'mailroom-load', RECIPIENT, null, warmupShare);
      const cpu0 = (s as MailroomServer).cpuSeconds();
      const main0 = (s as MailroomServer).mainThreadCpuSeconds();
      // Prometheus scrapes every 15 s by default; once a second is the harsher case.
      const scraper = on
        ? setInterval(() => {
            void fetch(`http://127.0.0.1:${metricsPort}/metrics`)
              .then((r) => r.text())
              .then(
                () => scrapes++,
                () => undefined,
              );
          }, 1_000)
        : null;
      try {
        const figures = await measureThroughput(s, plan.a, 'mailroom-load', RECIPIENT, null);
        if (warm) figures.notes.push(warm);
        return figures;
      } finally {
        if (scraper) clearInterval(scraper);
        cpu = ((s as MailroomServer).cpuSeconds() - cpu0) * 1000;
        main = ((s as MailroomServer).mainThreadCpuSeconds() - main0) * 1000;
      }
    },
  );
  return f
    ? { figures: f, cpuMsPerMsg: cpu / f.accepted, mainMsPerMsg: main / f.accepted, scrapes }
    : undefined;
}

if (only.has('a') && withOurs && !oursBroken && !opt['no-observability']) {
  // With --rounds N the two modes alternate which goes first (one order every time made the second
  // server's figure carry whatever the machine did meanwhile: -17% to +4% in single runs of one build).
  const runs: [ObservabilityRun[], ObservabilityRun[]] = [[], []];
  for (let round = 0; round < rounds; round++) {
    for (const on of round % 2 === 0 ? [false, true] : [true, false]) {
      const r = await observabilityRun(on);
      const mode = on ? 'logs (info) + metrics on' : 'logs (warn) + metrics off';
      if (r) log(`  mailroom, ${mode}: ${fmt(r.figures.msgsPerSec)} msgs/s ${r.figures.notes.join('; ')}`);
      if (r) runs[on ? 1 : 0].push(r);
    }
  }
  for (const on of [false, true]) {
    const all = runs[on ? 1 : 0];
    const median = medianRun(all, (r) => r.figures.msgsPerSec);
    observabilityRows.push({
      mode: on ? 'logs (info) + metrics on' : 'logs (warn) + metrics off',
      ...(median ? { figures: median.figures } : {}),
      cpuMsPerMsg: median?.cpuMsPerMsg ?? NaN,
      scrapes: median?.scrapes ?? 0,
      rounds: all.map((r) => ({
        msgsPerSec: r.figures.msgsPerSec,
        cpuMsPerMsg: r.cpuMsPerMsg,
        mainMsPerMsg: r.mainMsPerMsg,
      })),
    });
  }
}

if (only.has('c')) {
  const c = plan.c;
  log(`${c.title}: ${c.connections} against mailroom, ${c.postfixConnections} against postfix`);
  if (withOurs && !oursBroken) {
    idle.ours = await withServer(
      'mailroom',
      () => startOurs(c.connections + 100),
      (s) => measureIdle(s, c, c.connections),
    );
  }
  if (withPostfix) {
    idle.peer = await withServer(
      'postfix',
      () => startPeer(c.postfixConnections + 50),
      (s) => measureIdle(s, c, c.postfixConnections),
    );
  }
}

// ---- report
const mib = (kib: number | undefined): string => (kib === undefined ? '-' : fmt(kib / 1024, 1));
const lat = (f: ThroughputFigures | undefined): string =>
  f && Number.isFinite(f.p50Ms) ? `${fmt(f.p50Ms, 1)} / ${fmt(f.p99Ms, 1)}` : '-';
const stored = (f: ThroughputFigures | undefined): string =>
  f ? `${fmt(f.stored)}/${fmt(f.accepted)}` : '-';
const rows = throughput.map(({ load, generator, ours, peer }) => {
  const r = ratio(ours?.msgsPerSec ?? NaN, peer?.msgsPerSec ?? NaN);
  const met = Number.isFinite(r) ? (r >= load.goalRatio ? ' met' : ' NOT met') : '';
  return [
    load.title,
    generator,
    fmt(ours?.msgsPerSec),
    fmt(peer?.msgsPerSec),
    Number.isFinite(r) ? `${fmt(r, 2)}x` : '-',
    `>= ${load.goalRatio}x${met}`,
    lat(ours),
    lat(peer),
    mib(ours?.peakMemKiB),
    mib(peer?.peakMemKiB),
    stored(ours),
    stored(peer),
    peer && Number.isFinite(peer.storedAfterSec) ? fmt(peer.accepted / peer.storedAfterSec) : '-',
  ];
});
const out: string[] = [];
out.push(
  `Mailroom SMTP bench${opt.quick ? ' (--quick)' : ''}: ${new Date().toISOString()}, Node ${process.version}` +
    (withPostfix ? `, Postfix ${pfVersion} (private instance, Maildir)` : ', no Postfix'),
);
if (oursBroken) out.push(`mailroom did not run: ${oursBroken}`);
if (rows.length > 0) {
  out.push(
    '',
    table(
      [
        'load',
        'generator',
        'ours msgs/s',
        'postfix msgs/s',
        'ratio',
        'goal',
        'ours p50/p99 ms',
        'postfix p50/p99 ms',
        'ours peak RSS MiB',
        'postfix peak PSS MiB',
        'ours stored/accepted',
        'postfix stored/accepted',
        'postfix into Maildir msgs/s',
      ],
      rows,
    ),
  );
}
if (inboundRows.length > 0) {
  // Postfix's (a) figure of this run, preferably with the same generator.
  const peerA =
    throughput.find((t) => t.load.id === 'a' && t.generator === 'mailroom-load')?.peer ??
    throughput.find((t) => t.load.id === 'a')?.peer;
  const off = inboundRows[0]?.cpuMsPerMsg ?? NaN;
  const offMain = inboundRows[0]?.mainMsPerMsg ?? NaN;
  out.push(
    '',
    table(
      [
        'load (a), mailroom-load',
        'ours msgs/s',
        'postfix (a) msgs/s',
        'ratio',
        'goal',
        'ours CPU ms/msg',
        'main thread ms/msg',
        'DNS cache hits',
      ],
      inboundRows.map((r, i) => {
        const x = ratio(r.figures?.msgsPerSec ?? NaN, peerA?.msgsPerSec ?? NaN);
        const met = Number.isFinite(x) ? (x >= INBOUND_GOAL ? ' met' : ' NOT met') : '';
        const d = r.dns;
        const lookups = d ? d.hits + d.misses : 0;
        return [
          r.mode,
          fmt(r.figures?.msgsPerSec),
          fmt(peerA?.msgsPerSec),
          Number.isFinite(x) ? `${fmt(x, 2)}x` : '-',
          i === 1 ? `>= ${INBOUND_GOAL}x${met}` : '-',
          `${fmt(r.cpuMsPerMsg, 2)}${i === 1 && Number.isFinite(off) ? ` (+${fmt(r.cpuMsPerMsg - off, 2)})` : ''}`,
          `${fmt(r.mainMsPerMsg, 2)}${i === 1 && Number.isFinite(offMain) ? ` (+${fmt(r.mainMsPerMsg - offMain, 2)})` : ''}`,
          d && lookups > 0 ? `${fmt((100 * d.hits) / lookups, 1)}% of ${fmt(lookups)}` : '-',
        ];
      }),
    ),
  );
}
if (observabilityRows.length > 0) {
  const off = observabilityRows[0]?.figures?.msgsPerSec ?? NaN;
  out.push(
    '',
    table(
      ['load (a), mailroom-load', 'msgs/s', 'vs off', 'budget', 'CPU ms/msg', 'scrapes'],
      observabilityRows.map((r, i) => {
        const x = ratio(r.figures?.msgsPerSec ?? NaN, off);
        const met = Number.isFinite(x) ? (x >= 1 - OBSERVABILITY_BUDGET ? ' met' : ' NOT met') : '';
        return [
          r.mode,
          fmt(r.figures?.msgsPerSec),
          i === 1 && Number.isFinite(x) ? `${fmt(100 * (x - 1), 1)}%` : '-',
          i === 1 ? `>= -${100 * OBSERVABILITY_BUDGET}%${met}` : '-',
          fmt(r.cpuMsPerMsg, 3),
          i === 1 ? fmt(r.scrapes) : '-',
        ];
      }),
    ),
  );
}
if (idle.ours || idle.peer) {
  const perConn = (f: IdleFigures | undefined): string => (f ? fmt(f.kibPerConnection, 1) : '-');
  const held = (f: IdleFigures | undefined): string => (f ? `${fmt(f.held)}/${fmt(f.requested)}` : '-');
  const ok =
    idle.ours && Number.isFinite(idle.ours.kibPerConnection)
      ? idle.ours.kibPerConnection <= plan.c.goalKiB
      : null;
  out.push(
    '',
    table(
      [
        'load',
        'ours KiB/conn',
        'postfix KiB/conn',
        'goal',
        'ours held',
        'postfix held',
        'ours RSS before/after MiB',
      ],
      [
        [
          plan.c.title,
          perConn(idle.ours),
          perConn(idle.peer),
          `<= ${plan.c.goalKiB} KiB${ok === null ? '' : ok ? ' met' : ' NOT met'}`,
          held(idle.ours),
          held(idle.peer),
          idle.ours ? `${mib(idle.ours.baselineKiB)} / ${mib(idle.ours.heldKiB)}` : '-',
        ],
      ],
    ),
  );
}
const notes = [
  ...(rounds > 1
    ? throughput.map(
        ({ load, generator, rounds: r }) =>
          `${load.id}/${generator} rounds msgs/s: ours ${r?.ours.map((x) => fmt(x)).join(', ') || '-'}; postfix ${r?.peer.map((x) => fmt(x)).join(', ') || '-'}`,
      )
    : []),
  ...(rounds > 1
    ? inboundRows.map(
        (r) =>
          `a/${r.mode} rounds msgs/s (CPU ms/msg, main thread): ${r.rounds.map((x) => `${fmt(x.msgsPerSec)} (${fmt(x.cpuMsPerMsg, 2)}, ${fmt(x.mainMsPerMsg, 2)})`).join(', ') || '-'}`,
      )
    : []),
  ...(rounds > 1
    ? observabilityRows.map(
        (r) =>
          `a/${r.mode} rounds msgs/s (CPU ms/msg, main thread): ${r.rounds.map((x) => `${fmt(x.msgsPerSec)} (${fmt(x.cpuMsPerMsg, 3)}, ${fmt(x.mainMsPerMsg, 3)})`).join(', ') || '-'}`,
      )
    : []),
  ...throughput.flatMap(({ load, generator, ours, peer }) =>
    [ours, peer].flatMap((f) =>
      f && f.notes.length > 0 ? [`${load.id}/${generator}/${f.server}: ${f.notes.join('; ')}`] : [],
    ),
  ),
  ...[idle.ours, idle.peer].flatMap((f) =>
    f && f.notes.length > 0 ? [`c/${f.server}: ${f.notes.join('; ')}`] : [],
  ),
];
out.push(
  '',
  'msgs/s: accepted messages / time from first connect to last 250. ratio: ours / postfix, same generator, same run.' +
    (rounds > 1 ? ` Median of ${rounds} alternating rounds (all rounds in the notes).` : ''),
  warmupShare > 0
    ? `Warm-up: every server, ours and postfix, first takes ${opt.warmup}% of the load untimed (its rate in the notes); --warmup 0 measures from a cold start.`
    : 'Cold: every server measured from its start (--warmup 0).',
  'ours: a 250 means the message is fsynced in the mailbox. postfix: a 250 means fsynced in its queue; Maildir delivery follows (last column).',
  'Memory: ours = VmRSS of the server process (sampled every 200 ms); postfix = PSS summed over its process tree.',
  'Idle: (memory with N connections held after EHLO - memory before) / N; postfix forks one smtpd per connection.',
  ...(inboundRows.length > 0
    ? [
        'Inbound: every message DKIM-signed (RSA-2048, before the run) by the generator; DNS fixture in the bench process; ' +
          "CPU ms/msg = server CPU / accepted, (+x) = the checks' cost per 4 KiB message; DNS cache hits from the server's resolver.stats().",
      ]
    : []),
  ...notes.map((n) => `note: ${n}`),
);
process.stdout.write(out.join('\n') + '\n');
if (opt.json) {
  writeFileSync(
    opt.json,
    JSON.stringify({ quick: opt.quick, postfix: pfVersion, throughput, idle }, null, 2),
  );
}
