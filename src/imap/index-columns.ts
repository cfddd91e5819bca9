// A mailbox index as typed columns (UID, flag-list id, MODSEQ, message id per row) and its table of flag lists. Pure.

/*
 * Why typed arrays (issue 9): the index of a 10,000-message INBOX as four JS arrays was 320 KiB on V8's
 * scanned heap, and the IMAP mix copies it often (the cache at each change between SELECTs, each view at
 * its first change after SELECT). Under [limits] heap = "small" (a 1 MiB young generation) each copy
 * outlived several scavenges, so it was copied by the scavenger, promoted and then marked by the next
 * mark-compact: most of the mix's GC time. A typed array's contents live outside the scanned heap
 * (an ArrayBuffer's backing store): a copy is one memcpy, a scavenge moves only the small array object,
 * and a row costs 24 bytes instead of 32 plus its flag list.
 */

/**
 * The distinct flag lists of a mailbox, each with a small id (its position). Rows hold ids; equal lists
 * share one array, which is never changed in place. Append-only while shared, so an id handed out stays
 * valid for every holder; compactFlags() starts a new table when old lists pile up.
 */
export class FlagTable {
  private readonly lists: (readonly string[])[] = [];
  private readonly ids = new Map<string, number>();

  get size(): number {
    return this.lists.length;
  }

  /** The id of a flag list, added when new (the key joins with LF: flags are atoms, RFC 9051 9). */
  id(flags: readonly string[]): number {
    const key = flags.length === 1 ? (flags[0] as string) : flags.join('\n');
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.lists.length;
      this.lists.push(flags);
      this.ids.set(key, id);
    }
    return id;
  }

  list(id: number): readonly string[] {
    return this.lists[id] as readonly string[];
  }
}

/**
 * Rows ascending by UID. The exposed arrays are exactly `length` long (views of a buffer that may hold
 * spare room for push). Whoever shares an IndexColumns must not change it: clone() first.
 */
export class IndexColumns {
  uids: Uint32Array;
  flagIds: Uint32Array;
  /** MODSEQs are up to 2^63 - 1 (RFC 7162 3.1.1); the store hands them out as JS numbers, exact below 2^53. */
  modseqs: Float64Array;
  /** IndexEntry.messageId per row (SQLite rowids, JS numbers). */
  messageIds: Float64Array;
  /**
   * `uids` and `messageIds` are another IndexColumns' (cloneFlags): they are copied before a row is added
   * or removed, so the owner's rows never change under it.
   */
  private borrowed = false;

  constructor(
    length: number,
    public flags: FlagTable = new FlagTable(),
    capacity: number = length,
  ) {
    this.uids = new Uint32Array(capacity).subarray(0, length);
    this.flagIds = new Uint32Array(capacity).subarray(0, length);
    this.modseqs = new Float64Array(capacity).subarray(0, length);
    this.messageIds = new Float64Array(capacity).subarray(0, length);
  }

  get length(): number {
    return this.uids.length;
  }

  /** A private copy sharing only the (append-only) flag table, with room for `spare` more rows. */
  clone(spare = 0): IndexColumns {
    const c = new IndexColumns(this.length, this.flags, this.length + spare);
    c.uids.set(this.uids);
    c.flagIds.set(this.flagIds);
    c.modseqs.set(this.modseqs);
    c.messageIds.set(this.messageIds);
    return c;
  }

  /**
   * A copy for flag changes (STORE, another session's STORE): flag ids and MODSEQs copied, UIDs and message
   * ids shared until a row is added or removed. Half the bytes of clone(), and flag changes are what
   * happens between most SELECTs.
   */
  cloneFlags(): IndexColumns {
    const c = new IndexColumns(0, this.flags);
    c.uids = this.uids;
    c.messageIds = this.messageIds;
    c.flagIds = this.flagIds.slice();
    c.modseqs = this.modseqs.slice();
    c.borrowed = true;
    return c;
  }

  /** Takes private copies of borrowed columns (with room for `spare` more rows) before rows change. */
  private unborrow(spare: number): void {
    if (!this.borrowed) return;
    this.adopt(this.clone(spare), this.length);
    this.borrowed = false;
  }

  flagsAt(i: number): readonly string[] {
    return this.flags.list(this.flagIds[i] as number);
  }

  setRow(i: number, flags: readonly string[], modseq: number): void {
    this.flagIds[i] = this.flags.id(flags);
    this.modseqs[i] = modseq;
  }

  /** Appends a row (its UID above every other: RFC 9051 2.3.1.1); grows by an eighth when full. */
  push(uid: number, flags: readonly string[], modseq: number, messageId: number): void {
    const n = this.length;
    this.unborrow(16 + (n >> 3));
    if (n === this.uids.buffer.byteLength / Uint32Array.BYTES_PER_ELEMENT) {
      const bigger = this.clone(16 + (n >> 3));
      this.adopt(bigger, n + 1);
    } else {
      this.adopt(this, n + 1);
    }
    this.uids[n] = uid;
    this.flagIds[n] = this.flags.id(flags);
    this.modseqs[n] = modseq;
    this.messageIds[n] = messageId;
  }

  /** Keeps the rows `keep` accepts, in order (expunges). */
  retain(keep: (uid: number) => boolean): void {
    this.unborrow(0);
    let w = 0;
    for (let r = 0; r < this.length; r++) {
      const uid = this.uids[r] as number;
      if (!keep(uid)) continue;
      if (w !== r) {
        this.uids[w] = uid;
        this.flagIds[w] = this.flagIds[r] as number;
        this.modseqs[w] = this.modseqs[r] as number;
        this.messageIds[w] = this.messageIds[r] as number;
      }
      w++;
    }
    if (w !== this.length) this.adopt(this, w);
  }

  /** Removes row i (the rows after it move up one). */
  removeAt(i: number): void {
    this.unborrow(0);
    const n = this.length;
    // copyWithin on the whole buffer's view: the exposed arrays end at n.
    this.uids.copyWithin(i, i + 1, n);
    this.flagIds.copyWithin(i, i + 1, n);
    this.modseqs.copyWithin(i, i + 1, n);
    this.messageIds.copyWithin(i, i + 1, n);
    this.adopt(this, n - 1);
  }

  /** Position of a UID, or -1 (binary search: UIDs ascend). */
  indexOf(uid: number): number {
    const uids = this.uids;
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

  /**
   * Starts a new flag table holding only the lists in use, when the shared one has piled up lists no row
   * uses any more (every STORE of a new combination adds one): at most 2 x rows + 256 are kept.
   */
  compactFlags(): void {
    if (this.flags.size <= 2 * this.length + 256) return;
    const table = new FlagTable();
    for (let i = 0; i < this.length; i++) {
      this.flagIds[i] = table.id(this.flags.list(this.flagIds[i] as number));
    }
    this.flags = table;
  }

  /** Points the exposed arrays at `from`'s buffers, `length` rows long. */
  private adopt(from: IndexColumns, length: number): void {
    this.uids = new Uint32Array(from.uids.buffer, 0, length);
    this.flagIds = new Uint32Array(from.flagIds.buffer, 0, length);
    this.modseqs = new Float64Array(from.modseqs.buffer, 0, length);
    this.messageIds = new Float64Array(from.messageIds.buffer, 0, length);
  }
}
