// Cached answers to the per-RCPT routing lookups (domain, account, alias), dropped whenever the tables may have changed.

/*
 * Why: every RCPT asked SQLite two or three small SELECTs (isLocalDomain, getAccount, getAlias), about
 * 5% of the main thread at 1,500 msgs/s. The answers change only when an admin edits domains, accounts
 * or aliases - from another process (the CLI) or through this store's own write().
 *
 * Correctness rests on two counters, both checked on every lookup:
 * - PRAGMA data_version changes whenever ANOTHER connection has committed (SQLite docs, "PRAGMA
 *   data_version"), so a `mailroom user add` in another process is seen by the very next RCPT. The pragma
 *   touches no table and costs far less than the queries it replaces.
 * - this connection's own writes do not change data_version, so the store bumps `localWrites` after each
 *   of its write transactions (noteLocalWrite). Deliveries commit through the group committer, not
 *   write(), and never touch these tables, so they leave the cache alone.
 * Inside an open transaction the cache is bypassed: the transaction may have changed rows itself.
 */

/** Enough for a large site's active addresses; a flood of made-up addresses only clears it, never grows it. */
export const MAX_LOOKUP_ENTRIES = 10_000;

export class LookupCache {
  private readonly entries = new Map<string, unknown>();
  private seenDataVersion = Number.NaN;
  private seenLocalWrites = -1;
  private localWrites = 0;

  /**
   * @param dataVersion reads PRAGMA data_version on the store's connection
   * @param inTransaction true while that connection has a transaction open
   */
  constructor(
    private readonly dataVersion: () => number,
    private readonly inTransaction: () => boolean,
    private readonly maxEntries = MAX_LOOKUP_ENTRIES,
  ) {}

  /** Returns the cached answer for `key`, or loads, remembers and returns it. */
  get<T>(key: string, load: () => T): T {
    if (this.inTransaction()) return load();
    const version = this.dataVersion();
    if (version !== this.seenDataVersion || this.localWrites !== this.seenLocalWrites) {
      this.entries.clear();
      this.seenDataVersion = version;
      this.seenLocalWrites = this.localWrites;
    }
    if (this.entries.has(key)) return this.entries.get(key) as T;
    const value = load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }

  /** Called after every write transaction of this connection (see above). */
  noteLocalWrite(): void {
    this.localWrites++;
  }

  /** Entries held now (tests). */
  get size(): number {
    return this.entries.size;
  }
}
