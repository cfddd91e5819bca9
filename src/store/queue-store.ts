// The outgoing-queue side of the Store: what the scheduler and the `queue` CLI need (issue 3).
import type { QueueEntry, QueueRecipient } from './store.js';
import type { AttemptTrace } from './trace-store.js';

/** A recipient that is due (pending or deferred, next_attempt_at <= now), with its message's envelope. */
export interface DueRecipient {
  queueId: string;
  address: string;
  orcpt?: string;
  notify?: string[];
  state: 'pending' | 'deferred';
  attempts: number;
  lastError: string | null;
  sender: string;
  createdAt: Date;
  size: number;
  dsnEnvid: string | null;
  dsnRet: 'FULL' | 'HDRS' | null;
  smtpUtf8: boolean;
  bodyType: string | null;
  /** RFC 8689 REQUIRETLS was given at MAIL FROM: relaying needs validated TLS and a REQUIRETLS peer. */
  requireTls?: boolean;
  /** When this recipient's one delay DSN was owed (RFC 3464 Action: delayed); absent: not yet warned. */
  delayWarnedAt?: Date;
}

/** What a DSN will say about one recipient (RFC 3464 2.3), kept with the row until the DSN is stored. */
export interface OwedDsn {
  action: 'failed' | 'delayed' | 'delivered' | 'relayed';
  status: string;
  remoteMta?: string;
  smtpDiagnostic?: string;
  localDiagnostic?: string;
  /** ms since the epoch */
  lastAttemptAt: number;
  /** For `delayed`: when we give up, ms since the epoch (RFC 3464 2.3.8 Will-Retry-Until). */
  willRetryUntil?: number;
}

/** The new state of one recipient after an attempt (written right after the peer's answer). */
export interface RecipientUpdate {
  address: string;
  state: QueueRecipient['state'];
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  attemptAt: Date;
  /**
   * A DSN this result owes the sender, or null. A `delayed` one also marks the row warned
   * (DueRecipient.delayWarnedAt), so a recipient is warned at most once, ever.
   */
  dsn: OwedDsn | null;
}

/** One queued message with the DSNs it owes (for the bounce sender). */
export interface DsnDue {
  /** requireTls: the message came with REQUIRETLS (RFC 8689 5: its DSN is sent so too, headers only). */
  entry: QueueEntry & { smtpUtf8: boolean; requireTls?: boolean };
  recipients: {
    address: string;
    orcpt?: string;
    dsn: OwedDsn;
    /** The recipient's state now: a delay warning for one no longer waiting is stale (bounce.ts). */
    state: QueueRecipient['state'];
  }[];
}

/** A DSN that was stored: its recipient and what it reported (see QueueStore.dsnsSent). */
export interface SentDsn {
  address: string;
  action: OwedDsn['action'];
}

/** How full the queue is (metrics): entries, recipients still waiting, the oldest entry's arrival. */
export interface QueueSummary {
  messages: number;
  recipients: number;
  oldest: Date | null;
}

export interface QueueStore {
  /** Counts for the metrics scrape (cheap: two aggregate queries). */
  summary(): QueueSummary;
  /** Every queued message with its recipients, oldest first. */
  list(): QueueEntry[];
  get(queueId: string): QueueEntry | null;
  /** Due recipients (pending/deferred with next_attempt_at <= now), earliest first, at most `limit`. */
  due(now: Date, limit: number): DueRecipient[];
  /** The earliest next_attempt_at after `now` of a waiting recipient, or null when none waits. */
  nextDueAfter(now: Date): Date | null;
  /**
   * Records each recipient's next attempt BEFORE connecting (DESIGN habit 9): a crash mid-attempt
   * leaves the row due at that time, never lost and never retried in a tight loop. Rows that are no
   * longer waiting (final, removed) are skipped. Returns how many rows were claimed.
   */
  claim(claims: readonly { queueId: string; address: string; nextAttemptAt: Date }[]): number;
  /** The bytes sent on for an entry: the stored blob without the local Return-Path line. */
  readMessage(queueId: string): Promise<Buffer>;
  /**
   * Writes one message's attempt results in one commit. An entry whose recipients are all final
   * and owe no DSN is retired (rows deleted, body collected). Returns whether it was retired.
   */
  recordResults(queueId: string, updates: readonly RecipientUpdate[]): { retired: boolean };
  /**
   * recordResults for several messages in one commit (the scheduler gathers the results that arrive
   * in one event-loop turn): one transaction instead of one per message. Same rules per entry;
   * returns whether each was retired, in order. A `trace` is the attempt's step of `mailroom trace`.
   */
  recordResultsMany(
    batch: readonly { queueId: string; updates: readonly RecipientUpdate[]; trace?: AttemptTrace }[],
  ): { retired: boolean }[];
  /** Entries owing DSNs, at most `limit`. */
  dsnsDue(limit: number): DsnDue[];
  /**
   * Marks DSNs as sent (stored); retires the entry when nothing is left to do. A bare address clears
   * whatever that recipient owes; a SentDsn only if it still owes that action: a delay warning being
   * sent while the next attempt failed must not clear the failure DSN that replaced it.
   */
  dsnsSent(queueId: string, sent: readonly (string | SentDsn)[]): { retired: boolean };
  /** `queue flush`: every waiting recipient due at `now`. Returns how many. Emits `queue`. */
  flush(now: Date): number;
  /** `queue remove ID`: drops an entry without a DSN. False when there is none. */
  remove(queueId: string): boolean;
  /** Changes whenever another connection (process) commits: lets the scheduler notice the CLI. */
  changeToken(): number;
}
