// Starts the `pop3` (STLS, RFC 2595) and `pop3s` (implicit TLS, RFC 8314) listeners for `mailroom serve`.
import {
  startAccessListeners,
  type AccessListenerDeps,
  type AccessListeners,
} from '../net/access-listeners.js';
import { servePop3Connection, type Pop3ConnectionHandle } from './connection.js';
import { MaildropLocks } from './maildrop-lock.js';
import { createPop3Services } from './services.js';

/**
 * Binds the configured POP3 listeners. `authenticate` is the server's one authenticator, so failed logins
 * over SMTP AUTH and POP3 count against the same per-IP and per-account limits. One MaildropLocks is
 * shared by both listeners: the RFC 1939 lock is per maildrop, whichever port the client came in on.
 */
export async function startPop3Listeners(
  deps: AccessListenerDeps<Pop3ConnectionHandle>,
): Promise<AccessListeners<'pop3' | 'pop3s'>> {
  const { store } = deps;
  const locks = new MaildropLocks();
  const services = createPop3Services({ store, authenticate: deps.authenticate, locks });
  return startAccessListeners(deps, {
    plain: 'pop3',
    implicit: 'pop3s',
    // RFC 3206 4: [SYS/TEMP], the client may try again later.
    refusal: '-ERR [SYS/TEMP] Too many connections, try later\r\n',
    serve: (socket, { implicitTls, log, onClose }) => {
      // Per connection: a reload (SIGHUP) reaches the sessions that start after it.
      const config = deps.config;
      return servePop3Connection(socket, {
        policy: {
          hostname: config.hostname,
          tlsAvailable: !implicitTls,
          allowLoopbackPlaintext: config.auth.allowLoopbackPlaintext,
        },
        services,
        store: store.mail,
        logger: log,
        secureContext: deps.tls.secureContext,
        deadlines: config.limits.deadlines,
        now: deps.now,
        onClose,
      });
    },
  });
}
