// Every numeric limit Mailroom applies, defined once, each with the reason it has the value it has.

/**
 * RFC 5321 4.5.3.1 sizes: the minimums every SMTP implementation must accept. We accept
 * exactly these (not more) for commands and paths so one line cannot grow memory; message
 * text lines get far more (DATA_LINE_MAX below) because real mailers exceed 1000.
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

/**
 * Longest DATA body line we accept, in octets including CRLF: 64 KiB. RFC 5321 4.5.3.1.6 says 1000,
 * but HTML generators and mailing-list software send longer lines (a whole HTML part on one line is
 * common), and refusing them bounced honest mail (issue 8 item 7). Postfix never refuses them (it
 * folds at line_length_limit = 2048); Exim's message_linelength_limit refuses past 998. The DATA
 * receiver streams and never holds a line, so this number costs no memory; it only bounds what later
 * line-oriented readers (header scanner, MIME parser, IMAP clients) can meet. 64 KiB is 64 times the
 * RFC and covers the long lines seen in practice; a longer line is no text any more (an un-encoded
 * binary or an attack) and is refused with 500 after the final dot (RFC 5321 4.5.3.1.10), so the
 * client, which is still sending DATA, stays in step. Relaying re-encodes lines over 998 octets
 * (queue/transport.ts) so strict peers get RFC 5322 2.1.1 lines. BDAT (RFC 3030) and IMAP APPEND
 * carry octet counts, not lines, and have no line limit at all.
 */
export const DATA_LINE_MAX = 64 * 1024;

/**
 * Free-space floor for data_dir ([limits] min_free_space): below it new mail is refused with
 * 452 4.3.1 / NO [OVERQUOTA] until space returns. The default is the smaller of 1 GiB and 5% of the
 * filesystem: 1 GiB leaves room for the SQLite WAL checkpoint, the queue and messages in flight
 * (40 maximal 25 MiB messages), while on a small disk (a 10 GiB VPS) 5% (512 MiB) keeps most of it
 * usable; a percentage alone would refuse mail with 200 GB free on a 4 TB disk.
 */
export const DEFAULT_MIN_FREE_SPACE = { bytes: 1024 * 1024 * 1024, percent: 5 } as const;

/**
 * How old the cached free-space figure may be (store/free-space.ts): one statfs per second at most,
 * not a syscall per command; a second of lag is nothing next to the floor's gigabyte of headroom.
 */
export const FREE_SPACE_REFRESH_MS = 1_000;

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
 * Bodies smaller than this stay in memory while streaming; bigger ones spill to a spool file.
 * 256 KiB: most mail is far smaller, so the common case never touches the spool, while the
 * memory held by 1000 connections mid-DATA stays bounded (~256 MiB worst case).
 */
export const SPOOL_MEMORY_THRESHOLD = 256 * 1024;

/**
 * Password-guessing throttle (auth/failure-limiter.ts), the policy CONTRACT.md states: no lockout
 * (a lockout lets anyone who knows an address keep its owner out), but from the first failure on
 * each check waits about a second longer than the one before, up to a cap, per (account, IP), per
 * IP, and per account once many IPs fail on it. A person who mistypes waits a second or two; a
 * guesser gets one check per `maxDelayMs` per key, and parallel connections do not help (a check
 * in flight counts as a failure until it settles).
 */
export const AUTH_FAILURE_LIMITS = {
  /** "About a second" per failure: unnoticeable after one typo, a steep cost for a guesser. */
  stepMs: 1_000,
  /**
   * The longest wait. 30 s: a guesser gets ~2 checks a minute per key (~2,900 a day, far too few
   * for a real password), while it stays below client timeouts (imapflow, Thunderbird: 60-90 s),
   * so a slowed client gets an answer, not a dropped connection.
   */
  maxDelayMs: 30_000,
  /** Per IP over all accounts, one step per 3 failures: a NAT or an office holds many users. */
  ipFactor: 3,
  /**
   * More than this many IPs failing on one account within the window is a distributed attack: new
   * IPs are then slowed for that account as a whole. 10 is above what an owner's devices with a
   * stale password produce (a phone, a laptop, a tablet, each changing network now and then).
   */
  accountFreeIps: 10,
  /** Failures are forgotten 15 minutes after a key's last one (a sliding window, not a lifetime count). */
  windowMs: 15 * 60_000,
  /** Bound on tracked keys so an attacker spraying addresses cannot grow memory without end (~100 B each). */
  maxTrackedKeys: 100_000,
  /** IPs that signed in to an account skip its account-wide slowdown for 7 days (a week's travel) ... */
  knownIpTtlMs: 7 * 24 * 3_600_000,
  /** ... 16 per account (home, work, phone networks), for at most 50,000 accounts (~5 MiB in all). */
  knownIpsPerAccount: 16,
  maxKnownAccounts: 50_000,
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

/**
 * Threads of JMAP (RFC 8621 3) and IMAP OBJECTID THREADID (RFC 8474), assigned at delivery (mail/thread-keys.ts,
 * store/sqlite/threads.ts).
 */
export const THREAD_LIMITS = {
  /**
   * Referenced Message IDs looked up per new message (the nearest ancestors of References). Each is one
   * index probe at delivery; real References fields carry up to a few dozen, a hostile one thousands.
   */
  references: 50,
  /**
   * A reply without References/In-Reply-To joins a thread by its base subject only if that thread got
   * mail in this window (30 days): an old "Re: Hello" thread is not glued to this year's.
   */
  subjectWindowMs: 30 * 24 * 3600_000,
} as const;

/**
 * The per-account change log JMAP /changes reads (RFC 8620 5.2; store/sqlite/changes.ts). Kept to the
 * last `keepRows` changes per account (about 30 bytes each, so at most ~1.5 MB an account): a client
 * whose state is older gets cannotCalculateChanges and resyncs, as RFC 8620 5.2 provides. Pruned every
 * `pruneEvery` changes (one range delete on the primary key) rather than at every write.
 */
export const JMAP_CHANGE_LOG = { keepRows: 50_000, pruneEvery: 512 } as const;

/**
 * How often a process looks for changes another process made (the CLI, a second server) to push them
 * (JMAP StateChange, RFC 8620 7.1): the same one second as IMAP IDLE's poll (imap/connection.ts).
 */
export const CHANGE_POLL_MS = 1_000;
