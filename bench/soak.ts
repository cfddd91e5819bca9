// Robustness soak (issue 8): good clients alone (calm), then beside hostile ones (attack), then alone again (after).
// Run: npm run build && node --import tsx bench/soak.ts [--quick] [--json FILE] [--keep] (--help; bench/README.md)
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PeakSampler, raiseFdLimit } from './lib/proc.js';
import { percentile } from './lib/stats.js';
import { fmt } from './lib/table.js';
import { freePort, sleep } from './lib/wait.js';
import { startMailroom, type MailroomServer } from './peers/mailroom.js';
import { GOOD_KINDS, GoodLoad, type GoodKind, type GoodSetup, type PhaseResult } from './soak/good.js';
import { ATTACKS, type AttackName, type AttackStats, type HostilePlan } from './soak/hostile.js';
import {
  attackTable,
  latencyTable,
  memoryTable,
  verdict,
  type SoakMemory,
  type SoakPhases,
} from './soak/report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DOMAIN = 'example.test';
const PASSWORD = 'bench-password';
/** A good operation (one whole session) not done in this time counts as failed. */
const OP_TIMEOUT_S = 30;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    warmup: { type: 'string' },
    calm: { type: 'string' },
    attack: { type: 'string' },
    after: { type: 'string' },
    rates: { type: 'string', default: 'smtp=8,imap=4,pop3=2,owner=1' },
    attacks: { type: 'string', default: ATTACKS.join(',') },
    cli: { type: 'string' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(
    'usage: node --import tsx bench/soak.ts [--quick] [--warmup S] [--calm S] [--attack S] [--after S]\n' +
      `       [--rates smtp=8,imap=4,pop3=2,owner=1] [--attacks ${ATTACKS.join(',')}]\n` +
      '       [--cli dist/cli.js] [--json FILE] [--keep]\n',
  );
  process.exit(0);
}
const seconds = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 3600) {
    process.stderr.write(
      `soak bench: --${name} must be a whole number of seconds from 1 to 3600, got ${text}\n`,
    );
    process.exit(2);
  }
  return n;
};
const WARMUP_S = seconds('warmup', opt.warmup ?? (opt.quick ? '3' : '5'));
const CALM_S = seconds('calm', opt.calm ?? (opt.quick ? '10' : '40'));
// Longer than the 60 s idle timeout, so a slowloris that a real deadline would cut shows up as cut.
const ATTACK_S = seconds('attack', opt.attack ?? (opt.quick ? '20' : '90'));
const AFTER_S = seconds('after', opt.after ?? (opt.quick ? '8' : '20'));
const rates: Record<GoodKind, number> = { smtp: 0, imap: 0, pop3: 0, owner: 0 };
for (const part of opt.rates.split(',')) {
  const [k, v] = part.split('=');
  const n = Number(v);
  if (!(GOOD_KINDS as readonly string[]).includes(k ?? '') || !(n >= 0 && n <= 200)) {
    process.stderr.write(
      `soak bench: --rates takes kind=ops/s for ${GOOD_KINDS.join(', ')} (0-200), got ${part}\n`,
    );
    process.exit(2);
  }
  rates[k as GoodKind] = n;
}
const attacks = opt.attacks.split(',').map((a) => a.trim()) as AttackName[];
for (const a of attacks) {
  if (!ATTACKS.includes(a)) {
    process.stderr.write(`soak bench: --attacks takes ${ATTACKS.join(', ')}; got ${a}\n`);
    process.exit(2);
  }
}
const CLI = opt.cli ?? join(HERE, '..', 'dist', 'cli.js');
const log = (s: string): void => void process.stderr.write(`soak bench: ${s}\n`);

const imapAccounts = Array.from({ length: 4 }, (_, i) => `imap${i}@${DOMAIN}`);
// One POP3 session per maildrop at a time (RFC 1939 8 lock): enough accounts for sessions slowed to seconds.
const pop3Accounts = Array.from({ length: 8 }, (_, i) => `pop${i}@${DOMAIN}`);
const owner = `owner@${DOMAIN}`;

