// The IMAP bench's printed report: SELECT + FETCH timing table and the mix table, ours vs Dovecot with ratios and goals.
import { ratio } from '../lib/stats.js';
import { fmt, table } from '../lib/table.js';
import { MIX_OPS, type MixFigures, type SelectFetchFigures } from './load.js';

/** The goals of issue 4 ("How it is shown"). */
export const GOAL_RATIO = 1.5;
/** Issue 12: peak memory of the mix at most this many times Dovecot's (PSS both). */
export const MEMORY_GOAL_RATIO = 1.5;
/** "Well under a second": half of one. */
export const GOAL_SELECT_FETCH_MS = 500;

export interface ServerResult {
  name: string;
  /** What memory figure is shown (RSS of one process, PSS of a tree). */
  memoryKind: string;
  warmUp?: { bigFirstSelectMs: number; mixFirstSelectMs: number[] };
  selectFetch: SelectFetchFigures[];
  mix: MixFigures[];
  /** Peak memory over all its timed turns, KiB. */
  peakMemKiB: number;
}

/** The median element by a key (the lower middle one for an even count), so its other figures match. */
export function medianBy<T>(runs: readonly T[], key: (x: T) => number): T | undefined {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

const ms = (n: number | undefined): string => fmt(n, 0);
const lat = (f: { p50Ms: number; p99Ms: number } | undefined): string =>
  f && Number.isFinite(f.p50Ms) ? `${fmt(f.p50Ms, 1)} / ${fmt(f.p99Ms, 1)}` : '-';
const times = (x: string): string => (x === '-' ? '-' : `${x}x`);

export function selectFetchTable(results: readonly ServerResult[], bigCount: number): string {
  const rows = results.map((r) => {
    const m = medianBy(r.selectFetch, (x) => x.totalMs);
    const errors = r.selectFetch.filter((x) => x.error).length;
    const goal =
      m === undefined
        ? '-'
        : `< ${GOAL_SELECT_FETCH_MS} ms ${m.totalMs < GOAL_SELECT_FETCH_MS && errors === 0 ? 'met' : 'NOT met'}`;
    return [
      r.name,
      ms(m?.selectMs),
      ms(m?.fetchMs),
      ms(m?.totalMs),
      r.selectFetch.map((x) => ms(x.totalMs)).join(', ') || '-',
      String(errors),
      ms(r.warmUp?.bigFirstSelectMs),
      goal,
    ];
  });
  return table(
    [
      `SELECT + FETCH 1:* FLAGS, ${fmt(bigCount)} msgs`,
      'SELECT ms',
      'FETCH ms',
      'total ms',
      'every round ms',
      'errors',
      'first SELECT after start ms',
      'goal (well under 1 s)',
    ],
    rows,
  );
}

export function mixTable(ours: ServerResult | undefined, peer: ServerResult | undefined): string {
  const om = ours && medianBy(ours.mix, (x) => x.opsPerSec);
  const pm = peer && medianBy(peer.mix, (x) => x.opsPerSec);
  const perSec = (f: MixFigures | undefined, count: number | undefined): number =>
    f && count !== undefined ? (count * 1000) / f.elapsedMs : NaN;
  const rows = MIX_OPS.map((op) => {
    const o = om?.ops[op];
    const p = pm?.ops[op];
    const os = perSec(om, o?.count);
    const ps = perSec(pm, p?.count);
    return [
      op,
      fmt(os),
      fmt(ps),
      times(fmt(ratio(os, ps), 2)),
      lat(o),
      lat(p),
      o ? String(o.errors) : '-',
      p ? String(p.errors) : '-',
    ];
  });
  const r = ratio(om?.opsPerSec ?? NaN, pm?.opsPerSec ?? NaN);
  rows.push([
    'total',
    fmt(om?.opsPerSec),
    fmt(pm?.opsPerSec),
    times(fmt(r, 2)),
    '',
    '',
    om ? String(om.errors) : '-',
    pm ? String(pm.errors) : '-',
  ]);
  return table(
    [
      'mix command',
      `${ours?.name ?? 'ours'} ops/s`,
      `${peer?.name ?? 'dovecot'} ops/s`,
      'ratio',
      'ours p50/p99 ms',
      'dovecot p50/p99 ms',
      'ours errors',
      'dovecot errors',
    ],
    rows,
  );
}

/** Goal lines and the per-server cost lines under the tables. */
export function summary(ours: ServerResult | undefined, peer: ServerResult | undefined): string[] {
  const om = ours && medianBy(ours.mix, (x) => x.opsPerSec);
  const pm = peer && medianBy(peer.mix, (x) => x.opsPerSec);
  const out: string[] = [];
  const r = ratio(om?.opsPerSec ?? NaN, pm?.opsPerSec ?? NaN);
  // Errors count over every round, not only the median one: one wrong answer anywhere misses the goal.
  const ourErrors = ours?.mix.reduce((sum, m) => sum + m.errors, 0) ?? 0;
  if (Number.isFinite(r)) {
    const ok = r >= GOAL_RATIO && ourErrors === 0;
    out.push(
      `goal: mix ops/s >= ${GOAL_RATIO}x Dovecot with no protocol errors: ${fmt(r, 2)}x, ` +
        `${ourErrors} errors in all rounds: ${ok ? 'met' : 'NOT met'}`,
    );
  } else if (om) {
    out.push(
      `goal: mix >= ${GOAL_RATIO}x Dovecot: not measured (no Dovecot in this run); ${ourErrors} errors in all rounds`,
    );
  }
  // Issue 12: peak memory within 1.5x of Dovecot's, both as PSS (shared pages split, as for a process tree).
  if (ours && peer && ours.peakMemKiB > 0 && peer.peakMemKiB > 0) {
    const m = ours.peakMemKiB / peer.peakMemKiB;
    out.push(
      `memory: peak ${ours.memoryKind} ${fmt(ours.peakMemKiB / 1024, 1)} MiB vs Dovecot's ${peer.memoryKind} ` +
        `${fmt(peer.peakMemKiB / 1024, 1)} MiB: ${fmt(m, 2)}x (goal <= ${MEMORY_GOAL_RATIO}x): ${m <= MEMORY_GOAL_RATIO ? 'met' : 'NOT met'}`,
    );
  }
  const cost = (s: ServerResult | undefined, m: MixFigures | undefined): void => {
    if (!s || !m) return;
    out.push(
      `${s.name}: peak ${s.memoryKind} ${fmt(s.peakMemKiB / 1024, 1)} MiB; server CPU in the mix ` +
        `${fmt(m.serverCores, 2)} cores (${fmt((m.serverCores * 1e6) / m.opsPerSec, 0)} us CPU per op); ` +
        `load generator ${fmt(m.generatorCores, 2)} cores; every round ops/s: ${s.mix.map((x) => fmt(x.opsPerSec)).join(', ')}`,
    );
  };
  cost(ours, om);
  cost(peer, pm);
  for (const s of [ours, peer]) {
    for (const m of s?.mix ?? []) {
      for (const e of m.errorSamples) out.push(`error (${s?.name}): ${e}`);
    }
    for (const f of s?.selectFetch ?? [])
      if (f.error) out.push(`error (${s?.name}, SELECT+FETCH): ${f.error}`);
  }
  return out;
}
