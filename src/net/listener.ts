// TCP/TLS listeners: bind addresses, enforce per-listener and per-IP connection limits, track sockets for shutdown, follow a reload.
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TLSSocket, TlsOptions } from 'node:tls';
import {
  ACCEPT_HANDLE_COPIES,
  CONNECTION_RATE_MAX_IPS,
  LISTEN_BACKLOG,
  SETUP_PER_TURN,
} from '../config/limits.js';
import { formatListenAddress, type ListenAddress, type ListenerName } from '../config/schema.js';
import { MailroomError } from '../errors.js';
import { listenHandleCopies } from './handle-copies.js';
import { ConnectionLimits, ConnectionRate, ipKey } from './per-ip-limits.js';
import { SetupGate } from './setup-gate.js';
import { TlsHandshakes } from './tls-handshakes.js';

/** A TLS handshake that has not finished in this time is dropped (slow-handshake attacks hold sockets). */
const TLS_HANDSHAKE_TIMEOUT_MS = 30_000;
/** A refused connection is closed after this at the latest (a peer that never reads the refusal, nor finishes TLS). */
const REFUSAL_DEADLINE_MS = 5_000;
/**
 * Connections over a limit are still accepted, so they can be told why (421) instead of silently reset.
 * At most this many refusals are in progress at once (a peer that never reads its refusal holds one for
 * REFUSAL_DEADLINE_MS); past that, a refused connection is closed without a word. Counted apart from
 * the admitted ones, so a flood of refused connections never takes an admitted connection's slot.
 */
const REFUSAL_SLACK = 64;

export interface ListenOptions {
  /** The config section it serves ("smtp", "imaps", ...), so a reload finds it. */
  name?: ListenerName;
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
  /**
   * An admitted connection (already through the TLS handshake for implicit TLS). Limits count a TLS
   * connection from accept on, its handshake included.
   */
  onConnection(socket: Socket | TLSSocket): void;
  /** An over-limit refusal or a failed TLS handshake, for logs. */
  onRefused?(info: {
    remoteAddress: string;
    reason: 'total' | 'per-ip' | 'rate' | 'tls-handshake';
    error?: Error;
  }): void;
}

/** What a reload (SIGHUP) may change on a running listener; sessions already open keep what they had. */
export interface ListenerSettings {
  /** Implicit TLS only: the new certificate and policy, for handshakes from now on (tls.Server.setSecureContext). */
  tls?: TlsOptions;
  maxConnections: number;
  maxConnectionsPerIp: number;
  connectionRatePerIp?: number;
}

export interface Listener {
  readonly name: ListenerName | undefined;
  /** The addresses actually bound (port 0 resolved to the real port), in the configured order. */
  readonly addresses: ListenAddress[];
  /** Currently admitted connections. */
  readonly sockets: ReadonlySet<Socket>;
  /** Accepted connections waiting for their turn to be set up (a burst; setup-gate.ts). */
  readonly waiting: number;
  /** Listening handles over all addresses: 1 + ACCEPT_HANDLE_COPIES per address. */
  readonly acceptHandles: number;
  /** Stops accepting new connections; open ones continue. Resolves once nothing listens any more. */
  stopAccepting(): Promise<void>;
  /** Ends every tracked socket at once (the last step of shutdown). */
  destroyAll(): void;
  /**
   * Reload, first step: binds the configured addresses not bound yet (all or nothing). Returns an undo
   * that closes what this call bound, for when another listener of the same reload fails.
   */
  bindMissing(wanted: readonly ListenAddress[]): Promise<() => void>;
  /**
   * Reload, second step: stops listening on addresses no longer wanted (their open sessions go on and
   * still count) and applies new limits and certificate to connections from now on.
   */
  apply(wanted: readonly ListenAddress[], settings: ListenerSettings): void;
}

/** One bound address: its server, the extra handles on the same socket (handle-copies.ts). */
interface Bound {
  server: Server;
  extras: Server[];
  address: ListenAddress;
}

/** The key of a configured address: what the config said (port 0 stays 0), so a reload compares like with like. */
const addressKey = (address: ListenAddress): string => formatListenAddress(address);

