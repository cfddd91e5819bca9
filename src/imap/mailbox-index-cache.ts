// The per-mailbox UID/flags/MODSEQ index shared by every session's SELECT, kept current by MODSEQ (RFC 7162), not rebuilt.
import { DEFAULT_CACHES, INDEX_CACHE_ROW_BYTES } from '../config/limits.js';
import type { IndexEntry, MailStore } from '../store/mail-store.js';

/**
 * A mailbox's rows as parallel arrays, ascending by UID. Once handed out, none of these arrays is ever
 * changed again (the cache copies before it applies changes), so every view selected at this MODSEQ
 * shares them until it changes itself (selected-view.ts copies on write).
 */
export interface MailboxIndex {
  readonly uids: readonly number[];
  readonly flags: readonly (readonly string[])[];
  readonly modseqs: readonly number[];
  /** IndexEntry.messageId per row. */
  readonly messageIds: readonly number[];
  /** Every change up to this MODSEQ is in the arrays (some later ones may be too: re-applying is harmless). */
  readonly modseq: number;
}

interface Entry {
  uids: number[];
  flags: string[][];
  modseqs: number[];
  messageIds: number[];
  modseq: number;
  /** The arrays were handed out by get(): views may hold them, so update() works on copies. */
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
      this.rows -= cached.uids.length;
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
    this.rows += entry.uids.length;
    this.evict(mailboxId);
    entry.lent = true;
    return entry;
  }

  private load(mailboxId: number, highest: number): Entry {
    const rows = this.store.listIndex(mailboxId);
    const entry: Entry = {
      uids: new Array<number>(rows.length),
      flags: new Array<string[]>(rows.length),
      modseqs: new Array<number>(rows.length),
      messageIds: new Array<number>(rows.length),
      modseq: highest,
      lent: false,
    };
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as IndexEntry;
      entry.uids[i] = r.uid;
      entry.flags[i] = r.flags;
      entry.modseqs[i] = r.modseq;
      entry.messageIds[i] = r.messageId;
    }
    return entry;
  }

  /**
   * Applies the changes since the entry's MODSEQ. Expunges are read before changes: an expunge committed
   * between the two reads has a MODSEQ above `highest` and is applied next time.
   */
  private update(mailboxId: number, e: Entry, highest: number): void {
    if (e.lent) {
      // Views selected earlier share these arrays: they keep the old ones, the cache goes on with copies.
      // One copy per change between SELECTs, not one per session.
      e.uids = e.uids.slice();
      e.flags = e.flags.slice();
      e.modseqs = e.modseqs.slice();
      e.messageIds = e.messageIds.slice();
      e.lent = false;
    }
    const gone = this.store.vanishedSince(mailboxId, e.modseq);
    if (gone.length > 0) {
      const drop = new Set(gone);
      let w = 0;
      for (let r = 0; r < e.uids.length; r++) {
        const uid = e.uids[r] as number;
        if (drop.has(uid)) continue;
        e.uids[w] = uid;
        e.flags[w] = e.flags[r] as string[];
        e.modseqs[w] = e.modseqs[r] as number;
        e.messageIds[w] = e.messageIds[r] as number;
        w++;
      }
      e.uids.length = w;
      e.flags.length = w;
      e.modseqs.length = w;
      e.messageIds.length = w;
    }
    for (const c of this.store.changedSince(mailboxId, e.modseq)) {
      const last = e.uids[e.uids.length - 1] ?? 0;
      if (c.uid > last) {
        // UIDs are handed out in commit order, so a new row is always past the end (RFC 9051 2.3.1.1).
        e.uids.push(c.uid);
        e.flags.push(c.flags);
        e.modseqs.push(c.modseq);
        e.messageIds.push(c.messageId);
        continue;
      }
      const i = indexOf(e.uids, c.uid);
      if (i < 0) continue;
      e.flags[i] = c.flags;
      e.modseqs[i] = c.modseq;
    }
    e.modseq = highest;
  }

  private evict(keep: number): void {
    for (const [id, e] of this.entries) {
      if (this.rows <= this.maxRows) return;
      if (id === keep) continue;
      this.entries.delete(id);
      this.rows -= e.uids.length;
    }
  }
}

/** Position of a UID in an ascending array, or -1. */
function indexOf(uids: readonly number[], uid: number): number {
  let lo = 0;
  let hi = uids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const u = uids[mid] as number;
    if (u === uid) return mid;
    if (u < uid) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
