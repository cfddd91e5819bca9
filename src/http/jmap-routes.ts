// Serves the JMAP endpoints over node:http: authentication, body limits, per-account concurrency, then the pure engine.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { JMAP_API_WAIT, JMAP_BASIC_CACHE, SPOOL_MEMORY_THRESHOLD } from '../config/limits.js';
import { JmapRequestError, REQUEST_ERROR_STATUS } from '../jmap/core/errors.js';
import { processRequest, type JmapUser, type MethodRegistry } from '../jmap/core/engine.js';
import { uploadResponse, type BlobResolver } from '../jmap/core/blobs.js';
import type { StateSource } from '../jmap/core/push.js';
import { parseRequest } from '../jmap/core/request.js';
import {
  buildSession,
  sessionStateOf,
  userOfAccount,
  type CapabilitySpec,
  type CoreLimits,
} from '../jmap/core/session.js';
import type { Logger } from '../observability/logger.js';
import type { AuthResult } from '../smtp/server/services.js';
import { createBodySpool } from '../store/spool.js';
import type { Store } from '../store/store.js';
import { BASIC_CHALLENGE, parseBasicAuth } from './basic-auth.js';
import { BEARER_CHALLENGE, type HttpAuthenticateBearer } from './auth.js';
import { parseBearerAuth } from '../auth/api-token.js';
import { isLoopback } from '../net/loopback.js';
import { BasicCredentialCache } from './basic-auth-cache.js';
import { runsOnWorker, type JmapWorkerPool } from './jmap-workers.js';
import { matchRoute } from './router.js';
import { EventSourceStreams } from './eventsource.js';
import { drainedOrClosed } from '../net/drained-or-closed.js';
import {
  consume,
  httpProblem,
  InFlight,
  limitProblem,
  sendJson,
  sendJsonText,
  sendProblem,
} from './responses.js';
import { API_SECURITY_HEADERS, contentDisposition, isMediaType } from './security-headers.js';
import type { StaticFiles } from './static.js';
import { isWebClient, type WebHttp } from './web-routes.js';
import { readCookie, SESSION_COOKIE } from './web-session.js';
import { upgradeToJmapWebSocket } from './websocket-upgrade.js';
import { Ticker } from '../net/ticker.js';
import { EVENTSOURCE_TICK_MS, WEBSOCKET_LIMITS } from '../config/limits.js';

/** How the HTTP side checks a password: the server's one authenticator (see http/auth.ts). */
export type HttpAuthenticate = (
  username: string,
  password: string,
  remoteAddress: string,
) => Promise<AuthResult>;

export interface JmapHttpDeps {
  store: Store;
  authenticate: HttpAuthenticate;
  /** API tokens (`Authorization: Bearer`, RFC 6750 2.1); absent, a Bearer request gets 401. */
  authenticateBearer?: HttpAuthenticateBearer;
  allowLoopbackPlaintext: boolean;
  logger: Logger;
  limits: CoreLimits;
  capabilities: readonly CapabilitySpec[];
  methods: MethodRegistry;
  blobs: BlobResolver;
  states: StateSource;
  /** The web mail: sign-in/out and cookie authentication (web-routes.ts); absent, only Basic works. */
  web?: WebHttp;
  /** The web mail's files at "/" (static.ts); absent, those paths are 404. */
  files?: StaticFiles;
  /** Read-only requests run there when a worker is ready (jmap-workers.ts); absent, all run here. */
  workers?: JmapWorkerPool;
  /** Milliseconds since the epoch (the verified-header cache's expiry); default Date.now. */
  now?: () => number;
}

export interface JmapHttp {
  /** Handles one request; resolves when the response is complete (or handed to an EventSource stream). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Handles an HTTP Upgrade (node:http 'upgrade'): JMAP over WebSocket at /jmap/ws, or a refusal. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** Ends every open EventSource stream and WebSocket connection (shutdown). */
  closeStreams(): void;
  /** Ends the streams of users `check` refuses (disabled or removed accounts); returns how many. */
  closeStreamsOf(check: (address: string) => string | null): number;
  /** Open EventSource streams (tests, metrics). */
  readonly openStreams: number;
  /**
   * Requests (and WebSocket messages) whose work still runs, whether or not their client is still there:
   * shutdown waits for them before it closes the store (server/serve.ts).
   */
  readonly running: number;
}

