// Test helper: serveImapConnection on 127.0.0.1:0 over a given store, as the integration tests share it.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { createAuthenticator, type Authenticate } from '../../src/auth/authenticator.js';
import type { ImapPolicy } from '../../src/imap/commands/context.js';
import { serveImapConnection } from '../../src/imap/connection.js';
import { MailboxIndexCache } from '../../src/imap/mailbox-index-cache.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Store } from '../../src/store/store.js';

/** Cheap scrypt for the dummy hash of unknown users (accounts' own hashes carry their parameters). */
const DUMMY_PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };

export interface ImapTestServer {
  port: number;
  /** Connections open now (a test waits for its clients' to be gone). */
  openConnections(): number;
  /** Destroys open connections and stops listening (the store stays open: the caller owns it). */
  close(): Promise<void>;
}

/**
 * Plain IMAP with loopback plaintext login allowed and a 1 MiB APPENDLIMIT. `authenticate` defaults to
 * the real authenticator (no throttling sleeps); tests that only need a session pass one that admits anyone.
 */
export async function startImapServer(
  store: Store,
  options: {
    authenticate?: Authenticate;
    policy?: Partial<ImapPolicy>;
    /** For STARTTLS (set policy.tlsAvailable too). */
    secureContext?: SecureContext;
  } = {},
): Promise<ImapTestServer> {
  const authenticate =
    options.authenticate ??
    createAuthenticator({
      store,
      now: () => Date.now(),
      sleep: async () => undefined,
      dummyParams: DUMMY_PARAMS,
    });
  const indexCache = new MailboxIndexCache(store.mail);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveImapConnection(socket, {
      services: { store, authenticate, now: () => new Date(), indexCache },
      policy: {
        hostname: 'mx.example.test',
        tlsAvailable: false,
        allowLoopbackPlaintext: true,
        maxAppendSize: 1 << 20,
        ...options.policy,
      },
      logger: silentLogger(),
      secureContext: options.secureContext ?? null,
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    openConnections: () => sockets.size,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** An authenticator that admits any username with any password (tests about sessions, not logins). */
export const admitAnyone: Authenticate = async (username) => ({
  kind: 'ok',
  account: username.toLowerCase(),
});
