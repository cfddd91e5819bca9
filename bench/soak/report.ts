// Pure report of the soak bench: latency per protocol and phase, memory per phase, what each attack saw, the verdict.
import { percentile, perSecond } from '../lib/stats.js';
import { fmt, table } from '../lib/table.js';
import { GOOD_KINDS, type GoodKind, type KindResult, type PhaseResult } from './good.js';
import { ATTACKS, type AttackName, type AttackStats } from './hostile.js';

/** The goal: p99 of the good clients under attack within this factor of calm. */
export const P99_GOAL_RATIO = 10;

export interface SoakPhases {
  calm: PhaseResult;
  attack: PhaseResult;
  after: PhaseResult;
}

export interface SoakMemory {
  /** RSS of the server once ready, before any load. */
  startKiB: number;
  calmPeakKiB: number;
  attackPeakKiB: number;
  /** After the attackers closed every connection and the good load ran again. */
  afterPeakKiB: number;
  afterEndKiB: number;
}

const LABEL: Record<GoodKind, string> = {
  smtp: 'SMTP delivery (MX)',
  imap: 'IMAP login+select+fetch',
  pop3: 'POP3 session',
  owner: 'IMAP, attacked account',
};

const p = (r: KindResult, q: number): number => percentile(r.latenciesMs, q);
/** Errors plus operations our own schedule had to drop: both are good clients not served. */
const failed = (r: KindResult): number => r.errors + r.dropped;

/** p99 under attack / p99 calm for one kind; NaN when either phase has no successful operation. */
export function p99Ratio(phases: SoakPhases, kind: GoodKind): number {
  const calm = p(phases.calm.kinds[kind], 99);
  const attack = p(phases.attack.kinds[kind], 99);
  return Number.isFinite(calm) && Number.isFinite(attack) && calm > 0 ? attack / calm : NaN;
}

export function latencyTable(phases: SoakPhases): string {
  const rows = GOOD_KINDS.map((k) => {
    const [c, a, f] = [phases.calm.kinds[k], phases.attack.kinds[k], phases.after.kinds[k]];
    return [
      LABEL[k],
      `${fmt(p(c, 50), 1)} / ${fmt(p(c, 99), 1)}`,
      `${fmt(p(a, 50), 1)} / ${fmt(p(a, 99), 1)}`,
      `${fmt(p99Ratio(phases, k), 1)}x`,
      `${fmt(p(f, 50), 1)} / ${fmt(p(f, 99), 1)}`,
      `${c.ok} / ${a.ok} / ${f.ok}`,
      [c, a, f]
        .map((r) => (r.dropped > 0 ? `${failed(r)} (${r.dropped} dropped)` : `${failed(r)}`))
        .join(' / '),
    ];
  });
  const rate = (r: PhaseResult, n: (r: PhaseResult) => number): string =>
    fmt(perSecond(n(r), r.elapsedMs), 1);
  const ops = (r: PhaseResult): number => GOOD_KINDS.reduce((sum, k) => sum + r.kinds[k].ok, 0);
  const deliveries = (r: PhaseResult): number => r.delivered;
  rows.push([
    'msgs/s delivered; ops/s (all)',
    `${rate(phases.calm, deliveries)}; ${rate(phases.calm, ops)}`,
    `${rate(phases.attack, deliveries)}; ${rate(phases.attack, ops)}`,
    '',
    `${rate(phases.after, deliveries)}; ${rate(phases.after, ops)}`,
    '',
    '',
  ]);
  return table(
    [
      'good clients',
      'calm p50 / p99 ms',
      'attack p50 / p99 ms',
      'p99 ratio',
      'after p50 / p99 ms',
      'ok calm/attack/after',
      'failed calm/attack/after',
    ],
    rows,
  );
}

const mib = (kib: number): string => fmt(kib / 1024, 0);

export function memoryTable(m: SoakMemory): string {
  return table(
    ['server RSS (MiB)', 'at start', 'calm peak', 'attack peak', 'after: peak', 'after: at end'],
    [
      [
        'VmRSS',
        mib(m.startKiB),
        mib(m.calmPeakKiB),
        mib(m.attackPeakKiB),
        mib(m.afterPeakKiB),
        mib(m.afterEndKiB),
      ],
    ],
  );
}

const ATTACK_LABEL: Record<AttackName, string> = {
  literalFlood: 'IMAP pre-login literal flood',
  slowloris: 'slowloris (IMAP, SMTP, POP3)',
  authBurst: 'wrong-password bursts (victim)',
  connFlood: 'connection flood past per-IP limit',
  longLines: 'over-long lines',
  junk: 'junk / out-of-state commands',
  tlsHalfOpen: 'half-open TLS (imaps)',
};

/** One row per attack; the figures only one attack has go in the last column as name=value. */
export function attackTable(
  stats: Record<AttackName, AttackStats>,
  only: readonly AttackName[] = ATTACKS,
): string {
  const rows = ATTACKS.filter((a) => only.includes(a)).map((a) => {
    const s = stats[a];
    const extra = Object.entries(s.extra)
      .map(([k, v]) => {
        if (k === 'reply ms total') return `mean reply ms=${fmt(v / Math.max(1, s.extra.attempts ?? 0), 0)}`;
        return `${k}=${fmt(v, Number.isInteger(v) ? 0 : 1)}`;
      })
      .join(', ');
    return [
      ATTACK_LABEL[a],
      fmt(s.connects),
      fmt(s.connectErrors),
      fmt(s.cut),
      fmt(s.maxHeldMs / 1000, 1),
      extra,
    ];
  });
  return table(['attack', 'conns', 'connect errs', 'cut by server', 'longest held s', 'figures'], rows);
}

export interface Verdict {
  pass: boolean;
  line: string;
}

/**
 * PASS when every good protocol's p99 under attack is within P99_GOAL_RATIO of calm, no good client
 * failed in any phase, and the attacked account's owner got in every time during and after the attack.
 */
export function verdict(phases: SoakPhases): Verdict {
  const good = GOOD_KINDS.filter((k) => k !== 'owner');
  const ratios = good.map((k) => ({ k, r: p99Ratio(phases, k) }));
  const worst = ratios.reduce((a, b) => (!Number.isFinite(a.r) || b.r > a.r ? b : a));
  const ratioOk = ratios.every((x) => Number.isFinite(x.r) && x.r <= P99_GOAL_RATIO);
  const goodFailed = good.reduce(
    (sum, k) =>
      sum + failed(phases.calm.kinds[k]) + failed(phases.attack.kinds[k]) + failed(phases.after.kinds[k]),
    0,
  );
  const owner = [phases.attack.kinds.owner, phases.after.kinds.owner];
  const ownerOk = owner.reduce((s, r) => s + r.ok, 0);
  const ownerTried = owner.reduce((s, r) => s + r.ok + failed(r), 0);
  const ownerRatio = p99Ratio(phases, 'owner');
  const pass = ratioOk && goodFailed === 0 && ownerTried > 0 && ownerOk === ownerTried;
  const line =
    `verdict: ${pass ? 'PASS' : 'FAIL'}: good clients' p99 under attack ${fmt(worst.r, 1)}x calm at worst ` +
    `(${worst.k}; goal <= ${P99_GOAL_RATIO}x), ${goodFailed} failed good operations; ` +
    `the attacked account's owner signed in ${ownerOk}/${ownerTried} times during and after the attack ` +
    `(p99 ${fmt(ownerRatio, 1)}x calm)`;
  return { pass, line };
}
