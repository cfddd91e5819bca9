// The mailbox side of the Store beyond delivery: what IMAP and POP3 do to messages and folders.
// Grown by the access protocols (issue 4); every backend implements it (see test/contract/).
import type { MessageStructure } from '../mail/mime-structure.js';
import type { Mailbox, SpooledBody } from './store.js';

/** One message row as a selected IMAP mailbox keeps it: no body, no join (SELECT on 100k rows stays cheap). */
export interface IndexEntry {
  uid: number;
  flags: string[];
  modseq: number;
  /** The stored message the row points at (COPY shares it); fixed for the life of the row. */
  messageId: number;
}

/** Per-message metadata for FETCH: what was computed once at delivery (RFC 9051 7.5.2 ENVELOPE/BODYSTRUCTURE). */
export interface MessageMeta {
  uid: number;
  messageId: number;
  size: number;
  internalDate: Date;
  /**
   * The zone the internal date was given in, minutes east of UTC (APPEND's date-time; 0 for SMTP
   * delivery, see sqlite/deliver.ts). FETCH INTERNALDATE shows the date in it (RFC 9051 2.3.3) and
   * SEARCH BEFORE/ON/SINCE compare its calendar date in it (RFC 9051 6.4.4).
   */
  internalDateOffset: number;
  /** When it was saved to this mailbox (RFC 8514 SAVEDATE); null if not known. */
  saveDate: Date | null;
  /** Null only for a message whose body could not be read back; the FETCH then fails for it. */
  structure: MessageStructure | null;
  /**
   * Where the message's body starts (its structure's root.bodyStart: the header block, blank line
   * included, is the bytes before it). Known when the structure or 'bodyStart' was asked; null otherwise.
   */
  bodyStart: number | null;
}

/**
 * What messageMeta reads of each message's structure: nothing (false), only where its body starts
 * ('bodyStart': BODY[HEADER.FIELDS ...], HEADER and TEXT of the message itself need no more), or the
 * whole parsed structure (true: ENVELOPE, BODYSTRUCTURE, parts).
 */
export type MetaDetail = boolean | 'bodyStart';

/** Counters STATUS and SELECT need (RFC 9051 6.3.11), from one query. */
export interface MailboxCounts {
  messages: number;
  unseen: number;
  deleted: number;
  size: number;
  /** Octets of the messages marked \\Deleted: what an EXPUNGE would give back (RFC 9208 DELETED-STORAGE). */
  deletedSize: number;
  /** The sequence number of the first unseen message, 0 when none (SELECT's [UNSEEN n], RFC 3501 6.3.1). */
  firstUnseenSeq: number;
}

/**
 * A message's header index, for SEARCH header keys (RFC 9051 6.4.4 HEADER, FROM, SUBJECT, SENTBEFORE...):
 * every field of the top-level header block (trace fields included), in order, each as "\n" + name +
 * ":" + value, the value unfolded, trimmed and with RFC 2047 encoded words decoded, and the whole text
 * lower-cased (String.prototype.toLowerCase). So "\nsubject:" finds the Subject fields with indexOf, and
 * a case-insensitive match is a substring test with a lower-cased needle. Empty for a message without header.
 */
export type HeaderIndex = string;

/** The values of the fields named `key` (lower case) in a header index, in order. Pure. */
export function headerIndexValues(index: HeaderIndex, key: string): string[] {
  const out: string[] = [];
  const prefix = `\n${key}:`;
  for (let at = index.indexOf(prefix); at >= 0; at = index.indexOf(prefix, at + 1)) {
    const start = at + prefix.length;
    const end = index.indexOf('\n', start);
    out.push(index.slice(start, end < 0 ? index.length : end));
  }
  return out;
}

export type FlagOp = 'set' | 'add' | 'remove';

export interface StoreFlagsResult {
  /** Rows now in the set (changed or not) with their flags and MODSEQ, ascending by UID. */
  rows: IndexEntry[];
  /** UIDs whose flags actually changed (they got a new MODSEQ, RFC 7162 3.1.3). */
  changed: number[];
  /** UIDs refused by UNCHANGEDSINCE (RFC 7162 3.1.3: [MODIFIED set]). */
  modified: number[];
}

export interface CopyResult {
  /** UIDVALIDITY of the destination, for COPYUID (RFC 4315 3). */
  uidValidity: number;
  /** Source UID -> new destination UID, ascending by source UID. */
  mapping: Array<[number, number]>;
}

/** A mailbox without its message count (counting scans its rows): what SELECT, APPEND and COPY need. */
export type MailboxRef = Omit<Mailbox, 'messageCount'>;

