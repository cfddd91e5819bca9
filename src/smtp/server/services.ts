// What the SMTP server session may ask of the rest of Mailroom: routing, authentication, spooling, storage.
import type { DeliveryRequest, SpooledBody } from '../../store/store.js';
import type { Authenticate } from '../../auth/authenticator.js';
import type { SubmissionLimits } from '../../abuse/rate-limits.js';
import type { InboundChecks } from '../../inbound/checks.js';
import type { BurlFetch } from '../../imap/urlauth.js';

/** The three SMTP roles of CONTRACT.md; they differ only in policy. */
export type SmtpRole = 'mx' | 'submission' | 'submissions';

/** Fixed per listener; read by the session, never changed by it. */
export interface SmtpPolicy {
  role: SmtpRole;
  hostname: string; // greeting, EHLO reply, Received "by"
  maxMessageSize: number; // bytes; advertised as SIZE
  maxRecipients: number; // per transaction; more get 452 4.5.3 (RFC 5321 4.5.3.1.8)
  /** STARTTLS can be offered (a certificate is loaded and the connection is not TLS yet). */
  tlsAvailable: boolean;
  /** Loopback counts as secure for AUTH PLAIN/LOGIN ([auth] allow_loopback_plaintext). */
  allowLoopbackPlaintext: boolean;
  /** submission/submissions: MAIL needs AUTH first (530 5.7.0). */
  requireAuth: boolean;
}

/** Per-connection facts the connection layer knows. */
export interface SmtpPeer {
  remoteAddress: string;
  remotePort: number;
  secure: boolean; // TLS active (implicit or after STARTTLS)
  loopback: boolean;
  tlsProtocol?: string; // e.g. 'TLSv1.3', for the Received header
  tlsCipher?: string;
}

export type RouteResult =
  /** Deliver here: to these local accounts and/or forward to these remote addresses (alias targets). */
  | {
      kind: 'accept';
      local: { accountId: number; mailbox?: string }[];
      remote: string[];
      /** A local domain whose alias forwards to `remote`: the envelope sender is rewritten with SRS there. */
      forwardedBy?: string;
      /** A reversed SRS address (bounce return path): only a null-sender transaction may use it. */
      bounceOnly?: boolean;
    }
  /** Local domain, no such user or alias: 550 5.1.1. */
  | { kind: 'unknown-user' }
  /** Not a local domain and the client is not authenticated: 554 5.7.1 (no open relay). */
  | { kind: 'relay-denied' }
  /**
   * The address's aliases loop and reach nobody (made by two admins racing, or an account removed under
   * a catch-all): 554 5.4.6 (RFC 5321 6.3 routing loop; RFC 3463 X.4.6), logged with the chain.
   */
  | { kind: 'routing-loop'; loop: string[] };

export type AuthResult =
  | { kind: 'ok'; account: string } // the canonical address of the account
  | { kind: 'failed' } // 535 5.7.8, the same reply whichever of user or password was wrong
  | { kind: 'throttled'; retryAfterMs: number }; // 454 4.7.0 (too many failures, per IP or account)

/** Accumulates a streaming body: memory first, spilled to a spool file past a threshold. */
export interface BodySpool {
  /** Appends bytes; the returned promise (if any) must settle before more input is read (backpressure). */
  write(chunk: Buffer): void | Promise<void>;
  /** Ends the body: a file-backed spool is flushed and fsynced. */
  finish(): Promise<SpooledBody>;
  /** Drops what was written (message refused or connection lost). Never throws. */
  abort(): void;
}

export interface SmtpServices {
  /** Routes one RCPT address. `authenticatedAs` is the account address after AUTH, else null. */
  routeRecipient(address: string, authenticatedAs: string | null): RouteResult;
  /** The server's one authenticator (auth/authenticator.ts), shared by every protocol. */
  authenticate: Authenticate;
  /**
   * Submission only (RFC 6409 4.3): may the account `account` (canonical address after AUTH) use `sender`
   * as MAIL FROM? Its own address, +tag, or an alias resolving to it; never the null sender.
   */
  senderAllowed(sender: string, account: string): boolean;
  /**
   * The envelope sender for the queue copy of mail that `forwarderDomain` (a local domain's alias)
   * forwards to remote addresses: an SRS address for a sender of another domain (sender-auth/srs.ts),
   * else the sender unchanged. Absent: never rewritten.
   */
  forwardSender?(sender: string, forwarderDomain: string): string;
  /**
   * Greylisting on the MX (abuse/greylist.ts); absent when `[inbound] greylisting` is off. 'defer': the
   * RCPT gets 451 4.7.1.
   */
  greylist?(facts: { ip: string; sender: string; recipient: string }): 'pass' | 'defer';
  /** Messages and recipients per hour of an authenticated account (shared with JMAP); absent: none. */
  submissionLimits?: SubmissionLimits;
  openSpool(): BodySpool;
  /**
   * Whether a local account is at or over its storage quota (store/quota.ts): RCPT then gets 452 4.2.2 when
   * every local target of the address is full. Absent (tools, tests that do not care): never full.
   */
  mailboxFull?(accountId: number): boolean;
  /**
   * Durable storage of an accepted message; resolves once fsynced (group commit). Rejects with
   * OverQuotaError (store/quota.ts) when its only local recipients are over quota: DATA gets 452 / 552.
   */
  deliver(request: DeliveryRequest): Promise<void>;
  /**
   * True while data_dir is below its free-space floor (store/free-space.ts, a cached probe): MAIL then
   * gets 452 4.3.1 so no new message starts. Absent (tools, tests that do not care): never low.
   */
  storageLow?(): boolean | Promise<boolean>;
  /**
   * MX only: SPF/DKIM/DMARC/ARC/iprev on each message and DNSBL at connect (src/inbound/), for clients that are
   * neither authenticated nor in trusted_networks. Absent (tools, tests that do not care): no checks.
   */
  inbound?: InboundChecks;
  /**
   * BURL (RFC 4468): the octets an IMAP URLAUTH URL names, fetched from the store for `account` (the
   * URL must carry submit+<account> access, imap/urlauth.ts). Absent: BURL is not offered.
   */
  burl?(url: string, account: string): Promise<BurlFetch>;
  /** A new queue id (also written in the Received header); injected so tests are exact. */
  newQueueId(): string;
  now(): Date;
}
