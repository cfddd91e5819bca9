// The store side of JMAP (RFC 8620/8621): per-account Emails, Threads, the change log and states. Every backend implements it.
/*
 * One store, one truth (issue 9). IMAP keeps per-mailbox rows (UID, flags, MODSEQ); JMAP sees per-account
 * Emails. An Email is one stored message in one account: it exists while the account has at least one
 * mailbox row for that message (delivery, APPEND, COPY, MOVE create it; EXPUNGE, MOVE out, DELETE of a
 * mailbox, POP3 DELE+QUIT and account removal destroy it with its last row). So:
 * - Email id = IMAP EMAILID (RFC 8474 5.1): COPY and MOVE keep it, a second APPEND of the same bytes is a
 *   new Email. Mailbox id = IMAP MAILBOXID. Thread id = IMAP THREADID. Ids: object-ids.ts.
 * - keywords: the UNION of the keywords (IMAP flags, mail/keywords.ts) of the Email's mailbox rows. Rows
 *   only disagree when IMAP changes one copy; setKeywords sets every row, so JMAP writes make them agree.
 * - mailboxIds: the mailboxes with a row.
 * - threadId is immutable (RFC 8621 4.1.1). When a late message links two threads, they merge into the
 *   older one and the Emails of the other get NEW ids (the old ids are destroyed and new ones created in
 *   the change log, as Stalwart does): an id never changes its thread. RFC 8474 5.1 asks EMAILID to be
 *   stable; a merge is the one exception (an IMAP client sees the message under its new EMAILID).
 * - Every mutation (any protocol, any process) writes the change log in its own transaction, and the
 *   store emits `changes` after the commit (store.ts StoreEvents).
 */
import type { StoreEvents } from './store.js';

/** The data types with a state (RFC 8620 5.1 "state"); each has its own state string per account. */
export const JMAP_TYPES = [
  'Email',
  'Mailbox',
  'Thread',
  'Identity',
  'EmailSubmission',
  'VacationResponse',
] as const;
export type JmapType = (typeof JMAP_TYPES)[number];

/** The state string of every type of an account. A state is a point in the account's change log. */
export type JmapStates = Record<JmapType, string>;

/** What StoreEvents['changes'] carries: the account and its states after the commit. */
export type ChangesEvent = StoreEvents['changes'][0];

/** One Email as Email/get needs it from the store (the body properties come from the message blob). */
export interface EmailRecord {
  id: string;
  /** The stored message (MailStore/Store.readMessage), shared by all accounts and copies of it. */
  messageId: number;
  /** The message's bytes as a blob (RFC 8621 4.1.1 blobId). */
  blobId: string;
  threadId: string;
  /** Mailbox ids (object-ids.ts), sorted. */
  mailboxIds: string[];
  /** JMAP keywords (lower case, sorted): the union of the rows' flags (see above). */
  keywords: string[];
  size: number;
  receivedAt: Date;
  /**
   * The Email preview (RFC 8621 4.1.4) kept with the message, or null while none is stored: it is
   * computed from the message at its first Email/get and handed back with storePreviews, so reading a
   * message list again, even after a restart, parses no message for it.
   */
  preview: string | null;
}

export interface ThreadRecord {
  id: string;
  /** The thread's Email ids, oldest receivedAt first (RFC 8621 3.1). */
  emailIds: string[];
}

/** RFC 8620 5.2 /changes from the store's side. */
export type ChangesResult =
  | {
      ok: true;
      oldState: string;
      newState: string;
      hasMoreChanges: boolean;
      created: string[];
      updated: string[];
      destroyed: string[];
      /**
       * Every update returned changed counts only (Mailbox: totalEmails, unreadEmails, totalThreads,
       * unreadThreads): Mailbox/changes then sets updatedProperties to those (RFC 8621 2.2).
       */
      countsOnly: boolean;
    }
  | { ok: false; error: 'cannotCalculateChanges' };

/** Email/set of keywords or mailboxIds, per Email id asked for. */
export interface EmailSetResult {
  updated: string[];
  notFound: string[];
}

export interface JmapStore {
  /** The account's state per type (RFC 8620 5.1). */
  states(accountId: number): JmapStates;
  /**
   * The account's change counter: a cheap probe for "did anything change" (ChangePoller polls it to
   * notice other processes' changes). 0 for an account without changes.
   */
  changeCounter(accountId: number): number;
  /**
   * Changes of `type` after `sinceState` (RFC 8620 5.2), at most `maxChanges` ids in all (null: no cap).
   * An object created and destroyed since is left out; one created and updated is only created. With
   * more changes than fit, hasMoreChanges and newState is an intermediate state. A state older than the
   * kept log, or not a state of this account, gives cannotCalculateChanges.
   */
  changes(accountId: number, type: JmapType, sinceState: string, maxChanges: number | null): ChangesResult;
  /**
   * Records a change of a type whose objects live outside this store's tables (Identity,
   * EmailSubmission, VacationResponse): the JMAP methods call it inside their own write, and the
   * state moves and `changes` is emitted. `id` is the object's id string in the log's numeric form.
   */
  recordChange(
    accountId: number,
    type: JmapType,
    objectId: number,
    kind: 'created' | 'updated' | 'destroyed',
  ): void;

