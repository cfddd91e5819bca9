// Durability of SQLite commits with the fsync off the event loop: commit with synchronous=NORMAL, then fdatasync the WAL.
import { fdatasyncSync, openSync, closeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/*
 * Why: with synchronous=FULL, SQLite fsyncs the WAL inside every COMMIT, and better-sqlite3 runs
 * COMMIT on the main thread, so every batch blocks the event loop for an fsync (~0.5 ms idle, tens of
 * ms on a busy disk) and sessions wait for their greetings and replies meanwhile.
 *
 * With synchronous=NORMAL in WAL mode a COMMIT only write()s its frames to the -wal file; SQLite
 * fsyncs the WAL before checkpointing it. Syncing that same file (same inode, any descriptor) after
 * the commit makes the committed frames durable exactly as FULL would: recovery replays every
 * checksummed frame up to the last commit record. So a caller may be answered once `sync()`
 * resolves, and the fsync itself runs on libuv's thread pool. Syncs are coalesced: one fsync covers
 * every commit made before it started (group commit across batches too).
 *
 * The -wal file is never deleted while this connection is open (SQLite removes it only when the last
 * connection closes), so one descriptor stays valid for the life of the store.
 */
export class WalSync {
  private handle: FileHandle | null = null;
  private inFlight: Promise<void> | null = null;
  private pending: Promise<void> | null = null;
  /** fsyncs issued, for the benchmark and tests. */
  syncs = 0;

  constructor(private readonly walPath: string) {}

  /** Resolves once every commit made before this call is on disk. */
  sync(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.run().finally(() => (this.inFlight = null));
      return this.inFlight;
    }
    // A sync is running but may have started before our commit: queue one more (shared by all callers).
    this.pending ??= this.inFlight.then(() => {
      this.pending = null;
      return this.sync();
    });
    return this.pending;
  }

  /** The same, blocking: for the rare synchronous admin writes (CLI), where a pause costs nothing. */
  syncNow(): void {
    const fd = openSync(this.walPath, 'r+');
    try {
      fdatasyncSync(fd);
      this.syncs++;
    } finally {
      closeSync(fd);
    }
  }

  private async run(): Promise<void> {
    this.handle ??= await open(this.walPath, 'r+');
    this.syncs++;
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    while (this.inFlight || this.pending) await (this.pending ?? this.inFlight);
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }
}
