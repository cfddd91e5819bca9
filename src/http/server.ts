// The [http] and [https] listeners: node:http on Mailroom's listeners (connection limits, TLS), serving JMAP.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { HTTP_LIMITS, JMAP_CORE_LIMITS, JMAP_UPLOAD_TTL_MS } from '../config/limits.js';
import type { ListenAddress } from '../config/schema.js';
import { mailBlobResolver } from '../jmap/mail/email-blobs.js';
import { coreMethods } from '../jmap/core/methods.js';
import { mailCapabilities, mailMethods, type MailMethodDeps } from '../jmap/mail/index.js';
import { storeStates } from '../jmap/core/push.js';
import { ChangePoller } from '../store/change-poller.js';
import { coreCapability, websocketCapability } from '../jmap/core/session.js';
import type { AccessListenerDeps } from '../net/access-listeners.js';
import { listen } from '../net/listener.js';
import { ACME_HTTP_PATH, ACME_TLS_ALPN, type AcmeChallenges } from '../acme/challenges.js';
import { httpAuthenticator, httpBearerAuthenticator } from './auth.js';
import { createJmapHttp, type JmapHttp } from './jmap-routes.js';
import { JmapWorkerPool } from './jmap-workers.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { htmlCapability, sanitizedHtmlHandler, type RawMessageSource } from '../jmap/html/sanitized-html.js';
import { createStaticFiles } from './static.js';
import { createWebHttp } from './web-routes.js';
import { serveAsPlainRequest, wantsWebSocket } from './upgrade.js';
import { WebSessions } from './web-session.js';

/** Written to a connection over max_connections(_per_ip) before it is closed (RFC 9110 15.6.4). */
const REFUSAL =
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 5\r\n\r\n';

/** Status lines for node:http's parser and timeout errors (RFC 9110 15.5.9, RFC 6585 5). */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/** How often expired uploads are removed (RFC 8620 6.1 lets them go after an hour; limits.ts has the TTL). */
const UPLOAD_SWEEP_MS = 60 * 60_000;

/** HTTP_LIMITS' shape with plain numbers (tests pass shorter timeouts). */
export type HttpLimits = { readonly [K in keyof typeof HTTP_LIMITS]: number };

export interface HttpListeners {
  addresses: Partial<Record<'http' | 'https', ListenAddress[]>>;
  jmap: JmapHttp;
}

/** A handle the server's shutdown calls: ends EventSource streams and idle keep-alive connections. */
export interface HttpShutdownHandle {
  shutdown(): void;
  /** True while a request's work still runs (its client may be gone): the store stays open for it. */
  finishing(): boolean;
  /**
   * Ends the EventSource streams of accounts `check` refuses (user disable/remove). Other requests need
   * nothing: each one authenticates (Basic through the authenticator, cookies in web-routes.ts).
   */
  revalidate(check: (address: string) => string | null): number;
}

/** node:http with the limits of limits.ts HTTP_LIMITS (header size, header/request timeouts, keep-alive). */
export function createHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  limits: HttpLimits = HTTP_LIMITS,
  checkingIntervalMs = 1_000,
): Server {
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs,
      // Mailroom's listener already did TCP_NODELAY; requests need no Date-dependent caching.
      noDelay: true,
    },
    handler,
  );
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // node:http's own refusals (malformed request, headers too large, too slow), then close.
    const status = CLIENT_ERROR_STATUS[error.code ?? ''];
    if (status && socket.writable) {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else if (socket.writable && error.code !== 'ECONNRESET') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else {
      socket.destroy();
    }
  });
  // Connections come from net/listener.ts (emitted below), not from server.listen(); 'listening' is
  // what starts node:http's timer that enforces headersTimeout and requestTimeout (lib/_http_server.js
  // setupConnectionsTracking), so it is emitted once by hand.
  server.emit('listening');
  return server;
}

/**
 * Binds [http] (plain) and [https] (implicit TLS with the [tls] certificate) with the same connection
 * limits as the mail listeners, serving JMAP (RFC 8620). Both share one JMAP state: per-account
 * concurrency counts and EventSource streams are the same whichever listener a client used.
 */
/** Raw messages by Email id, only of the asking account (an id of another account is simply not found). */
function storeRawMessages(store: AccessListenerDeps<HttpShutdownHandle>['store']): RawMessageSource {
  return {
    rawMessage: async (storeAccountId, emailId) => {
      const [email] = store.jmap.getEmails(storeAccountId, [emailId]);
      if (!email) return null;
      try {
        return await store.readMessage(email.messageId);
      } catch {
        return null; // expunged and collected meanwhile
      }
    },
  };
}

