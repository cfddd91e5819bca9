// Runs one load against one server with one generator and turns it into figures (rate, latency, memory, stored).
import { performance } from 'node:perf_hooks';
import { PeakSampler } from '../lib/proc.js';
import { percentile, perSecond } from '../lib/stats.js';
import { pollUntil, sleep } from '../lib/wait.js';
import type { BenchServer } from '../peers/server.js';
import { holdIdle } from './idle.js';
import { runLoad } from './load.js';
import type { IdleLoad, ThroughputLoad } from './loads.js';
import { runSmtpSource } from './smtp-source.js';

export const SENDER = 'alice@sender.test';
export type Generator = 'smtp-source' | 'mailroom-load';

export interface ThroughputFigures {
  server: string;
  generator: Generator;
  accepted: number; // 250 after the dot (smtp-source: all, if it exited 0)
  failed: number;
  msgsPerSec: number; // accepted / time from first connect to last 250
  p50Ms: number; // NaN for smtp-source (it reports no latencies)
  p99Ms: number;
  peakMemKiB: number;
  /** Messages found in the store (mailbox rows / Maildir files) that this run added. */
  stored: number;
  /** Seconds from the start until all accepted messages were in the store (Postfix delivers after 250). */
  storedAfterSec: number;
  notes: string[];
}

export async function measureThroughput(
  server: BenchServer,
  load: ThroughputLoad,
  generator: Generator,
  recipient: string,
  smtpSource: string | null,
  signer?: (message: Buffer) => Promise<Buffer>,
): Promise<ThroughputFigures> {
  const notes: string[] = [];
  const before = server.storedCount();
  const mem = new PeakSampler(() => server.memoryKiB(), 200).start();
  const started = performance.now();
  let accepted = 0;
  let failed = 0;
  let elapsedMs = 0;
  let latencies: number[] = [];
  if (generator === 'smtp-source') {
    if (!smtpSource) throw new Error('smtp-source is not installed');
    const r = await runSmtpSource({
      binary: smtpSource,
      host: server.host,
      port: server.port,
      sessions: load.sessions,
      messages: load.messages,
      size: load.size,
      perConnection: load.perConnection,
      from: SENDER,
      to: recipient,
      deadlineMs: load.deadlineMs,
    });
    elapsedMs = r.elapsedMs;
    if (r.ok) accepted = load.messages;
    else {
      // smtp-source stops at the first unexpected reply and does not say how far it got: count the store.
      notes.push(`smtp-source failed${r.timedOut ? ' (deadline)' : ''}: ${r.stderr.split('\n')[0] ?? ''}`);
      await sleep(1000);
      accepted = Math.max(0, server.storedCount() - before);
      failed = load.messages - accepted;
    }
  } else {
    const r = await runLoad({
      host: server.host,
      port: server.port,
      sessions: load.sessions,
      messages: load.messages,
      size: load.size,
      perConnection: load.perConnection,
      from: SENDER,
      to: recipient,
      deadlineMs: load.deadlineMs,
      ...(signer ? { signer } : {}),
    });
    elapsedMs = r.elapsedMs;
    accepted = r.accepted;
    failed = r.rejected + r.errors;
    latencies = r.latenciesMs;
    if (load.perConnection === 'one' && r.setupMs.length > 0) {
      const p = (q: number): string => percentile(r.setupMs, q).toFixed(1);
      notes.push(`connect to EHLO reply p50/p99 ${p(50)}/${p(99)} ms`);
    }
    if (r.firstErrors.length > 0) notes.push(`errors: ${r.firstErrors.join('; ')}`);
    if (r.stoppedByDeadline) notes.push(`stopped at the ${load.deadlineMs / 1000} s deadline`);
    if (!r.pipelining) notes.push('server did not offer PIPELINING');
  }
  // A 250 from us means "in the mailbox"; Postfix's 250 means "in its queue" and Maildir follows.
  const storedAtEnd = server.storedCount() - before;
  let storedAfterSec = NaN;
  if (Number.isFinite(storedAtEnd)) {
    await pollUntil(() => server.storedCount() - before >= accepted, 120_000, 50);
    storedAfterSec = (performance.now() - started) / 1000;
  }
  const stored = server.storedCount() - before;
  const peakMemKiB = mem.stop();
  if (Number.isFinite(stored) && stored < accepted)
    notes.push(`only ${stored} of ${accepted} accepted messages stored`);
  if (Number.isFinite(stored) && stored > accepted)
    notes.push(`${stored - accepted} more stored than accepted`);
  if (!Number.isFinite(stored)) notes.push('stored messages could not be counted');
  return {
    server: server.name,
    generator,
    accepted,
    failed,
    msgsPerSec: perSecond(accepted, elapsedMs),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    peakMemKiB,
    stored,
    storedAfterSec,
    notes,
  };
}

