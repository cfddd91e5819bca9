// The memory copy of the SEARCH header indexes (mail-headers.ts): one string per page of 1,024 message ids, scanned with indexOf.
import { DEFAULT_CACHES } from '../../config/limits.js';
import type { HeaderIndex } from '../mail-store.js';

/**
 * Bytes of header indexes kept in memory (a character of Latin-1 text is one byte, any other two), page
 * arrays included: ~190 bytes a message of the IMAP bench's mix, a few KiB for real mail with Received
 * and DKIM fields. Past it the oldest pages go. [limits] header_cache sets it (config/limits.ts).
 */
export const HEADER_CACHE_BYTES = DEFAULT_CACHES.headerBytes;

/** Message ids per page: a mailbox's messages mostly have neighbouring ids (one delivery after another). */
const PAGE_SIZE = 1024;
/** A page's own cost in the budget, in bytes: its three index arrays (8 KiB) and its objects. */
export const PAGE_COST = PAGE_SIZE * 8 + 256;

/**
 * One page: the entries of up to PAGE_SIZE neighbouring message ids, their index texts back to back (in
 * the order they were added) in one string per batch added (a segment, never copied again), plus typed
 * arrays. To the garbage collector that is a handful of objects, where the same data as 1,024 strings
 * was 1,024 objects to allocate, promote and mark.
 */
interface Page {
  /** The segments: each batch's texts back to back. */
  segs: string[];
  /** segBase[s]: where segment s begins in the page's offsets (the segments' lengths summed before it). */
  segBase: number[];
  /** segOf[k]: the segment holding the k-th entry added. */
  segOf: Uint16Array;
  /** Entries added so far. */
  count: number;
  /** starts[k]: where the k-th entry added begins (segments end to end); starts[count]: their length. */
  starts: Uint32Array;
  /** slots[k]: the slot (message id modulo PAGE_SIZE) of the k-th entry added. */
  slots: Uint16Array;
  /** order[slot]: k of the slot's entry, -1 when the slot has none. */
  order: Int16Array;
  /** Bytes a character takes in V8: 1 while every segment is Latin-1, else 2 (counted for all). */
  width: 1 | 2;
  /** What the page counts in the budget: PAGE_COST plus its text's bytes. */
  cost: number;
}

/** A character V8 cannot keep in a one-byte string. */
const NOT_LATIN1 = /[^\0-\xff]/;

/**
 * Header indexes by message id, in memory. Scanning them in SQL (instr over a join) cost ~5 ms per
 * SEARCH of 10,000 messages; from memory well under 1 ms. Paged by message id (a Map entry per message
 * cost ~250 ns a lookup at 100,000 messages); a page is found once per run of neighbouring ids.
 *
 * Why a few strings per page (issue 9): with a string per message, the default budget (8 M characters)
 * did not hold the bench mix's 5 x 10,000 messages, so every SEARCH missed and reloaded 10,000 strings
 * that were promoted to the old generation and then evicted: a quarter of the mix's main thread went to
 * GC. A page holds one string per batch added (SEARCH loads a chunk of 1,000 messages at a time, so a
 * page has one or two): the texts back to back cost their characters and one header, and the GC sees a
 * handful of objects. A SEARCH with a needle runs String.prototype.indexOf over the run of the wanted
 * entries and slices out only the entries that contain it (a slice is a view, not a copy). A match that
 * straddles two entries is no match: each entry is its own text, as String.prototype.includes on it says.
 * Measured and not kept: the same pages as Buffers off the V8 heap, searched with Buffer.indexOf. Each
 * native indexOf and each decoding of a hit cost ~0.5-1 us, and a SEARCH FROM (filtered on "\nfrom:",
 * which every message has) has 10,000 hits: ~6x the CPU of this.
 *
 * No invalidation is ever needed: a message's bytes never change and message ids are never reused
 * (AUTOINCREMENT), so an entry is right for as long as it exists. Eviction is by page, oldest first.
 */
