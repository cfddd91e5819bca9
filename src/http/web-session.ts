// Web mail browser sessions (pure; time and randomness injected): the session table, the cookie, and the CSRF checks.
import { createHash, timingSafeEqual } from 'node:crypto';
import { WEB_SESSION_LIMITS } from '../config/limits.js';

/** The cookie's name. Not "__Host-": that prefix needs Secure, and plain loopback HTTP is allowed for development. */
export const SESSION_COOKIE = 'mailroom_session';

/** The header a signed-in page sends its CSRF token in (sign-in and the session resource hand it out). */
export const CSRF_HEADER = 'x-mailroom-csrf';

export type WebSessionLimits = { readonly [K in keyof typeof WEB_SESSION_LIMITS]: number };

/**
 * One signed-in browser. Sessions live in memory, not in the store: a restart signs everyone out (a
 * mail client signs in again without losing anything), nothing secret is ever written to disk, and
 * revocation needs no shared table: every use re-reads the account and compares `credential` (a hash
 * of the password hash at sign-in), so `mailroom user passwd`/`user remove` from the CLI (another
 * process, the same store) ends the account's sessions at their next request.
 */
export interface WebSession {
  accountId: number;
  address: string;
  credential: string;
  csrfToken: string;
  createdAt: number;
  lastUsedAt: number;
}

export interface NewSession {
  /** The cookie value: 256 random bits, base64url. Only its hash is kept. */
  cookieValue: string;
  session: WebSession;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** What a session remembers of the account's password: enough to notice a change, useless to an attacker. */
export function credentialOf(passwordHash: string): string {
  return sha256(`mailroom-web-session:${passwordHash}`);
}

/**
 * The session table: keyed by SHA-256 of the cookie value (a leaked table or heap dump holds no usable
 * cookie), kept in least-recently-used order (a Map iterates in insertion order; use re-inserts), bounded
 * in all and per account, with idle and absolute expiry.
 */
export class WebSessions {
  private readonly byHash = new Map<string, WebSession>();

  constructor(
    private readonly now: () => number,
    private readonly random: (bytes: number) => Buffer,
    private readonly limits: WebSessionLimits = WEB_SESSION_LIMITS,
  ) {}

  get size(): number {
    return this.byHash.size;
  }

  create(account: { id: number; address: string; passwordHash: string }): NewSession {
    const cookieValue = this.random(32).toString('base64url');
    const at = this.now();
    const session: WebSession = {
      accountId: account.id,
      address: account.address,
      credential: credentialOf(account.passwordHash),
      csrfToken: this.random(32).toString('base64url'),
      createdAt: at,
      lastUsedAt: at,
    };
    this.sweep(at);
    const mine = [...this.byHash].filter(([, s]) => s.accountId === account.id);
    for (const [hash] of mine.slice(0, Math.max(0, mine.length - this.limits.maxSessionsPerAccount + 1)))
      this.byHash.delete(hash);
    while (this.byHash.size >= this.limits.maxSessions) {
      const oldest = this.byHash.keys().next().value as string;
      this.byHash.delete(oldest);
    }
    this.byHash.set(sha256(cookieValue), session);
    return { cookieValue, session };
  }

  /** The live session of a cookie value (its use time updated), or null: unknown, idle too long, or too old. */
  use(cookieValue: string): WebSession | null {
    const hash = sha256(cookieValue);
    const session = this.byHash.get(hash);
    if (!session) return null;
    const at = this.now();
    this.byHash.delete(hash);
    if (this.expired(session, at)) return null;
    session.lastUsedAt = at;
    this.byHash.set(hash, session);
    return session;
  }

  drop(cookieValue: string): void {
    this.byHash.delete(sha256(cookieValue));
  }

  /** Ends every session of an account (its password changed or it was removed). */
  dropAccount(accountId: number): void {
    for (const [hash, s] of this.byHash) if (s.accountId === accountId) this.byHash.delete(hash);
  }

  private expired(s: WebSession, at: number): boolean {
    return (
      at - s.lastUsedAt >= this.limits.idleTimeoutMs || at - s.createdAt >= this.limits.absoluteTimeoutMs
    );
  }

  /** Expired sessions leave from the least recently used end (idle ones are all there; the rest at use). */
  private sweep(at: number): void {
    for (const [hash, s] of this.byHash) {
      if (!this.expired(s, at)) break;
      this.byHash.delete(hash);
    }
  }
}

/** The value of one cookie from a Cookie header (RFC 6265 5.4), or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return null;
}

/**
 * Set-Cookie for a session (RFC 6265 4.1): HttpOnly (scripts cannot read it), SameSite=Strict (never
 * sent on a request another site starts), Secure over TLS, Path=/, no Domain (this host only), and
 * Max-Age = the absolute lifetime. `null` clears it.
 */
export function sessionCookie(
  value: string | null,
  secure: boolean,
  limits: WebSessionLimits = WEB_SESSION_LIMITS,
): string {
  const maxAge = value === null ? 0 : Math.floor(limits.absoluteTimeoutMs / 1000);
  return `${SESSION_COOKIE}=${value ?? ''}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

/** What the CSRF check looks at. */
export interface CsrfFacts {
  origin: string | undefined;
  secFetchSite: string | undefined;
  /** The origin this server was reached at ("https://host:port"), from the request's Host. */
  ownOrigin: string;
}

/**
 * The origin check for a state-changing browser request: Origin, when sent, must be ours; Sec-Fetch-Site,
 * when sent, must say same-origin; and at least one of them must be there (browsers send Origin with
 * every POST, OWASP CSRF cheat sheet "Verifying Origin With Standard Headers"). Null when it passes,
 * else why not.
 */
export function checkOrigin(facts: CsrfFacts): string | null {
  if (facts.origin === undefined && facts.secFetchSite === undefined)
    return 'no Origin or Sec-Fetch-Site header';
  if (facts.origin !== undefined && facts.origin !== facts.ownOrigin) return 'request from another origin';
  if (facts.secFetchSite !== undefined && facts.secFetchSite !== 'same-origin')
    return 'request from another site';
  return null;
}

/** The token check (synchroniser token): the header must carry this session's token; compared in constant time. */
export function checkCsrfToken(sent: string | undefined, session: WebSession): string | null {
  if (sent === undefined) return 'no CSRF token';
  const a = Buffer.from(sent);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b) ? null : 'wrong CSRF token';
}
