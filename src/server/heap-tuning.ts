// [limits] heap: the V8 heap sizing `mailroom serve` applies to itself at start (issue 12: memory within 1.5x of Dovecot's).
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { HEAP_TUNINGS, YOUNG_GENERATION_CAP_MIB, type HeapTuning } from '../config/limits.js';

/*
 * Why at run time: `mailroom serve` is what users start (CONTRACT.md), so flags on Node's command line
 * (`node --max-semi-space-size=...`) are not ours to give, and NODE_OPTIONS refuses some of them. V8 reads a
 * few of its GC flags at each collection, and those take effect when set from here:
 * `--semi-space-growth-factor` (the young generation grows by this factor whenever a scavenge finds many
 * survivors; 1 keeps it where it is, where V8 otherwise grows it to 32 MiB, touched twice over by its two
 * semi-spaces under load: "small" switches it between 2 and 1 to hold it at a cap) and
 * `--heap-growing-percent` (after a full GC the old generation may grow to live * (1 + p/100) before the
 * next one; V8's own factor goes up to 4x, and the IMAP mix's ~50 MiB live set let the heap reach ~250 MiB
 * of mostly garbage). Flags read only when the heap is created (`--max-semi-space-size`,
 * `--max-old-space-size`) do nothing here, so none is used. Process-wide (worker isolates too), but a worker
 * thread starting sets the growth factor back: see server/worker-thread.ts startWorker and keepHeapTuning.
 * (Node documents setFlagsFromString after start-up as "use with care": these two are plain numbers read by
 * the heap's sizing code at each GC; test/unit/server/heap-tuning.test.ts checks their effect.)
 */

/**
 * Set by src/cli.ts before the server's modules load: loading ~450 modules makes every scavenge find
 * survivors, which grew the young generation to its maximum before the config was even read, and it
 * does not shrink back. serve then applies the config's choice (HEAP_TUNINGS.node sets V8's defaults back).
 */
export const EARLY_SERVE_FLAGS: readonly string[] = ['--semi-space-growth-factor=1'];

/** What applyHeapTuning set last (empty: nothing, V8 as Node started it); keepHeapTuning sets it again. */
let current: readonly string[] = [];

/** The V8 flags of a [limits] heap setting, in the order they are applied. */
export function heapFlags(tuning: HeapTuning): readonly string[] {
  return HEAP_TUNINGS[tuning];
}

/** Applies V8 flags to this process (v8.setFlagsFromString; a test passes its own). */
export function applyV8Flags(
  flags: readonly string[],
  setFlags: (flag: string) => void = setFlagsFromString,
): void {
  for (const flag of flags) setFlags(flag);
}

/**
 * Lets the young generation grow (V8's factor 2) while it is under `capBytes`, and stops its growth
 * (factor 1) once it has reached it. V8 grows it only after a scavenge, and only once as many bytes
 * have survived scavenges since its last growth as it holds, so a check after each GC sees every step
 * but one that a single synchronous stretch of work could take twice (a 4 MiB young generation
 * filling 4 MiB of survivors without the event loop turning); even then it stops at the next check.
 * Pure: reading the size and setting the flag are given.
 */
export class YoungGenerationCap {
  /** The growth factor last set (null: none yet); keepHeapTuning sets it again after a worker's start. */
  factor: 1 | 2 | null = null;

  constructor(
    private readonly capBytes: number,
    private readonly youngGenerationBytes: () => number,
    private readonly setFlags: (flag: string) => void,
  ) {}

  /** Called after each GC (and once at start): the growth factor for the young generation's size now. */
  check(): 1 | 2 {
    const wanted = this.youngGenerationBytes() >= this.capBytes ? 1 : 2;
    if (wanted !== this.factor) {
      this.setFlags(`--semi-space-growth-factor=${wanted}`);
      this.factor = wanted;
    }
    return wanted;
  }
}

/** V8's young generation now: both semi-spaces, as committed (what "new_space" reports). */
function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

/** The running cap and its GC observer (one per process; null: none). */
let running: { cap: YoungGenerationCap; observer: PerformanceObserver } | null = null;

/** Starts the young generation's cap for this process: a check after every GC (perf_hooks 'gc' entries). */
function startYoungGenerationCap(capMiB: number, setFlags: (flag: string) => void): void {
  const cap = new YoungGenerationCap(capMiB * 1024 * 1024, youngGenerationBytes, setFlags);
  const observer = new PerformanceObserver(() => cap.check());
  observer.observe({ entryTypes: ['gc'] });
  running = { cap, observer };
  cap.check();
}

/** Applies a [limits] heap setting to this process's V8; `serve` calls it once, right after reading the config. */
export function applyHeapTuning(
  tuning: HeapTuning,
  setFlags: (flag: string) => void = setFlagsFromString,
): readonly string[] {
  const flags = heapFlags(tuning);
  applyV8Flags(flags, setFlags);
  current = flags;
  running?.observer.disconnect();
  running = null;
  if (tuning === 'small') startYoungGenerationCap(YOUNG_GENERATION_CAP_MIB, setFlags);
  return flags;
}

/** Whether [limits] heap has set anything that a worker thread's start would undo (startWorker asks). */
export function heapTuningActive(): boolean {
  return current.length > 0 || running !== null;
}

/** Sets the tuning's flags again, the cap's growth factor included. */
export function restoreHeapTuning(): void {
  applyV8Flags(current);
  const factor = running?.cap.factor;
  if (factor) applyV8Flags([`--semi-space-growth-factor=${factor}`]);
}

/**
 * For a Worker startWorker did not wait for (not eval'd, or slower than WORKER_BOOT_WAIT_MS): V8 sets the
 * young generation's growth factor back to 2 while it makes a new isolate's heap (process-wide), so the
 * tuning is set again once the worker is online.
 */
export function keepHeapTuning(worker: Worker): void {
  if (!heapTuningActive()) return;
  worker.once('online', restoreHeapTuning);
}
