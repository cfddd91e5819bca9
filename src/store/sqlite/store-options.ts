// What a SqliteStore is opened with (sqlite-store.ts): its directory, its timings and sizes, and the tests' injections.
import type { CommitGather } from './group-committer.js';

export interface SqliteStoreOptions {
  dataDir: string;
  /** The clock: created_at, UIDVALIDITY (seconds). Injected so tests are exact (DESIGN habit 10). */
  clock?: () => Date;
  /** Bodies up to this many bytes are stored inside SQLite; larger ones as files. */
  inlineMaxBytes?: number;
  /** How long a write waits for another process's lock before failing (ms). */
  busyTimeoutMs?: number;
  /** Names for new blob and spool files; must keep the `<pid>-...` form of newOwnedFileName. */
  newFileName?: () => string;
  /**
   * The server's store: WAL checkpoints run on a worker thread instead of inside commits (see
   * checkpointer.ts). Other processes (the CLI) leave SQLite's auto-checkpoint on.
   */
  backgroundCheckpoints?: boolean;
  /** The checkpointer's timings and sizes in pages (tests; the defaults are checkpointer.ts's and limits.ts's). */
  checkpoints?: { intervalMs?: number; thresholdPages?: number; restartPages?: number };
  /** Copy data_dir to data_dir/backups/ before a schema upgrade (default true). */
  backupBeforeUpgrade?: boolean;
  /**
   * A second, read-only connection to a store the server's SqliteStore has opened: the JMAP API
   * workers' (http/jmap-workers.ts). Nothing is created, migrated or swept, and SQLite itself refuses
   * any write (SQLITE_READONLY), so a method wrongly sent there fails instead of writing.
   */
  readOnly?: boolean;
  /** The most WAL the shutdown copies into the database (default WAL_SIZE_LIMIT; see close()). */
  walSizeLimit?: number;
  /** Bytes of SEARCH header indexes kept in memory ([limits] header_cache; header-index-cache.ts). */
  headerCacheBytes?: number;
  /** Each durable group commit: deliveries in it and seconds until durable (the server's metrics). */
  onCommit?: (batchSize: number, seconds: number) => void;
  /** How a group commit gathers (tests; the defaults are limits.ts's COMMIT_GATHER_*). */
  commitGather?: Partial<CommitGather>;
}
