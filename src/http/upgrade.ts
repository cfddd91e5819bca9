// Upgrade requests that are not WebSocket (h2c, ...): the request head rebuilt without them, so node:http serves it as a plain request.
import type { Server } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** True when the Upgrade header names websocket (RFC 6455 4.1; tokens are case-insensitive). */
export function wantsWebSocket(upgrade: string | undefined): boolean {
  return (upgrade ?? '').split(',').some((t) => t.trim().toLowerCase() === 'websocket');
}

/**
 * The request head as the client sent it, minus the upgrade (RFC 9110 7.8: a server may ignore
 * Upgrade): the Upgrade and HTTP2-Settings fields go, and the "upgrade" and "http2-settings" tokens
 * leave Connection (dropped when nothing is left). Pure; names keep the client's case.
 */
export function plainRequestHead(
  method: string,
  url: string,
  httpVersion: string,
  rawHeaders: readonly string[],
): string {
  const lines = [`${method} ${url} HTTP/${httpVersion}`];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    let value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'upgrade' || lower === 'http2-settings') continue;
    if (lower === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && !['upgrade', 'http2-settings'].includes(t.toLowerCase()))
        .join(', ');
      if (value === '') continue;
    }
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Node 20 hands every request with an Upgrade header to 'upgrade' once anyone listens there (we do, for
 * WebSocket). Any other upgrade is given back to node:http as a plain request: its head, rebuilt without
 * the upgrade, and the bytes already read go back in front of the socket, which node:http then reads
 * as a new connection (it detached its parser for the upgrade). Per-IP counts are unchanged: same socket.
 */
export function serveAsPlainRequest(
  server: Server,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const rebuilt = plainRequestHead(req.method ?? 'GET', req.url ?? '/', req.httpVersion, req.rawHeaders);
  socket.unshift(Buffer.concat([Buffer.from(rebuilt, 'latin1'), head]));
  server.emit('connection', socket);
}
