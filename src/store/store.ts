// The one way in to persistent state: the Store interface every backend implements, plus change events.
import type { EventEmitter } from 'node:events';
import type { DkimStore } from './dkim-store.js';
import type { JmapStates, JmapStore } from './jmap-store.js';
import type { MailStore } from './mail-store.js';
import type { PolicyStore } from './policy-store.js';
import type { QueueStore } from './queue-store.js';
import type { TlsPolicyStore } from './tls-policy-store.js';
import type { DmarcReportStore } from './dmarc-report-store.js';
import type { SendingStore } from './sending-store.js';
import type { TokenStore } from './token-store.js';
import type { ReceivedTrace, TraceStore } from './trace-store.js';
import type { UploadStore } from './upload-store.js';
import type { UrlAuthStore } from './urlauth-store.js';
import type { QuotaState } from './quota.js';

/**
 * 'active'; 'disabled' (`user disable`: no sign-in on any protocol, mail still accepted); 'removed'
 * (`user remove --keep-mail`: no sign-in, no mail, its mailboxes kept until `user remove --force`).
 */
export type AccountState = 'active' | 'disabled' | 'removed';

export interface Account {
  id: number;
  address: string; // lower-cased local@domain
  passwordHash: string;
  createdAt: Date;
  state: AccountState;
  /** The last successful sign-in (any protocol), to the minute; null: never. */
  lastLoginAt: Date | null;
}

/** What `user list --json` reports beyond the account itself: usage and quota (store/quota.ts). */
export type AccountUsage = QuotaState;

export interface Alias {
  source: string; // 'local@domain' or '@domain' (catch-all)
  targets: string[];
}

/** A mailbox (IMAP folder) with the counters IMAP needs from day one (RFC 9051 2.3.1.1, RFC 7162). */
export interface Mailbox {
  id: number;
  accountId: number;
  name: string; // full hierarchical name, '/' separated; 'INBOX' is special
  specialUse: string | null; // '\\Sent', '\\Drafts', ...
  subscribed: boolean; // its name is in the subscription list (MailStore.setSubscribed)
  sortOrder: number | null; // JMAP Mailbox sortOrder (RFC 8621 2) the client set; null: the server's default
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  messageCount: number;
}

/** One message as seen in one mailbox. */
export interface MailboxMessage {
  uid: number;
  messageId: number;
  flags: string[];
  modseq: number;
  size: number;
  internalDate: Date;
}

/** The DSN (RFC 3461) and envelope details carried with each recipient for the queue. */
export interface EnvelopeRecipient {
  address: string;
  orcpt?: string; // ORCPT parameter, as given (addr-type;xtext)
  notify?: string[]; // NOTIFY=SUCCESS,FAILURE,DELAY or ['NEVER']
}

export interface Envelope {
  sender: string; // '' for the null reverse-path
  /**
   * The envelope sender of the queue entry when it differs from `sender`: an SRS address when mail from
   * another domain is forwarded (sender-auth/srs.ts). Local copies keep `sender` as their Return-Path.
   */
  queueSender?: string;
  dsnRet?: 'FULL' | 'HDRS';
  dsnEnvid?: string;
  smtpUtf8?: boolean;
  body?: '7BIT' | '8BITMIME' | 'BINARYMIME';
  /** MAIL FROM ... REQUIRETLS (RFC 8689): every relay hop must be TLS with a validated certificate. */
  requireTls?: boolean;
}

/**
 * A finished message body waiting to be stored: either small and in memory, or spilled to a
 * spool file while it streamed in (see BlobStore). `prefix` (trace headers: Return-Path,
 * Received) is prepended without copying the body.
 */
export type SpooledBody =
  { kind: 'memory'; chunks: Buffer[]; size: number } | { kind: 'file'; path: string; size: number };

