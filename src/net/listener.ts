// TCP/TLS listeners: bind addresses, enforce per-listener and per-IP connection limits, track sockets for shutdown.
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { CONNECTION_RATE_MAX_IPS, LISTEN_BACKLOG } from '../config/limits.js';
import { formatListenAddress, type ListenAddress } from '../config/schema.js';
import { MailroomError } from '../errors.js';
import { ConnectionLimits, ConnectionRate } from './per-ip-limits.js';

/** A TLS handshake that has not finished in this time is dropped (slow-handshake attacks hold sockets). */
const TLS_HANDSHAKE_TIMEOUT_MS = 30_000;
/**
 * Raw sockets beyond max_connections still get accepted, so they can be told why they are refused
 * (421) instead of silently reset; past this slack the kernel-level cap drops them without a word.
 */
const REFUSAL_SLACK = 64;

export interface ListenOptions {
  /** Present: implicit TLS (RFC 8314) with these options (cert, key, minVersion, secureContext). */
  tls?: TlsOptions;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Written to an over-limit connection before it is closed, e.g. `421 4.7.0 <host> Too many connections, try later\r\n`. */
  refusal: string;
  /**
   * New connections per minute from one IP (IPv6: /64) before `rateRefusal` (Postfix anvil); absent or
   * 0: none. `rateExempt` addresses (loopback) are not counted.
   */
  connectionRatePerIp?: number;
  rateExempt?(remoteAddress: string): boolean;
  /** Written to a connection over the rate, e.g. `421 4.7.0 <host> Too many connections from your IP, slow down\r\n`. */
  rateRefusal?: string;
  /** Milliseconds for the rate window; injected by tests. Default performance.now. */
  clock?: () => number;
  /** An admitted connection (already through the TLS handshake for implicit TLS). */
  onConnection(socket: Socket | TLSSocket): void;
  /** An over-limit refusal or a failed TLS handshake, for logs. */
  onRefused?(info: {
    remoteAddress: string;
    reason: 'total' | 'per-ip' | 'rate' | 'tls-handshake';
    error?: Error;
  }): void;
}

export interface Listener {
  /** The addresses actually bound (port 0 resolved to the real port). */
  readonly addresses: ListenAddress[];
  /** Currently admitted connections. */
  readonly sockets: ReadonlySet<Socket>;
  /** Stops accepting new connections; open ones continue. Resolves once nothing listens any more. */
  stopAccepting(): Promise<void>;
  /** Ends every tracked socket at once (the last step of shutdown). */
  destroyAll(): void;
}

/** Binds every address (all or nothing: if one fails, the others are closed and the error says which). */
export async function listen(addresses: readonly ListenAddress[], options: ListenOptions): Promise<Listener> {
  const limits = new ConnectionLimits(options.maxConnections, options.maxConnectionsPerIp);
  const sockets = new Set<Socket>();
  const servers: Server[] = [];

  const perMinute = options.connectionRatePerIp ?? 0;
  const rate = perMinute > 0 ? new ConnectionRate(perMinute, CONNECTION_RATE_MAX_IPS) : null;
  const clock = options.clock ?? (() => performance.now());

  const refuse = (socket: Socket, text: string): void => {
    socket.on('error', () => undefined); // the peer may already be gone; nothing to do about it
    socket.end(text);
    // end() waits for the peer; do not let a peer that never reads keep the socket.
    socket.setTimeout(5_000, () => socket.destroy());
  };

  const admit = (socket: Socket): void => {
    const remoteAddress = socket.remoteAddress ?? '';
    if (rate && !options.rateExempt?.(remoteAddress) && !rate.admit(remoteAddress, clock())) {
      options.onRefused?.({ remoteAddress, reason: 'rate' });
      return refuse(socket, options.rateRefusal ?? options.refusal);
    }
    const verdict = limits.admit(remoteAddress);
    if (!verdict.ok) {
      options.onRefused?.({ remoteAddress, reason: verdict.reason });
      return refuse(socket, options.refusal);
    }
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      limits.release(verdict.key);
    });
    options.onConnection(socket);
  };

  const makeServer = (): Server => {
    if (!options.tls) {
      const server = createNetServer({ noDelay: true }, admit);
      server.maxConnections = options.maxConnections + REFUSAL_SLACK;
      return server;
    }
    const server = createTlsServer({ ...options.tls, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, admit);
    server.maxConnections = options.maxConnections + REFUSAL_SLACK;
    server.on('tlsClientError', (error, socket) => {
      options.onRefused?.({ remoteAddress: socket.remoteAddress ?? '', reason: 'tls-handshake', error });
      socket.destroy();
    });
    return server;
  };

  const bound: ListenAddress[] = [];
  try {
    for (const address of addresses) {
      const server = makeServer();
      servers.push(server);
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen({ host: address.host, port: address.port, backlog: LISTEN_BACKLOG }, () => {
          server.off('error', fail);
          done();
        });
      });
      // After binding, an error (EMFILE on accept, ...) must not crash the process.
      server.on('error', () => undefined);
      const info = server.address() as AddressInfo;
      bound.push({ host: address.host, port: info.port });
    }
  } catch (error) {
    await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
    const failed = addresses[servers.length - 1];
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new MailroomError(
      'LISTEN_FAILED',
      `cannot listen on ${failed ? formatListenAddress(failed) : '?'}: ${code}`,
      { cause: error },
    );
  }

  return {
    addresses: bound,
    sockets,
    stopAccepting: async () => {
      // server.close's callback waits for every connection to end; we only want "no longer listening".
      for (const server of servers) if (server.listening) server.close(() => undefined);
    },
    destroyAll: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}
