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

/**
 * [limits] mailbox_index_cache and header_cache (issue 12: these two caches were fixed at ~100 MB and
 * 48 M characters, and made the IMAP mix's peak RSS 3.7x Dovecot's). Both are sizes in bytes:
 * - mailbox_index_cache: the per-mailbox UID/flags/MODSEQ arrays every SELECT starts from
 *   (imap/mailbox-index-cache.ts), counted at INDEX_CACHE_ROW_BYTES a message. 16 MiB holds ~520,000
 *   messages: every mailbox of a few dozen active users. A miss only costs one read of the mailbox's
 *   rows (~15 ms per 10,000 messages), as every SELECT did before the cache existed.
 * - header_cache: header indexes for SEARCH (store/sqlite/header-index-cache.ts), in bytes (issue 9:
 *   it counted characters before, the same figure for Latin-1 text), held as one string per 1,024
 *   message ids. 12 MiB holds ~60,000 messages of the IMAP bench (~190 bytes each: six short fields)
 *   or a few thousand real ones (Received and DKIM fields take KiBs); a miss reads the stored index
 *   from SQLite, ~5 ms per 10,000 messages more. Issue 12 had cut it from 16 to 8 M characters (a
 *   string per message then) to bring the IMAP mix's peak PSS from ~134 to ~123 MiB; but then the
 *   mix's 5 x 10,000 messages did not fit, every SEARCH reloaded its mailbox and the churn of promoted
 *   strings made GC a quarter of the main thread. A page's few strings hold the same text with no
 *   per-message objects: the mix's ~10 MiB fit in 12 MiB, for ~30% less CPU per IMAP command. 12 rather
 *   than 16: the mix paced at Dovecot's rate peaked at 125.6-127.3 MiB PSS with 12 and 122.5-139.8
 *   (median 136.8) with 16, 3 runs each, against Dovecot's 83-86 and issue 12's 1.5x (bench/README.md).
 */
export const DEFAULT_CACHES = {
  mailboxIndexBytes: 16 * 1024 * 1024,
  headerBytes: 12 * 1024 * 1024,
} as const;

/**
 * [limits] heap: how `mailroom serve` sizes V8's heap (server/heap-tuning.ts applies it at start).
 * - "small" (default): the young generation grows with the load up to YOUNG_GENERATION_CAP_MIB and no
 *   further (V8 would go on to 32 MiB, two semi-spaces of 16, both touched under load), and the old
 *   generation grows to 1.2x the live set after each full GC (--heap-growing-percent=20; V8's own factor
 *   goes up to 4x). Measured on the IMAP mix paced at Dovecot's ops/s (bench/README.md): peak PSS
 *   347 -> 120 MiB (Dovecot: ~93). --heap-growing-percent=50 measured ~134-139 MiB: too close to 1.5x
 *   Dovecot's to be the default.
 * - "node": Node's own sizing (V8's defaults in Node 20, set back explicitly because src/cli.ts has already
 *   set the young generation's growth factor to 1 while modules load; a unit test compares them with
 *   `node --v8-options`), for a machine with memory to spare and CPU to save.
 */
export const HEAP_TUNINGS = {
  small: ['--heap-growing-percent=20'],
  node: ['--semi-space-growth-factor=2', '--heap-growing-percent=0'],
} as const satisfies Record<string, readonly string[]>;
export type HeapTuning = keyof typeof HEAP_TUNINGS;

/**
 * The young generation's size cap under `heap = "small"`, both semi-spaces together (what V8 reports as
 * new_space's size; each is touched in turn). Held at its initial 2 MiB (issue 12's first "small"), the
 * SMTP load (a) did ~3x the scavenges of V8's own sizing, each copying survivors that a few more
 * milliseconds would have let die: ~0.05 ms more server CPU per message (~10%) and ~4 points more of the
 * IMAP mix's main thread in GC. V8 cannot cap it after start (--max-semi-space-size is read only when the
 * heap is made), so heap-tuning.ts lets it grow (factor 2) until it reaches this, then stops the growth.
 * Why 8: until 2026-12-06 the cap was 4, but it was not held: a worker thread starting sets the (process-
 * wide) growth factor back to 2 (V8 does, making its heap; seen on Node 20), and the cap's 1 came back only
 * once the worker was online, so a growth step fell in that window at most starts (the checkpointer's, among
 * the modules' survivors): under a load right after start the young generation worked at 8 MiB, and every
 * figure of the SMTP loads was measured so (~225 scavenges per 10,000 messages of load (a)); after an idle
 * spell, when V8 had shrunk it, it grew back to 4 only (~450, +~25 us per message on the main thread).
 * server/worker-thread.ts now closes that window, so the cap holds, and it is 8: the size the SMTP figures
 * had, and within issue 12's memory line (the IMAP mix paced at Dovecot's rate: 101-107 MiB PSS, the same as
 * before, Dovecot's 82.6 in the same run; 16 MiB, seen when two steps slipped past a cap of 8, put it at
 * 123-129). bench/README.md, "The young generation's cap".
 */
