// `node --import tsx bench/relay.ts`: messages/s relayed end to end, Mailroom vs Postfix 3.7, healthy and with one 451 domain.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PeakSampler } from './lib/proc.js';
import { perSecond, ratio } from './lib/stats.js';
import { fmt, table } from './lib/table.js';
import { freePort, sleep } from './lib/wait.js';
import { postfixVersion } from './peers/postfix.js';
import { fillDeferred } from './queue-fill.js';
import { runRelayLoad } from './relay-load.js';
import { startMailroomRelay, startPostfixRelay, type Relay } from './relay-peers.js';
import { startSinks, type Sink, type SinkSet } from './relay-sinks.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_CLI = join(HERE, '..', 'dist', 'cli.js');

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' },
    rcpts: { type: 'string', default: '3' },
    domains: { type: 'string', default: '50' },
    sessions: { type: 'string', default: '10' },
    size: { type: 'string', default: '4096' },
    'no-postfix': { type: 'boolean', default: false },
    'no-ours': { type: 'boolean', default: false },
    'drain-timeout': { type: 'string', default: '180' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    // Another build of ours (e.g. the last commit's, built elsewhere) measured in the same run: before/after.
    cli: { type: 'string' },
    'base-cli': { type: 'string' },
    // Messages already deferred in the queue before the run (queue scale, issue 3): filled through the store.
    deferred: { type: 'string', default: '0' },
    scenarios: { type: 'string' },
    // Rounds alternate the order (relays and scenarios): whoever runs first meets a cold generator,
    // cold sinks and a disk still busy from set-up; figures are the median over rounds.
    rounds: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(
    'usage: node --import tsx bench/relay.ts [--quick] [--messages N] [--rcpts R] [--domains D] [--sessions S]\n' +
      '       [--size BYTES] [--no-postfix] [--no-ours] [--drain-timeout SECONDS] [--json FILE] [--keep]\n' +
      '       [--cli dist/cli.js] [--base-cli OTHER/dist/cli.js] [--deferred N] [--scenarios healthy,451,deferred] [--rounds N]\n',
  );
  process.exit(0);
}
const int = (name: string, text: string, min: number, max: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(
      `relay bench: --${name} must be a whole number from ${min} to ${max}, got ${text}\n`,
    );
    process.exit(2);
  }
  return n;
};
const MESSAGES = int('messages', opt.messages ?? (opt.quick ? '1000' : '5000'), 1, 1_000_000);
const RCPTS = int('rcpts', opt.rcpts, 1, 100);
const ROUNDS = int('rounds', opt.rounds ?? (opt.quick ? '1' : '2'), 1, 20);
const DOMAINS = int('domains', opt.domains, 2, 500);
const SESSIONS = int('sessions', opt.sessions, 1, 500);
const SIZE = int('size', opt.size, 0, 10_000_000);
const DRAIN_MS = int('drain-timeout', opt['drain-timeout'], 1, 3600) * 1000;
const DEFERRED = int('deferred', opt.deferred, 0, 10_000_000);
const SCENARIOS = (opt.scenarios ?? (DEFERRED > 0 ? 'healthy,451,deferred' : 'healthy,451')).split(',');
for (const s of SCENARIOS) {
  if (!['healthy', '451', 'deferred'].includes(s)) {
    process.stderr.write(`relay bench: --scenarios takes healthy, 451, deferred; got ${s}\n`);
    process.exit(2);
  }
}
if (SCENARIOS.includes('deferred') && DEFERRED === 0) {
  process.stderr.write('relay bench: the deferred scenario needs --deferred N\n');
  process.exit(2);
}
/** Our builds: the one measured, and optionally another (--base-cli) in the same run, for before/after. */
const CLIS: Record<string, string> = {
  mailroom: opt.cli ?? DEFAULT_CLI,
  ...(opt['base-cli'] ? { 'mailroom-base': opt['base-cli'] } : {}),
};
const log = (s: string): void => void process.stderr.write(`relay bench: ${s}\n`);

