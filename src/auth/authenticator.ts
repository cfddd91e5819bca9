// The server's one `authenticate`: checks a username/password against the store, throttled, without user enumeration.
import { randomBytes } from 'node:crypto';
import type { AuthResult } from '../smtp/server/services.js';
import type { Account, Store } from '../store/store.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { FailureLimiter, unmappedIp, type Ticket } from './failure-limiter.js';
import { hashPassword, verifyPassword, type ScryptParams } from './password-hash.js';
import { AUTH_CACHE, AUTH_FAILURE_LIMITS, MAX_PASSWORD_BYTES } from '../config/limits.js';
import { VerifiedCache } from './verified-cache.js';
import { hashApiToken, isApiTokenShape } from './api-token.js';

/** Longer passwords (UTF-8 octets) are refused after the same dummy work; see MAX_PASSWORD_BYTES. */
const tooLong = (password: string): boolean => Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
/** Account names in log lines are cut here (RFC 5321 4.5.3.1.3: a path is at most 256 octets). */
const MAX_LOGGED_ACCOUNT = 256;

/** Which protocol an attempt came in on, for the log lines (fail2ban jails can be per protocol). */
export type AuthProtocol = 'smtp' | 'imap' | 'pop3' | 'http';

/** Waits `ms`, or less if `signal` aborts (it then resolves, never rejects). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface AuthenticatorDeps {
  /** Accounts, and API tokens for Bearer (without `tokens` every Bearer fails). */
  store: Pick<Store, 'getAccount'> & Partial<Pick<Store, 'tokens'>>;
  /** One limiter for the whole process, so every protocol and connection shares the counts. */
  limiter?: FailureLimiter;
  /** Milliseconds since the epoch; injected so throttling is exact in tests. */
  now: () => number;
  /** Waits out a throttling delay; injected so tests need not sleep. */
  sleep: Sleep;
  /** Where auth_failed and auth_throttled lines go (one JSON line each; fail2ban reads them). */
  logger?: Logger;
  /** The longest an attempt waits for its turn before it is answered 'throttled' unchecked. */
  maxWaitMs?: number;
  /** Only for tests: cheaper scrypt for the dummy hash (it must match what accounts use to equalise timing). */
  dummyParams?: ScryptParams;
  /** Recent successes, so reconnecting clients skip scrypt; `null` turns caching off. */
  cache?: VerifiedCache | null;
  /** Only for tests: counts or replaces the scrypt verification. */
  verify?: typeof verifyPassword;
  /** Called after each successful sign-in (the server records last_login: auth/login-recorder.ts). */
  onLogin?: (account: Account) => void;
  /** Each check's outcome per protocol (the server's metrics). */
  observe?: (protocol: AuthProtocol, outcome: 'ok' | 'failed' | 'throttled') => void;
}

export type Authenticate = (
  username: string,
  password: string,
  remoteAddress: string,
  protocol: AuthProtocol,
) => Promise<AuthResult>;

/** Checks an API token (RFC 6750 Bearer); the answer is the account it belongs to, like a password's. */
export type AuthenticateBearer = (
  token: string,
  remoteAddress: string,
  protocol: AuthProtocol,
) => Promise<AuthResult>;

/** The two ways in, sharing one failure limiter (and so one count per IP). */
export interface Authenticators {
  password: Authenticate;
  bearer: AuthenticateBearer;
}

/**
 * The limiter's "account" for Bearer attempts: a wrong token has no account, so all of them count on
 * this one name (it cannot be an address): per IP from the first failure, like a wrong password, and a
 * flood of wrong tokens from many IPs slows new IPs, while IPs a token worked from go on at once.
 */
const BEARER_ACCOUNT = '(api token)';

/** A real-timer Sleep that does not keep the process alive and stops early on abort. */
export const timerSleep: Sleep = (ms, signal) =>
  new Promise<void>((done) => {
    if (signal?.aborted) return done();
    const timer = setTimeout(finish, ms);
    timer.unref();
    signal?.addEventListener('abort', finish, { once: true });
    function finish(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    }
  });

