// SIGHUP reload applied to a running server: certificates re-read, listeners rebound, new settings for new sessions (the decisions are reload-plan.ts's).
import { formatListenAddress, type Config, type ListenAddress, type ListenerName } from '../config/schema.js';
import type { Listener } from '../net/listener.js';
import { loadTls, type TlsMaterial } from '../net/tls.js';
import type { Logger } from '../observability/logger.js';
import { planReload, type ReloadPlan } from './reload-plan.js';
import { acmePaths } from '../acme/storage.js';

/** What new sessions see; a reload replaces both, sessions already open keep what they started with. */
export interface LiveSettings {
  config: Config;
  tls: TlsMaterial;
}

export interface ReloaderDeps {
  /** Every listener of the server, one per config section (empty when the section is off). */
  listeners: readonly Listener[];
  live: LiveSettings;
  logger: Logger;
  now: () => Date;
  stopping: () => boolean;
  /** The sections that apply [limits] connection_rate_per_ip (the SMTP ones). */
  rateLimited: ReadonlySet<ListenerName>;
}

/** The server's reload(), and refreshTls() for a certificate that changed on disk (an ACME renewal). */
export interface Reloader {
  (next: Config): Promise<ReloadPlan>;
  /**
   * Re-reads the certificates of the running config and gives them to every listener, exactly as a
   * SIGHUP does (implicit TLS listeners get the new SecureContext, STARTTLS reads live.tls per
   * upgrade); open sessions keep theirs. Queued with reloads; rejects (and changes nothing) on failure.
   */
  refreshTls(): Promise<TlsMaterial>;
}

/** The server's reload(): one at a time (a second SIGHUP waits for the first); all or nothing. */
export function createReloader(deps: ReloaderDeps): Reloader {
  const { listeners, live, logger, now } = deps;
  let reloading: Promise<unknown> = Promise.resolve();
  const queued = <T>(run: () => Promise<T>): Promise<T> => {
    const result = reloading.then(run, run);
    reloading = result.catch(() => undefined);
    return result;
  };
  /** New settings (and certificate) for connections from now on, on every listener. */
  const applyAll = (wanted: Config, tls: TlsMaterial): void => {
    for (const l of listeners) {
      if (!l.name) continue;
      l.apply(wanted.listeners[l.name], {
        ...(IMPLICIT_TLS.has(l.name) ? { tls: tls.serverOptions } : {}),
        maxConnections: wanted.limits.maxConnections,
        maxConnectionsPerIp: wanted.limits.maxConnectionsPerIp,
        // The per-IP connection rate is the SMTP listeners' alone (as at start).
        ...(deps.rateLimited.has(l.name) ? { connectionRatePerIp: wanted.limits.connectionRatePerIp } : {}),
      });
    }
  };
  const reload = (next: Config): Promise<ReloadPlan> =>
    queued(async (): Promise<ReloadPlan> => {
      if (deps.stopping()) throw new Error('the server is stopping');
      try {
        const plan = planReload(live.config, next);
        const wanted = plan.effective;
        // Everything that can fail comes first, so a failure leaves the server as it was.
        const tls = await loadTlsOf(wanted, now(), logger);
        const undo: (() => void)[] = [];
        try {
          for (const l of listeners) if (l.name) undo.push(await l.bindMissing(wanted.listeners[l.name]));
        } catch (error) {
          for (const u of undo) u();
          throw error;
        }
        // A SIGTERM while binding: shutdown has already stopped the listeners; what this bound must not stay.
        if (deps.stopping()) {
          for (const u of undo) u();
          throw new Error('the server is stopping');
        }
        live.config = wanted;
        live.tls = tls;
        applyAll(wanted, tls);
        logger.info(
          {
            event: 'config-reloaded',
            config: wanted.configPath,
            applied: plan.applied,
            listening: listeningOf(listeners),
          },
          'config reloaded',
        );
        if (plan.needsRestart.length > 0) {
          logger.warn(
            { event: 'config-restart-needed', keys: plan.needsRestart },
            `config: ${plan.needsRestart.join(', ')} changed; kept as running until a restart`,
          );
        }
        return plan;
      } catch (error) {
        logReloadFailed(logger, next.configPath, error);
        throw error;
      }
    });
  const refreshTls = (): Promise<TlsMaterial> =>
    queued(async () => {
      if (deps.stopping()) throw new Error('the server is stopping');
      const tls = await loadTlsOf(live.config, now(), logger);
      live.tls = tls;
      // The same addresses and limits as now: only the certificate changes.
      applyAll(live.config, tls);
      return tls;
    });
  return Object.assign(reload, { refreshTls });
}

/** Listener sections served over implicit TLS (RFC 8314): a reload gives them the new certificate. */
const IMPLICIT_TLS: ReadonlySet<ListenerName> = new Set(['submissions', 'imaps', 'pop3s', 'https']);

export function addressesOf(listeners: readonly Listener[]): Partial<Record<ListenerName, ListenAddress[]>> {
  const result: Partial<Record<ListenerName, ListenAddress[]>> = {};
  for (const l of listeners) {
    const bound = l.addresses;
    if (l.name && bound.length > 0) result[l.name] = [...(result[l.name] ?? []), ...bound];
  }
  return result;
}

function listeningOf(listeners: readonly Listener[]): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(addressesOf(listeners)).map(([name, list]) => [name, list.map(formatListenAddress)]),
  );
}

/** A reload that did not happen: one line with the one-line reason; the running config stays. */
export function logReloadFailed(logger: Logger, configPath: string | null, error: unknown): void {
  const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown';
  logger.error(
    { event: 'config-reload-failed', config: configPath, reason },
    `config reload failed, the running config is kept: ${reason}`,
  );
}

/** The [tls] certificate (or the self-signed one) for `config`, logged as at start-up. */
export async function loadTlsOf(config: Config, at: Date, logger: Logger): Promise<TlsMaterial> {
  const tls = await loadTls({
    configured: config.tls,
    // The ACME certificate once issued (src/acme/); until then the [tls] or self-signed one.
    preferred: config.acme ? acmeCertificatePaths(config.dataDir) : null,
    dataDir: config.dataDir,
    hostname: config.hostname,
    now: at,
    ciphers: config.tlsPolicy.ciphers,
    minVersion: config.tlsPolicy.minVersion,
  });
  logger.info({ cert: tls.certPath, selfSigned: tls.selfSigned }, 'tls certificate loaded');
  for (const warning of tls.warnings) logger.warn({ cert: tls.certPath }, warning);
  return tls;
}

function acmeCertificatePaths(dataDir: string): { certPath: string; keyPath: string } {
  const paths = acmePaths(dataDir);
  return { certPath: paths.cert, keyPath: paths.key };
}
