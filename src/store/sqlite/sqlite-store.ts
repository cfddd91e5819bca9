// SqliteStore: the embedded default Store (better-sqlite3 in WAL mode, bodies inline or under data_dir/blobs).
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { MailroomError } from '../../errors.js';
import { FileBlobStore, newOwnedFileName } from '../blob-store.js';
import { prepareDataDir } from '../data-dir.js';
import type {
  Account,
  AccountState,
  AccountUsage,
  Alias,
  LookupFreshness,
  DeliveryRequest,
  Mailbox,
  MailboxMessage,
  QueueEntry,
  Store,
  StoreEvents,
} from '../store.js';
import { DEFAULT_INLINE_MAX_BYTES, prepareDelivery, type CommittedDelivery } from './deliver.js';
import { GroupCommitter } from './group-committer.js';
import type { SqliteStoreOptions } from './store-options.js';
import { SqliteDirectory } from './directory.js';
import { getMailbox, listMailboxes } from './mail-folders.js';
import type { SqliteContext } from './context.js';
import { SqliteMailStore } from './mail-store.js';
import { SqliteJmapStore } from './jmap-emails.js';
import { emitChanges } from './change-events.js';
import { listQueueEntries } from './queries.js';
import { SqliteQueueStore } from './queue-store.js';
import { SqliteUploadStore } from './upload-store.js';
import { SqliteSendingStore } from './sending-store.js';
import { SqlitePolicyStore } from './policy-store.js';
import { migrate, SCHEMA_VERSION } from './schema.js';
import { backupBeforeUpgrade } from './backup.js';
import type { QuotaState } from '../quota.js';
import { usageMismatches, type UsageMismatch } from './quota.js';
import { SqliteDkimStore } from './dkim-store.js';
import { SqliteTokenStore } from './token-store.js';
import { SqliteTraceStore } from './trace-store.js';
import { SqliteTlsPolicyStore } from './tls-policy-store.js';
import { SqliteUrlAuthStore } from './urlauth-store.js';
import { SqliteDmarcReportStore } from './dmarc-report-store.js';
import { canonicalizeStoredNames } from './canonical-names.js';
import { backfillEmails } from './backfill.js';
import { cachedPrepare, type Prepare } from './statements.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { WalSync } from './wal-sync.js';
import { LookupCache } from './lookup-cache.js';
import { SQLITE_CACHE_KIB, WAL_SIZE_LIMIT } from '../../config/limits.js';

export { DEFAULT_MAILBOXES } from './directory.js';
export type { SqliteStoreOptions } from './store-options.js';

