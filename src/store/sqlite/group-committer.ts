// The group commit: deliveries ready together share one transaction and one WAL fsync (deliver.ts writes their rows).
import type Database from 'better-sqlite3';
import { unlink } from 'node:fs/promises';
import { COMMIT_GATHER_BATCH, COMMIT_GATHER_MAX_MS, COMMIT_GATHER_TURNS } from '../../config/limits.js';
import type { FileBlobStore } from '../blob-store.js';
import type { JmapStates } from '../jmap-store.js';
import { ChangeRecorder } from './changes.js';
import { type CommittedDelivery, discardPrepared, type PreparedDelivery, writeDelivery } from './deliver.js';
import { DeliveryBatch } from './delivery-batch.js';
import type { Prepare } from './statements.js';
import type { WalSync } from './wal-sync.js';

/**
 * How many inline body bytes one batch may carry. The commit is synchronous, so its WAL write
 * blocks the event loop; bounding the bytes bounds that pause (about 1 MiB = tens of ms on a slow
 * disk) while a batch of small messages still holds hundreds of them.
 */
export const MAX_BATCH_INLINE_BYTES = 1024 * 1024;

/** How a batch gathers (limits.ts COMMIT_GATHER_*): turns of the event loop, a bound in ms, callers that end it. */
export interface CommitGather {
  turns: number;
  maxMs: number;
  batch: number;
}

type Outcome = { ok: true; value: CommittedDelivery[] } | { ok: false; error: unknown };

