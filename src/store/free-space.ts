// The free-space guard of data_dir: a cached statfs probe, the configured floor, and "refuse new mail?" for SMTP, IMAP and the queue.
import { statfs } from 'node:fs/promises';
import type { MinFreeSpace } from '../config/schema.js';
import { FREE_SPACE_REFRESH_MS } from '../config/limits.js';

/** What a probe reports, in bytes: free to this (unprivileged) user, and the filesystem's size. */
export interface DiskUsage {
  free: number;
  total: number;
}

/** Reads the free space; a fake one in tests (DESIGN habit 10: the disk is a parameter too). */
export type FreeSpaceProbe = () => Promise<DiskUsage>;

/** The real probe: statfs(2) of `dir`. `bavail`, not `bfree`: blocks reserved for root are not ours. */
export function statfsProbe(dir: string): FreeSpaceProbe {
  return async () => {
    const s = await statfs(dir);
    return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
  };
}

/** The floor in bytes for a filesystem of `total` bytes: the smaller of the given size and percentage. */
export function floorBytes(min: MinFreeSpace, total: number): number {
  const candidates: number[] = [];
  if (min.bytes !== null) candidates.push(min.bytes);
  if (min.percent !== null) candidates.push(Math.floor((total * min.percent) / 100));
  return candidates.length === 0 ? 0 : Math.min(...candidates);
}

/** Crossing the floor, either way: the one log line per crossing (not one per refused message). */
export interface FloorCrossing {
  low: boolean;
  free: number;
  floor: number;
}

export interface StorageGuardOptions {
  probe: FreeSpaceProbe;
  min: MinFreeSpace;
  /** Monotonic milliseconds (performance.now in serve; a fake in tests). */
  now: () => number;
  refreshMs?: number;
  onCrossing?: (crossing: FloorCrossing) => void;
  /** A probe that throws (data_dir gone, EACCES): the verdict stays as it was. */
  onProbeError?: (error: unknown) => void;
}

/** What protocol code asks: the cached verdict (sync, for a receiver) or a fresh one (async). */
export interface StorageLevel {
  isLow(): boolean;
  check(): Promise<boolean>;
}

/**
 * "Is data_dir below its free-space floor?", answered from a cache refreshed at most every
 * `refreshMs`, so a flood of MAIL commands costs one statfs a second, not one each. Until the first
 * probe has answered the verdict is "not low": refusing mail on no evidence would be worse.
 */
export class StorageGuard implements StorageLevel {
  private low = false;
  private probedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | null = null;
  private probeFailing = false;
  private readonly refreshMs: number;

  constructor(private readonly options: StorageGuardOptions) {
    this.refreshMs = options.refreshMs ?? FREE_SPACE_REFRESH_MS;
  }

  /** The cached verdict, at once; starts a refresh in the background when it is stale. */
  isLow(): boolean {
    if (this.stale()) void this.refresh();
    return this.low;
  }

  /** The verdict from a probe at most `refreshMs` old (waits for one when the cache is stale). */
  async check(): Promise<boolean> {
    if (this.stale()) await this.refresh();
    return this.low;
  }

  /** Probes now (concurrent callers share one probe). */
  refresh(): Promise<void> {
    this.pending ??= this.probe().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private stale(): boolean {
    return this.options.now() - this.probedAt >= this.refreshMs;
  }

  private async probe(): Promise<void> {
    let usage: DiskUsage;
    try {
      usage = await this.options.probe();
    } catch (error) {
      this.probedAt = this.options.now();
      // Reported once per run of failures, not once a second.
      if (!this.probeFailing) this.options.onProbeError?.(error);
      this.probeFailing = true;
      return;
    }
    this.probeFailing = false;
    this.probedAt = this.options.now();
    const floor = floorBytes(this.options.min, usage.total);
    const low = usage.free < floor;
    if (low !== this.low) {
      this.low = low;
      this.options.onCrossing?.({ low, free: usage.free, floor });
    }
  }
}

/** True for the errors a full disk raises: ENOSPC/EDQUOT from fs, SQLITE_FULL from better-sqlite3. */
export function isNoSpaceError(error: unknown): boolean {
  // A store may wrap the error it met: follow `cause` a few levels.
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
