// Limits and defaults of accounts (issue 11): password length, last-login bookkeeping, how fast a disabled account's sessions end.

/**
 * `[auth] min_password_length`: the shortest password `user add` / `user passwd` accept, in characters.
 * 8 is NIST SP 800-63B 5.1.1.2's minimum for a memorised secret chosen by a user; a one-character
 * password (accepted before issue 11) falls to the first guesses of any dictionary attack.
 */
export const DEFAULT_MIN_PASSWORD_LENGTH = 8;

/**
 * A successful sign-in updates the account's last_login_at at most once per this interval (per account,
 * remembered in memory): clients that reconnect for every message must not cost a write each, and
 * "last login" to the minute is what an admin reads.
 */
export const LAST_LOGIN_INTERVAL_MS = 60_000;

/** Accounts remembered by the last-login throttle before old entries are dropped (an entry is ~100 bytes). */
export const LAST_LOGIN_MAX_ENTRIES = 10_000;

/**
 * How often the server checks that the accounts of its open sessions may still sign in (`user disable`,
 * `user remove` run in another process: the CLI). One cached lookup per open session, and the lookup
 * cache only reloads when the database changed (PRAGMA data_version), so a second is cheap; CONTRACT.md
 * promises the sessions end "within a few seconds".
 */
export const ACCOUNT_CHECK_MS = 1_000;