const domains = Array.from({ length: DOMAINS }, (_, k) => `d${k}.relay-sink.test`);
/** The domain that answers 451 to everything in the second scenario. */
const SLOW = domains[0] as string;
/** Message i's recipients: consecutive domains, so each message spans RCPTS distinct domains; unique addresses. */
const recipientsOf = (i: number): string[] =>
  Array.from({ length: RCPTS }, (_, j) => `m${i}r${j}@${domains[(i * RCPTS + j) % DOMAINS]}`);

type Scenario = 'healthy' | 'one 451 domain' | 'deferred';

interface RunFigures {
  relay: string;
  round: number;
  scenario: Scenario;
  accepted: number;
  rejected: number;
  errors: number;
  submitMsgsPerS: number;
  /** Recipients at healthy domains that should arrive, and did (distinct), and arrived more than once. */
  expected: number;
  delivered: number;
  duplicates: number;
  /** From the first submission to the last acceptance at a healthy sink; NaN when not all arrived. */
  endToEndMs: number;
  relayedMsgsPerS: number;
  /** Healthy-domain (all but SLOW) recipient deliveries per second over the same span. */
  otherDomainsRcptsPerS: number;
  peakMemoryKiB: number;
  /** RSS once ready, before any load (with the deferred queue loaded, for the deferred scenario). */
  idleMemoryKiB: number;
  /** Connections the sinks saw: fewer means more messages carried per connection. */
  sinkConnections: number;
  note: string;
}