export const YOUNG_GENERATION_CAP_MIB = 8;

export const DEFAULT_HEAP_TUNING: HeapTuning = 'small';

/**
 * The checkpointer worker's young generation (store/sqlite/checkpointer.ts, Worker resourceLimits), in MiB:
 * it allocates a few objects per tick (a stat and a pragma every 200 ms), so V8's default (up to 48 MiB
 * for a worker) is only headroom the process pays for; 1 MiB is the smallest V8 takes.
 */
export const CHECKPOINTER_YOUNG_GENERATION_MB = 1;

/**
 * How long the main thread waits, at most, for a worker thread it starts to run its first line (its heap
 * made: server/worker-thread.ts says why it waits). A worker boots in ~40 ms here; one that takes longer is
 * not waited for further, and only its heap tuning is set again later ('online').
 */
export const WORKER_BOOT_WAIT_MS = 1_000;

/**
 * An inbound verify worker's young generation (inbound/verify-pool.ts): Worker resourceLimits
 * maxYoungGenerationSizeMb, and the semi-space it starts with (server/worker-thread.ts sets
 * --min-semi-space-size while it is made). mailauth's DKIM pass allocates ~40 KiB per message; at V8's
 * start size for a worker (2 MiB, held there by the main thread's cap) that was a scavenge every ~25
 * messages, ~30 us of the worker's ~190 per message. 12 MiB of young generation is V8's two semi-spaces of
 * 4 MiB (8 MiB, the main thread's size under load (a)) and a large-object space beside them. It starts with
 * semi-spaces of 2 MiB (V8 starts none at more than half its maximum) and may take the one step to 8.
 */
export const VERIFY_WORKER_YOUNG_GENERATION = { maxMb: 12, startSemiSpaceMb: 2 } as const;

/**
 * What one message costs in the mailbox index cache: the key's bytes -> rows. Four typed columns
 * (imap/index-columns.ts: UID 4 bytes, flag-list id 4, MODSEQ 8, message id 8), up to an eighth more
 * of spare room left by appends, and a share of the mailbox's table of distinct flag lists (issue 9;
 * it was 64 when each row was four JS array slots of 8 bytes and a flag list not always shared).
 */
export const INDEX_CACHE_ROW_BYTES = 32;

/**
 * The server's SQLite WAL (issue 12: SIGTERM after a long IMAP run once took far more than 10 s): after a
 * complete checkpoint the WAL file is cut back to this (PRAGMA journal_size_limit), and at shutdown a WAL
 * file larger than this is not copied into the database before exit (store/sqlite/sqlite-store.ts close):
 * it is left as it is - every frame in it is already durable - and the next start's background
 * checkpointer copies it off the event loop. So the exit copies 64 MiB at most: ~0.3 s here, ~3 s on a
 * disk writing 20 MB/s, well inside the 10 s a service manager waits before SIGKILL.
 */
export const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

/**
 * When the WAL has grown to this many pages (32 MiB) and the checkpointer has copied all of it but the
 * commits made during its pass, the group committer holds its next commit for one more pass (store/sqlite/
 * checkpointer.ts catchUp), so the WAL is copied whole and that commit starts it over from its first frame.
 * Why: under a steady SMTP load a commit follows another every few ms, so a PASSIVE pass on the worker never
 * ends with the whole WAL copied, SQLite never restarts the WAL, and every frame extends the file: a page the
 * kernel must allocate (ext4 delayed allocation, a new page-cache folio) instead of one it holds. Load (a) grew
 * the WAL to ~300 MB for 10,000 messages; writing frames over the existing file costs ~25% less commit CPU
 * (bench/README.md, 2026-12-06). The hold costs the deliveries of that moment one pass (~10-20 ms at load (a),
 * mostly its two fsyncs), so it should come seldom: 32 MiB is every ~0.5 s of load (a). At most WAL_SIZE_LIMIT:
 * above it SQLite cuts the file back after a restart, and the next frames would extend it again.
 */
