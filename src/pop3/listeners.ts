// Starts the `pop3` (STLS, RFC 2595) and `pop3s` (implicit TLS, RFC 8314) listeners for `mailroom serve`.
import type { Socket } from 'node:net';
import type { Authenticate } from '../auth/authenticator.js';
import type { Config, ListenAddress } from '../config/schema.js';
import { listen, type Listener } from '../net/listener.js';
import type { TlsMaterial } from '../net/tls.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import { servePop3Connection, type Pop3ConnectionHandle } from './connection.js';
import { MaildropLocks } from './maildrop-lock.js';
import { createPop3Services } from './services.js';

export interface Pop3Listeners {
  listeners: Listener[];
  addresses: { pop3?: ListenAddress[]; pop3s?: ListenAddress[] };
}

/**
 * Binds the configured POP3 listeners. `authenticate` is the server's one authenticator, so failed logins
 * over SMTP AUTH and POP3 count against the same per-IP and per-account limits. One MaildropLocks is
 * shared by both listeners: the RFC 1939 lock is per maildrop, whichever port the client came in on.
 */
export async function startPop3Listeners(options: {
  config: Config;
  logger: Logger;
  store: Store;
  tls: TlsMaterial;
  authenticate: Authenticate;
  now: () => Date;
  /** Each session's handle (for shutdown) as it opens and closes. */
  track: (handle: Pop3ConnectionHandle, open: boolean) => void;
  /** Already-started listeners are pushed here at once, so a failure later still closes them. */
  started: Listener[];
}): Promise<Pop3Listeners> {
  const { config, store } = options;
  const locks = new MaildropLocks();
  const services = createPop3Services({ store, authenticate: options.authenticate, locks });
  const result: Pop3Listeners = { listeners: [], addresses: {} };
  for (const name of ['pop3', 'pop3s'] as const) {
    const wanted = config.listeners[name];
    if (wanted.length === 0) continue;
    const implicitTls = name === 'pop3s';
    const log = options.logger.child({ listener: name });
    const listener = await listen(wanted, {
      ...(implicitTls ? { tls: options.tls.serverOptions } : {}),
      maxConnections: config.limits.maxConnections,
      maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
      // RFC 3206 4: [SYS/TEMP], the client may try again later.
      refusal: '-ERR [SYS/TEMP] Too many connections, try later\r\n',
      onConnection: (socket: Socket) => {
        const handle = servePop3Connection(socket, {
          policy: {
            hostname: config.hostname,
            tlsAvailable: !implicitTls,
            allowLoopbackPlaintext: config.auth.allowLoopbackPlaintext,
          },
          services,
          store: store.mail,
          logger: log,
          secureContext: options.tls.secureContext,
          now: options.now,
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