/** What one accepted message becomes: copies in local INBOXes and/or one queue entry. */
export interface DeliveryRequest {
  queueId: string; // the id also written into the Received header
  envelope: Envelope;
  /** Trace headers common to all copies (Received), already CRLF-terminated. */
  traceHeaders: string;
  body: SpooledBody;
  receivedAt: Date;
  /**
   * Local accounts to file into (INBOX unless a mailbox name is given, or a special use such as '\Junk' for
   * quarantined mail: the account's mailbox with that RFC 6154 attribute). Duplicates already removed.
   */
  local: { accountId: number; mailbox?: string; specialUse?: string }[];
  /** Remote recipients for the outgoing queue (issue 3 delivers them). */
  remote: EnvelopeRecipient[];
  /** The start of the message's timeline (`mailroom trace`), written with it; absent: none (IMAP APPEND). */
  trace?: ReceivedTrace;
  /**
   * A local account over its quota (store/quota.ts): 'refuse' (default) rejects the whole delivery with
   * OverQuotaError when no other copy is made, so SMTP can answer 452/552; 'queue' (DSNs, which have no
   * client to answer) puts it in the queue like the full mailboxes of a delivery that reached others.
   */
  overQuota?: 'refuse' | 'queue';
}

export interface QueueRecipient extends EnvelopeRecipient {
  /**
   * A local recipient queued over its quota: the mailbox (by name, else by RFC 6154 special use) its copy
   * was routed to, as DeliveryRequest.local has them; absent: INBOX (queue/local-transport.ts).
   */
  localMailbox?: string;
  localSpecialUse?: string;
  state: 'pending' | 'deferred' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
}

export interface QueueEntry {
  id: string;
  sender: string;
  createdAt: Date;
  size: number;
  dsnEnvid: string | null;
  dsnRet: 'FULL' | 'HDRS' | null;
  recipients: QueueRecipient[];
}

/**
 * How current a directory answer must be (store/sqlite/lookup-cache.ts). 'exact' (the default): any commit
 * made before the call is seen, whichever process made it. 'recent', for the per-RCPT routing lookups: an
 * answer that accepts (a local domain, an account, an alias) may be up to LOOKUP_RECENT_MS older than a
 * commit by another process; an answer that refuses is always exact, so an address, domain or alias just
 * added is never refused. The RCPT quota hint (quotaReached) may be that old either way: the commit checks
 * the quota exactly.
 */
export type LookupFreshness = 'exact' | 'recent';
/** Change events: IMAP IDLE, POP3 and the queue scheduler subscribe instead of polling. */
export interface StoreEvents {
  /** A message was added to a mailbox (delivery, APPEND, COPY). */
  message: [{ accountId: number; mailboxId: number; uid: number }];
  /** Messages were removed from a mailbox (POP3 UPDATE, IMAP EXPUNGE/MOVE). */
  expunge: [{ accountId: number; mailboxId: number; uids: number[] }];
  /** Flags of messages changed (IMAP STORE): other sessions on the mailbox report FETCH FLAGS. */
  flags: [{ accountId: number; mailboxId: number; uids: number[] }];
  /** A mailbox was created, deleted or renamed, its attributes or the subscriptions changed (IMAP NOTIFY). */
  mailboxes: [{ accountId: number }];
  /**
   * The JMAP change log of an account moved (jmap-store.ts): its state per type after the commit. Also
   * emitted for changes another process made, when a ChangePoller (change-poller.ts) notices them.
   */
  changes: [{ accountId: number; states: JmapStates }];
  /** Something was queued or became due. */
  queue: [{ queueId: string }];
}

export interface Store {
  readonly events: EventEmitter<StoreEvents>;
  /** Mailbox operations of the access protocols (IMAP, POP3). */
  readonly mail: MailStore;
  /** The outgoing queue. */
  readonly queue: QueueStore;
  /** JMAP uploads (Blob/upload, Blob/copy, download). */
  readonly uploads: UploadStore;
  /** Emails, Threads, states and changes for JMAP (and IMAP OBJECTID). */
  readonly jmap: JmapStore;
  /** Identities, EmailSubmissions and the VacationResponse (JMAP sending, RFC 8621 6-8). */
  readonly sending: SendingStore;
  /** Server-made secrets (the SRS key) and greylisting state (issue 10). */
  readonly policy: PolicyStore;
  /** DKIM signing keys of local domains (`mailroom dkim`, outbound signing). */
  readonly dkim: DkimStore;
  /** API tokens for Bearer authentication (JMAP clients); they go with their account. */
  readonly tokens: TokenStore;
  /** Outbound TLS policy state: MTA-STS cache, TLS-RPT counts (issue 10). */
  readonly tlsPolicy: TlsPolicyStore;
  /** Message timelines (`mailroom trace`) and admin actions, kept for [retention]. */
  readonly trace: TraceStore;
  /** URLAUTH access keys per mailbox (IMAP GENURLAUTH/URLFETCH/RESETKEY, SMTP BURL). */
  readonly urlauth: UrlAuthStore;
  /** DMARC aggregate report counts ([inbound] dmarc_reports, RFC 7489 7.2). */
  readonly dmarcReports: DmarcReportStore;