/** The hostile load: the probe of issue 8 at its size by default, about half of it with --quick. */
function hostilePlan(ports: HostilePlan['ports']): HostilePlan {
  const q = opt.quick;
  return {
    host: '127.0.0.1',
    ports,
    victim: owner,
    durationMs: ATTACK_S * 1000,
    attacks,
    // The probe: 300 connections from 15 addresses, each `a LOGIN {64000+}` + 64,000 bytes and 15 more.
    literalFlood: { connections: q ? 150 : 300, ips: q ? 8 : 15, literals: 16, literalSize: 64_000 },
    slowloris: { perProtocol: q ? 15 : 30, ips: 10, byteEveryMs: 5_000 },
    authBurst: { workers: q ? 30 : 60, ips: 20 },
    // 60 per address: past the default per-IP limit of 50 (CONTRACT.md [limits]).
    connFlood: { ips: q ? 2 : 4, perIp: 60 },
    longLines: { workers: q ? 2 : 4, lineBytes: 64 * 1024 },
    junk: { workers: q ? 2 : 4 },
    tlsHalfOpen: { connections: q ? 20 : 40 },
  };
}

let server: MailroomServer | undefined;
let attacker: ReturnType<typeof spawn> | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    if (attacker?.pid) attacker.kill('SIGKILL');
    void (server?.stop() ?? Promise.resolve()).then(() => process.exit(130));
  });
}

interface AttackerOutput {
  stats: Record<AttackName, AttackStats>;
  strayErrors: number;
  cpuSeconds: number;
}

/** Runs the attacker process for the plan's duration; resolves with its figures (null if it failed). */
function runAttacker(plan: HostilePlan): Promise<AttackerOutput | null> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(HERE, 'soak', 'attacker.ts'), JSON.stringify(plan)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    attacker = child;
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
    // It stops by itself at the end of the plan; this is the backstop if it hangs.
    const backstop = setTimeout(() => child.kill('SIGKILL'), plan.durationMs + 30_000);
    child.once('exit', () => {
      clearTimeout(backstop);
      attacker = undefined;
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as AttackerOutput);
      } catch {
        resolve(null);
      }
    });
  });
}

interface PhaseFigures {
  result: PhaseResult;
  peakKiB: number;
  serverCores: number;
  loopLagP99Ms: number;
}