export class HeaderIndexCache {
  private readonly pages = new Map<number, Page>();
  private bytes = 0;
  private lastId = -1;
  private last: Page | undefined;

  constructor(private readonly maxBytes: number = HEADER_CACHE_BYTES) {}

  private page(messageId: number): Page | undefined {
    // Division, not bit operators: those would wrap ids past 2^32 onto small ones.
    const pageId = Math.floor(messageId / PAGE_SIZE);
    if (pageId !== this.lastId) {
      this.lastId = pageId;
      this.last = this.pages.get(pageId);
    }
    return this.last;
  }

  get(messageId: number): string | undefined {
    const page = this.page(messageId);
    const k = page ? (page.order[messageId % PAGE_SIZE] as number) : -1;
    return page && k >= 0 ? entryText(page, k) : undefined;
  }

  set(messageId: number, text: string): void {
    this.add([messageId], [text]);
  }

  /**
   * Adds these entries (ids[j] -> texts[j]); an id already held keeps its entry (a message never
   * changes). Each page touched gets one new string: add in batches (loadMissing adds a query's rows).
   */
  add(ids: readonly number[], texts: readonly string[]): void {
    const byPage = new Map<number, number[]>();
    for (let j = 0; j < ids.length; j++) {
      const text = texts[j] as string;
      if (text.length * (NOT_LATIN1.test(text) ? 2 : 1) + PAGE_COST > this.maxBytes) continue; // too large
      const pageId = Math.floor((ids[j] as number) / PAGE_SIZE);
      const list = byPage.get(pageId);
      if (list) list.push(j);
      else byPage.set(pageId, [j]);
    }
    for (const [pageId, list] of byPage) {
      let page = this.pages.get(pageId);
      if (!page) {
        page = newPage();
        this.pages.set(pageId, page);
        this.bytes += page.cost;
        if (pageId === this.lastId) this.last = page;
      }
      const parts: string[] = [];
      const seg = page.segs.length;
      let end = page.starts[page.count] as number;
      for (const j of list) {
        const slot = (ids[j] as number) % PAGE_SIZE;
        if ((page.order[slot] as number) >= 0) continue;
        const text = texts[j] as string;
        parts.push(text);
        end += text.length;
        page.slots[page.count] = slot;
        page.segOf[page.count] = seg;
        page.order[slot] = page.count;
        page.count++;
        page.starts[page.count] = end;
      }
      if (parts.length === 0) continue;
      // One new string, the page's older segments untouched: appending to one page string instead made
      // a copy of the page per batch, garbage that stayed in the old generation until a full GC.
      const added = parts.join('');
      page.segs.push(added);
      page.segBase.push(end);
      if (page.width === 1 && NOT_LATIN1.test(added)) page.width = 2;
      const cost = PAGE_COST + end * page.width;
      this.bytes += cost - page.cost;
      page.cost = cost;
      this.evictOthers(pageId);
    }
  }

  /** Drops the oldest pages other than `keep` while over the budget. */
  private evictOthers(keep: number): void {
    for (const [id, p] of this.pages) {
      if (this.bytes <= this.maxBytes) break;
      if (id === keep) continue;
      this.pages.delete(id);
      this.bytes -= p.cost;
      if (id === this.lastId) this.lastId = -1;
    }
  }

