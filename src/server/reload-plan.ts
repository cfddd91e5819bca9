// What a SIGHUP reload does (pure): the running config against the file's new one -> listeners to open and close, keys applied live, keys that need a restart.
import { isDeepStrictEqual } from 'node:util';
import { formatListenAddress, type Config, type ListenAddress, type ListenerName } from '../config/schema.js';

/**
 * Keys a running server applies to sessions that start after the reload. Everything else is built
 * once at start (the store in data_dir, the resolver, the queue, the routers that know `hostname`, the
 * JMAP and web sessions that know auth) and so needs a restart: the running value is kept and logged.
 * `tls` and `tlsPolicy` are live: listeners take a new SecureContext (tls.Server.setSecureContext) and
 * STARTTLS upgrades use the context of the moment. Listener addresses are live: new ones are bound,
 * removed ones stop accepting while their open sessions finish.
 */
const LIVE_KEYS: ReadonlySet<string> = new Set([
  'tls',
  'tlsPolicy.ciphers',
  'tlsPolicy.minVersion',
  'limits.maxMessageSize',
  'limits.maxRecipients',
  'limits.maxConnections',
  'limits.maxConnectionsPerIp',
  'limits.connectionRatePerIp',
  'limits.deadlines',
  'inbound.greetPauseMs',
  // Read by the hourly purge each time it runs (server/housekeeping.ts).
  'retention',
]);

/** Sections compared key by key (so `limits.maxRecipients` is live while `limits.minFreeSpace` is not). */
const SECTIONS = ['listeners', 'tlsPolicy', 'auth', 'limits', 'queue', 'outbound', 'dns', 'inbound'] as const;

export interface ListenerChange {
  name: ListenerName;
  /** Addresses to bind now. */
  open: ListenAddress[];
  /** Addresses to stop accepting on (their sessions finish). */
  close: ListenAddress[];
}

export interface ReloadPlan {
  /** The config to run with: the new file's, except that keys needing a restart keep the running value. */
  effective: Config;
  /** Listener sections whose addresses change. */
  listeners: ListenerChange[];
  /** Changed keys (dotted, as in Config) applied to new sessions now. */
  applied: string[];
  /** Changed keys kept at their running value until a restart. */
  needsRestart: string[];
}

type Section = (typeof SECTIONS)[number];

export function planReload(running: Config, next: Config): ReloadPlan {
  const effective = structuredClone(next);
  const applied: string[] = [];
  const needsRestart: string[] = [];
  const keep = (path: string, restore: () => void): void => {
    if (path.startsWith('listeners.') || LIVE_KEYS.has(path)) applied.push(path);
    else {
      needsRestart.push(path);
      restore();
    }
  };
  const topKeys = new Set([...Object.keys(running), ...Object.keys(next)] as (keyof Config)[]);
  for (const key of topKeys) {
    // Which file it came from is not a setting.
    if (key === 'configPath') continue;
    if ((SECTIONS as readonly string[]).includes(key)) {
      const section = key as Section;
      const before = running[section] as Record<string, unknown>;
      const after = next[section] as Record<string, unknown>;
      const target = effective[section] as Record<string, unknown>;
      for (const child of new Set([...Object.keys(before), ...Object.keys(after)])) {
        if (isDeepStrictEqual(before[child], after[child])) continue;
        keep(`${section}.${child}`, () => {
          if (child in before) target[child] = structuredClone(before[child]);
          else delete target[child];
        });
      }
      continue;
    }
    if (isDeepStrictEqual(running[key], next[key])) continue;
    keep(key, () => {
      (effective as unknown as Record<string, unknown>)[key] = structuredClone(running[key]);
    });
  }
  const listeners: ListenerChange[] = [];
  for (const name of Object.keys(effective.listeners) as ListenerName[]) {
    const before = new Set(running.listeners[name].map(formatListenAddress));
    const after = new Set(effective.listeners[name].map(formatListenAddress));
    const open = effective.listeners[name].filter((a) => !before.has(formatListenAddress(a)));
    const close = running.listeners[name].filter((a) => !after.has(formatListenAddress(a)));
    if (open.length > 0 || close.length > 0) listeners.push({ name, open, close });
  }
  return { effective, listeners, applied, needsRestart };
}