export const WAL_RESTART_PAGES = 8192;

/**
 * How long the group committer waits for that pass at most: a worker that does not answer (stopped, stuck
 * on a lock) must not hold deliveries. A pass over the few MB written during the previous one takes a few ms.
 */
export const WAL_CATCH_UP_MAX_WAIT_MS = 1000;

/**
 * Group commit gathering (store/sqlite/group-committer.ts): when deliveries are arriving side by side (one came
 * while an earlier batch still waited for its fsync, or the last batch held two or more), the next batch waits up
 * to this many event-loop turns, and at most COMMIT_GATHER_MAX_MS, for more before it commits. Why: a commit has
 * a fixed cost of ~250 us on the main thread (BEGIN/COMMIT, ~6 pages every commit touches, each WAL frame two
 * write(2) calls, the fsync's round trip through the thread pool), so on this VM a store alone spends 435 us of
 * main thread per delivery at batch 1, 285 at 2, 260 at 4 and 182 at 20 (bench/store-main-cpu.ts). Under
 * one-message-per-connection SMTP load batches held ~1.5 deliveries; waiting six turns made them ~5 and load (b)
 * 15-27% faster in three alternating pairs (bench/README.md "Group commit gathering"). Turns, not a timer: a
 * turn of a busy loop is the time it takes to read every socket that is ready, so the wait grows with the load,
 * while an idle loop turns in microseconds and a lone client (no delivery beside its own) never waits at all.
 */
export const COMMIT_GATHER_TURNS = 6;
/** The most a gathering batch waits, whatever the turns take (one slow turn, a long IMAP SEARCH). */
export const COMMIT_GATHER_MAX_MS = 2;
/** A gathering batch commits at once when this many callers wait: beyond ~16 a commit saves little more. */
export const COMMIT_GATHER_BATCH = 16;

/**
 * Each SQLite connection's page cache, in KiB (PRAGMA cache_size = -N): SQLite's own default. better-sqlite3
 * builds SQLite with 16,000 (DEFAULT_CACHE_SIZE=-16000), and under the IMAP mix the server's connection
 * filled it: the malloc heap held ~38 MiB where it holds ~19 with 2,000, for no CPU measured (a page not in
 * it is read from the OS's file cache, which holds the file anyway: the same pages twice). Issue 12's
 * memory goal (1.5x Dovecot's PSS under the IMAP mix) had come down to its last few MiB.
 */
export const SQLITE_CACHE_KIB = 2_000;

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
 * [limits] jmap_workers when not set: worker threads for read-only JMAP requests (http/jmap-workers.ts).
 * One core fewer than the machine has (the main thread keeps HTTP, authentication and every write),
 * at least one, at most 4: past that the main thread's share is the limit, and each worker holds its
 * own SQLite connection and caches (~20-40 MiB). 0 turns them off (everything on the main thread).
 */
export function defaultJmapWorkers(cores: number): number {
  return Math.max(1, Math.min(4, cores - 1));
}
/**
 * JMAP worker answers travel as UTF-8 in ArrayBuffers moved between the threads and reused
 * (http/jmap-workers.ts WorkerReply says why). 64 KiB: a page of 50 Emails with previews is ~17 KB,
 * so the usual answers fit; a larger one gets a buffer of its own, used once. `spare` bounds the
 * buffers kept on each side (1 MiB each at most); `perJob` how many ride back per job (a batch of n jobs takes up to n times as many).
 */
export const JMAP_REPLY_BUFFERS = { bytes: 64 * 1024, spare: 16, perJob: 4 } as const;

