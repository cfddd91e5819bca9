// Limits of issue 10's trust features: DKIM keys and signing, inbound checks (SPF/DKIM/DMARC/DNSBL), outbound TLS policy.

/**
 * DKIM RSA key size for `mailroom dkim generate`: 2048 bits, what RFC 8301 3.2 recommends (1024 is the
 * minimum verifiers accept; 4096 does not fit one DNS TXT record comfortably and costs 8x the signing CPU).
 */
export const DKIM_RSA_BITS = 2048;

/**
 * DKIM-Signature headers kept per queued message and key (sender-auth/dkim-sign.ts), so a message sent
 * in several batches or retried is signed once: ~1 KiB each, so 2048 entries bound the cache to ~2 MiB.
 */
export const DKIM_SIGNATURE_CACHE_ENTRIES = 2048;

/**
 * Bytes of a message body hashed per event-loop turn when DKIM-signing (sender-auth/dkim-sign.ts): mailauth's
 * relaxed body canonicalisation runs in JavaScript at roughly 10 MiB/s under load, so 256 KiB is ~25 ms at
 * most between turns, and a 4 KiB message is hashed in one go.
 */
export const DKIM_HASH_SLICE_BYTES = 256 * 1024;

/**
 * Parsed DKIM/ARC public keys kept by the inbound checks (inbound/dkim-keys.ts), one per distinct key record:
 * a mail server sees a few thousand signing domains a day, and an entry is ~1 KiB (the record text and a
 * KeyObject), so 4096 bound it to ~4 MiB. Past that the oldest goes; a miss only costs a parse (~0.5 ms).
 */
export const DKIM_KEY_CACHE_ENTRIES = 4096;
/**
 * [inbound] trusted_networks default: the host itself. Mail handed over from loopback comes from a local
 * program (a script, a content filter re-injecting), as Postfix's mynetworks_style=host: it gets neither
 * the DNSBL nor SPF/DKIM/DMARC checks, like an authenticated session. Other loopback addresses
 * (127.0.0.2 ...) are not trusted, so tests can play a stranger on this machine.
 */
export const DEFAULT_TRUSTED_NETWORKS: readonly string[] = ['127.0.0.1/32', '::1/128'];

/**
 * The longest Authentication-Results field the forged-header filter holds while looking for its
 * authserv-id (RFC 8601 5). The id is the field's first token, so a real one is decided within a line;
 * past this the field is judged on what was held and the rest streams through, so a hostile header
 * cannot make a session hold more than this.
 */
export const AUTH_RESULTS_HOLD_MAX = 64 * 1024;

/**
 * How many client addresses the trusted_networks verdict is remembered for (inbound/checks.ts); past it the
 * memo starts over. One entry is an address string and a boolean; the lookup it saves runs once per connection.
 */
export const TRUSTED_MEMO_ADDRESSES = 4096;

/**
 * Bound on all inbound checks of one message (SPF, DKIM, DMARC, ARC, iprev): each DNS question is
 * already bounded by the resolver (DNS_TIMEOUT_MS x tries), but SPF alone may ask 10+2 void lookups
 * (RFC 7208 4.6.4) and DKIM one per signature; 60 s keeps far inside the client's 10-minute wait after
 * the final dot (RFC 5321 4.5.3.2.6). Past it the message gets 451 4.4.3, never a 5xx.
 */
export const INBOUND_CHECK_TIMEOUT_MS = 60_000;

/**
 * [inbound] verify_workers default: threads running the DKIM/ARC pass of MX messages (inbound/verify-pool.ts).
 * The MX's event loop is what limits its throughput, and that pass is most of the checks' CPU; one thread moves
 * it to a second core (more would compete with the event loop itself on a 2-core machine). On one core a
 * thread only adds the hand-over (~0.1 ms a message), so none: the main thread verifies.
 */
export function defaultInboundVerifyWorkers(cores: number): number {
  return cores >= 2 ? 1 : 0;
}

