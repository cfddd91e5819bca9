// SmtpServices.authenticate: checks a username/password against the store, throttled, without user enumeration.
import { randomBytes } from 'node:crypto';
import type { AuthResult } from '../smtp/server/services.js';
import type { Store } from '../store/store.js';
import { FailureLimiter } from './failure-limiter.js';
import { hashPassword, verifyPassword, type ScryptParams } from './password-hash.js';
import { AUTH_CACHE, MAX_PASSWORD_BYTES } from '../config/limits.js';
import { VerifiedCache } from './verified-cache.js';

/** Longer passwords (UTF-8 octets) are refused after the same dummy work; see MAX_PASSWORD_BYTES. */
const tooLong = (password: string): boolean => Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;

export interface AuthenticatorDeps {
  store: Pick<Store, 'getAccount'>;
  limiter?: FailureLimiter;
  /** Milliseconds since the epoch; injected so throttling is exact in tests. */
  now: () => number;
  /** Waits out a throttling delay; injected so tests need not sleep. */
  sleep: (ms: number) => Promise<void>;
  /** Only for tests: cheaper scrypt for the dummy hash (it must match what accounts use to equalise timing). */
  dummyParams?: ScryptParams;
  /** Recent successes, so reconnecting clients skip scrypt; `null` turns caching off. */
  cache?: VerifiedCache | null;
  /** Only for tests: counts or replaces the scrypt verification. */
  verify?: typeof verifyPassword;
}

export type Authenticate = (username: string, password: string, remoteAddress: string) => Promise<AuthResult>;

/**
 * Builds `authenticate`. An unknown user costs the same scrypt work as a known one (a dummy hash
 * made at start-up is verified instead) and gets the same 'failed', so neither the answer nor its
 * timing tells which of user or password was wrong (RFC 4954 6 asks servers not to reveal it).
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticate {
  const limiter = deps.limiter ?? new FailureLimiter();
  const cache =
    deps.cache === undefined ? new VerifiedCache(AUTH_CACHE.maxEntries, AUTH_CACHE.ttlMs) : deps.cache;
  const dummyHash = hashPassword(
    randomBytes(18).toString('base64'),
    deps.dummyParams ? { params: deps.dummyParams } : {},
  );
  // Avoid an unhandled rejection if the process stops before anyone authenticates.
  dummyHash.catch(() => undefined);

  return async (username, password, remoteAddress) => {
    // Usernames are full addresses, compared case-insensitively (we store them lower-cased).
    const account = username.trim().toLowerCase();
    const verdict = limiter.check(remoteAddress, account, deps.now());
    if (verdict.kind === 'refuse') return { kind: 'throttled', retryAfterMs: verdict.retryAfterMs };
    if (verdict.kind === 'delay') await deps.sleep(verdict.delayMs);

    const record = deps.store.getAccount(account);
    if (record && cache?.matches(account, record.passwordHash, password, deps.now())) {
      limiter.recordSuccess(remoteAddress, account);
      return { kind: 'ok', account: record.address };
    }
    const stored = record?.passwordHash ?? (await dummyHash);
    const candidate = tooLong(password) ? '' : password;
    const matches = await (deps.verify ?? verifyPassword)(candidate, stored);
    if (record && matches && !tooLong(password)) {
      cache?.remember(account, record.passwordHash, password, deps.now());
      limiter.recordSuccess(remoteAddress, account);
      return { kind: 'ok', account: record.address };
    }
    limiter.recordFailure(remoteAddress, account, deps.now());
    return { kind: 'failed' };
  };
}