export async function startHttpListeners(
  deps: AccessListenerDeps<HttpShutdownHandle>,
  options: {
    limits?: HttpLimits;
    checkingIntervalMs?: number;
    /** Email id -> raw message for Email/sanitizedHtml; default: the account's Emails in the store. */
    rawMessages?: RawMessageSource;
    /** Where the built web mail is (default dist/web). */
    webDir?: string;
    /** [acme] on: HTTP-01 answers under /.well-known/acme-challenge/, TLS-ALPN-01 handshakes on [https]. */
    acme?: AcmeChallenges;
  } = {},
): Promise<HttpListeners> {
  const { config, store } = deps;
  const blobs = mailBlobResolver(store);
  const mailDeps: MailMethodDeps = {
    store,
    logger: deps.logger.child({ component: 'jmap' }),
    hostname: config.hostname,
    now: deps.now,
    ...(deps.storage ? { storage: deps.storage } : {}),
    ...(deps.deliver ? { deliver: deps.deliver } : {}),
    ...(deps.submissionLimits ? { submissionLimits: deps.submissionLimits } : {}),
    // Read once: JMAP announces them in its session resource; a reload changes them only for SMTP and IMAP.
    maxRecipients: config.limits.maxRecipients,
    maxMessageSize: config.limits.maxMessageSize,
  };
  // One poller per process: other processes' changes (the CLI, a second server) reach push within a second.
  const poller = new ChangePoller(store);
  const capabilities = [
    coreCapability(JMAP_CORE_LIMITS),
    ...mailCapabilities(mailDeps),
    htmlCapability(),
    websocketCapability(),
  ];
  const methods = new Map([...coreMethods(blobs), ...mailMethods(mailDeps)]);
  methods.set('Email/sanitizedHtml', sanitizedHtmlHandler(options.rawMessages ?? storeRawMessages(store)));
  const logger = deps.logger.child({ listener: 'http' });
  const authenticate = httpAuthenticator(deps.authenticate);
  const allowLoopbackPlaintext = config.auth.allowLoopbackPlaintext;
  // Workers open the SQLite file themselves: only for the server's own SqliteStore (tests may pass others).
  const workers =
    config.limits.jmapWorkers > 0 && store instanceof SqliteStore
      ? new JmapWorkerPool({
          size: config.limits.jmapWorkers,
          data: { dataDir: store.dataDir, hostname: config.hostname },
          logger,
          storePreviews: (previews) => store.jmap.storePreviews(previews),
        })
      : undefined;
  const jmap = createJmapHttp({
    store,
    authenticate,
    authenticateBearer: httpBearerAuthenticator(deps.authenticateBearer),
    allowLoopbackPlaintext,
    logger,
    limits: JMAP_CORE_LIMITS,
    capabilities,
    methods,
    blobs,
    states: storeStates(store, poller),
    web: createWebHttp({
      store,
      authenticate,
      allowLoopbackPlaintext,
      logger,
      capabilities,
      // In memory by design (web-session.ts says why); the clock is the server's.
      sessions: new WebSessions(() => deps.now().getTime(), randomBytes),
    }),
    files: createStaticFiles(options.webDir),
    now: () => deps.now().getTime(),
    ...(workers ? { workers } : {}),
  });
  const acme = options.acme;
  const server = createHttpServer(
    (req, res) =>
      // RFC 8555 8.3: the CA's validation request, before any auth or routing.
      acme && req.url?.startsWith(ACME_HTTP_PATH) ? acme.serveHttp(req, res) : void jmap.handle(req, res),
    options.limits,
    options.checkingIntervalMs,
  );
  // JMAP over WebSocket (RFC 8887): WebSocket upgrades go to jmap.upgrade (refused, or served on the
  // socket); other upgrades (h2c, ...) are served as the plain requests they also are (upgrade.ts).
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (wantsWebSocket(req.headers.upgrade)) void jmap.upgrade(req, socket, head);
    else serveAsPlainRequest(server, req, socket, head);
  });
  const result: HttpListeners = { addresses: {}, jmap };
  for (const name of ['http', 'https'] as const) {
    // A section with no address still gets its (empty) Listener, so a reload can turn it on.
    const wanted = config.listeners[name];
    const log = deps.logger.child({ listener: name });
    const listener = await listen(wanted, {
      name,
      ...(name === 'https'
        ? {
            tls: {
              ...deps.tls.serverOptions,
              // With [acme], a callback that also answers TLS-ALPN-01 (RFC 8737) handshakes.
              ...(acme ? acme.tlsServerOptions() : { ALPNProtocols: ['http/1.1'] }),
            },
          }
        : {}),
      maxConnections: config.limits.maxConnections,
      maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
      refusal: REFUSAL,
      onConnection: (socket) => {
        // RFC 8737 3: after a TLS-ALPN-01 handshake no data is exchanged; the validator closes it.
        if ((socket as TLSSocket).alpnProtocol === ACME_TLS_ALPN) return void socket.destroy();
        deps.metrics?.connectionOpened(name, socket);
        server.emit('connection', socket);
      },
      onRefused: (info) => {
        deps.metrics?.connectionRefused(name, info.reason);
        log.warn(
          { remoteAddress: info.remoteAddress, reason: info.reason, err: info.error?.message },
          'connection refused',
        );
      },
    });
    deps.started.push(listener);
    if (listener.addresses.length > 0) result.addresses[name] = listener.addresses;
  }

  // Uploads nothing used are removed after JMAP_UPLOAD_TTL_MS.
  const sweep = setInterval(() => {
    const before = new Date(deps.now().getTime() - JMAP_UPLOAD_TTL_MS);
    store.uploads.expire(before).catch((err: unknown) => deps.logger.warn({ err }, 'upload expiry failed'));
  }, UPLOAD_SWEEP_MS);
  sweep.unref();

  const handle: HttpShutdownHandle = {
    shutdown: () => {
      clearInterval(sweep);
      poller.close();
      void workers?.close();
      jmap.closeStreams();
      // Idle keep-alive connections close now; busy ones after their response (Connection: close).
      server.closeIdleConnections();
      server.close(() => undefined);
    },
    finishing: () => jmap.running > 0,
    revalidate: (check) => jmap.closeStreamsOf(check),
  };
  deps.track(handle, true);
  return result;
}
