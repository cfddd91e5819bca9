// Cached answers to the per-RCPT routing lookups (domain, account, alias), dropped whenever the tables may have changed.

/*
 * Why: every RCPT asked SQLite two or three small SELECTs (isLocalDomain, getAccount, getAlias), about
 * 5% of the main thread at 1,500 msgs/s. The answers change only when an admin edits domains, accounts
 * or aliases - from another process (the CLI) or through this store's own write().
 *
 * Correctness rests on two counters:
 * - PRAGMA data_version changes whenever ANOTHER connection has committed (SQLite docs, "PRAGMA
 *   data_version"), so a `mailroom user add` in another process is seen by the very next RCPT. The pragma
 *   touches no table, but outside a transaction it opens and closes a WAL read transaction (the shared
 *   memory index and its locks): ~5-10 us in the server, as much as the query it spares. So it is read
 *   once per synchronous run of code (the first lookup; a microtask clears the mark), not per lookup: a
 *   RCPT's domain, account, alias and quota lookups share one. Nothing outside this process can tell a
 *   commit that landed during such a run from one that landed just after it.
 * - writes from this process do not all show in data_version (this connection's own never do), so every
 *   store of the process bumps `processWrites` after each of its write transactions (noteLocalWrite), and
 *   that counter is checked on every lookup: a write here, or by another store object in this process
 *   (the CLI code in tests), is seen by the very next lookup. Deliveries commit through the group
 *   committer, not write(), and never touch these tables, so they leave the cache alone.
 * Inside an open transaction the cache is bypassed: the transaction may have changed rows itself.
 *
 * 'recent' lookups (store.ts LookupFreshness: the router's and the RCPT quota check) skip the data_version
 * read while the last one is under LOOKUP_RECENT_MS old, for an answer the caller says may be that old. Under
 * load that read was ~1.7 per message (the awaits between a pipelined MAIL, RCPT and DATA each end a
 * synchronous run), ~12 us of the SMTP main thread per message on a 2-core VM (the read lock is an fcntl on the
 * -shm file). The routing lookups trust only an answer that accepts: a domain, account or alias another process
 * has just added is never refused for want of a read.
 */

/**
 * Clears the once-per-run mark. A `then` on a settled promise, not queueMicrotask(): Node wraps every
 * queueMicrotask callback in an AsyncResource (runInAsyncScope), which cost ~2.5% of the SMTP main thread
 * at load (a) for one call per RCPT and per delivery; a promise reaction runs at the same point for less.
 */
const SETTLED = Promise.resolve();

/** Write transactions committed by any store of this process (see above). */
let processWrites = 0;

/**
 * How long a 'recent' lookup may go without a data_version read: a commit by another process (the CLI's `user
 * remove`) takes at most this long to change a routing answer that accepted.
 */
export const LOOKUP_RECENT_MS = 5;

/** Enough for a large site's active addresses; a flood of made-up addresses only clears it, never grows it. */
export const MAX_LOOKUP_ENTRIES = 10_000;

export class LookupCache {
  private readonly entries = new Map<string, unknown>();
  private seenDataVersion = Number.NaN;
  private seenWrites = -1;
  /** data_version has been read in this synchronous run (cleared by a microtask). */
  private versionRead = false;
  /** When data_version was last read (the clock's ms). */
  private versionReadAt = Number.NEGATIVE_INFINITY;
  private readonly forgetVersion = (): void => {
    this.versionRead = false;
  };

  /**
   * @param dataVersion reads PRAGMA data_version on the store's connection
   * @param inTransaction true while that connection has a transaction open
   */
  constructor(
    private readonly dataVersion: () => number,
    private readonly inTransaction: () => boolean,
    private readonly maxEntries = MAX_LOOKUP_ENTRIES,
    /** Monotonic ms (tests inject one). */
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * Returns the cached answer for `key`, or loads, remembers and returns it. With `recent`, a cached answer it
   * accepts is served on a data_version read up to LOOKUP_RECENT_MS old (see above).
   */
  get<T>(key: string, load: () => T, recent?: (answer: T) => boolean): T {
    if (this.inTransaction()) return load();
    if (!this.versionRead && !(recent && this.trustedRecently(key, recent))) {
      this.versionRead = true;
      void SETTLED.then(this.forgetVersion);
      this.versionReadAt = this.clock();
      const version = this.dataVersion();
      if (version !== this.seenDataVersion) {
        this.entries.clear();
        this.seenDataVersion = version;
      }
    }
    if (processWrites !== this.seenWrites) {
      this.entries.clear();
      this.seenWrites = processWrites;
    }
    if (this.entries.has(key)) return this.entries.get(key) as T;
    const value = load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }

  /** `key` is cached, `trusted` accepts its answer, and data_version was read under LOOKUP_RECENT_MS ago. */
  private trustedRecently<T>(key: string, trusted: (answer: T) => boolean): boolean {
    if (this.clock() - this.versionReadAt >= LOOKUP_RECENT_MS || !this.entries.has(key)) return false;
    return trusted(this.entries.get(key) as T);
  }

  /** Called after every write transaction of a store of this process (see above). */
  noteLocalWrite(): void {
    processWrites++;
  }

  /** Entries held now (tests). */
  get size(): number {
    return this.entries.size;
  }
}
