// The selected mailbox as one session sees it (RFC 9051 2.3.1.2): UIDs by sequence number, flags, MODSEQs. Pure.
import type { IndexEntry } from '../store/mail-store.js';
import type { SearchContext } from './commands/contexts.js';
import type { IndexColumns } from './index-columns.js';
import type { MailboxIndex } from './mailbox-index-cache.js';
import {
  inRanges,
  maxNumberInSet,
  resolveSequenceSet,
  type NumberRanges,
  type SeqRange,
} from './proto/sequence-set.js';

/** System flags clients may set (RFC 9051 2.3.2); \* in PERMANENTFLAGS says keywords may be created too. */
export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

/** The empty SEARCHRES result, shared (a saved result is replaced, never changed in place). */
const NONE: readonly number[] = [];

/** One message of the view addressed by a command: its sequence number (1-based) and UID. */
export interface Addressed {
  seq: number;
  uid: number;
}

/**
 * Sequence numbers only change at the points the session reports them (EXPUNGE/VANISHED, EXISTS),
 * so the view is this session's own, brought up to date by SessionSync at those points.
 *
 * Its rows start as the mailbox index cache's own (shared by every session that selected the mailbox
 * at the same MODSEQ) and are copied at this view's first change (copy on write): a copy per session
 * cost 32 bytes a message, 320 KiB for each idle client of a 10,000-message INBOX (issue 12). The cache
 * never changes rows it has handed out (mailbox-index-cache.ts), so shared rows stay as selected. The
 * rows are typed columns (index-columns.ts): the copy is a memcpy outside V8's scanned heap (issue 9).
 */
export class SelectedView {
  private rows: IndexColumns;
  /** True while the rows are the cache's (shared); own() copies them before the first change. */
  private shared = true;
  /** `flags` as one array, made when asked for and dropped at the next change. */
  private flagArray: (readonly string[])[] | null = null;
  /** Changes up to this MODSEQ (flags, new messages) have been reported. */
  knownModseq: number;
  /** Expunges up to this MODSEQ have been reported (they wait for a point where they may be sent). */
  expungeModseq: number;
  /** RFC 5182 SEARCHRES: the last SEARCH ... RETURN (SAVE) result, as UIDs. */
  saved: readonly number[] = NONE;
  /**
   * UIDs that are \Recent in this session (RFC 3501 2.3.2), or null for an IMAP4rev2 session, which
   * never sees \Recent (RFC 9051 2.3.2) and so never claims it from IMAP4rev1 sessions either.
   */
  recent: Set<number> | null = null;
  /** RFC 5267 4.1: the CONTEXT=SEARCH/SORT contexts, by tag; they end with this selection. */
  get contexts(): Map<string, SearchContext> {
    // Made on first use: most sessions never have one, and an idle session's empty Map is ~200 bytes.
    return (this.contextMap ??= new Map());
  }
  private contextMap: Map<string, SearchContext> | null = null;
  /**
   * UIDs new or changed in the view (`touched`) and removed from it (`gone`) since the contexts were last
   * updated (commands/contexts.ts); null while there are no contexts, so nothing is collected then.
   */
  contextChanges: { touched: Set<number>; gone: Set<number> } | null = null;
  /**
   * The keywords announced in this session's FLAGS response, in announcement order. RFC 9051 7.3.5 /
   * RFC 3501 7.2.6: FLAGS lists every flag the mailbox uses, so a keyword must be in it before any
   * FETCH shows it (imaptest: "Keyword used without being in FLAGS").
   */
  readonly keywords: string[] = [];
  /** `keywords` lower-cased, for lookup (keywords match case-insensitively, RFC 9051 2.3.2). */
  private readonly keywordSet = new Set<string>();
  /** Spellings already looked at: most messages repeat a few, so SELECT lower-cases each once. */
  private readonly keywordSpellings = new Set<string>();