export function createJmapHttp(options: JmapHttpDeps): JmapHttp {
  const deps = { ...options, now: options.now ?? Date.now };
  const api = new InFlight(deps.limits.maxConcurrentRequests);
  const uploads = new InFlight(deps.limits.maxConcurrentUpload);
  const streams = new Map<() => void, string>();
  let running = 0;
  const during = async <T>(work: () => Promise<T>): Promise<T> => {
    running++;
    try {
      return await work();
    } finally {
      running--;
    }
  };
  const log = deps.logger;
  // One liveness timer for every WebSocket connection (net/ticker.ts says why).
  const wsTicker = new Ticker(WEBSOCKET_LIMITS.pingIntervalMs);
  // EventSource streams: one registry, one subscription, one ping timer (eventsource.ts says why).
  const eventSources = new EventSourceStreams(deps.states, new Ticker(EVENTSOURCE_TICK_MS));
  const verified = new BasicCredentialCache<JmapUser>(JMAP_BASIC_CACHE.maxEntries, JMAP_BASIC_CACHE.ttlMs);
  // A cached user is the same object request after request: its session state (a hash) is computed once.
  const sessionStates = new WeakMap<JmapUser, string>();
  const sessionState = (user: JmapUser): string => {
    let state = sessionStates.get(user);
    if (state === undefined) sessionStates.set(user, (state = sessionStateOf(user, deps.capabilities)));
    return state;
  };

  /**
   * HTTP Basic over TLS, or on loopback when allowed (CONTRACT.md, as AUTH PLAIN). Wrong or missing
   * credentials: 401 with the challenge, the same answer for an unknown user and a wrong password.
   * Failures go through the shared limiter (slowed like IMAP's) and are logged like IMAP's.
   */
  async function authenticateRequest(
    req: IncomingMessage,
    res: ServerResponse,
    isSessionResource: boolean,
  ): Promise<JmapUser | null> {
    const remote = req.socket.remoteAddress ?? '';
    const secure = (req.socket as Partial<TLSSocket>).encrypted === true;
    if (!secure && !(deps.allowLoopbackPlaintext && isLoopback(remote))) {
      sendProblem(res, httpProblem(403, 'Forbidden', 'authentication needs TLS: use the https listener'));
      return null;
    }
    // The web mail's session cookie, when no Authorization says otherwise (web-routes.ts: CSRF checks).
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (deps.web && cookie !== null && req.headers.authorization === undefined) {
      return deps.web.cookieUser(req, res, cookie, isSessionResource);
    }
    // The web mail gets no Basic challenge: it would open the browser's own password dialog (web-routes.ts).
    let challenge = isWebClient(req) ? 'Cookie realm="mailroom"' : BASIC_CHALLENGE;
    const header = req.headers.authorization;
    // An API token (Bearer) or a password (Basic); both go through the one failure limiter.
    const bearer = parseBearerAuth(header);
    // A disabled or removed account has no usable hash: its cached header misses and is refused below.
    const storedHash = (address: string): string | null => {
      const account = deps.store.getAccount(address);
      return account && account.state === 'active' ? account.passwordHash : null;
    };
    // A Basic header verified before is checked against the stored hash only (basic-auth-cache.ts).
    // Tokens are not cached: a revoked one must fail at once.
    const known =
      bearer === null && header !== undefined ? verified.lookup(header, deps.now(), storedHash) : null;
    if (known) return known;
    const credentials = bearer === null ? parseBasicAuth(header) : null;
    if (!credentials && bearer === null) {
      sendProblem(res, httpProblem(401, 'Unauthorized', 'authentication required'), {
        'WWW-Authenticate': challenge,
      });
      return null;
    }
    let result: AuthResult;
    let hashBefore: string | null = null;
    if (bearer !== null) {
      challenge = BEARER_CHALLENGE; // RFC 6750 3.1: error="invalid_token"
      result = deps.authenticateBearer ? await deps.authenticateBearer(bearer, remote) : { kind: 'failed' };
    } else {
      // The hash before the check: a password changed while it ran then misses the cache (never the reverse).
      hashBefore = storedHash(credentials!.username.trim().toLowerCase());
      result = await deps.authenticate(credentials!.username, credentials!.password, remote);
    }
    if (result.kind === 'ok') {
      const account = deps.store.getAccount(result.account);
      if (account) {
        const user = userOfAccount(account, deps.capabilities);
        if (credentials && hashBefore === account.passwordHash) {
          verified.remember(header!, account.address, account.passwordHash, user, deps.now());
        }
        return user;
      }
    }
    const outcome = result.kind === 'throttled' ? 'throttled' : 'failed';
    const who = credentials ? credentials.username.slice(0, 254) : '(api token)';
    log.info({ event: 'auth', outcome, account: who, remoteAddress: remote }, 'auth');
    if (result.kind === 'throttled') {
      sendProblem(res, httpProblem(429, 'Too Many Requests', 'too many failed logins; try later'), {
        'Retry-After': String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))),
      });
    } else {
      sendProblem(res, httpProblem(401, 'Unauthorized', 'wrong user name or password'), {
        'WWW-Authenticate': challenge,
      });
    }
    return null;
  }

  /** The URL prefix for the session's URLs: absolute from Host when it is a plain host[:port], else relative. */
  function baseUrl(req: IncomingMessage): string {
    const host = req.headers.host;
    if (
      host === undefined ||
      !/^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/.test(host)
    ) {
      return '';
    }
    const scheme = (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
    return `${scheme}://${host}`;
  }

  /**
   * Reads a body up to `max` bytes into memory. Content-Length over the limit is refused before
   * reading; a body that grows past it while streaming (chunked) is refused as soon as it does.
   * Null when refused (the 413 is already sent).
   */
  async function readBody(
    req: IncomingMessage,
    res: ServerResponse,
    max: number,
    limit: string,
  ): Promise<Buffer | null> {
    const declared = Number(req.headers['content-length'] ?? '0');
    const refuse = () => {
      res.setHeader('Connection', 'close');
      sendProblem(
        res,
        limitProblem(
          REQUEST_ERROR_STATUS.limitSize,
          limit,
          `the body is larger than ${max} bytes (${limit})`,
        ),
      );
    };
    if (declared > max) {
      refuse();
      return null;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const outcome = await consume(req, (chunk) => {
      size += chunk.length;
      if (size > max) return false;
      chunks.push(chunk);
      return true;
    });
    if (outcome === 'aborted') return null; // the client is gone: nobody to answer
    if (outcome === 'stopped') {
      refuse();
      return null;
    }
    return Buffer.concat(chunks, size);
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, user: JmapUser): Promise<void> {
    const key = [...user.accounts.values()][0]!.storeId;
    if (!(await api.enterOrWait(key, JMAP_API_WAIT.maxWaitMs, JMAP_API_WAIT.maxWaiters))) {
      res.setHeader('Retry-After', '1');
      sendProblem(
        res,
        limitProblem(
          REQUEST_ERROR_STATUS.limitConcurrent,
          'maxConcurrentRequests',
          'too many requests at once',
        ),
      );
      return;
    }
    try {
      const body = await readBody(req, res, deps.limits.maxSizeRequest, 'maxSizeRequest');
      if (body === null) return;
      let request;
      try {
        request = parseRequest(body, req.headers['content-type'], {
          capabilities: new Set(deps.capabilities.map((c) => c.urn)),
          maxCallsInRequest: deps.limits.maxCallsInRequest,
        });
      } catch (error) {
        if (error instanceof JmapRequestError) return sendProblem(res, error.toProblem());
        throw error;
      }
      const onWorker = runsOnWorker(request)
        ? (deps.workers?.run({ request, user, sessionState: sessionState(user), limits: deps.limits }) ??
          null)
        : null;
      if (onWorker) {
        const reply = await onWorker;
        for (const f of reply.failures) {
          log.error({ err: f.error, method: f.method, account: user.username }, 'jmap method failed');
        }
        const body = reply.body;
        if (body === null) throw new Error('jmap worker could not run the request');
        // Written out ('finish'): the buffer goes back to the workers (jmap-workers.ts WorkerReply says why).
        res.once('finish', () => deps.workers?.recycle(body));
        return sendJsonText(res, 200, body);
      }
      const response = await processRequest(request, {
        user,
        methods: deps.methods,
        limits: deps.limits,
        sessionState: sessionState(user),
        // No worker ready: run here as a worker would (runsOnWorker: no call writes).
        readOnly: onWorker === null && runsOnWorker(request),
        onServerFail: (err, method) =>
          log.error({ err, method, account: user.username }, 'jmap method failed'),
      });
      sendJson(res, 200, response);
    } finally {
      api.leave(key);
    }
  }

  async function handleUpload(
    req: IncomingMessage,
    res: ServerResponse,
    user: JmapUser,
    accountId: string,
  ): Promise<void> {
    const account = user.accounts.get(accountId);
    if (!account || account.isReadOnly) {
      sendProblem(res, httpProblem(404, 'Not Found', `no account "${accountId}" to upload to`));
      return;
    }
    const max = deps.limits.maxSizeUpload;
    if (Number(req.headers['content-length'] ?? '0') > max) {
      res.setHeader('Connection', 'close');
      sendProblem(
        res,
        limitProblem(REQUEST_ERROR_STATUS.limitSize, 'maxSizeUpload', `uploads are at most ${max} bytes`),
      );
      return;
    }
    if (!uploads.enter(account.storeId)) {
      res.setHeader('Retry-After', '1');
      sendProblem(
        res,
        limitProblem(REQUEST_ERROR_STATUS.limitConcurrent, 'maxConcurrentUpload', 'too many uploads at once'),
      );
      return;
    }
    // Streamed to the spool (memory, then a file), never held whole (DESIGN "Streams for bodies").
    const spool = createBodySpool(deps.store.spoolDir, SPOOL_MEMORY_THRESHOLD);
    try {
      let size = 0;
      const outcome = await consume(req, (chunk) => {
        size += chunk.length;
        return size > max ? false : spool.write(chunk);
      });
      if (outcome === 'aborted') return spool.abort(); // the client hung up mid-upload
      if (outcome === 'stopped') {
        spool.abort();
        res.setHeader('Connection', 'close');
        sendProblem(
          res,
          limitProblem(REQUEST_ERROR_STATUS.limitSize, 'maxSizeUpload', `uploads are at most ${max} bytes`),
        );
        return;
      }
      const body = await spool.finish();
      const declared = req.headers['content-type'];
      // RFC 8620 6.1: the type is what the client said; a malformed one is stored as octet-stream.
      const type = declared !== undefined && isMediaType(declared) ? declared : 'application/octet-stream';
      const blob = await deps.store.uploads.create(account.storeId, body, type);
      sendJson(res, 201, uploadResponse(account.id, blob));
    } catch (error) {
      spool.abort();
      throw error;
    } finally {
      uploads.leave(account.storeId);
    }
  }

  async function handleDownload(
    req: IncomingMessage,
    res: ServerResponse,
    user: JmapUser,
    params: Record<string, string>,
    query: URLSearchParams,
  ): Promise<void> {
    const account = user.accounts.get(params.accountId!);
    // Another user's account, an unknown blob and another account's blob all look the same.
    const blob = account ? await deps.blobs.open(account.storeId, params.blobId!) : null;
    if (!blob) {
      sendProblem(res, httpProblem(404, 'Not Found', 'no such blob'));
      return;
    }
    const accept = query.get('accept');
    const type = accept !== null && isMediaType(accept) ? accept : (blob.type ?? 'application/octet-stream');
    res.writeHead(200, {
      ...API_SECURITY_HEADERS,
      'Content-Type': type,
      'Content-Length': blob.size,
      // Always an attachment: an uploaded text/html must never render on our origin.
      'Content-Disposition': contentDisposition(params.name!),
    });
    if (req.method === 'HEAD') {
      await blob.close();
      res.end();
      return;
    }
    try {
      for await (const chunk of blob.chunks) {
        if (!res.write(chunk)) await drainedOrClosed(res);
        if (res.destroyed) break;
      }
    } finally {
      await blob.close();
    }
    res.end();
  }
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://mailroom.invalid');
    } catch {
      return sendProblem(res, httpProblem(400, 'Bad Request', 'malformed request target'));
    }
    const match = matchRoute(req.method ?? 'GET', url.pathname);
    if (match.kind === 'not-found')
      return sendProblem(res, httpProblem(404, 'Not Found', 'no such resource'));
    if (match.kind === 'method-not-allowed') {
      return sendProblem(res, httpProblem(405, 'Method Not Allowed', 'method not allowed here'), {
        Allow: match.allow,
      });
    }
    // The web mail's own routes need no JMAP authentication (sign-in makes it; files are public).
    if (match.route === 'static') {
      const secure = (req.socket as Partial<TLSSocket>).encrypted === true;
      if (deps.files?.serve(req, res, url.pathname, secure)) return;
      return sendProblem(res, httpProblem(404, 'Not Found', 'no such resource'));
    }
    if (match.route === 'signin' || match.route === 'signout') {
      if (!deps.web) return sendProblem(res, httpProblem(404, 'Not Found', 'no such resource'));
      return match.route === 'signin' ? deps.web.signIn(req, res) : deps.web.signOut(req, res);
    }
    const user = await authenticateRequest(req, res, match.route === 'session');
    if (!user) return;
    switch (match.route) {
      case 'session':
        return sendJson(res, 200, buildSession(user, deps.capabilities, baseUrl(req)));
      case 'api':
        return handleApi(req, res, user);
      case 'upload':
        return handleUpload(req, res, user, match.params.accountId!);
      case 'download':
        return handleDownload(req, res, user, match.params, url.searchParams);
      case 'eventsource':
        return eventSources.serve(req, res, user, url.searchParams);
      case 'websocket':
        // Reached only without an Upgrade header (upgrades come through `upgrade`): RFC 9110 15.5.22.
        return sendProblem(res, httpProblem(426, 'Upgrade Required', 'this URL speaks WebSocket only'), {
          Upgrade: 'websocket',
          Connection: 'Upgrade',
        });
    }
  }

  /** An Upgrade request: JMAP over WebSocket with the API's authentication (websocket-upgrade.ts). */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    return upgradeToJmapWebSocket(req, socket, head, {
      authenticate: (r, res) => authenticateRequest(r, res, false),
      methods: deps.methods,
      limits: deps.limits,
      capabilities: deps.capabilities,
      states: deps.states,
      logger: log,
      api,
      streams,
      ticker: wsTicker,
      during,
    });
  }

  return {
    handle: (req, res) =>
      during(async () => {
        try {
          await handle(req, res);
        } catch (error) {
          log.error({ err: error, url: req.url?.slice(0, 200) }, 'http request failed');
          if (!res.headersSent) sendProblem(res, httpProblem(500, 'Internal Server Error', 'internal error'));
          else res.destroy();
        }
      }),
    upgrade: (req, socket, head) =>
      during(async () => {
        try {
          await upgrade(req, socket, head);
        } catch (error) {
          log.error({ err: error, url: req.url?.slice(0, 200) }, 'websocket upgrade failed');
          socket.destroy();
        }
      }),
    closeStreams() {
      for (const finish of [...streams.keys()]) finish();
      eventSources.closeAll();
    },
    closeStreamsOf(check) {
      const ended = (username: string, why: string) =>
        log.info({ event: 'session-ended', protocol: 'http', account: username, reason: why }, why);
      let count = 0;
      for (const [finish, username] of [...streams]) {
        const why = check(username);
        if (why === null) continue;
        finish();
        ended(username, why);
        count++;
      }
      return count + eventSources.closeWhere(check, ended);
    },
    get openStreams() {
      return streams.size + eventSources.size;
    },
    get running() {
      return running;
    },
  };
}
