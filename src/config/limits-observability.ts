// Limits and defaults of metrics and logging (issue 11): histogram buckets, the event-loop sampling rate.

/**
 * Event-loop delay sampling for nodejs_eventloop_lag_* (perf_hooks monitorEventLoopDelay resolution).
 * 20 ms is a timer firing 50 times a second: cheap, and finer than any delay an admin acts on (a
 * mail server's loop held for 20 ms already shows as slow IMAP replies).
 */
export const METRICS_EVENT_LOOP_PRECISION_MS = 20;

/**
 * Store group commit (transaction + WAL fsync), seconds: an SSD fsync takes 0.1-2 ms, a disk 5-20 ms,
 * a struggling one 100 ms and more; the buckets span that so a slow disk shows as a shift to the right.
 */
export const METRICS_COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * One outgoing attempt (connect, EHLO, TLS, transaction), seconds: a healthy peer answers in 0.1-2 s;
 * RFC 5321 4.5.3.2 lets the final reply take up to 10 minutes, hence the long tail.
 */
export const METRICS_DELIVERY_ATTEMPT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

/**
 * Queued until delivered or bounced, seconds: most mail goes in the first attempt (under a second);
 * the rest follows the retry intervals (1m, 5m, 15m, 1h, 4h) up to the 5-day max_age.
 */
export const METRICS_DELIVERY_DELAY_BUCKETS = [1, 10, 60, 300, 900, 3600, 14_400, 86_400, 432_000];

/** How long GET /metrics and /healthz may take to send before the socket is dropped (a scraper is local). */
export const METRICS_REQUEST_TIMEOUT_MS = 10_000;

/**
 * [retention] defaults. Message timelines (`mailroom trace`): 30 days covers "my mail of last month
 * never arrived" and the 5-day queue lifetime many times over, at ~300 bytes a message (a few hundred
 * MB for a server taking 30,000 messages a day). Admin actions: about a year, as an audit trail is read
 * long after the fact and they are few.
 */
export const DEFAULT_RETENTION = { traceMs: 30 * 86_400_000, adminActionsMs: 400 * 86_400_000 } as const;

/** How often the server deletes what [retention] no longer keeps (and once shortly after start). */
export const RETENTION_PURGE_INTERVAL_MS = 3_600_000;

/** How often the server looks for admin actions made by the CLI (another process) to log them. */
export const ADMIN_LOG_POLL_MS = 1_000;
