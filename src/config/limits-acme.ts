// Limits and defaults of ACME certificates (issue 11, RFC 8555): when to renew, how fast to retry, how long timers sleep.

/**
 * A certificate is renewed once two thirds of its lifetime (notBefore to notAfter) have passed: 60 days
 * into a 90-day Let's Encrypt certificate, leaving a third of its life (30 days) for retries, which is
 * what Let's Encrypt and certbot recommend; short-lived certificates keep the same proportion.
 */
export const ACME_RENEW_FRACTION = 2 / 3;

/**
 * The first retry after a failed order comes after this long, then each waits twice the last
 * (exponential backoff, RFC 8555 6.6 asks clients not to hammer a CA that refuses them) ...
 */
export const ACME_RETRY_MIN_MS = 60_000;

/** ... up to this: a CA that is down for a day is asked a few times an hour, not every minute. */
export const ACME_RETRY_MAX_MS = 6 * 3_600_000;

/**
 * Node's setTimeout fires at once for delays over 2^31-1 ms (~24.8 days) (it warns and uses 1 ms); a
 * renewal 60 days away is reached in steps of at most this, the plan recomputed after each.
 */
export const ACME_MAX_TIMER_MS = 2_147_483_647;

/**
 * Each HTTP request to the ACME CA (acme-client's axios) gives up after this: a CA that accepts the
 * connection and never answers must end in acme-failed and a retry, not an order that hangs forever.
 */
export const ACME_REQUEST_TIMEOUT_MS = 30_000;

/**
 * acme-client polls a pending challenge or order first after this, doubling up to ACME_POLL_MAX_MS
 * (RFC 8555 7.5.1: poll with backoff). Its default first wait is 5 s; a CA usually validates within a
 * second, and the doubling keeps a slow one from being asked often.
 */
export const ACME_POLL_MIN_MS = 1_000;
export const ACME_POLL_MAX_MS = 30_000;