  /**
   * For each messageIds[i] held: texts[i] = its index text if it contains `containing` (or if that is
   * null or empty), else null. The indexes of the others are pushed to `missing`. One pass over the ids
   * finds their pages; each page's run of the wanted entries is then searched once.
   */
  lookup(
    messageIds: readonly number[],
    containing: string | null,
    texts: Array<HeaderIndex | null>,
    missing: number[],
  ): void {
    const n = messageIds.length;
    /** Per id: the index in `touched` of its page, -1 when not held; and its entry's k. */
    const pageIx = new Int32Array(n);
    const ks = new Int32Array(n);
    const touched: Touched[] = [];
    let lastPage: Page | undefined;
    let t: Touched | undefined;
    for (let i = 0; i < n; i++) {
      const id = messageIds[i] as number;
      const page = this.page(id);
      const k = page ? (page.order[id % PAGE_SIZE] as number) : -1;
      if (!page || k < 0) {
        pageIx[i] = -1;
        missing.push(i);
        continue;
      }
      if (page !== lastPage || t === undefined) {
        lastPage = page;
        t = touched.find((x) => x.page === page);
        if (t === undefined) {
          t = { page, ix: touched.length, lo: k, hi: k, hits: null };
          touched.push(t);
        }
      }
      if (k < t.lo) t.lo = k;
      if (k > t.hi) t.hi = k;
      pageIx[i] = t.ix;
      ks[i] = k;
    }
    if (containing !== null && containing !== '') {
      for (const x of touched) x.hits = scan(x.page, x.lo, x.hi, containing);
    }
    for (let i = 0; i < n; i++) {
      const x = touched[pageIx[i] as number];
      if (x === undefined) continue;
      const k = ks[i] as number;
      texts[i] = x.hits !== null && x.hits[k - x.lo] === 0 ? null : entryText(x.page, k);
    }
  }
}

/** A page one lookup reads: its wanted entries lie in lo..hi (k), `hits` marks those containing the needle. */
interface Touched {
  page: Page;
  /** Its index in the lookup's list. */
  ix: number;
  lo: number;
  hi: number;
  hits: Uint8Array | null;
}

function newPage(): Page {
  // One ArrayBuffer for the three arrays: starts (4 bytes each, one more than entries), slots, order.
  const arrays = new ArrayBuffer(PAGE_SIZE * 8 + 4);
  return {
    segs: [],
    segBase: [0],
    segOf: new Uint16Array(PAGE_SIZE),
    count: 0,
    starts: new Uint32Array(arrays, 0, PAGE_SIZE + 1),
    slots: new Uint16Array(arrays, (PAGE_SIZE + 1) * 4, PAGE_SIZE),
    order: new Int16Array(arrays, (PAGE_SIZE + 1) * 4 + PAGE_SIZE * 2, PAGE_SIZE).fill(-1),
    width: 1,
    cost: PAGE_COST,
  };
}

function entryText(page: Page, k: number): string {
  const s = page.segOf[k] as number;
  const base = page.segBase[s] as number;
  return (page.segs[s] as string).slice(
    (page.starts[k] as number) - base,
    (page.starts[k + 1] as number) - base,
  );
}

/**
 * Which of entries lo..hi contain `needle` (non-empty): hits[k - lo] = 1. Their run of each segment is
 * searched with indexOf; a hit is mapped to its entry by offset (binary search), and one that runs past
 * its entry's end is no match: nor is any later one starting in that entry, so the search goes on at
 * the next entry's start either way. (A segment ends at an entry's end, so no match spans two.)
 */
function scan(page: Page, lo: number, hi: number, needle: string): Uint8Array {
  const hits = new Uint8Array(hi - lo + 1);
  const starts = page.starts;
  for (let s = page.segOf[lo] as number; s <= (page.segOf[hi] as number); s++) {
    const segBase = page.segBase[s] as number;
    const segEnd = page.segBase[s + 1] ?? (starts[page.count] as number);
    const base = Math.max(starts[lo] as number, segBase);
    // A view of the run (V8 slices without copying), so a needle found nowhere costs the run only.
    const run = (page.segs[s] as string).slice(
      base - segBase,
      Math.min(starts[hi + 1] as number, segEnd) - segBase,
    );
    let from = 0;
    for (;;) {
      const at = run.indexOf(needle, from);
      if (at < 0) break;
      const p = base + at;
      // The last k in lo..hi with starts[k] <= p (an empty entry shares its start with the next one).
      let a = lo;
      let b = hi;
      while (a < b) {
        const mid = (a + b + 1) >>> 1;
        if ((starts[mid] as number) <= p) a = mid;
        else b = mid - 1;
      }
      const end = starts[a + 1] as number;
      if (p + needle.length <= end) hits[a - lo] = 1;
      from = end - base;
    }
  }
  return hits;
}