export interface MailStore {
  /**
   * Removes the given UIDs from a mailbox (POP3 QUIT in UPDATE state, IMAP EXPUNGE). Each removal
   * bumps the mailbox's MODSEQ and is recorded for QRESYNC VANISHED (RFC 7162 3.2.10); UIDs that are
   * not there are ignored. Returns the UIDs actually removed, ascending. Bodies no longer referenced
   * anywhere are collected (once the change is durable). Emits `expunge` after the commit and resolves
   * once the change is durable (the event loop does not wait for that fsync meanwhile), so a reply sent
   * after it survives a crash or power loss (DESIGN: durability).
   */
  expunge(mailboxId: number, uids: readonly number[]): Promise<number[]>;

  /** The mailbox's HIGHESTMODSEQ, or null once deleted: the cheap "did anything change" check at each command. */
  highestModseq(mailboxId: number): number | null;
  /**
   * A mailbox by name (INBOX case-insensitively, RFC 9051 5.1), counters fresh from disk, without the
   * message count that Store.getMailbox pays a scan of the mailbox's rows for; null when there is none.
   */
  findMailbox(accountId: number, name: string): MailboxRef | null;
  /** The account's mailboxes without message counts (Store.listMailboxes scans each one's rows to count), INBOX first. */
  listMailboxRefs(accountId: number): MailboxRef[];
  /** A mailbox by id (the counters fresh from disk), or null once deleted. */
  getMailboxById(mailboxId: number): Mailbox | null;
  /**
   * Whether the account has a mailbox below `name` (its exact stored name): \HasChildren for the LIST
   * response of SELECT (RFC 9051 6.3.2), without listing and counting every mailbox.
   */
  hasChildren(accountId: number, name: string): boolean;

  /**
   * Creates a mailbox (RFC 9051 6.3.4). Missing parents are created too ("a/b/c" makes "a" and
   * "a/b"), as RFC 9051 6.3.4 suggests. Throws MailroomError 'MAILBOX_EXISTS'.
   */
  createMailbox(accountId: number, name: string, specialUse?: string | null): Mailbox;
  /** Deletes a mailbox and its messages (RFC 9051 6.3.5); children stay. 'NO_SUCH_MAILBOX', 'CANNOT_DELETE_INBOX'. */
  deleteMailbox(accountId: number, name: string): void;
  /**
   * Renames a mailbox and its children (RFC 9051 6.3.6). Renaming INBOX moves its messages to a new
   * mailbox and leaves INBOX empty. 'NO_SUCH_MAILBOX', 'MAILBOX_EXISTS'.
   */
  renameMailbox(accountId: number, from: string, to: string): void;
  /**
   * SUBSCRIBE/UNSUBSCRIBE (RFC 9051 6.3.7/6.3.8). Subscriptions are names, kept apart from mailboxes:
   * any name may be subscribed, existing or not, and DELETE leaves it subscribed (RFC 9051 6.3.7 "MUST
   * NOT unilaterally remove"); RENAME changes none (6.3.6). Subscribing twice is no error;
   * unsubscribing a name not subscribed throws 'NOT_SUBSCRIBED'. CREATE and new accounts' folders are
   * subscribed by the store.
   */
  setSubscribed(accountId: number, name: string, subscribed: boolean): void;
  /**
   * Sets a mailbox's special use (RFC 6154; JMAP role) and/or JMAP sortOrder (RFC 8621 2); an absent key
   * is left as it is. 'NO_SUCH_MAILBOX'.
   */
  setMailboxAttributes(
    accountId: number,
    name: string,
    attributes: { specialUse?: string | null; sortOrder?: number | null },
  ): void;
  /** The account's subscribed names, existing or not (LSUB, LIST (SUBSCRIBED)), in binary order. */
  listSubscriptions(accountId: number): string[];

  /** Every message row of a mailbox, ascending by UID: flags and MODSEQ only. */
  listIndex(mailboxId: number): IndexEntry[];
  /** Rows whose MODSEQ is above `modseq` (RFC 7162 CHANGEDSINCE and resync), ascending by UID. */
  changedSince(mailboxId: number, modseq: number): IndexEntry[];
  /** UIDs expunged with a MODSEQ above `modseq`, ascending (RFC 7162 3.2.10 VANISHED). */
  vanishedSince(mailboxId: number, modseq: number): number[];
  /** STATUS/SELECT counters. */
  counts(mailboxId: number): MailboxCounts;

