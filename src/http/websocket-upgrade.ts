// The WebSocket opening handshake on /jmap/ws (RFC 6455 4.2, RFC 8887 3): refusals as HTTP answers, then the JMAP connection.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { JmapUser } from '../jmap/core/engine.js';
import { WEBSOCKET_SUBPROTOCOL } from '../jmap/core/websocket.js';
import { serveJmapWebSocket, type JmapWebSocketDeps } from './jmap-websocket.js';
import { httpProblem, sendProblem } from './responses.js';
import { matchRoute } from './router.js';
import { ownOrigin } from './web-routes.js';
import { checkOrigin } from './web-session.js';
import { websocketHandshake } from './websocket/handshake.js';

export interface UpgradeDeps extends JmapWebSocketDeps {
  /** The API's authentication (jmap-routes.ts): the user, or null when it already answered (401, 403, 429). */
  authenticate(req: IncomingMessage, res: ServerResponse): Promise<JmapUser | null>;
}

/**
 * An Upgrade request. Refusals are ordinary HTTP responses written through a ServerResponse on the
 * socket (so authentication answers exactly as for the API: 401, 403, 429), then the socket closes.
 * Accepted: the same authentication as the API (Basic, Bearer, or the web cookie, which must then
 * come from our own origin: browsers send cookies on cross-site WebSocket handshakes), then the 101.
 */
export async function upgradeToJmapWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  deps: UpgradeDeps,
): Promise<void> {
  const res = new ServerResponse(req);
  res.assignSocket(socket as Socket);
  res.shouldKeepAlive = false;
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  socket.on('error', () => socket.destroy());
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://mailroom.invalid');
  } catch {
    return sendProblem(res, httpProblem(400, 'Bad Request', 'malformed request target'));
  }
  const match = matchRoute(req.method ?? 'GET', url.pathname);
  if (match.kind !== 'route' || match.route !== 'websocket') {
    return sendProblem(res, httpProblem(404, 'Not Found', 'no WebSocket here'));
  }
  const handshake = websocketHandshake(req.method ?? 'GET', req.headers, WEBSOCKET_SUBPROTOCOL);
  if (handshake.kind === 'refuse') {
    return sendProblem(res, httpProblem(handshake.status, 'WebSocket handshake refused', handshake.detail), {
      ...handshake.headers,
    });
  }
  const user = await deps.authenticate(req, res);
  if (!user) return;
  if (req.headers.authorization === undefined) {
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    const why = checkOrigin({
      origin: Array.isArray(origin) ? origin[0] : origin,
      secFetchSite: Array.isArray(site) ? site[0] : site,
      ownOrigin: ownOrigin(req),
    });
    if (why) return sendProblem(res, httpProblem(403, 'Forbidden', why));
  }
  if (socket.destroyed) return;
  res.detachSocket(socket as Socket);
  (socket as Partial<Socket>).setTimeout?.(0);
  socket.write(handshake.response);
  serveJmapWebSocket(socket, head, user, deps);
}