  /** Emails by id, in the order asked; null for an id that is not an Email of this account. */
  getEmails(accountId: number, ids: readonly string[]): Array<EmailRecord | null>;
  /**
   * Keeps each message's preview (EmailRecord.preview). A preview depends only on the message's bytes,
   * which never change, so a stored one never goes stale; one already stored is left as it is. Not
   * waited on for durability: a preview lost to a crash is computed again.
   */
  storePreviews(previews: ReadonlyArray<{ messageId: number; preview: string }>): void;
  /** Threads by id, in the order asked; null for an id that is not a Thread of this account. */
  getThreads(accountId: number, ids: readonly string[]): Array<ThreadRecord | null>;
  /**
   * Email ids of one mailbox sorted by receivedAt, newest first (ties: newest stored first), from
   * `position`, at most `limit` (RFC 8621 4.4 Email/query inMailbox + sort receivedAt desc: the web
   * mail's message list). `total` only when asked (it counts the mailbox's rows).
   */
  queryMailbox(
    accountId: number,
    mailboxId: string,
    position: number,
    limit: number,
    withTotal: boolean,
  ): { ids: string[]; total: number | null } | null;
  /**
   * Sets the keywords of Emails to exactly `keywords` on every mailbox row (RFC 8621 4.6 Email/set
   * keywords). Changed rows get a new MODSEQ (one per mailbox, RFC 7162 3.1.3) and `flags` is emitted,
   * so CONDSTORE and IDLE see it. Resolves once durable.
   */
  setKeywords(
    accountId: number,
    emailIds: readonly string[],
    keywords: readonly string[],
  ): Promise<EmailSetResult>;
  /**
   * Puts an Email into exactly these mailboxes (RFC 8621 4.6 mailboxIds): rows are added (as COPY: new
   * UIDs, the Email's keywords) and removed (as EXPUNGE: VANISHED records) in one transaction, with
   * `message`/`expunge` events. An empty set throws MailroomError 'INVALID_MAILBOXES' (an Email is in
   * at least one mailbox); an unknown mailbox id too. Resolves once durable.
   */
  setMailboxes(accountId: number, emailId: string, mailboxIds: readonly string[]): Promise<EmailSetResult>;
  /** Destroys Emails: every row in the account goes, as EXPUNGE (RFC 8621 4.6 destroy). Resolves once durable. */
  destroyEmails(
    accountId: number,
    emailIds: readonly string[],
  ): Promise<{ destroyed: string[]; notFound: string[] }>;
  /**
   * Mailbox/get's counts (RFC 8621 2): totalEmails, unreadEmails (rows without \Seen), totalThreads,
   * unreadThreads (threads with an unread Email in the mailbox). Null for a mailbox not of this account.
   * A scan of the mailbox's rows (tens of ms at 100,000): callers cache by the Mailbox state.
   */
  mailboxCounts(
    accountId: number,
    mailboxId: string,
  ): { totalEmails: number; unreadEmails: number; totalThreads: number; unreadThreads: number } | null;
  /** The id of a mailbox (IMAP MAILBOXID, JMAP Mailbox id). */
  mailboxObjectId(mailboxId: number): string;
  /** The mailbox row id of a Mailbox id of this account, or null. */
  mailboxRowId(accountId: number, id: string): number | null;
  /**
   * EMAILID and THREADID (RFC 8474) of stored messages in an account, in the order asked (null when the
   * account has no Email for it, e.g. expunged meanwhile). For IMAP FETCH.
   */
  objectIds(
    accountId: number,
    messageIds: readonly number[],
  ): Array<{ emailId: string; threadId: string } | null>;
  /** The stored message ids of the account's Emails in a thread, or of one Email (IMAP SEARCH THREADID/EMAILID). */
  messageIdsOf(accountId: number, id: string): number[];
  /**
   * Every Email of the account (Email/query with a filter or sort the mailbox index cannot answer, and
   * the thread-wide keyword filters and sorts of RFC 8621 4.4.1/4.4.2, which need every Email of a
   * thread). One read of the account's rows: ~100 ms at 100,000 Emails; callers cache by Email state.
   * Order: receivedAt newest first, ties newest stored first (as queryMailbox).
   */
  listEmails(accountId: number): EmailRecord[];
}