/** The most [inbound] verify_workers may ask for (each thread holds its own mailauth and key cache, ~10 MiB). */
export const MAX_INBOUND_VERIFY_WORKERS = 16;

/**
 * Messages handed to the verify workers and not yet answered, across the pool. Each holds a copy of its body
 * when that is in memory (at most SPOOL_MEMORY_THRESHOLD, 256 KiB) so 256 bound the copies to 64 MiB; past it
 * the main thread verifies the message itself (slower, never refused).
 */
export const INBOUND_VERIFY_MAX_IN_FLIGHT = 256;

/**
 * A verify worker posts the results it has once this many are waiting, or when it has no message left to
 * start (verify-worker.ts). Why not all at once: the MX's sessions send in bursts (their 250s leave with one
 * commit), and with every result of a burst posted together none was stored before the last was verified, so
 * the main thread sat idle while the worker worked and the other way round. In chunks of 7 (about a third of
 * load (a)'s 20 sessions) the main thread stores the first while the worker verifies the rest: load (a) with
 * checks on faster in 17 of 22 alternating pairs, medians +2% to +13% (bench/README.md, "Inbound checks on").
 * Each result posted alone cost the main thread more than it gained (~+0.06 ms a message: wake-ups, smaller
 * commits).
 */
export const INBOUND_VERIFY_RESULT_CHUNK = 7;

/** A verify worker that stopped is started again after this long (a crash loop stays slow; meanwhile: inline). */
export const INBOUND_VERIFY_RESPAWN_MS = 1_000;

/**
 * Address lists a verifier keeps parsed (inbound/dkim-headers.ts memoAddressParser): the From fields and MAIL FROM
 * texts of recent messages, whose parse is a pure function of the text. 1,000 texts of at most 1,024 characters
 * each (longer ones are parsed every time) with their parses: a few MiB a verify thread at worst.
 */
export const ADDRESS_MEMO_ENTRIES = 1_000;
export const ADDRESS_MEMO_MAX_LENGTH = 1_024;

/** iprev (RFC 8601 2.7.3): PTR names checked forward; RFC 7208 4.6.4 limits SPF's ptr to 10 names too. */
export const IPREV_MAX_NAMES = 10;

/** A DNSBL query at connect (RFC 5782) waits at most this long, then the client is let in (fail open). */
export const DNSBL_TIMEOUT_MS = 5_000;
/**
 * MTA-STS policy fetch (RFC 8461 3.3): the policy file is a few lines; 64 KiB is the RFC's own
 * suggestion for a body limit, and a slow server must not hold a delivery attempt for long (the
 * RFC asks for "a reasonable timeout"; 10 s, as a delivery attempt's connect is allowed 30 s).
 */
export const MTA_STS_FETCH = { maxBytes: 64 * 1024, timeoutMs: 10_000 } as const;

/**
 * TLS-RPT (RFC 8460 4.1): reports cover whole UTC days; a report older than this many days is not sent
 * any more (a server down for a week sends the last days, not a backlog nobody reads).
 */
export const TLS_RPT_MAX_AGE_DAYS = 7;
/** How often the queue looks for finished days to report: hourly, so reports leave within an hour of midnight UTC. */
export const TLS_RPT_CHECK_INTERVAL_MS = 3_600_000;
/**
 * DMARC aggregate reports (RFC 7489 7.2): whole UTC days, like TLS-RPT; counts of days older than this are
 * dropped unsent (the checks run hourly with the TLS-RPT ones).
 */
export const DMARC_REPORT_MAX_AGE_DAYS = 7;

/**
 * SPF verdicts, DMARC records and iprev results kept per (client IP, HELO, MAIL FROM) / From domain / client IP
 * (inbound/dns-memo.ts), each only while every DNS answer it was computed from is still cached (its TTL). A busy
 * MX sees a few thousand distinct senders an hour from its regular peers; an entry is well under 1 KiB, so
 * 10,000 per kind bound them to a few MiB. Past that the oldest goes; a miss only costs the lookups again.
 */
export const INBOUND_DNS_MEMO_ENTRIES = 10_000;
