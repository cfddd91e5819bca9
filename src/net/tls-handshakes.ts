// Implicit TLS (RFC 8314) on sockets the listener has already counted: the handshake runs in a tls.Server that never listens.
import type { Socket } from 'node:net';
import {
  createServer as createTlsServer,
  type Server as TlsServer,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls';

/**
 * A TLS listener accepts plain TCP like the others, so its per-IP, rate and total limits count a connection
 * from accept on: a tls.Server that listened itself would hand a connection over only after the handshake,
 * and one address could hold every slot with handshakes it never finishes. Each admitted socket is given to
 * a tls.Server that never listens (`emit('connection')`, how Node's own servers take a socket they did not
 * accept), which runs the handshake with its deadline, certificate, ALPN and SNI as a listening one would.
 */
export class TlsHandshakes {
  private readonly admitted: TlsServer;
  /** Refused connections still get their refusal inside TLS; one engine per refusal text. */
  private readonly refusing = new Map<string, TlsServer>();

  constructor(
    private options: TlsOptions,
    handshakeTimeoutMs: number,
    private readonly refusalTimeoutMs: number,
    onSecure: (socket: TLSSocket) => void,
    onFailed: (error: Error, socket: TLSSocket) => void,
  ) {
    this.admitted = this.engine(handshakeTimeoutMs, onSecure, onFailed);
  }

  /** Handshake, then `onSecure` with the TLS socket; a failed or timed-out handshake goes to `onFailed`. */
  start(socket: Socket): void {
    this.admitted.emit('connection', socket);
  }

  /** Handshake within the refusal's deadline, then `text` inside TLS and the end of the connection. */
  refuse(socket: Socket, text: string): void {
    let engine = this.refusing.get(text);
    if (!engine) {
      engine = this.engine(
        this.refusalTimeoutMs,
        (secure) => {
          secure.on('error', () => undefined);
          secure.end(text);
        },
        (_error, secure) => secure.destroy(),
      );
      this.refusing.set(text, engine);
    }
    engine.emit('connection', socket);
  }

  /** A reload's new certificate and policy, for handshakes from now on; established sessions keep theirs. */
  setSecureContext(options: TlsOptions): void {
    this.options = { ...this.options, ...options };
    this.admitted.setSecureContext(options);
    for (const engine of this.refusing.values()) engine.setSecureContext(options);
  }

  private engine(
    timeoutMs: number,
    onSecure: (socket: TLSSocket) => void,
    onFailed: (error: Error, socket: TLSSocket) => void,
  ): TlsServer {
    const engine = createTlsServer({ ...this.options, handshakeTimeout: timeoutMs }, onSecure);
    engine.on('tlsClientError', onFailed);
    return engine;
  }
}