/** Deliveries submitted together: committed in one transaction, all or none (RFC 3502 MULTIAPPEND). */
interface Waiting {
  group: PreparedDelivery[];
  resolve: (c: CommittedDelivery[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: deliveries that become ready while a commit is running (or within one turn of the
 * event loop) are committed together, and answered once one WAL fsync (wal-sync.ts, on the thread
 * pool) covers them, so durability is paid once per batch - or less: while one batch's fsync runs
 * the next batch commits, and the following fsync covers it. The commit itself is synchronous
 * (better-sqlite3) but writes only to the WAL; deliveries arriving meanwhile pile up for the next
 * batch, so the batch grows with the load by itself. When deliveries are seen arriving side by side,
 * the next batch also gathers for a few event-loop turns (limits.ts COMMIT_GATHER_TURNS): a lone
 * client never waits, and an idle loop turns in microseconds.
 */
export class GroupCommitter {
  private waiting: Waiting[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;
  /** Batches committed and waiting for their WAL fsync before their callers are answered. */
  private settling = new Set<Promise<void>>();
  /** Figures for the benchmark and logs. */
  readonly stats = { batches: 0, deliveries: 0, maxBatch: 0, gathered: 0 };
  /** A delivery came while an earlier batch still waited for its fsync: others are delivering too. */
  private overlapped = false;
  private lastBatchSize = 0;
  /** While a batch gathers: ends the gathering (enough callers are waiting). */
  private endGathering: (() => void) | null = null;
  private readonly gathering: CommitGather;
  /** Set by hold(): the next commit waits for it (deliveries keep piling up meanwhile). */
  private held: Promise<unknown> | null = null;

  constructor(
    private readonly db: Database.Database,
    private readonly prepare: Prepare,
    private readonly blobs: FileBlobStore,
    private readonly walSync: WalSync,
    /** Called once a batch is durable with the JMAP states it moved (the store emits `changes`). */
    private readonly onChanges: (states: Map<number, JmapStates>) => void = () => undefined,
    /** Called once a batch is durable: its size and seconds from its start (metrics). */
    private readonly onCommitted: (batchSize: number, seconds: number) => void = () => undefined,
    gather: Partial<CommitGather> = {},
  ) {
    this.gathering = {
      turns: gather.turns ?? COMMIT_GATHER_TURNS,
      maxMs: gather.maxMs ?? COMMIT_GATHER_MAX_MS,
      batch: gather.batch ?? COMMIT_GATHER_BATCH,
    };
  }

  submit(prepared: PreparedDelivery): Promise<CommittedDelivery> {
    return this.submitGroup([prepared]).then((c) => c[0] as CommittedDelivery);
  }

  /**
   * Deliveries that stand or fall together (an IMAP MULTIAPPEND, RFC 3502 6.3.11: "all or none"): they
   * go into the same batch transaction, and one failing refuses them all (and rolls all their rows back).
   */
  submitGroup(group: PreparedDelivery[]): Promise<CommittedDelivery[]> {
    return new Promise((resolve, reject) => {
      if (this.settling.size > 0) this.overlapped = true;
      this.waiting.push({ group, resolve, reject });
      this.schedule();
      if (this.endGathering && this.waiting.length >= this.gathering.batch) this.endGathering();
    });
  }

  /**
   * The next batch commits once `until` settles (however it settles), not before: while the checkpointer makes
   * its catch-up pass (checkpointer.ts catchUp) no commit may add to the WAL, or the pass cannot copy all of it
   * and SQLite cannot restart the WAL (limits.ts WAL_RESTART_PAGES). A batch already past its wait (syncing the
   * blob directory for its file bodies) still commits: that pass then copies less than all, and the WAL is
   * restarted at a later one. The callers waiting meanwhile form one batch.
   */
  hold(until: Promise<unknown>): void {
    const held: Promise<unknown> = until
      .catch(() => undefined)
      .finally(() => {
        if (this.held === held) this.held = null;
      });
    this.held = held;
  }

  /** Resolves once nothing is waiting or committing. */
  async drain(): Promise<void> {
    while (this.running || this.waiting.length > 0 || this.scheduled || this.settling.size > 0) {
      await (this.running ?? Promise.race([...this.settling, new Promise<void>((r) => setImmediate(r))]));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    const commit = (): void => {
      this.scheduled = false;
      this.running = this.flush().finally(() => {
        this.running = null;
        if (this.waiting.length > 0) this.schedule();
      });
    };
    const sideBySide = this.overlapped || this.lastBatchSize >= 2;
    this.overlapped = false;
    if (sideBySide && this.waiting.length < this.gathering.batch) this.gather(commit);
    else setImmediate(commit);
  }

  /**
   * Lets the next batch grow for a few turns of the event loop (at most a few ms, or until enough callers wait;
   * this.gathering), then commits: one commit's fixed cost shared by more deliveries.
   */
  private gather(commit: () => void): void {
    this.stats.gathered++;
    const started = performance.now();
    let turns = 0;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.endGathering = null;
      commit();
    };
    const turn = (): void => {
      if (ended) return;
      if (++turns >= this.gathering.turns || performance.now() - started >= this.gathering.maxMs) end();
      else setImmediate(turn);
    };
    // Called from submitGroup, inside a caller's turn: the commit still runs in a turn of its own.
    this.endGathering = () => {
      this.endGathering = null;
      setImmediate(end);
    };
    setImmediate(turn);
  }

  private async flush(): Promise<void> {
    while (this.held) await this.held;
    let budget = MAX_BATCH_INLINE_BYTES;
    let take = 0;
    for (const w of this.waiting) {
      let bytes = 0;
      for (const p of w.group) bytes += p.body.kind === 'inline' ? p.size : p.head.length;
      if (take > 0 && bytes > budget) break; // always at least one, however large
      budget -= bytes;
      take++;
    }
    const batch = this.waiting.splice(0, take);
    if (batch.length === 0) return;
    const started = performance.now();
    this.stats.batches++;
    const deliveries = batch.reduce((n, w) => n + w.group.length, 0);
    this.stats.deliveries += deliveries;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, deliveries);
    this.lastBatchSize = deliveries;
    let outcomes: Outcome[];
    let states: Map<number, JmapStates>;
    try {
      // Renames into blobs/ must be durable before any row points at them (DESIGN: durability).
      if (batch.some((w) => w.group.some((p) => p.body.kind === 'file'))) await this.blobs.syncDir();
      ({ outcomes, states } = this.commitBatch(batch.map((w) => w.group)));
    } catch (error) {
      // The commit itself failed (disk full, busy beyond busy_timeout): nothing of the batch is stored.
      await Promise.all(batch.flatMap((w) => w.group.map((p) => discardPrepared(p, this.blobs))));
      for (const w of batch) w.reject(error);
      return;
    }
    // The next batch may commit while this one's WAL fsync runs (one fsync then covers both).
    const settled = this.settle(batch, outcomes, this.walSync.sync()).then((ok) => {
      if (ok) this.onCommitted(deliveries, (performance.now() - started) / 1000);
      if (ok && states.size > 0) this.onChanges(states);
    });
    this.settling.add(settled);
    void settled.finally(() => this.settling.delete(settled));
  }

  /**
   * Commits the batch's rows in one transaction. No SAVEPOINT per delivery (they cost about as much as
   * the deliveries' own statements): when one delivery throws, the whole transaction rolls back and is
   * run again without its group, so a failing group is still refused alone and the others are stored.
   * Throws only when the transaction itself fails (BEGIN/COMMIT: disk full, lock timeout).
   */
  private commitBatch(prepared: PreparedDelivery[][]): {
    outcomes: Outcome[];
    states: Map<number, JmapStates>;
  } {
    const failed = new Map<number, unknown>();
    for (;;) {
      const values = new Map<number, CommittedDelivery[]>();
      let failing: { index: number; error: unknown } | null = null;
      // One change log flush per batch (changes.ts): the batch's Emails share its commit.
      const rec = new ChangeRecorder();
      // Mailbox counters written once per mailbox, target and vacation look-ups once (delivery-batch.ts).
      const batch = new DeliveryBatch();
      let states = new Map<number, JmapStates>();
      try {
        this.db
          .transaction(() => {
            for (const [i, group] of prepared.entries()) {
              if (failed.has(i)) continue;
              try {
                values.set(
                  i,
                  group.map((p) => writeDelivery(this.prepare, p, rec, batch)),
                );
              } catch (error) {
                failing = { index: i, error };
                throw error; // rolls the whole transaction back; retried below without this one
              }
            }
            batch.flush(this.prepare);
            states = rec.flush(this.prepare);
          })
          .immediate();
      } catch (error) {
        const f = failing as { index: number; error: unknown } | null;
        if (f === null) throw error;
        failed.set(f.index, f.error);
        continue;
      }
      const outcomes = prepared.map((_, i): Outcome => {
        const value = values.get(i);
        return value ? { ok: true, value } : { ok: false, error: failed.get(i) };
      });
      return { outcomes, states };
    }
  }

  /** Once the batch is durable, answers every caller (their 250s wait on this), then tidies up the disk. */
  private async settle(batch: Waiting[], outcomes: Outcome[], durable: Promise<void>): Promise<boolean> {
    try {
      await durable;
    } catch (error) {
      // Committed but not known to be on disk: refuse (the client retries; a duplicate beats a loss).
      for (const w of batch) w.reject(error);
      return false;
    }
    const cleanups: Promise<void>[] = [];
    const refused: Promise<void>[] = [];
    for (const [i, w] of batch.entries()) {
      const outcome = outcomes[i];
      if (outcome?.ok) {
        w.resolve(outcome.value);
        for (const p of w.group) {
          for (const f of p.spoolLeftovers) cleanups.push(unlink(f).catch(() => undefined));
        }
      } else {
        // A refused caller hears of it once its files are gone: nothing of it is left behind by then.
        const error = outcome ? outcome.error : new Error('delivery outcome missing');
        refused.push(
          Promise.all(w.group.map((p) => discardPrepared(p, this.blobs))).then(
            () => w.reject(error),
            () => w.reject(error),
          ),
        );
      }
    }
    await Promise.all([...cleanups, ...refused]);
    return true;
  }
}