async function runOne(name: string, scenario: Scenario): Promise<RunFigures | null> {
  const tempfail = new Set(scenario === 'one 451 domain' ? [SLOW] : []);
  let sinks: SinkSet | undefined;
  let relay: Relay | undefined;
  try {
    sinks = await startSinks(domains, tempfail);
    const port = await freePort();
    const cli = CLIS[name];
    const notes: string[] = [];
    // The deferred messages wait for a domain no sink serves: were one tried early, it could not count.
    const prefill =
      scenario === 'deferred' && cli
        ? async (dataDir: string): Promise<void> => {
            log(`${name}: filling the queue with ${DEFERRED} deferred messages`);
            const { ms } = await fillDeferred({
              cli,
              dataDir,
              count: DEFERRED,
              rcpts: RCPTS,
              domain: 'deferred.relay-sink.test',
              deferForMs: 3_600_000,
              size: 1024,
            });
            notes.push(`${DEFERRED} deferred messages filled in ${fmt(ms / 1000, 1)} s`);
          }
        : undefined;
    const readyStart = performance.now();
    relay = cli
      ? await startMailroomRelay({
          cli,
          name,
          port,
          sinks: sinks.sinks,
          keep: opt.keep,
          ...(prefill ? { prefill } : {}),
        })
      : await startPostfixRelay({ port, sinks: sinks.sinks, keep: opt.keep });
    if (prefill)
      notes.push(`ready ${fmt((performance.now() - readyStart) / 1000, 1)} s after the fill began`);
    // Let start-up settle (JIT, first scheduler wake over the queue) before the idle figure.
    await sleep(1000);
    const idleMemoryKiB = relay.memoryKiB();
    const memory = new PeakSampler(() => relay?.memoryKiB() ?? NaN).start();
    log(
      `${name}, ${scenario}: submitting ${MESSAGES} messages x ${RCPTS} recipients over ${SESSIONS} sessions`,
    );
    const load = await runRelayLoad({
      host: relay.host,
      port: relay.port,
      sessions: SESSIONS,
      messages: MESSAGES,
      recipients: recipientsOf,
      from: relay.from,
      size: SIZE,
      ...(relay.auth ? { auth: relay.auth } : {}),
      deadlineMs: 600_000,
    });
    // Every recipient of an accepted message at a healthy domain must reach its sink.
    const healthy = (s: Sink): boolean => s.mode === 'accept';
    const healthyDomains = new Set(sinks.sinks.filter(healthy).map((s) => s.domain));
    const expected = new Set<string>();
    // Accepted messages are not known by index when some failed; with no rejections they are 0..accepted-1.
    for (let i = 0; i < load.accepted + load.rejected; i++) {
      for (const r of recipientsOf(i)) if (healthyDomains.has(r.slice(r.indexOf('@') + 1))) expected.add(r);
    }
    const stats = sinks.stats;
    const arrived = (): number => {
      let n = 0;
      for (const r of stats.perRecipient.keys()) if (expected.has(r)) n++;
      return n;
    };
    const drainStart = performance.now();
    while (arrived() < expected.size - (load.rejected > 0 ? load.rejected * RCPTS : 0)) {
      if (performance.now() - drainStart > DRAIN_MS) break;
      await sleep(100);
    }
    const peak = memory.stop();
    const delivered = arrived();
    let duplicates = 0;
    for (const [r, n] of stats.perRecipient) if (expected.has(r) && n > 1) duplicates += n - 1;
    let last = -Infinity;
    let otherCount = 0;
    let otherLast = -Infinity;
    for (const [domain, times] of stats.times) {
      if (!healthyDomains.has(domain)) continue;
      for (const t of times) if (t > last) last = t;
      // The rate of the other domains leaves SLOW out in both scenarios, so the two runs compare alike.
      if (domain === SLOW) continue;
      otherCount += times.length;
      for (const t of times) if (t > otherLast) otherLast = t;
    }
    const complete = delivered >= expected.size && load.rejected === 0 && load.errors === 0;
    const span = last - load.startedAt;
    if (!complete) {
      notes.push(
        `only ${delivered}/${expected.size} healthy recipients arrived within ${DRAIN_MS / 1000}s after the last submission`,
      );
    }
    if (load.firstErrors.length > 0)
      notes.push(`submission errors: ${load.firstErrors.slice(0, 2).join(' | ')}`);
    if (scenario === 'one 451 domain') notes.push(`the 451 sink refused ${stats.refused} transactions`);
    return {
      relay: name,
      round: 0, // set by the caller
      scenario,
      accepted: load.accepted,
      rejected: load.rejected,
      errors: load.errors,
      submitMsgsPerS: perSecond(load.accepted, load.finishedAt - load.startedAt),
      expected: expected.size,
      delivered,
      duplicates,
      endToEndMs: complete ? span : NaN,
      relayedMsgsPerS: complete ? perSecond(load.accepted, span) : NaN,
      otherDomainsRcptsPerS: otherCount > 0 ? perSecond(otherCount, otherLast - load.startedAt) : NaN,
      peakMemoryKiB: peak,
      idleMemoryKiB,
      sinkConnections: stats.connections,
      note: notes.join('; '),
    };
  } catch (error) {
    log(`${name}, ${scenario}: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  } finally {
    await relay?.stop().catch((e: unknown) => log(`stopping ${name}: ${String(e)}`));
    await sinks?.close();
  }
}

const isRoot = process.getuid?.() === 0;
const pfVersion = postfixVersion();
const withPostfix = !opt['no-postfix'] && isRoot && pfVersion !== null;
if (!opt['no-postfix'] && !withPostfix) {
  log(
    isRoot
      ? 'Postfix is not installed (bench/setup-peers.sh): no peer figures'
      : 'not root: no private Postfix',
  );
}
const relays: string[] = [...(opt['no-ours'] ? [] : Object.keys(CLIS)), ...(withPostfix ? ['postfix'] : [])];

const results: RunFigures[] = [];
const scenarioNames: Record<string, Scenario> = {
  healthy: 'healthy',
  '451': 'one 451 domain',
  deferred: 'deferred',
};
for (let round = 1; round <= ROUNDS; round++) {
  const flip = <T>(list: T[]): T[] => (round % 2 === 0 ? [...list].reverse() : list);
  for (const key of flip(SCENARIOS)) {
    const scenario = scenarioNames[key] as Scenario;
    for (const name of flip(relays)) {
      // The deferred queue is filled through our Store API: Postfix has no such scenario.
      if (scenario === 'deferred' && !CLIS[name]) continue;
      const r = await runOne(name, scenario);
      if (r) results.push({ ...r, round });
    }
  }
}

const median = (values: number[]): number => {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
};
/** One relay and scenario over all rounds: the rates are medians, memory the highest seen. */
const find = (relay: string, scenario: string): RunFigures | undefined => {
  const runs = results.filter((r) => r.relay === relay && r.scenario === scenario);
  const first = runs[0];
  if (!first) return undefined;
  return {
    ...first,
    relayedMsgsPerS: median(runs.map((r) => r.relayedMsgsPerS)),
    otherDomainsRcptsPerS: median(runs.map((r) => r.otherDomainsRcptsPerS)),
    idleMemoryKiB: Math.max(...runs.map((r) => r.idleMemoryKiB)),
    peakMemoryKiB: Math.max(...runs.map((r) => r.peakMemoryKiB)),
  };
};
const rows = results.map((r) => [
  String(r.round),
  r.relay,
  r.scenario === 'deferred' ? `${DEFERRED} deferred` : r.scenario,
  `${r.accepted}${r.rejected || r.errors ? ` (${r.rejected} refused, ${r.errors} errors)` : ''}`,
  fmt(r.submitMsgsPerS),
  `${r.delivered}/${r.expected}`,
  String(r.duplicates),
  fmt(r.endToEndMs / 1000, 2),
  fmt(r.relayedMsgsPerS),
  fmt(r.otherDomainsRcptsPerS),
  String(r.sinkConnections),
  fmt(r.idleMemoryKiB / 1024, 1),
  fmt(r.peakMemoryKiB / 1024, 1),
]);
process.stdout.write(
  `\nRelay: ${MESSAGES} messages x ${RCPTS} recipients to ${DOMAINS} sink domains, ${SIZE} B payload, ` +
    `${SESSIONS} submission sessions${withPostfix ? `; Postfix ${pfVersion}` : ''}\n\n` +
    table(
      [
        'round',
        'relay',
        'scenario',
        'accepted',
        'submit msgs/s',
        'arrived (healthy rcpts)',
        'dups',
        'end to end s',
        'relayed msgs/s',
        'other domains rcpts/s',
        'sink conns',
        'idle MiB',
        'peak MiB',
      ],
      rows,
    ) +
    '\n',
);
for (const r of results) if (r.note) process.stdout.write(`- ${r.relay}, ${r.scenario}: ${r.note}\n`);

const oursHealthy = find('mailroom', 'healthy');
const pfHealthy = find('postfix', 'healthy');
const lines: string[] = [];
if (oursHealthy && pfHealthy) {
  lines.push(
    `relayed msgs/s, ours / Postfix: ${fmt(ratio(oursHealthy.relayedMsgsPerS, pfHealthy.relayedMsgsPerS), 2)} (goal >= 2)`,
  );
}
for (const name of relays) {
  const a = find(name, 'healthy');
  const b = find(name, 'one 451 domain');
  if (a && b) {
    const loss = 1 - ratio(b.otherDomainsRcptsPerS, a.otherDomainsRcptsPerS);
    lines.push(
      `${name}: other domains' rate with one 451 domain: ${fmt(loss * 100, 1)}% lower (goal <= 20%)`,
    );
  }
  const d = find(name, 'deferred');
  if (a && d) {
    const loss = 1 - ratio(d.relayedMsgsPerS, a.relayedMsgsPerS);
    lines.push(
      `${name}: relayed msgs/s next to ${DEFERRED} deferred messages: ${fmt(loss * 100, 1)}% lower; ` +
        `idle RSS ${fmt((d.idleMemoryKiB - a.idleMemoryKiB) / 1024, 1)} MiB more, ` +
        `peak RSS ${fmt((d.peakMemoryKiB - a.peakMemoryKiB) / 1024, 1)} MiB more`,
    );
  }
}
const base = find('mailroom-base', 'healthy');
if (oursHealthy && base) {
  lines.push(
    `relayed msgs/s, mailroom / mailroom-base: ${fmt(ratio(oursHealthy.relayedMsgsPerS, base.relayedMsgsPerS), 2)}`,
  );
}
if (lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`);
process.stdout.write(
  '\nrelayed msgs/s = accepted messages / (first submission connect -> last acceptance at a healthy sink);\n' +
    'the 451 domain is excluded from "arrived" and from "other domains rcpts/s" in both scenarios.\n',
);
if (opt.json) writeFileSync(opt.json, JSON.stringify({ messages: MESSAGES, rcpts: RCPTS, results }, null, 2));