  /**
   * \Recent for IMAP4rev1 (RFC 3501 2.3.2: a message is recent in the first session told about it).
   * The mailbox keeps the first UID no session has claimed; this returns it as it was before the call,
   * and the rows with UIDs in [that, below) are \Recent for the caller. With `claim` (a read-write
   * session: SELECT, or new mail it notices) the mark moves up to `below` in the same transaction, so
   * exactly one session gets each message; without it (EXAMINE, which RFC 3501 6.3.2 says "MUST NOT
   * cause messages to lose the \Recent flag") nothing changes and later sessions see them too. Never
   * moves the mark down. Null once the mailbox is deleted. A new mailbox's mark is 1.
   */
  recentFrom(mailboxId: number, below: number, claim: boolean): number | null;
  /** How many messages no session has claimed as \Recent yet (STATUS RECENT, RFC 3501 6.3.10). */
  recentCount(mailboxId: number): number;

  /**
   * Metadata of the rows with UIDs in [lo, hi] (inclusive), ascending. With `withStructure` true the
   * stored structure is parsed (and computed and kept, for a message stored before structures existed);
   * without it `structure` is null, so FETCH RFC822.SIZE on 100k rows parses no JSON; with 'bodyStart'
   * only `bodyStart` is read out of it (no structure object is built: FETCH of header fields).
   */
  messageMeta(mailboxId: number, lo: number, hi: number, withStructure: MetaDetail): Promise<MessageMeta[]>;

  /**
   * The header indexes (HeaderIndex) of these messages (IndexEntry.messageId), in the same order: what
   * SEARCH needs for header keys without reading any body. Null for an id that is not stored, and, with
   * `containing` (lower case), for a message whose index does not contain it. A message expunged and
   * collected meanwhile may still get its index (a message never changes, so it is still right): a
   * session may search what its view still shows (RFC 9051 7.4.1). A message stored without an index
   * gets it computed (and kept) here.
   */
  searchHeaders(
    messageIds: readonly number[],
    containing?: string | null,
  ): Promise<Array<HeaderIndex | null>>;

  /**
   * STORE (RFC 9051 6.4.6 with RFC 7162 3.1.3 UNCHANGEDSINCE): changes flags of the given UIDs. Only rows
   * whose flags really change get a new MODSEQ (one per command). Emits `flags` after the commit and
   * resolves once the change is durable (the event loop does not wait for that fsync meanwhile).
   */
  storeFlags(
    mailboxId: number,
    uids: readonly number[],
    op: FlagOp,
    flags: readonly string[],
    unchangedSince: number | null,
  ): Promise<StoreFlagsResult>;

  /**
   * COPY (RFC 9051 6.4.7): adds rows pointing at the same messages (no body copy). Emits `message` per
   * copy after the commit; resolves once durable. 'NO_SUCH_MAILBOX' (rejected, nothing changed).
   */
  copy(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult>;
  /** MOVE (RFC 6851): COPY + expunge of the source rows in one transaction; resolves once durable. */
  move(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult>;

  /**
   * APPEND (RFC 9051 6.3.12): stores a body with flags and internal date; resolves once durable
   * (shares the delivery group commit). The store takes ownership of a 'file' body. 'NO_SUCH_MAILBOX'.
   * `internalDateOffset` is the zone of the date-time argument, minutes east of UTC, kept as
   * MessageMeta.internalDateOffset (0, i.e. +0000, when the client gave no date); an integer within
   * +-(23*60+59), or RangeError.
   */
  append(
    mailboxId: number,
    body: SpooledBody,
    flags: readonly string[],
    internalDate: Date,
    internalDateOffset?: number,
  ): Promise<{ uid: number; uidValidity: number }>;

  /**
   * MULTIAPPEND (RFC 3502 6.3.11): the messages of one APPEND, all or none: one transaction, so a
   * failure anywhere (a bad message, the mailbox gone, a crash before the commit) stores none. UIDs in
   * order, consecutive. The store owns every 'file' body from the call on. Errors as append().
   */
  appendAll(
    mailboxId: number,
    messages: readonly {
      body: SpooledBody;
      flags: readonly string[];
      internalDate: Date;
      internalDateOffset: number;
      /** Also placed in these mailboxes of the same account, in the same transaction (JMAP Email/import). */
      alsoInto?: readonly number[];
    }[],
  ): Promise<{ uids: number[]; uidValidity: number }>;

  /**
   * Opens one stored message for streaming (POP3 RETR/TOP): whole, as stored, trace headers included,
   * the same bytes as Store.readMessage. Resolves once the body is open, so an expunged message fails
   * here with 'NO_SUCH_MESSAGE', never mid-stream. Iterate `chunks` once; `close` is idempotent and
   * needed only when stopping early (TOP, a dropped connection).
   */
  openMessage(messageId: number): Promise<OpenedMessage>;
}

/** A message opened for streaming (see MailStore.openMessage). */
export interface OpenedMessage {
  size: number;
  chunks: AsyncIterable<Buffer>;
  close(): Promise<void>;
}
