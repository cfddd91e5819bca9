// Store state of the policies on the listeners: server-made secrets (the SRS key) and greylisting rows.

/** One greylisting row: a (network, sender, recipient) triplet or a client network (abuse/greylist.ts). */
export interface GreylistRow {
  key: string;
  firstSeen: number; // ms since the epoch
  /** When a retry after the delay passed; null: not yet. */
  passedAt: number | null;
  lastSeen: number;
  /** Successful retries (for a client network: auto-pass after GREYLIST.autoPassAfter). */
  passes: number;
}

/** What pruning keeps: rows seen since `keepSince`, unretried triplets first seen since `unretriedSince`, at most `maxEntries`. */
export interface GreylistPrune {
  keepSince: number;
  unretriedSince: number;
  maxEntries: number;
}

export interface PolicyStore {
  /**
   * The secret called `name`, made by `create` and stored on first use. Two processes asking at once
   * get the same value (the first insert wins). Never logged.
   */
  secret(name: string, create: () => Buffer): Buffer;
  /** The rows with these keys that exist. */
  greylistRows(keys: readonly string[]): GreylistRow[];
  /**
   * Inserts or replaces rows. Bookkeeping whose loss in a power cut only greylists a client again, so
   * it does not wait for an fsync. Every so often expired rows go, and the oldest past maxEntries.
   */
  greylistSave(rows: readonly GreylistRow[], prune: GreylistPrune): void;
}