/**
 * Builds `authenticate`. An unknown user costs the same scrypt work as a known one (a dummy hash
 * made at start-up is verified instead) and gets the same 'failed', so neither the answer nor its
 * timing tells which of user or password was wrong (RFC 4954 6 asks servers not to reveal it); the
 * limiter treats both alike too.
 *
 * Each attempt asks the limiter for its turn when it starts; a check in flight on the same
 * (account, IP), IP or account counts as a failure until it settles, so a burst of parallel
 * connections is checked one at a time, each after the delay the failures before it earned.
 * Waiting is a timer (or the next settle), never a busy worker. An attempt that does not get its
 * turn within `maxWaitMs` is answered 'throttled' without checking the password.
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticate {
  return createAuthenticators(deps).password;
}

/** `createAuthenticator` and its Bearer sibling, on one limiter (see there). */
export function createAuthenticators(deps: AuthenticatorDeps): Authenticators {
  const limiter = deps.limiter ?? new FailureLimiter();
  const logger = deps.logger ?? silentLogger();
  const maxWaitMs = deps.maxWaitMs ?? AUTH_FAILURE_LIMITS.maxDelayMs;
  const cache =
    deps.cache === undefined ? new VerifiedCache(AUTH_CACHE.maxEntries, AUTH_CACHE.ttlMs) : deps.cache;
  const dummyHash = hashPassword(
    randomBytes(18).toString('base64'),
    deps.dummyParams ? { params: deps.dummyParams } : {},
  );
  // Avoid an unhandled rejection if the process stops before anyone authenticates.
  dummyHash.catch(() => undefined);

  // Resolved (and replaced) whenever a check settles: waiters for a busy key then ask again.
  let settled = signal();
  const settle = (ticket: Ticket, outcome: 'ok' | 'failed' | 'error'): void => {
    limiter.settle(ticket, outcome, deps.now());
    settled.resolve();
    settled = signal();
  };

  /**
   * Waits for this attempt's turn; null when it waited `maxWaitMs` in vain. Logs one
   * auth_throttled line if a failure delay held it (waiting only for a parallel check of the
   * same key that then succeeded is no throttling: the owner's clients log in in parallel).
   */
  async function turn(ip: string, account: string, fields: LogFields): Promise<Ticket | null> {
    const started = deps.now();
    const deadline = started + maxWaitMs;
    // Time as far as this attempt knows: never behind the end of a sleep it finished, so an
    // injected sleep that returns at once (tests) skips the delay instead of spinning.
    let clock = started;
    let delayed = false;
    for (;;) {
      const verdict = limiter.begin(ip, account, clock);
      if (verdict.kind === 'go') {
        if (delayed)
          logger.info({ event: 'auth_throttled', ...fields, delay_ms: clock - started }, 'auth throttled');
        return verdict.ticket;
      }
      if (verdict.until !== null) delayed = true;
      if (clock >= deadline) {
        logger.info(
          { event: 'auth_throttled', ...fields, delay_ms: clock - started, refused: true },
          'auth throttled',
        );
        return null;
      }
      if (verdict.until === null) {
        // Only a check in flight is in the way: it always settles (scrypt is bounded), so wait
        // for that rather than a timer; the deadline is checked again when it has.
        await settled.promise;
        clock = Math.max(clock, deps.now());
        continue;
      }
      const wakeAt = Math.min(deadline, verdict.until);
      const stop = new AbortController();
      const woke = await Promise.race([
        settled.promise,
        deps.sleep(wakeAt - clock, stop.signal).then(() => 'slept' as const),
      ]);
      stop.abort();
      clock = Math.max(clock, deps.now(), woke === 'slept' ? wakeAt : clock);
    }
  }

  /**
   * A successful sign-in: one `login` line (the same leading fields as auth_failed, so one grep on
   * the IP shows both) with the account as stored, and the metric.
   */
  const succeeded = (fields: LogFields, address: string, method: 'password' | 'bearer'): AuthResult => {
    deps.observe?.(fields.protocol, 'ok');
    // HTTP checks credentials on every request (Basic, Bearer): its successes are debug, or the log
    // would get a line per JMAP call; the web sign-in has its own web_signin line.
    const log = fields.protocol === 'http' ? logger.debug.bind(logger) : logger.info.bind(logger);
    log({ event: 'login', protocol: fields.protocol, ip: fields.ip, account: address, method }, 'login');
    return { kind: 'ok', account: address };
  };

  const byPassword: Authenticate = async (username, password, remoteAddress, protocol) => {
    // Usernames are full addresses, compared case-insensitively (we store them lower-cased).
    const account = username.trim().toLowerCase();
    // One line per failure and per throttling decision, with what fail2ban needs: the event
    // first, then protocol and ip, so a regex anchored on them cannot be fooled by the account
    // name the client chose (which comes last, escaped by JSON, and cut to a sane length).
    // IPv4-mapped addresses are logged as plain IPv4, the form a firewall bans.
    const fields: LogFields = {
      protocol,
      ip: unmappedIp(remoteAddress),
      account: account.slice(0, MAX_LOGGED_ACCOUNT),
    };
    const ticket = await turn(remoteAddress, account, fields);
    if (ticket === null) {
      deps.observe?.(protocol, 'throttled');
      return { kind: 'throttled', retryAfterMs: AUTH_FAILURE_LIMITS.stepMs };
    }
    let outcome: 'ok' | 'failed' | 'error' = 'error';
    /**
     * The right password of an account that may not sign in (`user disable`, `user remove --keep-mail`):
     * the client gets the same 'failed' as for a wrong one, and the limiter counts neither a failure nor
     * a success ('error'): nobody guessed anything. The log line is auth_refused, not auth_failed, so a
     * fail2ban jail does not ban the network of a disabled user whose phone keeps trying.
     */
    const signIn = (record: Account): AuthResult => {
      if (record.state !== 'active') {
        logger.info(
          { event: 'auth_refused', ...fields, reason: record.state },
          'auth refused: account disabled',
        );
        return { kind: 'failed' };
      }
      outcome = 'ok';
      deps.onLogin?.(record);
      return succeeded(fields, record.address, 'password');
    };
    try {
      const record = deps.store.getAccount(account);
      if (record && cache?.matches(account, record.passwordHash, password, deps.now())) {
        return signIn(record);
      }
      const stored = record?.passwordHash ?? (await dummyHash);
      const candidate = tooLong(password) ? '' : password;
      const matches = await (deps.verify ?? verifyPassword)(candidate, stored);
      if (record && matches && !tooLong(password)) {
        cache?.remember(account, record.passwordHash, password, deps.now());
        return signIn(record);
      }
      outcome = 'failed';
      deps.observe?.(protocol, 'failed');
      logger.info({ event: 'auth_failed', ...fields }, 'auth failed');
      return { kind: 'failed' };
    } finally {
      settle(ticket, outcome);
    }
  };

  /**
   * A Bearer token: looked up by its hash (no scrypt: it is 256 random bits), throttled and logged like
   * a password (CONTRACT.md: wrong credentials are slowed on every protocol). A revoked token, or one
   * whose account was removed, has no row any more and fails at once.
   */
  const bearer: AuthenticateBearer = async (token, remoteAddress, protocol) => {
    const fields: LogFields = { protocol, ip: unmappedIp(remoteAddress), account: BEARER_ACCOUNT };
    const ticket = await turn(remoteAddress, BEARER_ACCOUNT, fields);
    if (ticket === null) {
      deps.observe?.(protocol, 'throttled');
      return { kind: 'throttled', retryAfterMs: AUTH_FAILURE_LIMITS.stepMs };
    }
    let outcome: 'ok' | 'failed' | 'error' = 'error';
    try {
      const found = isApiTokenShape(token) ? (deps.store.tokens?.find(hashApiToken(token)) ?? null) : null;
      const state = found ? (deps.store.getAccount(found.address)?.state ?? 'removed') : null;
      if (found && state !== 'active') {
        // A valid token of an account that may not sign in: refused as a wrong one, nothing guessed.
        logger.info({ event: 'auth_refused', ...fields, reason: state, method: 'bearer' }, 'auth refused');
        return { kind: 'failed' };
      }
      if (found) {
        outcome = 'ok';
        deps.onLogin?.(deps.store.getAccount(found.address)!);
        return succeeded(fields, found.address, 'bearer');
      }
      outcome = 'failed';
      deps.observe?.(protocol, 'failed');
      logger.info({ event: 'auth_failed', ...fields, method: 'bearer' }, 'auth failed');
      return { kind: 'failed' };
    } finally {
      settle(ticket, outcome);
    }
  };

  return { password: byPassword, bearer };
}

interface LogFields {
  protocol: AuthProtocol;
  ip: string;
  account: string;
}

function signal(): { promise: Promise<'settled'>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<'settled'>((done) => (resolve = () => done('settled')));
  return { promise, resolve };
}