/** The most [limits] jmap_workers may ask for. */
export const MAX_JMAP_WORKERS = 64;

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
 * RFC 5267 4.2: CONTEXT=SEARCH/SORT contexts (SEARCH/SORT RETURN (UPDATE)) one IMAP session may keep.
 * Each holds its whole result (up to a mailbox's worth of UIDs and sort keys) and is re-evaluated for
 * every changed message; a client needs one per open view (a list, a search), so 8 is plenty and bounds
 * that cost. Past it the command still answers, with `* NO [NOUPDATE "tag"]` (RFC 5267 4.2).
 */
export const IMAP_MAX_SEARCH_CONTEXTS = 8;

/**
 * IMAP URLs (RFC 5092) parsed for CATENATE, GENURLAUTH, URLFETCH and SMTP BURL: the longest one
 * accepted, and how many URLs one GENURLAUTH/URLFETCH may carry. Real URLAUTH URLs are ~200 octets
 * and clients send one or two per command; the bounds keep one command's parsing and store reads small.
 */
export const IMAP_URL_MAX_LENGTH = 8192;
export const IMAP_URLS_PER_COMMAND = 100;

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

/**
 * HTTP Basic headers already verified (http/basic-auth-cache.ts): a JMAP client sends one with every
 * request, so each request is not a full login. As long and as many as AUTH_CACHE, which a hit would
 * otherwise reach anyway: a hit proves no more and no less than that cache's. An entry holds the user
 * object JMAP builds (~1 KiB), so 10,000 is ~10 MiB at most.
 */
export const JMAP_BASIC_CACHE = { maxEntries: AUTH_CACHE.maxEntries, ttlMs: AUTH_CACHE.ttlMs } as const;

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
 * STARTTLS, ID, LOGIN and AUTHENTICATE, so it gets one ID's worth of line and a few KiB of literals
 * and skipped input per connection; after login the receiver's normal limits apply. With 1,000
 * connections per listener that is at most some 40 MiB, not the 1 MiB each the authenticated limits allow.
 */
export const IMAP_PRELOGIN_INPUT = {
  /**
   * Command text per command. ID is the longest need: RFC 2971 3.3 allows 30 field-value pairs of up to
   * 30 and 1,024 octets, so a compliant ID is 30 x (32 + 1 + 1,026 + 1) = 31,800 octets quoted plus its
   * tag (imaptest's "id" group sends that one, Dovecot accepts it before login); 32 KiB holds it. The
   * others are far shorter: AUTHENTICATE PLAIN with an initial response (RFC 4959) is 2,052 characters
   * of base64 (username 256, authzid 256, password 1,024), LOGIN with escapes about twice its password.
   * A connection's line is held only while it arrives, within the pre-login timeout.
   */
  maxLineLength: 32 * 1024,
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

/**
 * One IMAP APPEND command after login (MULTIAPPEND, RFC 3502; CATENATE, RFC 4469): each message is
 * already bounded by APPENDLIMIT (RFC 7889, = [limits] max_message_size); these bound the command as
 * a whole, since all of it is spooled to disk and committed in one transaction before the reply.
 */
export const IMAP_APPEND_COMMAND = {
  /**
   * Message literals and CATENATE parts (TEXT and URL) in one APPEND. Each costs a spool (a file past
   * SPOOL_MEMORY_THRESHOLD) and rows in the one transaction; a client saving a folder sends a few
   * dozen, and Dovecot's 256 literals per command is the same order. A huge count of tiny messages
   * gets NO [TOOBIG] at the first literal past it, before "+" invites it.
   */
  maxParts: 256,
  /**
   * Bytes of all message literals of one APPEND together (spooled to disk until the command ends).
   * 256 MiB: ten messages at the default 25 MiB APPENDLIMIT; never below one message's limit.
   */
  maxTotalBytes: 256 * 1024 * 1024,
} as const;

/**
 * IMAP COMPRESS=DEFLATE (RFC 4978), the server's deflate side (net/deflate-connection.ts). zlib's
 * defaults (windowBits 15, memLevel 8) hold ~256 KiB of deflate state per connection; a 4 KiB window
 * and memLevel 5 hold ~32 KiB, and IMAP responses (short lines, headers) still shrink to about a
 * third (RFC 4978 4 notes most of the gain is in the first few KiB of history). The inflating side
 * must keep the 32 KiB window: the client chooses its own window and RFC 4978 does not negotiate it.
 * Measured with bench/imap-compress-memory.ts (1,000 connections, RSS after GC): ~235 KiB per
 * connection with zlib's defaults, 60-100 KiB with these, ~12 KiB uncompressed; a burst of 300
 * FETCH ENVELOPE lines shrinks to 12% of its bytes either way.
 */
export const IMAP_COMPRESS = { level: 6, windowBits: 12, memLevel: 5 } as const;

/** Alias expansion: an alias can point to an alias; stop at this depth (and on loops). */
export const ALIAS_MAX_DEPTH = 10;
/** An alias may fan out to at most this many final addresses (a mailing list belongs elsewhere). */
export const ALIAS_MAX_TARGETS = 1000;

/** On SIGTERM, sessions get this long to finish in-flight deliveries before they are closed with 421. */
export const SHUTDOWN_GRACE_MS = 5_000;

/**
 * How long the server's stdout log gathers lines before writing them (observability/logger.ts
 * coalescingDestination): one write per 10 ms instead of one per line (two lines per message at load,
 * each a thread-pool job); 10 ms is far below what a person or fail2ban's polling can notice. Lines
 * waiting when the process exits are written by its 'exit' handler.
 */
export const LOG_FLUSH_MS = 10;

/**
 * After a connection's last reply (QUIT, LOGOUT, BYE, 421): what the client still sends is dropped for
 * at most `graceMs` and `maxBytes` before the socket is destroyed (net/close-drain.ts). An honest client
 * sends nothing after the goodbye (or the tail of a pipelined batch, a few KiB); a flood cut mid-literal
 * keeps streaming, and draining it cost the whole machine ~1 GB/s of loopback copying in the soak bench.
 */
export const CLOSE_DRAIN = { maxBytes: 64 * 1024, graceMs: 5_000 } as const;

/** Listen backlog per listener (kernel queue of not-yet-accepted connections). */
export const LISTEN_BACKLOG = 511;

/**
 * Connection bursts (net/handle-copies.ts, net/setup-gate.ts). Every listening socket gets this many
 * extra handles, so one turn of the event loop accepts up to 1 + ACCEPT_HANDLE_COPIES connections (libuv
 * accepts one per handle and turn); sessions (on implicit-TLS ports: handshakes) then start at most
 * SETUP_PER_TURN per turn when more wait: an address with a single one waiting first, busy ones in turn
 * (at least 2, setup-gate.ts). A burst of 700 connections from 15 addresses then costs a connection from a
 * 16th address ~40 ms instead of ~600 (the whole burst's setup ahead of it).
 */
export const ACCEPT_HANDLE_COPIES = 15;
export const SETUP_PER_TURN = 4;

/**
 * Server TLS defaults ([tls] ciphers / min_version). TLS 1.2 suites: ECDHE key exchange (forward
 * secrecy) with an AEAD cipher only - Mozilla's "intermediate" list without its DHE suites, in its
 * order (ECDSA before RSA, AES-GCM, then ChaCha20 for clients without AES hardware). Node's default
 * also takes HIGH, which let `AES128-SHA` (RSA key exchange, CBC) in: issue 8 item 8. The TLS 1.3
 * suites are Node's (all AEAD with (EC)DHE by design, RFC 8446 1.2). Admins who must talk to older
 * clients widen it with `[tls] ciphers`. The outbound SMTP client keeps OpenSSL's wide defaults on
 * purpose: its TLS is opportunistic (RFC 7435), where a weak cipher beats the plaintext fallback.
 */
export const DEFAULT_TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
/** RFC 8996 deprecates TLS 1.0 and 1.1; RFC 8314 4.1 asks mail to use current TLS. */
export const DEFAULT_TLS_MIN_VERSION = 'TLSv1.2';
/** A configured certificate that expires within this long is a warning at start (time to renew). */
export const TLS_EXPIRY_WARNING_MS = 14 * 86_400_000;

/**
 * HTTP listeners ([http], [https]; src/http/). Node's defaults are generous (16 KiB headers, a
 * 5-minute request timeout); these are tighter because JMAP requests are small and an idle or slow
 * connection holds a slot of max_connections.
 */
export const HTTP_LIMITS = {
  /** Request line plus headers: 16 KiB (Node's default, and what nginx allows with its default 4x8k). */
  maxHeaderBytes: 16 * 1024,
  /** The whole header block must arrive within this (slowloris); node:http headersTimeout. */
  headersTimeoutMs: 20_000,
  /**
   * The whole request (headers and body) within this; node:http requestTimeout. Long enough for a
   * maxSizeUpload body at ~1 Mbit/s; EventSource responses are not bound by it (it times the request).
   */
  requestTimeoutMs: 5 * 60_000,
  /** An idle keep-alive connection is closed after this (clients reuse it for the next API call). */
  keepAliveTimeoutMs: 30_000,
  /** Requests served on one keep-alive connection before it is closed (bounds per-connection state). */
  maxRequestsPerSocket: 1_000,
  /** On shutdown, open EventSource streams and keep-alive connections are closed; in-flight requests get this long. */
  shutdownGraceMs: 2_000,
} as const;

/**
 * The JMAP core capability (RFC 8620 2, "urn:ietf:params:jmap:core"): advertised in the session
 * resource AND enforced (src/jmap/core/, src/http/jmap-routes.ts). Values near what Fastmail and
 * Stalwart advertise; the RFC asks for at least maxObjectsInGet/Set 500 (5.1, 5.3 suggest it).
 */
export const JMAP_CORE_LIMITS = {
  /** One upload (Blob/upload via uploadUrl): 50 MiB, twice the default message size (attachments grow by base64). */
  maxSizeUpload: 50 * 1024 * 1024,
  /** Uploads in progress at once per account. */
  maxConcurrentUpload: 4,
  /** One API request body: 10 MiB (an Email/set with a large HTML body fits; bounds JSON.parse work). */
  maxSizeRequest: 10 * 1024 * 1024,
  /**
   * API requests being processed at once per account. 8, not Stalwart's 4: one person's phone, laptop and
   * web-mail tabs each refresh on the same StateChange, and the read-only calls are cheap (state-keyed
   * caches, worker threads), so with 4 the slots, not the CPU, bounded a busy account: bench/jmap.ts's 20
   * clients of one account went from 0.85x to 0.96x Dovecot's pages/s at 8, server CPU unchanged.
   * Past it a request waits (JMAP_API_WAIT) and then gets 429 limit; the engine's work per request is
   * bounded by maxCallsInRequest and maxObjectsInGet/Set either way.
   */
  maxConcurrentRequests: 8,
  /** Method calls in one request: enough for any real batch; bounds the work of one request. */
  maxCallsInRequest: 32,
  /** Ids in one /get (RFC 8620 5.1 requestTooLarge past it). */
  maxObjectsInGet: 500,
  /** Create + update + destroy in one /set (RFC 8620 5.3). */
  maxObjectsInSet: 500,
} as const;

/** JSON nesting deeper than this is refused as notRequest: no JMAP object is this deep, and deep values cost stack. */
export const JMAP_MAX_JSON_DEPTH = 64;

/**
 * Bytes that result references (RFC 8620 3.7) may copy into later calls' arguments, in all, per
 * request. Without a budget two `#` arguments pointing at the previous call double the request per
 * call (2^32 with 32 calls); with it the expanded request stays within a few times maxSizeRequest.
 */
/**
 * An API request over maxConcurrentRequests waits this long for a slot before its 429 (http/responses.ts
 * InFlight.enterOrWait), and at most this many wait per account. With the API on worker threads, 20
 * clients of one account overlap: refusing outright answered 429 for slots freed a millisecond later
 * (bench/jmap.ts). A slow-body client holding every slot still makes the next wait 1 s, then 429;
 * the waiters are bounded by connections anyway (each HTTP/1.1 connection has one request at a time).
 */
export const JMAP_API_WAIT = { maxWaitMs: 1_000, maxWaiters: 64 } as const;

export const JMAP_REFERENCE_BUDGET_BYTES = 2 * JMAP_CORE_LIMITS.maxSizeRequest;

/** EventSource (RFC 8620 7.3) ping intervals are clamped into this range (seconds; RFC: the server MAY). */
export const JMAP_PING_SECONDS = { min: 5, max: 600 } as const;

/**
 * JMAP over WebSocket (RFC 8887; src/http/jmap-websocket.ts). A message is at most maxSizeRequest (the
 * same bound as an API body); the connection itself counts against max_connections(_per_ip) like any
 * HTTP connection, since it is one.
 */
export const WEBSOCKET_LIMITS = {
  /**
   * The server pings a connection silent for this long (RFC 6455 5.5.2), and drops one still silent a
   * tick later (no Pong: the peer or a NAT on the way is gone). Under common 60 s proxy idle timeouts.
   */
  pingIntervalMs: 30_000,
  /** Messages read ahead while one is processed; past this, reading pauses (TCP pushes back). */
  maxQueuedMessages: 4,
  /**
   * Bytes waiting to be written before the connection is dropped (1008): a client that never reads its
   * pushes must not grow the server's memory. Room for a few full-size responses.
   */
  maxBufferedBytes: 64 * 1024 * 1024,
} as const;

/** EventSource streams are looked at this often for their pings (one shared timer, not one per stream). */
export const EVENTSOURCE_TICK_MS = 1_000;

/** Uploaded blobs no object references are deleted after this (RFC 8620 6.1: at least one hour). */
export const JMAP_UPLOAD_TTL_MS = 24 * 60 * 60_000;

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

/**
 * Message HTML shown in the web mail (src/mail/html-sanitize.ts, message-html.ts). cid: images become
 * data: URIs inside the sanitised HTML so the sandboxed frame needs no network; these bound how much a
 * message can inflate one Email/sanitizedHtml answer (and the JSON a browser must parse).
 */
export const WEB_HTML_LIMITS = {
  /** One inline (cid:) image at most this many decoded bytes; larger ones stay unresolved. */
  maxInlineImageBytes: 2 * 1024 * 1024,
  /** All inline images of one message together. */
  maxInlineTotalBytes: 8 * 1024 * 1024,
  /** HTML text past this is cut before sanitising (sanitising is linear, but JSON answers should stay small). */
  maxHtmlBytes: 2 * 1024 * 1024,
  /** Emails in one Email/sanitizedHtml call: each may carry megabytes of inline images. */
  maxIdsPerCall: 20,
} as const;

/**
 * Browser sessions of the web mail (src/http/web-session.ts). Idle and absolute expiry as OWASP's
 * session management cheat sheet suggests for a mail client; the counts bound memory (sessions live in
 * memory) and stop one account from piling up sessions with scripted sign-ins.
 */
export const WEB_SESSION_LIMITS = {
  /** A session unused this long is gone (the client's EventSource keeps an open tab's session alive). */
  idleTimeoutMs: 30 * 60_000,
  /** A session ends this long after sign-in whatever its use: the user signs in again. */
  absoluteTimeoutMs: 12 * 60 * 60_000,
  /** Sessions in the whole process; past it the least recently used one ends. */
  maxSessions: 10_000,
  /** Sessions per account; past it that account's least recently used one ends. */
  maxSessionsPerAccount: 20,
  /** Bytes of a sign-in request body (an address and a password in JSON). */
  maxSignInBytes: 8 * 1024,
} as const;

/**
 * JMAP Mail (RFC 8621 1.3.1 urn:ietf:params:jmap:mail capability; src/jmap/mail/). Advertised in the
 * session and enforced by Mailbox/set, Email/get and Email/import.
 */
export const JMAP_MAIL_LIMITS = {
  /** null: an Email may be in any number of mailboxes (IMAP COPY puts no bound on it either). */
  maxMailboxesPerEmail: null,
  /** Mailbox nesting: IMAP names are one string, so depth only bounds name length; 20 covers real trees. */
  maxMailboxDepth: 20,
  /** Octets of one Mailbox name (one hierarchy level, UTF-8); RFC 8621 asks for at least 100. */
  maxSizeMailboxName: 255,
  /** Total decoded attachment size of an Email/set create (the message size cap leaves base64 room). */
  maxSizeAttachmentsPerEmail: 35 * 1024 * 1024,
  /**
   * Email/get bodyValues: the longest value (octets of UTF-8) returned when the client gives no
   * maxBodyValueBytes; a 50 MB text part would otherwise be one JSON string in one response.
   */
  maxBodyValueBytes: 1024 * 1024,
  /** Email preview (RFC 8621 4.1.4: "SHOULD be at most 256 characters"). */
  previewChars: 256,
} as const;

/**
 * Email/get's cache of values computed from a message (header forms, preview, hasAttachment; src/jmap/mail/
 * email-get.ts): a stored message never changes, so a message list asked for again (every client polling
 * the newest page) parses nothing. Entries are stored messages; each holds a few small values (under
 * ~1 KiB with a 256-character preview), so this bounds the cache near 10 MB.
 */
export const JMAP_EMAIL_VALUE_CACHE_ENTRIES = 10_000;

/**
 * Email/query pages and Email/get objects kept while the account's Email state is unchanged
 * (src/jmap/mail/state-cache.ts). Per account 5,000 entries: a hundred pages of 50 (an Email object of
 * the list properties is ~300 bytes, so ~1.5 MB an account at most); 1,000 accounts (the least recently
 * used go first) bound the whole near what JMAP_EMAIL_VALUE_CACHE_ENTRIES holds in practice, since only
 * accounts in use fill it. Body values are never kept here (they can be large; email-get.ts).
 */
export const JMAP_STATE_CACHE = { accounts: 1_000, entriesPerAccount: 5_000 } as const;

/**
 * Email/query and SearchSnippet/get (RFC 8621 4.4, 5; src/jmap/mail/email-query.ts). A filter is a tree
 * the client writes: without a bound, a 10,000-deep NOT chain costs stack and a 100,000-leaf OR costs
 * time on every Email. Real clients nest two or three levels (Fastmail's search builds AND/OR/NOT of a
 * handful of conditions). Body search reads messages, so it reads at most `bodySearchBytes` of each
 * (the decoded text of its text parts) and yields to the event loop every `yieldEvery` Emails.
 */
export const JMAP_QUERY_LIMITS = {
  /** FilterOperator nesting (a condition at depth 1 is the top level). Deeper: unsupportedFilter. */
  maxFilterDepth: 10,
  /** FilterConditions and FilterOperators in one filter. More: unsupportedFilter. */
  maxFilterNodes: 256,
  /** The most ids one Email/query returns (RFC 8620 5.5 "limit": the server MAY cap it and say so). */
  maxLimit: 5_000,
  /** Bytes of one message's text searched by `text`/`body` filters (big attachments are not text). */
  bodySearchBytes: 1024 * 1024,
  /** Candidates examined between yields while searching bodies (a 100,000-Email search stays fair). */
  yieldEvery: 64,
  /** Query results kept per server (LRU), keyed by account, query and Email state: paging re-uses them. */
  cacheEntries: 32,
  /** Email ids in one SearchSnippet/get (RFC 8621 5.1 emailIds): each reads one message. */
  maxSnippetEmails: 256,
} as const;

/**
 * Email/set create (RFC 8621 4.6): the message built from the JMAP Email object. Its size is bounded
 * by the account capability maxSizeAttachmentsPerEmail (RFC 8621 1.3.1) and overall by the SMTP
 * message size a recipient would accept; a bigger one gets tooLarge.
 */
export const JMAP_EMAIL_CREATE_LIMITS = {
  /** Sum of the attachment blobs' sizes: the one number the mail capability advertises. */
  maxSizeAttachmentsPerEmail: JMAP_MAIL_LIMITS.maxSizeAttachmentsPerEmail,
  /** The whole built message (headers, bodies, base64 attachments: 4/3 of the attachments, and room). */
  maxMessageBytes: 50 * 1024 * 1024,
  /** bodyStructure nesting (RFC 8621 4.1.4 EmailBodyPart subParts): deeper is invalidProperties. */
  maxBodyDepth: 16,
  /** Parts in one bodyStructure / textBody+htmlBody+attachments. */
  maxBodyParts: 256,
} as const;

/**
 * The vacation auto-reply (RFC 3834; delivery/vacation.ts): one reply per sender per 7 days (RFC 3834 2
 * asks for a period and leaves it open; 7 days is Sieve vacation's default, RFC 5230 4.1, so users see the
 * same behaviour as elsewhere). Only the first 64 KiB of a message's header is read to decide: a header
 * longer than that is not ordinary personal mail.
 */
export const VACATION = { periodMs: 7 * 86_400_000, maxHeaderBytes: 64 * 1024 } as const;

// Forwarding (SRS) and abuse defence limits, and those of DKIM, inbound checks and outbound TLS policy,
// live beside this file (kept under the ~500-line rule).
export * from './limits-abuse.js';
export * from './limits-trust.js';
export * from './limits-accounts.js';
export * from './limits-observability.js';

/**
 * RFC 5465 5.8: NOTIFY events one IMAP session may have waiting (a command running, or a client that does
 * not read what it was sent). Past it the session gets `* OK [NOTIFICATIONOVERFLOW]` and is treated as
 * after NOTIFY NONE, so a client watching a busy account that stops reading costs a counter, not a queue.
 * Each waiting event is a mailbox to re-read, so 1000 is far more than an interactive client causes
 * between two reads (Dovecot's imap_notify: no limit; it drops events when its output buffer is full).
 */
export const IMAP_NOTIFY_MAX_PENDING = 1000;

/**
 * RFC 5465 3.1: mailbox names one NOTIFY SET may list (subtree/mailboxes), across its event groups. A
 * client watching named folders lists a few; past this the command is NO [LIMIT] (3.1: NO for "NOTIFY
 * too complex"), so a hostile SET cannot make every event compare against a huge list.
 */
export const IMAP_NOTIFY_MAX_NAMES = 1000;
export * from './limits-acme.js';