  constructor(
    readonly mailboxId: number,
    readonly name: string,
    readonly uidValidity: number,
    readonly readOnly: boolean,
    index: MailboxIndex,
  ) {
    // The cache's rows, shared until this view changes (own()).
    this.rows = index.rows;
    this.knownModseq = index.modseq;
    this.expungeModseq = index.modseq;
    // Each distinct flag list once, in the order of the first message carrying it (the FLAGS order).
    const ids = this.rows.flagIds;
    const seen = new Uint8Array(this.rows.flags.size);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (seen[id] === 1) continue;
      seen[id] = 1;
      this.learnKeywords(this.rows.flags.list(id));
    }
  }

  /**
   * Adds the keywords of `flags` this session has not announced yet; true when there were any, and
   * then the caller sends `flagsResponses()` before the response that shows them.
   */
  learnKeywords(flags: readonly string[]): boolean {
    let added = false;
    for (const f of flags) {
      if (f.startsWith('\\') || this.keywordSpellings.has(f)) continue;
      this.keywordSpellings.add(f);
      const key = f.toLowerCase();
      if (this.keywordSet.has(key)) continue;
      this.keywordSet.add(key);
      this.keywords.push(f);
      added = true;
    }
    return added;
  }

  /**
   * FLAGS and PERMANENTFLAGS (RFC 9051 7.3.5, 7.1 PERMANENTFLAGS): every flag in use, and what may be
   * stored; PERMANENTFLAGS keeps \* (new keywords may still be created) and is empty when read-only.
   */
  flagsResponses(): string {
    const all = [...SYSTEM_FLAGS, ...this.keywords].join(' ');
    const permanent = this.readOnly ? '' : `${all} \\*`;
    return `* FLAGS (${all})\r\n* OK [PERMANENTFLAGS (${permanent})] Limited\r\n`;
  }

  /** UIDs by sequence number - 1 (read-only: changes go through push, remove and setRow). */
  get uids(): ArrayLike<number> {
    return this.rows.uids;
  }
  /** A message's flags; the list is shared and never changed in place. */
  flagsAt(seq: number): readonly string[] {
    return this.rows.flagsAt(seq - 1);
  }
  /**
   * Flags by sequence number - 1, as one array made on demand (for whole-view scans; flagsAt reads one
   * message without making it).
   */
  get flags(): readonly (readonly string[])[] {
    if (this.flagArray === null) {
      const a = new Array<readonly string[]>(this.rows.length);
      for (let i = 0; i < a.length; i++) a[i] = this.rows.flagsAt(i);
      this.flagArray = a;
    }
    return this.flagArray;
  }
  get modseqs(): ArrayLike<number> {
    return this.rows.modseqs;
  }
  /** IndexEntry.messageId per message: SEARCH finds header data by it. */
  get messageIds(): ArrayLike<number> {
    return this.rows.messageIds;
  }

  /**
   * Copies the shared rows before this view's first change (see the class comment): for a flag change
   * only the flag and MODSEQ columns (the UIDs follow at the first added or removed row).
   */
  private own(flagsOnly = false): void {
    this.flagArray = null;
    if (!this.shared) return;
    this.shared = false;
    this.rows = flagsOnly ? this.rows.cloneFlags() : this.rows.clone(4);
  }

  /** A message's flags and MODSEQ changed (STORE, or another session's change found by sync). */
  setRow(seq: number, flags: readonly string[], modseq: number): void {
    const i = seq - 1;
    if (this.rows.modseqs[i] === modseq && this.rows.flagsAt(i) === flags) return;
    this.own(true);
    this.rows.setRow(i, flags, modseq);
    // A long session storing ever new keyword combinations must not grow the table without bound.
    this.rows.compactFlags();
  }

  get exists(): number {
    return this.uids.length;
  }

  get maxUid(): number {
    return this.uids[this.uids.length - 1] ?? 0;
  }

  push(e: IndexEntry): void {
    this.own();
    this.rows.push(e.uid, e.flags, e.modseq, e.messageId);
    this.contextChanges?.touched.add(e.uid);
  }

  /** Marks the messages with UIDs from `firstUid` up as \Recent (MailStore.recentFrom gave it). */
  addRecentFrom(firstUid: number): void {
    if (this.recent === null) return;
    // UIDs ascend: walk back from the end, so SELECT on a large mailbox only visits the recent tail.
    for (let i = this.uids.length - 1; i >= 0 && (this.uids[i] as number) >= firstUid; i--) {
      this.recent.add(this.uids[i] as number);
    }
  }

  /** The flags FETCH shows for a message: the stored ones, and \Recent if recent in this session. */
  shownFlags(seq: number): readonly string[] {
    const flags = this.rows.flagsAt(seq - 1);
    return this.recent?.has(this.uids[seq - 1] as number) ? [...flags, '\\Recent'] : flags;
  }

  /** Sequence number of a UID, or 0 when not in the view. Binary search: UIDs ascend with sequence numbers. */
  seqOf(uid: number): number {
    return this.rows.indexOf(uid) + 1;
  }

  /** Removes one message; returns its former sequence number (0 if absent). */
  remove(uid: number): number {
    const seq = this.seqOf(uid);
    if (seq === 0) return 0;
    this.own();
    this.rows.removeAt(seq - 1);
    this.recent?.delete(uid);
    this.contextChanges?.gone.add(uid);
    return seq;
  }

  /**
   * Resolves a sequence set to messages. For sequence numbers, a number past the end is an error
   * (RFC 9051 6.4.5: BAD) reported by returning null; for UIDs, absent ones are simply skipped
   * (RFC 9051 6.4.9).
   */
  resolve(ranges: SeqRange[], byUid: boolean): Addressed[] | null {
    const out: Addressed[] = [];
    if (byUid) {
      const r = resolveSequenceSet(ranges, Math.max(this.maxUid, 1));
      // '*' with an empty mailbox resolves to UID 1 only if it exists; seqOf filters that.
      this.collectUids(r, out);
      return out;
    }
    if (this.exists === 0) return maxNumberInSet(ranges, 0) > 0 ? null : [];
    if (maxNumberInSet(ranges, this.exists) > this.exists) return null;
    for (const [lo, hi] of resolveSequenceSet(ranges, this.exists)) {
      for (let s = lo; s <= hi; s++) out.push({ seq: s, uid: this.uids[s - 1] as number });
    }
    return out;
  }

  private collectUids(r: NumberRanges, out: Addressed[]): void {
    const total = r.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
    if (total > this.uids.length) {
      // Wide ranges (1:*): walk the view instead of every number in the range.
      const uids = this.rows.uids;
      for (let i = 0; i < uids.length; i++) {
        const uid = uids[i] as number;
        if (inRanges(uid, r)) out.push({ seq: i + 1, uid });
      }
      return;
    }
    for (const [lo, hi] of r) {
      for (let u = lo; u <= hi; u++) {
        const seq = this.seqOf(u);
        if (seq > 0) out.push({ seq, uid: u });
      }
    }
  }
}
