// Starts the `imap` (STARTTLS, RFC 9051 6.2.1) and `imaps` (implicit TLS, RFC 8314) listeners for `mailroom serve`.
import type { Socket } from 'node:net';
import type { Authenticate } from '../auth/authenticator.js';
import type { Config, ListenAddress } from '../config/schema.js';
import { listen, type Listener } from '../net/listener.js';
import type { TlsMaterial } from '../net/tls.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import { DEFAULT_RECEIVER_LIMITS } from './proto/literal-receiver.js';
import { serveImapConnection, type ImapConnectionHandle } from './connection.js';
import { MailboxIndexCache } from './mailbox-index-cache.js';

export interface ImapListeners {
  listeners: Listener[];
  addresses: { imap?: ListenAddress[]; imaps?: ListenAddress[] };
}

/**
 * Binds the configured IMAP listeners with the same connection limits as SMTP and the server's one
 * authenticator (failed logins over any protocol share its limiter).
 */
export async function startImapListeners(options: {
  config: Config;
  logger: Logger;
  store: Store;
  tls: TlsMaterial;
  authenticate: Authenticate;
  now: () => Date;
  track: (handle: ImapConnectionHandle, open: boolean) => void;
  started: Listener[];
}): Promise<ImapListeners> {
  const { config, store } = options;
  const result: ImapListeners = { listeners: [], addresses: {} };
  // APPEND bodies up to the SMTP message size limit: one limit for mail in, whichever way it comes.
  const limits = { ...DEFAULT_RECEIVER_LIMITS, maxAppendSize: config.limits.maxMessageSize };
  // One for both listeners: every session's SELECT shares it.
  const indexCache = new MailboxIndexCache(store.mail);
  for (const name of ['imap', 'imaps'] as const) {
    const wanted = config.listeners[name];
    if (wanted.length === 0) continue;
    const implicitTls = name === 'imaps';
    const log = options.logger.child({ listener: name });
    const listener = await listen(wanted, {
      ...(implicitTls ? { tls: options.tls.serverOptions } : {}),
      maxConnections: config.limits.maxConnections,
      maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
      refusal: '* BYE [UNAVAILABLE] Too many connections, try later\r\n',
      onConnection: (socket: Socket) => {
        const handle = serveImapConnection(socket, {
          services: { store, authenticate: options.authenticate, now: options.now, indexCache },
          policy: {
            hostname: config.hostname,
            tlsAvailable: !implicitTls,
            allowLoopbackPlaintext: config.auth.allowLoopbackPlaintext,
            maxAppendSize: limits.maxAppendSize,
          },
          logger: log,
          secureContext: options.tls.secureContext,
          limits,
          onClose: () => options.track(handle, false),
        });
        options.track(handle, true);
      },
      onRefused: (info) =>
        log.warn(
          { remoteAddress: info.remoteAddress, reason: info.reason, err: info.error?.message },
          'connection refused',
        ),
    });
    options.started.push(listener);
    result.listeners.push(listener);
    result.addresses[name] = listener.addresses;
  }
  return result;
}