/** `--warmup PERCENT` as the share warmUp takes: a whole percent from 0 to 100, else null. */
export function warmupShareOf(percent: string): number | null {
  if (!/^\d{1,3}$/.test(percent)) return null;
  const n = Number(percent);
  return n <= 100 ? n / 100 : null;
}

/**
 * Runs `share` of the load's messages against the server, untimed, before its timed load: the figures then
 * describe the server as it runs for days (its code compiled, its files and caches grown), not its first seconds.
 * Why: a fresh Node.js process spends its first seconds compiling its hot code (V8's optimizing compiler on
 * the platform threads); over the first 2,000 messages of load (a) with inbound checks on the server spent
 * about three times the CPU a message it spent after 6,000 (bench/README.md "Warm-up"). Every server gets the
 * same, ours and the peers, so the ratios compare steady states. Returns the row's note on it, or null when
 * `share` is 0 (a cold run).
 */
export async function warmUp(
  server: BenchServer,
  load: ThroughputLoad,
  generator: Generator,
  recipient: string,
  smtpSource: string | null,
  share: number,
  signer?: (message: Buffer) => Promise<Buffer>,
): Promise<string | null> {
  const messages = Math.round(load.messages * share);
  if (messages === 0) return null;
  const f = await measureThroughput(server, { ...load, messages }, generator, recipient, smtpSource, signer);
  return `warm-up ${messages} msgs at ${Math.round(f.msgsPerSec)} msgs/s${f.failed > 0 ? `, ${f.failed} failed` : ''}`;
}

export interface IdleFigures {
  server: string;
  requested: number;
  held: number;
  baselineKiB: number;
  heldKiB: number;
  kibPerConnection: number;
  notes: string[];
}

/** Memory per idle connection: (memory with N held after EHLO - memory before) / N. */
export async function measureIdle(server: BenchServer, load: IdleLoad, count: number): Promise<IdleFigures> {
  const notes: string[] = [];
  // Warm up: one full session so lazily loaded code is counted in the baseline, not per connection.
  const warm = await holdIdle({
    host: server.host,
    port: server.port,
    count: 5,
    concurrency: 5,
    deadlineMs: 10_000,
  });
  warm.close();
  await sleep(1500);
  const baselineKiB = server.memoryKiB();
  const hold = await holdIdle({
    host: server.host,
    port: server.port,
    count,
    concurrency: 100,
    deadlineMs: load.deadlineMs,
  });
  // Let allocation settle (buffers from the EHLO burst, lazy GC) before reading the figure.
  await sleep(2000);
  const heldKiB = server.memoryKiB();
  const open = hold.stillOpen();
  if (hold.failed > 0) notes.push(`${hold.failed} connections failed: ${hold.firstErrors.join('; ')}`);
  if (open < hold.held) notes.push(`${hold.held - open} held connections were closed by the server`);
  hold.close();
  return {
    server: server.name,
    requested: count,
    held: open,
    baselineKiB,
    heldKiB,
    kibPerConnection: open > 0 ? (heldKiB - baselineKiB) / open : NaN,
    notes,
  };
}
