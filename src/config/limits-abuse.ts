// Limits and defaults of forwarding (SRS) and abuse defence on the listeners (issue 10), each with its reason.

/**
 * SRS addresses older than this many days are refused on reversal: 21 days, libsrs2's and postsrsd's
 * default maxage. A bounce comes back within the sender's queue lifetime (Postfix 5 days, RFC 5321
 * 4.5.4.1 suggests 4-5 days), so three weeks covers any real DSN while a harvested SRS address stops
 * being a way in after that.
 */
export const SRS_MAX_AGE_DAYS = 21;

/**
 * Characters of the SRS hash (base32, 5 bits each): 8 = 40 bits. libsrs2's default is 4 base64
 * characters compared without case (under 24 bits); the hash is all that stops a stranger from making
 * an SRS address that sends a "bounce" anywhere, so a few more characters are cheap insurance.
 */
export const SRS_HASH_LENGTH = 8;

/**
 * Pause before the MX greeting (`[inbound] greet_pause`), during which a client that talks is an early
 * talker (RFC 5321 3.1: the client waits for the 220) and is refused (Postfix postscreen's pregreet
 * test). 300 ms: enough for a spam bot that pipelines its whole dialogue at connect, far below the
 * 5-minute greeting timeout of RFC 5321 4.5.3.2.1, and paid once per MX connection only (never on
 * submission). 0 turns the test off.
 */
export const DEFAULT_GREET_PAUSE_MS = 300;

/** Greylisting defaults (`[inbound] greylist_delay`) and entry lifetimes, as postgrey's. */
export const GREYLIST = {
  /** Minimum wait before a retry of a new triplet passes: 5 min, postgrey's --delay 300. */
  delayMs: 5 * 60_000,
  /** An unretried triplet is forgotten after 2 days (postgrey --retry-window 2d). */
  retryWindowMs: 2 * 86_400_000,
  /** A passed triplet or client network is forgotten 35 days after it was last seen (postgrey --max-age 35). */
  maxAgeMs: 35 * 86_400_000,
  /**
   * After this many successful retries from one client network the network is no longer greylisted
   * (postgrey's auto-whitelist; its default is 5). 1: a client that retried properly once is a real MTA.
   */
  autoPassAfter: 1,
  /**
   * Rows kept at most (triplets plus networks). When a write finds more, expired rows go and then the
   * oldest; a flood of random senders cannot grow the table without bound (each row ~150 bytes: 15 MB).
   */
  maxEntries: 100_000,
} as const;

/**
 * New connections per minute from one IP (IPv6: one /64) on the SMTP listeners before `421 4.7.0`
 * (`[limits] connection_rate_per_ip`, Postfix anvil's smtpd_client_connection_rate_limit, which is off
 * by default). 120: twice what a busy sending MTA opens to one MX (Postfix keeps at most 20 connections
 * per destination and reuses them), so only a flood trips it. Loopback is exempt: the local
 * benchmarks, monitoring and a local content filter connect from 127.0.0.1.
 */
export const DEFAULT_CONNECTION_RATE_PER_IP = 120;

/** IPs tracked by the connection-rate limiter at most; past it the oldest are dropped (memory bound). */
export const CONNECTION_RATE_MAX_IPS = 50_000;

/**
 * Messages and recipients per hour per authenticated account (`[limits] submission_messages_per_hour`,
 * `submission_recipients_per_hour`): a person sends tens of messages a day, a mailing to a team a few
 * hundred recipients; a stolen password sending spam sends thousands. 500 and 2,000 are above Gmail's
 * per-user daily sending limit (500 recipients for consumer accounts) per hour, so only a flood hits them.
 */
export const DEFAULT_SUBMISSION_LIMITS = { messagesPerHour: 500, recipientsPerHour: 2_000 } as const;