/**
 * Opens (creating if needed) the store in `dataDir`: data_dir/mailroom.db, data_dir/blobs,
 * data_dir/spool. Synchronous: it is start-up work, and the CLI wants a plain call. Removes
 * orphaned spool and blob files left by a crashed process (see blob-store.ts).
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

export class SqliteStore implements Store {
  readonly events = new EventEmitter<StoreEvents>();
  readonly mail: SqliteMailStore;
  readonly queue: SqliteQueueStore;
  readonly uploads: SqliteUploadStore;
  readonly jmap: SqliteJmapStore;
  readonly sending: SqliteSendingStore;
  readonly policy: SqlitePolicyStore;
  readonly dkim: SqliteDkimStore;
  readonly tokens: SqliteTokenStore;
  readonly trace: SqliteTraceStore;
  readonly tlsPolicy: SqliteTlsPolicyStore;
  readonly urlauth: SqliteUrlAuthStore;
  readonly dmarcReports: SqliteDmarcReportStore;
  readonly spoolDir: string;
  readonly blobs: FileBlobStore;
  /** Where the copy taken before a schema upgrade at open went (null: no upgrade); for the start-up log. */
  readonly upgradeBackup: string | null;
  /** Where it lives: the JMAP API workers open their own read-only connection to it (readOnly). */
  readonly dataDir: string;
  /** What the orphan sweep at open removed (for the start-up log and tests). */
  readonly orphansRemoved: { spool: string[]; blobs: string[] };
  private readonly db: Database.Database;
  private readonly prepare: Prepare;
  private readonly clock: () => Date;
  private readonly inlineMaxBytes: number;
  private readonly committer: GroupCommitter;
  private readonly walSync: WalSync;
  private readonly checkpointer: Checkpointer | null = null;
  private closed = false;
  private readonly walSizeLimit: number;
  private readonly dbPath: string;
  private readonly walPath: string;
  /** Bytes of WAL the last close() left for the next start to checkpoint (0: none); for the shutdown log. */
  walLeftAtClose = 0;
  private inFlight = new Set<Promise<unknown>>();
  /** Routing lookups (isLocalDomain, getAccount, getAlias) and vacation() without SQL per RCPT; see lookup-cache.ts. */
  private readonly lookups: LookupCache;
  private readonly directory: SqliteDirectory;
  /** What the sub-stores share (context.ts). */
  private readonly context: SqliteContext;

  constructor(options: SqliteStoreOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.inlineMaxBytes = options.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
    this.walSizeLimit = options.walSizeLimit ?? WAL_SIZE_LIMIT;
    const readOnly = options.readOnly === true;
    this.dataDir = options.dataDir;
    // Made and proven usable first: an unusable data_dir is one clear error, never a hang (data-dir.ts).
    if (!readOnly) prepareDataDir(options.dataDir);
    this.spoolDir = join(options.dataDir, 'spool');
    this.blobs = new FileBlobStore(
      join(options.dataDir, 'blobs'),
      this.spoolDir,
      options.newFileName ?? (() => newOwnedFileName()),
    );
    const dbPath = (this.dbPath = join(options.dataDir, 'mailroom.db'));
    this.walPath = `${dbPath}-wal`;
    const timeout = options.busyTimeoutMs ?? 5000;
    this.db = new Database(dbPath, readOnly ? { readonly: true, fileMustExist: true, timeout } : { timeout });
    // Per connection, readers too (limits.ts says why not better-sqlite3's 16 MB).
    this.db.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
    this.walSync = new WalSync(this.walPath);
    // A reader only reads: the writer made the file WAL (a property of the file) and migrated it.
    this.upgradeBackup = readOnly ? null : this.setUp(options);
    this.prepare = cachedPrepare(this.db);
    try {
      if (!readOnly) backfillEmails(this.db, this.prepare, join(options.dataDir, 'blobs'));
    } catch (err) {
      this.db.close();
      throw err;
    }
    const dataVersion = this.db.prepare('PRAGMA data_version').pluck();
    this.lookups = new LookupCache(
      () => dataVersion.get() as number,
      () => this.db.inTransaction,
    );
    this.committer = new GroupCommitter(
      this.db,
      this.prepare,
      this.blobs,
      this.walSync,
      (states) => emitChanges({ emit: (event, ...args) => this.emitSafely(event, ...args) }, states),
      options.onCommit,
      options.commitGather,
    );
    if (options.backgroundCheckpoints && !readOnly) {
      let catchingUp = false;
      const checkpointer = (this.checkpointer = startCheckpointer({
        dbPath,
        ...options.checkpoints,
        onProblem: (message) => process.emitWarning(message, 'MailroomStoreWarning'),
        // The WAL is big and copied but for the last commits: hold the commits for one more pass, so the
        // next one starts the WAL over instead of extending the file (limits.ts WAL_RESTART_PAGES).
        onRestartReady: () => {
          if (catchingUp) return;
          catchingUp = true;
          this.committer.hold(checkpointer.catchUp().finally(() => (catchingUp = false)));
        },
      }));
    }
    // A reader sweeps nothing: the files are the writer's (and a worker thread shares its pid).
    this.orphansRemoved = readOnly ? { spool: [], blobs: [] } : this.removeOrphans();
    const context: SqliteContext = (this.context = {
      db: this.db,
      prepare: this.prepare,
      clock: this.clock,
      events: this.events,
      blobs: this.blobs,
      write: (fn) => this.write(fn),
      writeLazy: (fn) => this.writeLazy(fn),
      emit: (event, ...args) => this.emitSafely(event, ...args),
      commit: (prepared) => this.committer.submit(prepared),
      commitGroup: (prepared) => this.committer.submitGroup(prepared),
      inlineMaxBytes: this.inlineMaxBytes,
    });
    this.directory = new SqliteDirectory(context, this.lookups);
    this.mail = new SqliteMailStore(context, options.headerCacheBytes);
    this.queue = new SqliteQueueStore(context);
    this.uploads = new SqliteUploadStore(context);
    this.jmap = new SqliteJmapStore(context);
    this.sending = new SqliteSendingStore(context, this.lookups);
    this.policy = new SqlitePolicyStore(context);
    this.dkim = new SqliteDkimStore(context);
    this.tokens = new SqliteTokenStore(context);
    this.trace = new SqliteTraceStore(context);
    this.tlsPolicy = new SqliteTlsPolicyStore(context);
    this.urlauth = new SqliteUrlAuthStore(context);
    this.dmarcReports = new SqliteDmarcReportStore(context);
  }

  /** WAL, pragmas, migrations; returns where the pre-upgrade copy went (null: no upgrade). */
  private setUp(options: SqliteStoreOptions): string | null {
    try {
      // WAL: readers never block the writer, so the CLI and the server share the file safely.
      this.db.pragma('journal_mode = WAL');
      // NORMAL: a commit only writes the WAL; every write path then fsyncs the WAL itself (wal-sync.ts)
      // before it reports success - off the event loop for deliveries - so a resolved deliver()
      // survives a power loss exactly as with FULL, without an fsync on the main thread.
      this.db.pragma('synchronous = NORMAL');
      if (options.backgroundCheckpoints) {
        this.db.pragma('wal_autocheckpoint = 0');
        // A burst (a big import, a long run) leaves a big WAL file; after the next complete checkpoint
        // SQLite cuts it back to this, so its size says how much a shutdown would have to copy (close()).
        this.db.pragma(`journal_size_limit = ${this.walSizeLimit}`);
      }
      this.db.pragma('foreign_keys = ON');
      // An upgrade rewrites tables in place: a copy of the data as it was comes first (issue 11).
      const version = this.db.pragma('user_version', { simple: true }) as number;
      const copy =
        version > 0 && version < SCHEMA_VERSION && options.backupBeforeUpgrade !== false
          ? backupBeforeUpgrade(options.dataDir, version)
          : null;
      migrate(this.db);
      canonicalizeStoredNames(this.db);
      return copy;
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** Removes spool and blob files no row refers to (a crashed process's; blob-store.ts). */
  private removeOrphans(): { spool: string[]; blobs: string[] } {
    const files = new Set(
      this.prepare<[], { file: string }>('SELECT file FROM blobs WHERE file IS NOT NULL')
        .all()
        .map((r) => r.file),
    );
    return this.blobs.removeOrphans((name) => files.has(name), this.clock().getTime());
  }

  /**
   * Emits after a commit. A throwing subscriber must not turn a committed change into a failure (a
   * client would resend and the message would be stored twice), so its error becomes a process warning.
   */
  private emitSafely<K extends keyof StoreEvents>(event: K, ...args: StoreEvents[K]): void {
    try {
      (this.events.emit as (e: K, ...a: StoreEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      process.emitWarning(`store ${String(event)} listener threw: ${String(err)}`, 'MailroomStoreWarning');
    }
  }

  /** WAL fsyncs issued so far (each covers every commit before it). */
  get walSyncs(): number {
    return this.walSync.syncs;
  }

  /** Figures of the group committer (batches, deliveries, largest batch, batches that gathered for more). */
  get commitStats(): Readonly<GroupCommitter['stats']> {
    return this.committer.stats;
  }

  // ---- domains, accounts, aliases (directory.ts) ----

  addDomain(name: string): void {
    this.directory.addDomain(name);
  }
  removeDomain(name: string): void {
    this.directory.removeDomain(name);
  }
  listDomains(): string[] {
    return this.directory.listDomains();
  }
  isLocalDomain(name: string, freshness?: LookupFreshness): boolean {
    return this.directory.isLocalDomain(name, freshness);
  }
  addAccount(address: string, passwordHash: string): Account {
    return this.directory.addAccount(address, passwordHash);
  }
  removeAccount(address: string): void {
    this.directory.removeAccount(address);
  }
  setPasswordHash(address: string, passwordHash: string): void {
    this.directory.setPasswordHash(address, passwordHash);
  }
  setAccountState(address: string, state: AccountState): void {
    this.directory.setAccountState(address, state);
  }
  recordLogin(accountId: number, at: Date): void {
    this.directory.recordLogin(accountId, at);
  }
  accountUsage(): AccountUsage[] {
    return this.directory.accountUsage();
  }
  quotaOf(accountId: number): QuotaState | null {
    return this.directory.quotaOf(accountId);
  }
  quotaReached(accountId: number, freshness?: LookupFreshness): boolean {
    return this.directory.quotaReached(accountId, freshness);
  }
  setQuota(address: string, quota: { bytes: number | null; messages?: number | null }): void {
    this.directory.setQuota(address, quota);
  }
  getAccount(address: string, freshness?: LookupFreshness): Account | null {
    return this.directory.getAccount(address, freshness);
  }
  getAccountById(id: number): Account | null {
    return this.directory.getAccountById(id);
  }
  listAccounts(): Account[] {
    return this.directory.listAccounts();
  }
  addAlias(source: string, targets: string[], options?: { replace?: boolean }): void {
    this.directory.addAlias(source, targets, options);
  }
  removeAlias(source: string): void {
    this.directory.removeAlias(source);
  }
  getAlias(source: string, freshness?: LookupFreshness): Alias | null {
    return this.directory.getAlias(source, freshness);
  }
  listAliases(): Alias[] {
    return this.directory.listAliases();
  }

  // ---- mailboxes and messages ----

  listMailboxes(accountId: number): Mailbox[] {
    return listMailboxes(this.context, accountId);
  }

  getMailbox(accountId: number, name: string): Mailbox | null {
    return getMailbox(this.context, accountId, name);
  }

  listMessages(mailboxId: number): MailboxMessage[] {
    return this.prepare<
      [number],
      { uid: number; message_id: number; flags: string; modseq: number; size: number; internal_date: number }
    >(
      'SELECT mm.uid, mm.message_id, mm.flags, mm.modseq, m.size, m.internal_date ' +
        'FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id WHERE mm.mailbox_id = ? ORDER BY mm.uid',
    )
      .all(mailboxId)
      .map((r) => ({
        uid: r.uid,
        messageId: r.message_id,
        flags: r.flags === '' ? [] : r.flags.split(' '),
        modseq: r.modseq,
        size: r.size,
        internalDate: new Date(r.internal_date),
      }));
  }

  async readMessage(messageId: number): Promise<Buffer> {
    const row = this.prepare<[number], { head: Buffer; body: Buffer | null; file: string | null }>(
      'SELECT b.head, b.body, b.file FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = ?',
    ).get(messageId);
    if (!row) throw new MailroomError('NO_SUCH_MESSAGE', `no such message: ${messageId}`);
    return this.assemble(row, 0);
  }

  /** The bytes the queue sends on for one entry: the stored blob without the local Return-Path line. */
  async readQueueMessage(queueId: string): Promise<Buffer> {
    const row = this.prepare<
      [string],
      { head: Buffer; body: Buffer | null; file: string | null; off: number }
    >(
      'SELECT b.head, b.body, b.file, q.blob_offset AS off FROM queue q JOIN blobs b ON b.id = q.blob_id WHERE q.id = ?',
    ).get(queueId);
    if (!row) throw new MailroomError('NO_SUCH_QUEUE_ENTRY', `no such queue entry: ${queueId}`);
    return this.assemble(row, row.off);
  }

  private async assemble(row: { head: Buffer; body: Buffer | null; file: string | null }, offset: number) {
    const body = row.body ?? (row.file !== null ? await this.blobs.read(row.file) : Buffer.alloc(0));
    return Buffer.concat([row.head.subarray(offset), body]);
  }

  // ---- delivery ----

  async deliver(request: DeliveryRequest): Promise<void> {
    await this.deliverWithResult(request);
  }

  /**
   * deliver() that also tells where the copies went (UIDs) - for APPEND/tests. Takes ownership of
   * a 'file' body: on success it is moved into blobs/ (or inlined and removed), on failure removed.
   */
  deliverWithResult(request: DeliveryRequest): Promise<CommittedDelivery> {
    if (this.closed) return Promise.reject(new MailroomError('STORE_CLOSED', 'the store is closed'));
    const p = (async () => {
      const prepared = await prepareDelivery(request, this.blobs, this.inlineMaxBytes);
      const committed = await this.committer.submit(prepared);
      // After the commit only: a subscriber that reads at once must find the rows.
      for (const c of committed.copies) this.emitSafely('message', c);
      const queueId = committed.queueId;
      if (queueId !== null) this.emitSafely('queue', { queueId });
      return committed;
    })();
    return this.track(p);
  }

  // ---- queue ----

  listQueue(): QueueEntry[] {
    return listQueueEntries(this.prepare);
  }

  // ---- lifecycle ----

  /** Waits for deliveries in flight (they finish or fail, never half), then closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.committer.drain();
    await this.walSync.close();
    await this.checkpointer?.stop();
    const wal = this.checkpointer ? walBytes(this.walPath) : 0;
    if (wal <= this.walSizeLimit) {
      // The last connection to close copies the WAL into the database and removes it: bounded by the limit.
      this.db.close();
      return;
    }
    // Issue 12: copying a WAL of any size before exit made SIGTERM take as long as the copy. Every frame
    // in it is already durable (wal-sync.ts), so it may stay: SQLite checkpoints on close only in the last
    // connection, and a read-only connection never does (its checkpoint is SQLITE_READONLY). So a reader
    // opened now holds the file while ours closes, then closes last; the next start finds the WAL and its
    // background checkpointer copies it, off the event loop.
    const reader = new Database(this.dbPath, { readonly: true, fileMustExist: true });
    try {
      // Its first read takes the shared lock it keeps while open (WAL mode); ours then closes without a checkpoint.
      reader.prepare('SELECT count(*) FROM sqlite_master').get();
      this.db.close();
      this.walLeftAtClose = wal;
    } finally {
      reader.close();
      if (this.db.open) this.db.close();
    }
  }

  /** Runs fn in a BEGIN IMMEDIATE transaction: takes the write lock first, so a read-then-write never deadlocks. */
  private write<T>(fn: () => T): T {
    const result = this.commit(fn);
    // Durable before we return (synchronous=NORMAL does not fsync at commit; see wal-sync.ts).
    this.walSync.syncNow();
    return result;
  }

  /** write() whose fsync runs off the event loop (see SqliteContext.writeLazy). */
  private writeLazy<T>(fn: () => T): { result: T; durable: Promise<void> } {
    const result = this.commit(fn);
    return { result, durable: this.track(this.walSync.sync()) };
  }

  /** The transaction of write()/writeLazy(), committed to the WAL but not yet fsynced. */
  private commit<T>(fn: () => T): T {
    if (this.closed) throw new MailroomError('STORE_CLOSED', 'the store is closed');
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      this.lookups.noteLocalWrite();
    }
  }

  /** Keeps `p` in the set close() waits for until it settles. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  /** PRAGMA integrity_check, for tests and the admin CLI: 'ok' when the file is sound. */
  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }

  /** Accounts whose stored usage differs from a recount of their mail (none when the triggers held). */
  usageMismatches(): UsageMismatch[] {
    return usageMismatches(this.db);
  }
}

/** Size of the WAL file in bytes (0 when there is none). */
function walBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
