// Starts the `imap` (STARTTLS, RFC 9051 6.2.1) and `imaps` (implicit TLS, RFC 8314) listeners for `mailroom serve`.
import {
  startAccessListeners,
  type AccessListenerDeps,
  type AccessListeners,
} from '../net/access-listeners.js';
import { INDEX_CACHE_ROW_BYTES } from '../config/limits.js';
import { DEFAULT_RECEIVER_LIMITS } from './proto/literal-receiver.js';
import { serveImapConnection, type ImapConnectionHandle } from './connection.js';
import { MailboxIndexCache } from './mailbox-index-cache.js';

/**
 * Binds the configured IMAP listeners with the same connection limits as SMTP and the server's one
 * authenticator (failed logins over any protocol share its limiter).
 */
export async function startImapListeners(
  deps: AccessListenerDeps<ImapConnectionHandle>,
): Promise<AccessListeners<'imap' | 'imaps'>> {
  const { store } = deps;
  // One for both listeners: every session's SELECT shares it. Its size is fixed at start ([limits]
  // mailbox_index_cache; a reload logs that it needs a restart).
  const rows = Math.floor(deps.config.limits.mailboxIndexCache / INDEX_CACHE_ROW_BYTES);
  const indexCache = new MailboxIndexCache(store.mail, rows);
  return startAccessListeners(deps, {
    plain: 'imap',
    implicit: 'imaps',
    refusal: '* BYE [UNAVAILABLE] Too many connections, try later\r\n',
    serve: (socket, { implicitTls, log, onClose }) => {
      // Per connection: a reload (SIGHUP) reaches the sessions that start after it.
      const config = deps.config;
      // APPEND bodies up to the SMTP message size limit: one limit for mail in, whichever way it comes.
      const limits = { ...DEFAULT_RECEIVER_LIMITS, maxAppendSize: config.limits.maxMessageSize };
      return serveImapConnection(socket, {
        services: {
          store,
          authenticate: deps.authenticate,
          now: deps.now,
          indexCache,
          ...(deps.storage ? { storage: deps.storage } : {}),
        },
        policy: {
          hostname: config.hostname,
          tlsAvailable: !implicitTls,
          allowLoopbackPlaintext: config.auth.allowLoopbackPlaintext,
          maxAppendSize: limits.maxAppendSize,
        },
        logger: log,
        secureContext: deps.tls.secureContext,
        deadlines: config.limits.deadlines,
        limits,
        onClose,
      });
    },
  });
}
