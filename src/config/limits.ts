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
 * SMTP replies one input chunk may produce before the session stops reading it (issue 8): the rest
 * of the chunk waits until those replies are written, and the connection reads on only while the
 * client reads its replies. Without it, 64 KiB of pipelined empty lines made 2.6 MB of 500 replies
 * at once for a client that never reads (x 1,000 connections). 8 KiB: a full RFC 2920 pipeline of
 * 100 RCPTs answers in about 3 KiB.
 */
export const SMTP_REPLY_BACKLOG_BYTES = 8 * 1024;

/**
 * Invalid commands (syntax errors, unknown or out-of-sequence commands, over-long lines) a session may
 * send: at this many it is told so and closed (SMTP 421 4.7.0, IMAP `* BYE` before login; POP3 has the
 * same 20 in pop3/session.ts). Postfix's smtpd_hard_error_limit is 20 too; Dovecot's login processes
 * allow 3. A real client makes one or two; a client streaming junk made the server parse and answer
 * hundreds of thousands of lines per connection (issue 8).
 */
export const SESSION_ERROR_LIMIT = 20;

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

/**
 * Longest password accepted, in UTF-8 octets. `user add`/`passwd` refuse longer ones, and a login
 * with a longer one fails after the same dummy work; it bounds scrypt input and what a client may
 * send before login (an IMAP literal before login is at most this). 1024: passphrases and password
 * managers stay far below (Bitwarden and 1Password generate at most 128 characters), and it is what
 * `user add` has allowed from the start (1024 characters: the same for ASCII).
 */
export const MAX_PASSWORD_BYTES = 1024;

/**
 * IMAP input before login (issue 8). Before authentication a client only needs CAPABILITY,
 * STARTTLS, ID, LOGIN and AUTHENTICATE, so it gets a few KiB per connection, as Dovecot's login
 * process (4 KiB input buffer) does; after login the receiver's normal limits apply. With 1,000
 * connections per listener that is a few MiB, not the 1 MiB each the authenticated limits allow.
 */
export const IMAP_PRELOGIN_INPUT = {
  /**
   * Command text per command. AUTHENTICATE PLAIN with an initial response (RFC 4959) is the longest
   * need: base64 of username (256, RFC 5321 4.5.3.1.3) + authzid (256) + password (1024) is 2,052
   * characters; LOGIN with quoted strings can double its password with escapes. 4 KiB holds both.
   */
  maxLineLength: 4096,
  /** A literal before login is a username or a password: at most a password (RFC 9051 6.2.3). */
  maxLiteralSize: MAX_PASSWORD_BYTES,
  /** LOGIN has two arguments; no command before login needs more literals. */
  maxLiterals: 2,
  /** Username (256) and password literals of one LOGIN together. */
  maxBufferedLiteralBytes: MAX_PASSWORD_BYTES + 256,
  /**
   * Most bytes read and dropped for one refused command (a non-synchronising literal, the rest of a
   * too-long line); past it the connection gets `* BYE` and is closed (Dovecot's login process closes
   * on a full input buffer too).
   */
  maxDiscard: 4096,
} as const;

/** Alias expansion: an alias can point to an alias; stop at this depth (and on loops). */
export const ALIAS_MAX_DEPTH = 10;
/** An alias may fan out to at most this many final addresses (a mailing list belongs elsewhere). */
export const ALIAS_MAX_TARGETS = 1000;

/** On SIGTERM, sessions get this long to finish in-flight deliveries before they are closed with 421. */
export const SHUTDOWN_GRACE_MS = 5_000;

/** Listen backlog per listener (kernel queue of not-yet-accepted connections). */
export const LISTEN_BACKLOG = 511;
