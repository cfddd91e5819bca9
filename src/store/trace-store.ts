// Message timelines (`mailroom trace`) and the admin-action record: what happened to a message and who changed what, kept for [retention].

/**
 * One step of a message's life, keyed by its queue id (the id in its Received header):
 * - received: accepted (SMTP, JMAP submission, a DSN we made), with where each local copy was stored
 *   and which recipients were queued; written in the delivery's own transaction.
 * - attempt: one outgoing attempt (the MX, and per recipient the state left, TLS, the peer's reply).
 * - dsn: a DSN made about this message (its own queue id, the actions); written with the DSN itself.
 * - admin: an admin command that touched it (`queue remove`).
 */
export type TraceKind = 'received' | 'attempt' | 'dsn' | 'admin';

export interface TraceEvent {
  at: Date;
  queueId: string;
  kind: TraceKind;
  /** The Message-ID header (received events only). */
  messageId: string | null;
  detail: Record<string, unknown>;
}

/** What a message's `received` event says beyond what the store learns while writing it. */
export interface ReceivedTrace {
  /** The Message-ID header as received (or as submission added it), or null. */
  messageId: string | null;
  /** How it came: the SMTP listener's role, 'jmap' (EmailSubmission) or 'dsn' (made by our queue). */
  via: 'mx' | 'submission' | 'jmap' | 'dsn' | 'vacation' | 'report';
  /** The SMTP client: its address, what it said at EHLO/HELO, the TLS protocol when encrypted. */
  client?: { ip: string; helo: string | null; tls: string | null };
  /** The signed-in account (submission, JMAP). */
  account?: string;
  /** The verdicts of our inbound checks (RFC 8601 method=result pairs), MX only. */
  auth?: string;
  /** The envelope recipients as given (before aliases). */
  recipients: string[];
  /** A DSN: the message it reports on and the actions (failed, delayed, ...). */
  about?: { queueId: string; actions: string[] };
}

/** One outgoing attempt of one message, as the queue recorded it. */
export interface AttemptTrace {
  /** The MX host that answered (null: none was reached). */
  remote: string | null;
  results: {
    to: string;
    state: string;
    attempts: number;
    error?: string | null;
    tls?: boolean;
    reply?: string;
  }[];
}

export interface AdminAction {
  at: Date;
  /** Who ran it: the Unix user (SUDO_USER when run through sudo). */
  actor: string;
  /** The command and its action: `user add`, `queue remove`, `dkim generate`, ... */
  action: string;
  /** What it acted on: an address, a domain, a queue id, a token id; null when nothing in particular. */
  target: string | null;
  /** A few more words, never a secret (no password, no token). */
  detail?: Record<string, unknown>;
}

export interface AdminActionRow extends AdminAction {
  id: number;
}

export interface TraceStore {
  /**
   * Every event of the message with this queue id; or, when no queue id matches, of the messages with
   * this Message-ID (angle brackets optional), oldest first. DSNs made about them are followed.
   */
  events(id: string): TraceEvent[];
  /** Records an admin action (and, with `queueId`, an `admin` event in that message's timeline). */
  recordAdmin(action: AdminAction, queueId?: string): void;
  /** Admin actions after id `afterId`, oldest first, at most `limit`. */
  adminActionsAfter(afterId: number, limit: number): AdminActionRow[];
  /** The newest admin action's id (0: none). */
  lastAdminActionId(): number;
  /** Deletes timeline events older than `traceBefore` and admin actions older than `adminBefore` (null: keep). Returns how many rows went. */
  purge(traceBefore: Date | null, adminBefore: Date | null): Promise<number>;
}