  // Domains
  addDomain(name: string): void; // throws MailroomError('DOMAIN_EXISTS')
  removeDomain(name: string): void; // throws MailroomError('NO_SUCH_DOMAIN')
  listDomains(): string[];
  isLocalDomain(name: string, freshness?: LookupFreshness): boolean;

  // Accounts (the address's domain must be local; creating one creates its INBOX and special-use folders)
  addAccount(address: string, passwordHash: string): Account; // 'ACCOUNT_EXISTS', 'DOMAIN_NOT_LOCAL', 'ALIAS_EXISTS'
  removeAccount(address: string): void; // 'NO_SUCH_ACCOUNT'
  /** 'disabled'/'active' (user disable/enable) or 'removed' (user remove --keep-mail). 'NO_SUCH_ACCOUNT' */
  setAccountState(address: string, state: AccountState): void;
  /** Records a successful sign-in at `at` (bookkeeping: not fsynced before it returns). */
  recordLogin(accountId: number, at: Date): void;
  /** Storage used per account with its quota (every account, in one query). */
  accountUsage(): AccountUsage[];
  /** One account's usage and quota (RFC 9208 GETQUOTA, SMTP RCPT); null: no such account. */
  quotaOf(accountId: number): QuotaState | null;
  /** Whether the account is at or over a limit already (SMTP RCPT's early 452 4.2.2); false without limits. */
  quotaReached(accountId: number, freshness?: LookupFreshness): boolean;
  /** Sets an account's storage quota in octets and optionally its message-count quota; null = none. 'NO_SUCH_ACCOUNT' */
  setQuota(address: string, quota: { bytes: number | null; messages?: number | null }): void;
  setPasswordHash(address: string, passwordHash: string): void; // 'NO_SUCH_ACCOUNT'
  getAccount(address: string, freshness?: LookupFreshness): Account | null;
  getAccountById(id: number): Account | null;
  listAccounts(): Account[];

  // Aliases
  /**
   * Adds targets to the alias `source` (creating it), or with `replace` sets them. Refused: a source that
   * is an account ('ACCOUNT_EXISTS'), a change that makes a loop ('ALIAS_LOOP'), 'DOMAIN_NOT_LOCAL'.
   */
  addAlias(source: string, targets: string[], options?: { replace?: boolean }): void;
  removeAlias(source: string): void; // 'NO_SUCH_ALIAS'
  getAlias(source: string, freshness?: LookupFreshness): Alias | null;
  listAliases(): Alias[];

  // Mailboxes
  listMailboxes(accountId: number): Mailbox[];
  getMailbox(accountId: number, name: string): Mailbox | null;
  listMessages(mailboxId: number): MailboxMessage[];
  /** Reads one stored message, whole, as stored (trace headers included). */
  readMessage(messageId: number): Promise<Buffer>;

  /**
   * Stores one accepted message durably: the body once, one row per local mailbox and one
   * queue entry for the remote recipients. Resolves only once everything is on disk (fsync),
   * so the caller may answer 250. Concurrent calls share commits (group commit).
   */
  deliver(request: DeliveryRequest): Promise<void>;

  // Queue (issue 3 grows this)
  listQueue(): QueueEntry[];

  /** Where spool files for bodies that outgrow memory go (same filesystem as the blobs). */
  readonly spoolDir: string;

  close(): Promise<void>;
}
