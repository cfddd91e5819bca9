// The selected mailbox as one session sees it (RFC 9051 2.3.1.2): UIDs by sequence number, flags, MODSEQs. Pure.
import type { IndexEntry } from '../store/mail-store.js';
import type { SearchContext } from './commands/contexts.js';
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
 * Its arrays start as the mailbox index cache's own (shared by every session that selected the mailbox
 * at the same MODSEQ) and are copied at this view's first change (copy on write): a copy per session
 * cost 32 bytes a message, 320 KiB for each idle client of a 10,000-message INBOX (issue 12). The cache
 * never changes arrays it has handed out (mailbox-index-cache.ts), so shared arrays stay as selected.
 */
export class SelectedView {
  private uidList: number[];
  private flagList: string[][];
  private modseqList: number[];
  private messageIdList: number[];
  /** True while the arrays are the cache's (shared); own() copies them before the first change. */
  private shared = true;
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
    // The cache's arrays, shared until this view changes (own()); the casts are sound because nothing
    // writes through them while `shared` is set.
    this.uidList = index.uids as number[];
    this.flagList = index.flags as string[][];
    this.modseqList = index.modseqs as number[];
    this.messageIdList = index.messageIds as number[];
    this.knownModseq = index.modseq;
    this.expungeModseq = index.modseq;
    for (const f of this.flags) this.learnKeywords(f);
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
  get uids(): readonly number[] {
    return this.uidList;
  }
  /** Flags by sequence number - 1; each list is shared and never changed in place. */
  get flags(): readonly (readonly string[])[] {
    return this.flagList;
  }
  get modseqs(): readonly number[] {
    return this.modseqList;
  }
  /** IndexEntry.messageId per message: SEARCH finds header data by it. */
  get messageIds(): readonly number[] {
    return this.messageIdList;
  }

  /** Copies the shared arrays before this view's first change (see the class comment). */
  private own(): void {
    if (!this.shared) return;
    this.shared = false;
    this.uidList = this.uidList.slice();
    this.flagList = this.flagList.slice();
    this.modseqList = this.modseqList.slice();
    this.messageIdList = this.messageIdList.slice();
  }

  /** A message's flags and MODSEQ changed (STORE, or another session's change found by sync). */
  setRow(seq: number, flags: readonly string[], modseq: number): void {
    const i = seq - 1;
    if (this.flagList[i] === flags && this.modseqList[i] === modseq) return;
    this.own();
    // The list is stored, never changed in place (the cast only drops readonly).
    this.flagList[i] = flags as string[];
    this.modseqList[i] = modseq;
  }

  get exists(): number {
    return this.uids.length;
  }

  get maxUid(): number {
    return this.uids[this.uids.length - 1] ?? 0;
  }

  push(e: IndexEntry): void {
    this.own();
    this.uidList.push(e.uid);
    this.flagList.push(e.flags);
    this.modseqList.push(e.modseq);
    this.messageIdList.push(e.messageId);
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
    const flags = this.flagList[seq - 1] as string[];
    return this.recent?.has(this.uids[seq - 1] as number) ? [...flags, '\\Recent'] : flags;
  }

  /** Sequence number of a UID, or 0 when not in the view. Binary search: UIDs ascend with sequence numbers. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = this.uids[mid] as number;
      if (u === uid) return mid + 1;
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Removes one message; returns its former sequence number (0 if absent). */
  remove(uid: number): number {
    const seq = this.seqOf(uid);
    if (seq === 0) return 0;
    this.own();
    this.uidList.splice(seq - 1, 1);
    this.recent?.delete(uid);
    this.flagList.splice(seq - 1, 1);
    this.modseqList.splice(seq - 1, 1);
    this.messageIdList.splice(seq - 1, 1);
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
      this.uids.forEach((uid, i) => {
        if (inRanges(uid, r)) out.push({ seq: i + 1, uid });
      });
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