/** One phase of good load with the server's RSS peak, its CPU and our own event-loop lag alongside. */
async function phase(load: GoodLoad, s: MailroomServer, durationS: number): Promise<PhaseFigures> {
  const mem = new PeakSampler(() => s.memoryKiB(), 200).start();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpu0 = s.cpuSeconds();
  const t0 = performance.now();
  const result = await load.run(durationS * 1000);
  const cores = (s.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
  lag.disable();
  return { result, peakKiB: mem.stop(), serverCores: cores, loopLagP99Ms: lag.percentile(99) / 1e6 };
}

async function main(): Promise<void> {
  raiseFdLimit(8192); // the server (our child) inherits it: ~1,000 hostile connections at once
  const ports = {
    smtp: await freePort(),
    submission: await freePort(),
    imap: await freePort(),
    imaps: await freePort(),
    pop3: await freePort(),
  };
  const t0 = performance.now();
  server = await startMailroom({
    cli: CLI,
    port: ports.smtp,
    imapPort: ports.imap,
    imapsPort: ports.imaps,
    pop3Port: ports.pop3,
    submissionPort: ports.submission,
    domain: DOMAIN,
    user: 'owner',
    accounts: [...imapAccounts, ...pop3Accounts],
    // The defaults (CONTRACT.md [limits]): the soak measures the server as shipped.
    maxConnections: 1000,
    maxConnectionsPerIp: 50,
    keep: opt.keep,
  });
  const s = server;
  const startKiB = s.memoryKiB();
  log(`server ready in ${fmt((performance.now() - t0) / 1000, 1)} s (RSS ${fmt(startKiB / 1024)} MiB)`);
  const setup: GoodSetup = {
    host: '127.0.0.1',
    ports: { smtp: ports.smtp, imap: ports.imap, pop3: ports.pop3 },
    password: PASSWORD,
    imapAccounts,
    pop3Accounts,
    owner,
    // The owner's usual address: it signs in from here in every phase, the attackers never use it.
    ownerIp: '127.0.20.1',
    goodIps: Array.from({ length: 8 }, (_, i) => `127.0.10.${i + 1}`),
    rates,
    opTimeoutMs: OP_TIMEOUT_S * 1000,
    maxInFlight: 64,
  };
  const load = new GoodLoad(setup);
  await load.prime();
  // Not timed: first logins (a scrypt each before the verified-password cache holds them), JIT, disk caches.
  log(`warm-up: ${WARMUP_S} s of good load, not timed`);
  await load.run(WARMUP_S * 1000);

  log(`calm: ${CALM_S} s of good load alone`);
  const calm = await phase(load, s, CALM_S);
  log(`attack: ${ATTACK_S} s of the same good load beside the hostile clients`);
  const plan = hostilePlan(ports);
  const [attack, hostile] = await Promise.all([phase(load, s, ATTACK_S), runAttacker(plan)]);
  log(`after: the attackers are gone; ${AFTER_S} s of good load alone`);
  await sleep(500);
  const after = await phase(load, s, AFTER_S);
  const memory: SoakMemory = {
    startKiB,
    calmPeakKiB: calm.peakKiB,
    attackPeakKiB: attack.peakKiB,
    afterPeakKiB: after.peakKiB,
    afterEndKiB: s.memoryKiB(),
  };
  report(
    { calm: calm.result, attack: attack.result, after: after.result },
    { calm, attack, after },
    memory,
    plan,
    hostile,
  );
}

function report(
  phases: SoakPhases,
  figures: Record<keyof SoakPhases, PhaseFigures>,
  memory: SoakMemory,
  plan: HostilePlan,
  hostile: AttackerOutput | null,
): void {
  const v = verdict(phases);
  const notes: string[] = [];
  for (const name of ['calm', 'attack', 'after'] as const) {
    const f = figures[name];
    notes.push(
      `${name}: server ${fmt(f.serverCores, 2)} cores; the good clients' own event-loop lag p99 ${fmt(f.loopLagP99Ms, 1)} ms`,
    );
    for (const k of GOOD_KINDS) {
      const r = f.result.kinds[k];
      if (r.firstErrors.length > 0) notes.push(`${name} ${k} errors: ${r.firstErrors.join(' | ')}`);
    }
  }
  if (!hostile) notes.push('the attacker process failed: no attack figures');
  else {
    const cores = hostile.cpuSeconds / ATTACK_S;
    notes.push(
      `attacker process: ${fmt(cores, 2)} cores over the attack, ${hostile.strayErrors} stray socket errors`,
    );
  }
  const out = [
    `Mailroom robustness soak${opt.quick ? ' (--quick)' : ''}: ${new Date().toISOString()}, Node ${process.version}; ` +
      `warm-up ${WARMUP_S} s, calm ${CALM_S} s, attack ${ATTACK_S} s, after ${AFTER_S} s; default [limits] (50 connections per IP and listener)`,
    '',
    latencyTable(phases),
    '',
    memoryTable(memory),
    '',
    hostile ? attackTable(hostile.stats, attacks) : '(no attack figures)',
    '',
    `good clients (open loop, latency from the scheduled start to the last reply, whole session): ` +
      `SMTP ${rates.smtp}/s (EHLO, MAIL, RCPT, DATA 2 KiB, QUIT on the MX listener), IMAP ${rates.imap}/s ` +
      `(LOGIN, SELECT, FETCH 1 BODY.PEEK[], LOGOUT), POP3 ${rates.pop3}/s (USER, PASS, STAT, RETR 1, QUIT), from ` +
      `127.0.10.1-8; the attacked account's owner: IMAP ${rates.owner}/s from 127.0.20.1, where it signed in during calm. ` +
      `"failed" = errors (NO/-ERR/4xx/5xx, timeouts of ${OP_TIMEOUT_S} s, closes) + operations dropped by our own backlog.`,
    `attackers (own process, each attack from its own 127.N.0.0/16): ${describeAttacks(plan)}.`,
    ...notes.map((n) => `note: ${n}`),
    v.line,
  ];
  process.stdout.write(out.join('\n') + '\n');
  if (opt.json) {
    const summary = (r: PhaseResult): object =>
      Object.fromEntries(
        GOOD_KINDS.map((k) => {
          const x = r.kinds[k];
          return [
            k,
            {
              ok: x.ok,
              errors: x.errors,
              dropped: x.dropped,
              p50: percentile(x.latenciesMs, 50),
              p99: percentile(x.latenciesMs, 99),
              // The slowest twenty, with when they were scheduled: a burst shows as a cluster of starts.
              slowest: x.latenciesMs
                .map((ms, i) => ({
                  ms: Math.round(ms),
                  atMs: Math.round(x.startsMs[i] ?? 0),
                  connectedMs: Math.round(x.connectedMs[i] ?? NaN),
                  greetedMs: Math.round(x.greetedMs[i] ?? NaN),
                }))
                .sort((a, b) => b.ms - a.ms)
                .slice(0, 20),
              firstErrors: x.firstErrors,
            },
          ];
        }),
      );
    writeFileSync(
      opt.json,
      JSON.stringify(
        {
          quick: opt.quick,
          seconds: { warmup: WARMUP_S, calm: CALM_S, attack: ATTACK_S, after: AFTER_S },
          rates,
          phases: {
            calm: summary(phases.calm),
            attack: summary(phases.attack),
            after: summary(phases.after),
          },
          memoryKiB: memory,
          plan,
          attacks: hostile?.stats ?? null,
          verdict: v,
        },
        null,
        2,
      ),
    );
  }
}

/** One phrase per attack that ran, for the line under the tables. */
function describeAttacks(plan: HostilePlan): string {
  const f = plan.literalFlood;
  const phrases: Record<AttackName, string> = {
    literalFlood:
      `${f.connections} IMAP literal-flood connections from ${f.ips} addresses ` +
      `(${f.literals} x ${fmt(f.literalSize)} bytes each)`,
    slowloris: `slowloris ${plan.slowloris.perProtocol} per protocol, 1 byte / ${plan.slowloris.byteEveryMs / 1000} s`,
    authBurst: `${plan.authBurst.workers} parallel wrong-password workers on ${owner} from ${plan.authBurst.ips} addresses`,
    connFlood: `${plan.connFlood.ips} x ${plan.connFlood.perIp} idle connections per listener`,
    longLines: `${plan.longLines.workers} workers sending ${fmt(plan.longLines.lineBytes / 1024)} KiB lines`,
    junk: `${plan.junk.workers} junk workers`,
    tlsHalfOpen: `${plan.tlsHalfOpen.connections} half-open TLS`,
  };
  return plan.attacks.map((a) => phrases[a]).join('; ');
}

let failed: unknown = null;
try {
  await main();
} catch (err) {
  failed = err;
}
if (attacker?.pid) attacker.kill('SIGKILL');
await server?.stop();
if (failed) {
  process.stderr.write(
    `soak bench failed: ${failed instanceof Error ? (failed.stack ?? failed.message) : String(failed)}\n`,
  );
  process.exit(1);
}
