// What the SQLite sub-stores (mail, queue) share with SqliteStore: one connection, its statements, clock, events.
import type Database from 'better-sqlite3';
import type { EventEmitter } from 'node:events';
import type { FileBlobStore } from '../blob-store.js';
import type { StoreEvents } from '../store.js';
import type { CommittedDelivery, PreparedDelivery } from './deliver.js';
import type { Prepare } from './statements.js';

export interface SqliteContext {
  readonly db: Database.Database;
  readonly prepare: Prepare;
  readonly clock: () => Date;
  readonly events: EventEmitter<StoreEvents>;
  readonly blobs: FileBlobStore;
  /** Runs fn in one BEGIN IMMEDIATE transaction (the write lock first: read-then-write never deadlocks), durably. */
  write<T>(fn: () => T): T;
  /**
   * The same, but the WAL fsync runs on the thread pool: the commit is visible (and survives a process
   * crash) at once, and `durable` resolves once it would survive a power loss too. For bookkeeping
   * whose loss on power failure only repeats work (queue attempts), so the event loop never waits for
   * the disk; anything that must wait for durability (deleting files the old rows point at) chains on it.
   */
  writeLazy<T>(fn: () => T): { result: T; durable: Promise<void> };
  /** Emits a store event after a commit; a throwing subscriber becomes a process warning, never a failure. */
  emit<K extends keyof StoreEvents>(event: K, ...args: StoreEvents[K]): void;
  /** The delivery group commit (group-committer.ts): IMAP APPEND shares its batches and fsyncs. */
  commit(prepared: PreparedDelivery): Promise<CommittedDelivery>;
  /** The same for deliveries that stand or fall together (MULTIAPPEND, RFC 3502): one transaction, all or none. */
  commitGroup(prepared: PreparedDelivery[]): Promise<CommittedDelivery[]>;
  /** Bodies up to this size are stored inline (see deliver.ts). */
  readonly inlineMaxBytes: number;
}