/** Binds every address (all or nothing: if one fails, the others are closed and the error says which). */
export async function listen(addresses: readonly ListenAddress[], options: ListenOptions): Promise<Listener> {
  const limits = new ConnectionLimits(options.maxConnections, options.maxConnectionsPerIp);
  const sockets = new Set<Socket>();
  /**
   * Each open socket's per-IP key, released by one 'close' handler shared by all sockets (`this` is the
   * socket): a closure and a `once` wrapper per connection cost ~0.3 KiB of heap each, which idle
   * connections (1,000 EventSource streams, IMAP IDLE) hold for as long as they stay open.
   */
  const ipKeys = new Map<Socket, string>();
  function onSocketClose(this: Socket): void {
    const key = ipKeys.get(this);
    if (key === undefined) return;
    ipKeys.delete(this);
    sockets.delete(this);
    limits.release(key);
  }
  // Configured address -> its server (and the extra handles on its socket), the address actually bound;
  // in the configured order.
  const bound = new Map<string, Bound>();
  /** The connection rate in force, so a reload only resets the rate windows when it changes. */
  let ratePerMinute = options.connectionRatePerIp ?? 0;

  const makeRate = (perMinute: number): ConnectionRate | null =>
    perMinute > 0 ? new ConnectionRate(perMinute, CONNECTION_RATE_MAX_IPS) : null;
  let rate = makeRate(ratePerMinute);
  const clock = options.clock ?? (() => performance.now());

  // Implicit TLS: the handshake of an admitted socket, then the session (tls-handshakes.ts).
  const handshakes = options.tls
    ? new TlsHandshakes(
        options.tls,
        TLS_HANDSHAKE_TIMEOUT_MS,
        REFUSAL_DEADLINE_MS,
        (secure) => options.onConnection(secure),
        (error, secure) => {
          options.onRefused?.({ remoteAddress: secure.remoteAddress ?? '', reason: 'tls-handshake', error });
          secure.destroy();
        },
      )
    : null;
  /** TLS sockets refused at accept, waiting for the handshake that carries their refusal. */
  const refusalOf = new WeakMap<Socket, string>();

  const refuse = (socket: Socket, text: string): void => {
    socket.on('error', () => undefined); // the peer may already be gone; nothing to do about it
    if (handshakes) {
      // Said inside TLS, as the client expects, after a handshake paced like any other.
      const deadline = setTimeout(() => socket.destroy(), REFUSAL_DEADLINE_MS);
      deadline.unref();
      socket.once('close', () => clearTimeout(deadline));
      refusalOf.set(socket, text);
      gate.offer(ipKey(socket.remoteAddress ?? ''), socket);
      return;
    }
    socket.resume(); // a plaintext socket starts paused (pauseOnConnect): read to see the peer's close
    socket.end(text);
    // end() waits for the peer; do not let a peer that never reads keep the socket.
    socket.setTimeout(REFUSAL_DEADLINE_MS, () => socket.destroy());
  };

  // Every socket arrives paused and is set up through the gate (setup-gate.ts): a session for plaintext,
  // the handshake for implicit TLS (its CPU is what a burst of them costs).
  const gate = new SetupGate<Socket>(
    SETUP_PER_TURN,
    (socket) => {
      if (!handshakes) {
        socket.resume();
        options.onConnection(socket);
        return;
      }
      const refusal = refusalOf.get(socket);
      if (refusal === undefined) handshakes.start(socket);
      else handshakes.refuse(socket, refusal);
    },
    (socket) => socket.destroyed,
  );

  /** Refusals in progress (REFUSAL_SLACK). */
  let refusing = 0;
  const onRefusedClose = (): void => void refusing--;

  // Limits are counted here, at accept, for every handle of every address: a TLS connection from before
  // its handshake (one address must not hold every slot with handshakes it never finishes).
  const admit = (socket: Socket): void => {
    const remoteAddress = socket.remoteAddress ?? '';
    let reason: 'rate' | 'total' | 'per-ip' = 'rate';
    if (!rate || options.rateExempt?.(remoteAddress) || rate.admit(remoteAddress, clock())) {
      const verdict = limits.admit(remoteAddress);
      if (verdict.ok) {
        socket.on('close', onSocketClose);
        sockets.add(socket);
        ipKeys.set(socket, verdict.key);
        gate.offer(verdict.key, socket);
        return;
      }
      reason = verdict.reason;
    }
    if (refusing >= REFUSAL_SLACK) {
      socket.destroy();
      return;
    }
    refusing++;
    socket.on('close', onRefusedClose);
    options.onRefused?.({ remoteAddress, reason });
    refuse(socket, reason === 'rate' ? (options.rateRefusal ?? options.refusal) : options.refusal);
  };

  // Plain TCP for every listener, TLS ones too (the handshake follows admission). No maxConnections here:
  // admit counts every handle's connections together.
  const makeServer = (): Server => createNetServer({ noDelay: true, pauseOnConnect: true }, admit);

  const closeServer = (server: Server): void => {
    // server.close's callback waits for every connection to end; we only want "no longer listening".
    if (server.listening) server.close(() => undefined);
  };
  const close = (entry: Bound): void => {
    closeServer(entry.server);
    for (const extra of entry.extras) closeServer(extra);
  };

  /**
   * More handles on the bound socket, so a burst is accepted faster (handle-copies.ts). Awaited at bind
   * (~5 ms a listener, ~45 ms once for the child): when it resolves the child has closed its own copy,
   * so a listener closed later stops listening at once, with no copy still in flight.
   */
  const addCopies = async (server: Server): Promise<Server[]> => {
    const extras: Server[] = [];
    for (const handle of await listenHandleCopies(server, ACCEPT_HANDLE_COPIES)) {
      const extra = makeServer();
      extra.on('error', () => undefined);
      // listen(handle) takes Node's raw TCP handle as it came over IPC (not in @types/node's overloads).
      extra.listen(handle as never);
      extras.push(extra);
    }
    return extras;
  };

  /** Binds each address not bound yet; on a failure closes what it bound and throws which address failed. */
  const bindMissing = async (wanted: readonly ListenAddress[]): Promise<string[]> => {
    const added: string[] = [];
    for (const address of wanted) {
      const key = addressKey(address);
      if (bound.has(key)) continue;
      const server = makeServer();
      try {
        await new Promise<void>((done, fail) => {
          server.once('error', fail);
          server.listen({ host: address.host, port: address.port, backlog: LISTEN_BACKLOG }, () => {
            server.off('error', fail);
            done();
          });
        });
      } catch (error) {
        closeServer(server);
        for (const k of added) close(bound.get(k)!);
        for (const k of added) bound.delete(k);
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        throw new MailroomError('LISTEN_FAILED', `cannot listen on ${key}: ${code}`, { cause: error });
      }
      // After binding, an error (EMFILE on accept, ...) must not crash the process.
      server.on('error', () => undefined);
      const info = server.address() as AddressInfo;
      const extras = await addCopies(server);
      bound.set(key, { server, extras, address: { host: address.host, port: info.port } });
      added.push(key);
    }
    return added;
  };

  let order: string[] = addresses.map(addressKey);
  await bindMissing(addresses);

  return {
    name: options.name,
    get addresses() {
      return order.flatMap((key) => {
        const entry = bound.get(key);
        return entry ? [entry.address] : [];
      });
    },
    sockets,
    get waiting() {
      return gate.queued;
    },
    get acceptHandles() {
      let n = 0;
      for (const entry of bound.values()) n += 1 + entry.extras.length;
      return n;
    },
    stopAccepting: async () => {
      for (const entry of bound.values()) close(entry);
    },
    destroyAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    bindMissing: async (wanted) => {
      const added = await bindMissing(wanted);
      return () => {
        for (const key of added) {
          const entry = bound.get(key);
          if (entry) close(entry);
          bound.delete(key);
        }
      };
    },
    apply: (wanted, settings) => {
      const keep = new Set(wanted.map(addressKey));
      for (const [key, entry] of bound) {
        if (keep.has(key)) continue;
        close(entry);
        bound.delete(key);
      }
      order = wanted.map(addressKey);
      limits.setLimits(settings.maxConnections, settings.maxConnectionsPerIp);
      if ((settings.connectionRatePerIp ?? 0) !== ratePerMinute) {
        ratePerMinute = settings.connectionRatePerIp ?? 0;
        rate = makeRate(ratePerMinute);
      }
      // Handshakes from now on use the new certificate; established TLS sessions keep theirs.
      if (settings.tls) handshakes?.setSecureContext(settings.tls);
    },
  };
}
