// Every numeric limit Mailroom applies, defined once, each with the reason it has the value it has.

/**
 * RFC 5321 4.5.3.1 sizes: the minimums every SMTP implementation must accept. We accept
 * exactly these (not more) for commands and paths so one line cannot grow memory, and a
 * little more for text lines because real mailers exceed 1000 (we reply 500 past our limit).
 */
export const SMTP_SIZES = {
  /** 4.5.3.1.1: local-part is at most 64 octets. */
  localPart: 64,
  /** 4.5.3.1.2: domain is at most 255 octets. */
  domain: 255,
  /** 4.5.3.1.3: reverse-path/forward-path is at most 256 octets including the angle brackets. */
  path: 256,
  /** 4.5.3.1.4: command line at most 512 octets including CRLF (extensions may add: RFC 1869 allows +2000 for ESMTP params). */
  commandLine: 512,
  /** Command line with ESMTP parameters (RFC 1870 4 / RFC 3461 add parameters to MAIL/RCPT). */
  commandLineWithParams: 512 + 2000,
  /** 4.5.3.1.5: reply line at most 512 octets including CRLF. */
  replyLine: 512,
  /** 4.5.3.1.6: text line at most 1000 octets including CRLF. */
  textLine: 1000,
  /** 4.5.3.1.8: accept at least 100 recipients per transaction; this is also our default cap. */
  recipients: 100,
} as const;

/**
 * RFC 5321 4.5.3.2 timeouts (milliseconds). The RFC gives the minimum a *client* should wait;
 * a server should not time out before its peer would, so the server uses the same values.
 */
export const SMTP_TIMEOUTS_MS = {
  /** 4.5.3.2.1: initial 220 greeting, 5 minutes. */
  greeting: 5 * 60_000,
  /** 4.5.3.2.7: server timeout waiting for the next command, 5 minutes. */
  command: 5 * 60_000,
  /** 4.5.3.2.5: DATA block (between two chunks of the body), 3 minutes. */
  dataBlock: 3 * 60_000,
  /** 4.5.3.2.6: after the final ".", 10 minutes: the client waits this long for our 250. */
  dataTermination: 10 * 60_000,
} as const;

/** Config defaults for [limits] (CONTRACT.md), with why. */
export const DEFAULT_LIMITS = {
  /** 25 MiB: what the large free mail providers accept; advertised via SIZE (RFC 1870). */
  maxMessageSize: 25 * 1024 * 1024,
  /** RFC 5321 4.5.3.1.8 minimum; more get 452 4.5.3. */
  maxRecipients: SMTP_SIZES.recipients,
  /** Per listener: bounds memory and file descriptors (each idle connection costs a few KiB). */
  maxConnections: 1000,
  /** Per remote IP and listener: one noisy host cannot take all slots. */
  maxConnectionsPerIp: 50,
} as const;

/**
 * Deadlines that activity does not extend ([limits] *_timeout, transfer_*; net/deadlines.ts), beside the
 * idle timers above, which restart on every byte and so never end a client trickling one byte at a time.
 */
export const DEFAULT_DEADLINES = {
  /** Connect to successful login (IMAP, POP3, SMTP submission): 60 s, as Dovecot's login processes. */
  loginMs: 60_000,
  /**
   * First byte of a command line to its end. Programs send a line in one packet; 60 s still lets a
   * person type one into telnet. Postfix's smtpd_per_record_deadline likewise times whole lines.
   */
  commandLineMs: 60_000,
  /**
   * Total length of an SMTP MX session, which has no login to bound it: 30 min, six RFC 5321 command
   * timeouts; senders reuse a connection for minutes (Postfix: smtp_connection_reuse_time_limit 300 s).
   * A transfer in progress is not cut by it (the rate floor bounds that), so a slow big message still
   * gets its reply.
   */
  mxSessionMs: 30 * 60_000,
  /**
   * A DATA/BDAT/APPEND transfer's time in hand, also its cap: 3 min, RFC 5321 4.5.3.2.5's DATA block
   * timeout, so a stall a client is allowed by the RFC never ends a transfer that keeps the floor rate.
   */
  transferGraceMs: SMTP_TIMEOUTS_MS.dataBlock,
  /**
   * Floor rate (bytes/s) a transfer must keep on average: 500, Postfix's smtpd_min_data_rate. A GPRS
   * link does 5 KiB/s or more, so only a deliberate trickle stays below it.
   */
  transferMinRate: 500,
} as const;

/**
 * SMTP NOOP, RSET, VRFY and HELP since the last accepted message: past this many the session ends with
 * 421 4.7.0. 100 as Postfix's smtpd_junk_command_limit: a client looping on them keeps the command idle
 * timer alive without ever sending mail (and each costs a reply), while a real client sends a handful.
 */
export const SMTP_JUNK_COMMAND_LIMIT = 100;

/**
 * Bodies smaller than this stay in memory while streaming; bigger ones spill to a spool file.
 * 256 KiB: most mail is far smaller, so the common case never touches the spool, while the
 * memory held by 1000 connections mid-DATA stays bounded (~256 MiB worst case).
 */
export const SPOOL_MEMORY_THRESHOLD = 256 * 1024;

/**
 * Authentication failure throttling (auth/failure-limiter.ts). A person mistyping gets a few
 * free tries; a guesser gets slowed, then refused. Counted per IP and per account so neither
 * one host guessing many accounts nor many hosts guessing one account get far.
 */
export const AUTH_FAILURE_LIMITS = {
  /** Failures tolerated without any delay. */
  freeFailures: 3,
  /** Delay after the first failure past the free ones; doubles with each further failure. */
  baseDelayMs: 1_000,
  /** The growing delay stops growing here. */
  maxDelayMs: 30_000,
  /** After this many failures in the window the key is refused outright for `lockoutMs`. */
  lockoutAfter: 10,
  lockoutMs: 15 * 60_000,
  /** Failures older than this are forgotten (a sliding window, not a lifetime count). */
  windowMs: 15 * 60_000,
  /** Per-IP limits are looser: a NAT or a shared office holds many honest users. */
  ipFactor: 3,
  /** Bound on tracked keys so an attacker spraying addresses cannot grow memory without end. */
  maxTrackedKeys: 100_000,
} as const;

/**
 * scrypt parameters (RFC 7914). N=2^15, r=8, p=1 costs ~32 MiB and ~50-100 ms per hash: the
 * OWASP-recommended floor in 2024. Stored in the hash string, so they can rise later.
 */
export const SCRYPT_PARAMS = { N: 1 << 15, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

/**
 * Successful password checks are remembered this long (per account, in memory only) so clients that
 * reconnect for every message do not cost a scrypt each (see auth/verified-cache.ts). 10,000 entries
 * of ~100 bytes is about 1 MiB.
 */
export const AUTH_CACHE = { maxEntries: 10_000, ttlMs: 15 * 60_000 } as const;

/** Alias expansion: an alias can point to an alias; stop at this depth (and on loops). */
export const ALIAS_MAX_DEPTH = 10;
/** An alias may fan out to at most this many final addresses (a mailing list belongs elsewhere). */
export const ALIAS_MAX_TARGETS = 1000;

/** On SIGTERM, sessions get this long to finish in-flight deliveries before they are closed with 421. */
export const SHUTDOWN_GRACE_MS = 5_000;

/** Listen backlog per listener (kernel queue of not-yet-accepted connections). */
export const LISTEN_BACKLOG = 511;
