// The answers to pending ACME challenges: HTTP-01 (RFC 8555 8.3) on [http], TLS-ALPN-01 (RFC 8737) on [https].
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';

/** RFC 8555 8.3: the CA fetches http://<domain>/.well-known/acme-challenge/<token>. */
export const ACME_HTTP_PATH = '/.well-known/acme-challenge/';
/** RFC 8737 4: the ALPN protocol id of the TLS-ALPN-01 validation handshake. */
export const ACME_TLS_ALPN = 'acme-tls/1';
/** RFC 8555 8.1: a token is base64url with at least 128 bits of entropy (43 characters); be lenient on length. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** Shared by the ACME manager (adds and removes) and the HTTP listeners (answer); in memory only. */
export class AcmeChallenges {
  private readonly http = new Map<string, string>();
  private readonly alpn = new Map<string, SecureContext>();

  addHttp(token: string, keyAuthorization: string): void {
    this.http.set(token, keyAuthorization);
  }

  removeHttp(token: string): void {
    this.http.delete(token);
  }

  /** RFC 8737 3: the self-signed certificate with the acmeIdentifier extension, served for `domain`. */
  addAlpn(domain: string, cert: string, key: string): void {
    this.alpn.set(domain.toLowerCase(), createSecureContext({ cert, key }));
  }

  removeAlpn(domain: string): void {
    this.alpn.delete(domain.toLowerCase());
  }

  /** The key authorization for a request path under ACME_HTTP_PATH, or null (unknown token). */
  httpAnswer(path: string): string | null {
    if (!path.startsWith(ACME_HTTP_PATH)) return null;
    const token = path.slice(ACME_HTTP_PATH.length);
    return TOKEN.test(token) ? (this.http.get(token) ?? null) : null;
  }

  /**
   * Answers a request under ACME_HTTP_PATH (RFC 8555 8.3: the key authorization as the body, 200;
   * unknown tokens 404). Served before any authentication, on [http] and [https] alike.
   */
  serveHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const answer = req.method === 'GET' || req.method === 'HEAD' ? this.httpAnswer(path) : null;
    res.statusCode = answer === null ? 404 : 200;
    res.setHeader('Content-Type', answer === null ? 'text/plain' : 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-store');
    res.end(req.method === 'HEAD' ? undefined : (answer ?? 'not found\n'));
  }

  /**
   * The [https] listener's ALPNCallback (it replaces ALPNProtocols ['http/1.1']): a handshake offering
   * acme-tls/1 for a name with a pending challenge gets the challenge certificate (RFC 8737 3); one
   * offering acme-tls/1 for any other name is refused (the spec's choice: no fallback to a normal
   * certificate). Everything else negotiates http/1.1 as before; a client offering neither is refused.
   */
  readonly alpnCallback = (
    socket: TLSSocket,
    arg: { servername: string; protocols: string[] },
  ): string | undefined => {
    if (arg.protocols.includes(ACME_TLS_ALPN)) {
      const context = this.alpn.get((arg.servername ?? '').toLowerCase());
      if (!context) return undefined;
      socket.setKeyCert(context);
      return ACME_TLS_ALPN;
    }
    return arg.protocols.includes('http/1.1') ? 'http/1.1' : undefined;
  };

  /** Options for tls.createServer: Node calls ALPNCallback with the socket as `this`. */
  tlsServerOptions(): {
    ALPNCallback: (arg: { servername: string; protocols: string[] }) => string | undefined;
  } {
    const callback = this.alpnCallback;
    return {
      ALPNCallback(this: TLSSocket, arg) {
        return callback(this, arg);
      },
    };
  }
}
