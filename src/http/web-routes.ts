// The web mail's HTTP side: browser sign-in and sign-out (session cookie), and cookie authentication with CSRF checks for the JMAP routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { WEB_SESSION_LIMITS } from '../config/limits.js';
import type { JmapUser } from '../jmap/core/engine.js';
import { userOfAccount, type CapabilitySpec } from '../jmap/core/session.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import type { HttpAuthenticate } from './jmap-routes.js';
import { isLoopback } from '../net/loopback.js';
import { consume, httpProblem, sendJson, sendProblem } from './responses.js';
import {
  checkCsrfToken,
  checkOrigin,
  credentialOf,
  CSRF_HEADER,
  readCookie,
  SESSION_COOKIE,
  sessionCookie,
  type WebSessions,
} from './web-session.js';

export interface WebHttpDeps {
  store: Pick<Store, 'getAccount' | 'getAccountById'>;
  authenticate: HttpAuthenticate;
  allowLoopbackPlaintext: boolean;
  logger: Logger;
  capabilities: readonly CapabilitySpec[];
  sessions: WebSessions;
}

export interface WebHttp {
  signIn(req: IncomingMessage, res: ServerResponse): Promise<void>;
  signOut(req: IncomingMessage, res: ServerResponse): void;
  /**
   * The user of a request that carries the session cookie (and no Authorization), or null when it was
   * refused (the answer is sent). State-changing requests must pass the origin and token checks.
   * `exposeToken` adds the CSRF token as a response header (the session resource: how a reloaded page
   * gets its token back; other origins cannot read it, there is no CORS).
   */
  cookieUser(
    req: IncomingMessage,
    res: ServerResponse,
    cookie: string,
    exposeToken: boolean,
  ): JmapUser | null;
}

function isSecure(req: IncomingMessage): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true;
}

