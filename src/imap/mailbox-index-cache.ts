// The per-mailbox UID/flags/MODSEQ index shared by every session's SELECT, kept current by MODSEQ (RFC 7162), not rebuilt.
import { DEFAULT_CACHES, INDEX_CACHE_ROW_BYTES } from '../config/limits.js';
import type { IndexEntry, MailStore } from '../store/mail-store.js';
import { IndexColumns } from './index-columns.js';

/**
 * A mailbox's rows (index-columns.ts), ascending by UID. Once handed out, the columns are never changed
 * again (the cache copies before it applies changes), so every view selected at this MODSEQ shares them
 * until it changes itself (selected-view.ts copies on write).
 */
export interface MailboxIndex {
  readonly rows: IndexColumns;
  /** Every change up to this MODSEQ is in the rows (some later ones may be too: re-applying is harmless). */
  readonly modseq: number;
}

interface Entry {
  rows: IndexColumns;
  modseq: number;
  /** The rows were handed out by get(): views may hold them, so update() works on a copy. */
  lent: boolean;
}

/**
 * Rows kept for all mailboxes together ([limits] mailbox_index_cache / INDEX_CACHE_ROW_BYTES; default and
 * reason in config/limits.ts); the least recently selected mailboxes go first.
 */
export const DEFAULT_CACHE_ROWS = Math.floor(DEFAULT_CACHES.mailboxIndexBytes / INDEX_CACHE_ROW_BYTES);

/**
 * Why: SELECT of a 10,000-message mailbox read and split every row again (13 ms of the one event loop
 * per SELECT; 150 ms at 100,000). Here the index is read once per mailbox and then brought up to date
 * with what changed since its MODSEQ: changedSince and vanishedSince through their (mailbox_id, modseq)
 * indexes, so a SELECT costs O(changes) plus copying the arrays.
 *
 * Correct across processes: it asks the store for the mailbox's HIGHESTMODSEQ at each use, and every
 * change to a mailbox (delivery, APPEND, STORE, EXPUNGE, COPY/MOVE, RENAME of INBOX, from the CLI too)
 * raises it and is found by changedSince/vanishedSince. A deleted mailbox has no HIGHESTMODSEQ; ids are
 * never reused (AUTOINCREMENT), so a stale entry can never be mistaken for a new mailbox.
 */
export class MailboxIndexCache {
  /** Map order is use order: the first entry is the least recently used. */
  private readonly entries = new Map<number, Entry>();
  private rows = 0;

  constructor(
    private readonly store: MailStore,
    private readonly maxRows: number = DEFAULT_CACHE_ROWS,
  ) {}

  /** Rows held now (for tests and figures). */
  get size(): number {
    return this.rows;
  }

  /**
   * The current index of a mailbox, or null once it is deleted. The result is the cache's own: read it
   * (or copy it) before the next call, which may change it.
   */
  get(mailboxId: number): MailboxIndex | null {
    // The counter first: anything committed after it is found again next time (see update).
    const highest = this.store.highestModseq(mailboxId);
    const cached = this.entries.get(mailboxId);
    if (cached) {
      this.entries.delete(mailboxId);
      this.rows -= cached.rows.length;
    }
    if (highest === null) return null;
    let entry: Entry;
    if (cached && cached.modseq <= highest) {
      entry = cached;
      if (cached.modseq < highest) this.update(mailboxId, entry, highest);
    } else {
      // First use, or a counter that went back (a restored backup): read everything.
      entry = this.load(mailboxId, highest);
    }
    this.entries.set(mailboxId, entry);
    this.rows += entry.rows.length;
    this.evict(mailboxId);
    entry.lent = true;
    return entry;
  }

  private load(mailboxId: number, highest: number): Entry {
    const list = this.store.listIndex(mailboxId);
    const rows = new IndexColumns(list.length);
    for (let i = 0; i < list.length; i++) {
      const r = list[i] as IndexEntry;
      rows.uids[i] = r.uid;
      rows.flagIds[i] = rows.flags.id(r.flags);
      rows.modseqs[i] = r.modseq;
      rows.messageIds[i] = r.messageId;
    }
    return { rows, modseq: highest, lent: false };
  }

  /**
   * Applies the changes since the entry's MODSEQ. Expunges are read before changes: an expunge committed
   * between the two reads has a MODSEQ above `highest` and is applied next time.
   */
  private update(mailboxId: number, e: Entry, highest: number): void {
    // Views selected earlier share these rows: they keep them, the cache goes on with a copy (a memcpy
    // of the typed columns; of the flag and MODSEQ ones only, until a row is added or removed). One copy
    // per change between SELECTs, not one per session.
    const rows = e.lent ? e.rows.cloneFlags() : e.rows;
    e.rows = rows;
    e.lent = false;
    const gone = this.store.vanishedSince(mailboxId, e.modseq);
    if (gone.length > 0) {
      const drop = new Set(gone);
      rows.retain((uid) => !drop.has(uid));
    }
    for (const c of this.store.changedSince(mailboxId, e.modseq)) {
      const last = rows.uids[rows.length - 1] ?? 0;
      if (c.uid > last) {
        // UIDs are handed out in commit order, so a new row is always past the end (RFC 9051 2.3.1.1).
        rows.push(c.uid, c.flags, c.modseq, c.messageId);
        continue;
      }
      const i = rows.indexOf(c.uid);
      if (i >= 0) rows.setRow(i, c.flags, c.modseq);
    }
    rows.compactFlags();
    e.modseq = highest;
  }

  private evict(keep: number): void {
    for (const [id, e] of this.entries) {
      if (this.rows <= this.maxRows) return;
      if (id === keep) continue;
      this.entries.delete(id);
      this.rows -= e.rows.length;
    }
  }
}
