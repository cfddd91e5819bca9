// Binds a mail-access protocol's pair of listeners (STARTTLS-capable and implicit TLS, RFC 8314) with the server's limits.
import type { Socket } from 'node:net';
import type { Authenticate, AuthenticateBearer } from '../auth/authenticator.js';
import type { Config, ListenAddress, ListenerName } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { DeliveryRequest, Store } from '../store/store.js';
import { listen, type Listener } from './listener.js';
import type { TlsMaterial } from './tls.js';
import type { StorageLevel } from '../store/free-space.js';
import type { SubmissionLimits } from '../abuse/rate-limits.js';

/** What `mailroom serve` gives every access protocol (IMAP, POP3). */
export interface AccessListenerDeps<Handle> {
  /** The config and certificate of the moment: read them per connection, a reload (SIGHUP) replaces them. */
  readonly config: Config;
  logger: Logger;
  store: Store;
  readonly tls: TlsMaterial;
  /** The server's one authenticator: failed logins over any protocol share its limiter. */
  authenticate: Authenticate;
  /** API tokens (HTTP Bearer) on the same limiter; absent, Bearer always fails. */
  authenticateBearer?: AuthenticateBearer;
  /** Local delivery and the queue as SMTP uses it (store.deliver with the vacation responder): JMAP submission. */
  deliver?: (request: DeliveryRequest) => Promise<void>;
  now: () => Date;
  /** Each session's handle (for shutdown) as it opens and closes. */
  track: (handle: Handle, open: boolean) => void;
  /** Already-started listeners are pushed here at once, so a failure later still closes them. */
  started: Listener[];
  /** data_dir's free-space floor (IMAP APPEND is refused below it). */
  storage?: StorageLevel;
  /** Per-account messages and recipients per hour, the same counters as SMTP's (JMAP EmailSubmission). */
  submissionLimits?: SubmissionLimits;
  /** Connections and sessions per listener. */
  metrics?: Metrics;
}

export interface AccessListeners<Name extends ListenerName> {
  listeners: Listener[];
  addresses: Partial<Record<Name, ListenAddress[]>>;
}

/**
 * Binds `plain` (STARTTLS offered) and `implicit` (TLS from the first byte) as configured, with the
 * same connection limits as SMTP; a connection over the limit gets `refusal` and is closed.
 */
export async function startAccessListeners<Name extends ListenerName, Handle>(
  deps: AccessListenerDeps<Handle>,
  spec: {
    plain: Name;
    implicit: Name;
    refusal: string;
    /** Serves one connection; `onClose` must be called when it ends. */
    serve: (socket: Socket, session: { implicitTls: boolean; log: Logger; onClose: () => void }) => Handle;
  },
): Promise<AccessListeners<Name>> {
  const { config } = deps;
  const result: AccessListeners<Name> = { listeners: [], addresses: {} };
  for (const name of [spec.plain, spec.implicit]) {
    // A section with no address still gets its (empty) Listener, so a reload can turn it on.
    const wanted = config.listeners[name];
    const implicitTls = name === spec.implicit;
    const log = deps.logger.child({ listener: name });
    const listener = await listen(wanted, {
      name,
      ...(implicitTls ? { tls: deps.tls.serverOptions } : {}),
      maxConnections: config.limits.maxConnections,
      maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
      refusal: spec.refusal,
      onConnection: (socket: Socket) => {
        deps.metrics?.connectionOpened(name, socket);
        const handle: Handle = spec.serve(socket, {
          implicitTls,
          log,
          onClose: () => deps.track(handle, false),
        });
        deps.track(handle, true);
      },
      onRefused: (info) => {
        deps.metrics?.connectionRefused(name, info.reason);
        log.warn(
          { remoteAddress: info.remoteAddress, reason: info.reason, err: info.error?.message },
          'connection refused',
        );
      },
    });
    deps.started.push(listener);
    result.listeners.push(listener);
    if (listener.addresses.length > 0) result.addresses[name] = listener.addresses;
  }
  return result;
}