/** "scheme://host[:port]" as the browser sees this server (the Origin it sends for our own pages). */
export function ownOrigin(req: IncomingMessage): string {
  return `${isSecure(req) ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}

/**
 * The web mail's own requests (it sends "X-Mailroom-Client: web"): a 401 to them carries no Basic
 * challenge, which would make the browser open its own password dialog over the sign-in form. Not
 * Sec-Fetch-Mode: Node's fetch sends that too, and API clients must keep getting the Basic challenge.
 */
export function isWebClient(req: IncomingMessage): boolean {
  return req.headers['x-mailroom-client'] === 'web';
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function createWebHttp(deps: WebHttpDeps): WebHttp {
  const log = deps.logger;

  function refuse(
    res: ServerResponse,
    status: number,
    detail: string,
    extra: Record<string, string> = {},
  ): void {
    sendProblem(res, httpProblem(status, status === 401 ? 'Unauthorized' : 'Forbidden', detail), extra);
  }

  function originRefusal(req: IncomingMessage): string | null {
    return checkOrigin({
      origin: header(req, 'origin'),
      secFetchSite: header(req, 'sec-fetch-site'),
      ownOrigin: ownOrigin(req),
    });
  }

  async function readSignIn(req: IncomingMessage): Promise<{ email: string; password: string } | null> {
    const chunks: Buffer[] = [];
    let size = 0;
    const outcome = await consume(req, (chunk) => {
      size += chunk.length;
      if (size > WEB_SESSION_LIMITS.maxSignInBytes) return false;
      chunks.push(chunk);
    });
    if (outcome !== 'done') return null;
    try {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (typeof body !== 'object' || body === null) return null;
      const { email, password } = body as Record<string, unknown>;
      return typeof email === 'string' && typeof password === 'string' && email.length <= 254
        ? { email, password }
        : null;
    } catch {
      return null;
    }
  }

  return {
    /**
     * POST /web/signin {"email", "password"} (application/json, which a cross-site form cannot send
     * without a CORS preflight we never grant; plus the origin check against login CSRF). The password
     * goes through the server's one authenticator: throttled and logged like IMAP's. Plain HTTP only on
     * loopback with allow_loopback_plaintext (the AUTH rule).
     */
    async signIn(req, res) {
      const remote = req.socket.remoteAddress ?? '';
      if (!isSecure(req) && !(deps.allowLoopbackPlaintext && isLoopback(remote))) {
        return refuse(res, 403, 'signing in needs TLS: use the https listener');
      }
      const why = originRefusal(req);
      if (why) return refuse(res, 403, why);
      if (!/^application\/json\s*(?:;|$)/i.test(header(req, 'content-type') ?? '')) {
        res.setHeader('Connection', 'close');
        return sendProblem(res, httpProblem(415, 'Unsupported Media Type', 'send application/json'));
      }
      const form = await readSignIn(req);
      if (!form) {
        res.setHeader('Connection', 'close');
        return sendProblem(res, httpProblem(400, 'Bad Request', 'expected {"email": ..., "password": ...}'));
      }
      const result = await deps.authenticate(form.email, form.password, remote);
      const account = result.kind === 'ok' ? deps.store.getAccount(result.account) : null;
      if (!account) {
        const outcome = result.kind === 'throttled' ? 'throttled' : 'failed';
        log.info(
          { event: 'auth', outcome, account: form.email.slice(0, 254), remoteAddress: remote, via: 'web' },
          'auth',
        );
        if (result.kind === 'throttled') {
          return sendProblem(
            res,
            httpProblem(429, 'Too Many Requests', 'too many failed sign-ins; try later'),
            {
              'Retry-After': String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))),
            },
          );
        }
        return refuse(res, 401, 'wrong email or password');
      }
      const { cookieValue, session } = deps.sessions.create(account);
      log.info({ event: 'web_signin', account: account.address, remoteAddress: remote }, 'web sign-in');
      res.setHeader('Set-Cookie', sessionCookie(cookieValue, isSecure(req)));
      sendJson(res, 200, { username: account.address, csrfToken: session.csrfToken });
    },

    /** POST /web/signout: ends the session (with the same checks as any state change) and clears the cookie. */
    signOut(req, res) {
      const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
      const session = cookie === null ? null : deps.sessions.use(cookie);
      if (session) {
        const why = originRefusal(req) ?? checkCsrfToken(header(req, CSRF_HEADER), session);
        if (why) return refuse(res, 403, why);
        deps.sessions.drop(cookie!);
        log.info({ event: 'web_signout', account: session.address }, 'web sign-out');
      }
      res.setHeader('Set-Cookie', sessionCookie(null, isSecure(req)));
      res.writeHead(204, { 'Cache-Control': 'no-store' });
      res.end();
    },

    cookieUser(req, res, cookie, exposeToken) {
      const session = deps.sessions.use(cookie);
      const account = session ? deps.store.getAccountById(session.accountId) : null;
      if (
        !session ||
        !account ||
        account.state !== 'active' ||
        credentialOf(account.passwordHash) !== session.credential
      ) {
        // Expired, signed out, or the password changed / the account went or was disabled (CLI): sign in again.
        if (session) deps.sessions.drop(cookie);
        res.setHeader('Set-Cookie', sessionCookie(null, isSecure(req)));
        refuse(res, 401, 'the session has ended; sign in again', {
          'WWW-Authenticate': 'Cookie realm="mailroom"',
        });
        return null;
      }
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') {
        const why = originRefusal(req) ?? checkCsrfToken(header(req, CSRF_HEADER), session);
        if (why) {
          log.warn(
            { event: 'csrf_refused', reason: why, account: session.address, url: req.url?.slice(0, 200) },
            'csrf',
          );
          refuse(res, 403, why);
          return null;
        }
      }
      if (exposeToken) res.setHeader('X-Mailroom-CSRF', session.csrfToken);
      return userOfAccount(account, deps.capabilities);
    },
  };
}
