// The [metrics] listener: Prometheus text at GET /metrics, GET /healthz for load balancers and systemd.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ListenAddress } from '../config/schema.js';
import { createHttpServer } from '../http/server.js';
import { listen, type Listener } from '../net/listener.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** starting: listeners still binding; ready: serving; stopping: shutdown began (CONTRACT.md: 503). */
export type HealthState = 'starting' | 'ready' | 'stopping';

export interface MetricsListener {
  listener: Listener;
  addresses: ListenAddress[];
  setHealth(state: HealthState): void;
}

/**
 * The request handler alone (tested without a socket). /healthz answers 200 only once every listener
 * accepts connections and 503 from the moment shutdown begins, so a load balancer stops sending new
 * sessions before they would be refused. Only GET and HEAD; everything else is 404/405.
 */
export function metricsHandler(
  metrics: Metrics,
  health: () => HealthState,
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, {
        'Content-Type': type,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path !== '/metrics' && path !== '/healthz') return send(404, 'text/plain', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(405, 'text/plain', 'method not allowed\n');
    }
    if (path === '/healthz') {
      const state = health();
      return send(state === 'ready' ? 200 : 503, 'text/plain', `${state}\n`);
    }
    metrics.text().then(
      (text) => send(200, metrics.contentType, text),
      (err: unknown) => {
        logger.error({ event: 'metrics-failed', err: String(err) }, 'metrics collection failed');
        send(500, 'text/plain', 'metrics collection failed\n');
      },
    );
  };
}

/** Binds [metrics] listen with Mailroom's listener (connection limits); plain HTTP, meant for loopback or a private network. */
export async function startMetricsListener(
  addresses: readonly ListenAddress[],
  options: { metrics: Metrics; logger: Logger; maxConnections: number; maxConnectionsPerIp: number },
): Promise<MetricsListener> {
  let state: HealthState = 'starting';
  const log = options.logger.child({ listener: 'metrics' });
  const server = createHttpServer(metricsHandler(options.metrics, () => state, log));
  const listener = await listen(addresses, {
    name: 'metrics',
    maxConnections: options.maxConnections,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    refusal: 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
    onConnection: (socket: Socket) => server.emit('connection', socket),
  });
  return {
    listener,
    get addresses() {
      return listener.addresses;
    },
    setHealth: (next) => (state = next),
  };
}
