// Finds, reads and validates the TOML config file; any problem becomes one line naming the key and what is wrong.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { MailroomError } from '../errors.js';
import {
  DEFAULT_CACHES,
  DEFAULT_HEAP_TUNING,
  DEFAULT_CONNECTION_RATE_PER_IP,
  DEFAULT_GREET_PAUSE_MS,
  DEFAULT_MIN_FREE_SPACE,
  DEFAULT_SUBMISSION_LIMITS,
  DEFAULT_TLS_CIPHERS,
  DEFAULT_TLS_MIN_VERSION,
  DEFAULT_TRUSTED_NETWORKS,
  defaultInboundVerifyWorkers,
  defaultJmapWorkers,
  GREYLIST,
} from './limits.js';
import { DEFAULT_MIN_PASSWORD_LENGTH } from './limits-accounts.js';
import { DEFAULT_RETENTION } from './limits-observability.js';
import { acmeChallengesFor } from './schema-acme.js';
import {
  DEFAULT_DEADLINES,
  DEFAULT_LIMITS,
  DEFAULT_MAX_AGE,
  DEFAULT_QUEUE_CONNECTIONS,
  DEFAULT_RETRY_INTERVALS,
  LISTENER_DEFAULTS,
  isHostName,
  parseDuration,
  parseListenAddress,
  rawConfigSchema,
  type AcmeSettings,
  type Config,
  type ListenAddress,
  type ListenerName,
  type RawConfig,
} from './schema.js';

export const DEFAULT_CONFIG_FILE = 'mailroom.toml';

/** A config problem; its message is the one line printed before exiting. */
export class ConfigError extends MailroomError {
  constructor(message: string) {
    super('CONFIG', `config: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** --config PATH; wins over MAILROOM_CONFIG and ./mailroom.toml. */
  configPath?: string | undefined;
  cwd: string;
  env: Record<string, string | undefined>;
  /** Used when the file sets no hostname (injected so tests are exact). */
  defaultHostname?: string;
}

/** Which file to read: --config, else $MAILROOM_CONFIG, else ./mailroom.toml if it exists, else none. */
export function findConfigFile(options: LoadConfigOptions): string | null {
  const explicit = options.configPath ?? options.env.MAILROOM_CONFIG;
  if (explicit !== undefined && explicit !== '') return resolve(options.cwd, explicit);
  const implicit = resolve(options.cwd, DEFAULT_CONFIG_FILE);
  return existsSync(implicit) ? implicit : null;
}

/** Loads the effective config. Throws ConfigError (one line) on any problem. */
export function loadConfig(options: LoadConfigOptions): Config {
  const file = findConfigFile(options);
  const defaultHostname = options.defaultHostname ?? systemHostname();
  if (file === null) return parseConfigText('', { configPath: null, baseDir: options.cwd, defaultHostname });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`cannot read ${file}: ${code}`);
  }
  return parseConfigText(text, { configPath: file, baseDir: dirname(file), defaultHostname });
}

/**
 * Parses and validates config text (pure: no file or env access). `baseDir` is where relative paths
 * (data_dir, tls.cert, tls.key) are resolved from - the config file's folder, or cwd without one.
 */
export function parseConfigText(
  text: string,
  context: { configPath: string | null; baseDir: string; defaultHostname: string },
): Config {
  let document: unknown;
  try {
    document = parseToml(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = (error.message.split('\n')[0] ?? 'syntax error').replace(/^Invalid TOML document: /, '');
      throw new ConfigError(`line ${error.line}, column ${error.column}: invalid TOML: ${reason}`);
    }
    throw error;
  }
  const parsed = rawConfigSchema.safeParse(document, { reportInput: true });
  if (!parsed.success) throw new ConfigError(formatIssue(parsed.error.issues[0]));
  return resolveConfig(parsed.data, context);
}

/** One zod issue -> `key.path: what is wrong, got <value>`. */
export function formatIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid';
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = formatPath([...issue.path, issue.keys[0] ?? '?']);
    return `${key}: unknown key`;
  }
  const where = path === '' ? '(top level)' : path;
  const got = 'input' in issue && issue.input !== undefined ? `, got ${describeValue(issue.input)}` : '';
  return `${where}: ${issue.message}${got}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** A short, single-line rendering of a bad value (never the whole table). */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a table';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function systemHostname(): string {
  const name = osHostname().toLowerCase();
  return isHostName(name) ? name : 'localhost';
}

function mustParse<T>(value: T | string, what: string): T {
  // Only used on our own built-in defaults: a failure here is a bug, not a user error.
  if (typeof value === 'string') throw new Error(`built-in default ${what} is invalid: ${value}`);
  return value;
}

function resolveConfig(
  raw: RawConfig,
  context: { configPath: string | null; baseDir: string; defaultHostname: string },
): Config {
  const listeners = {} as Record<ListenerName, ListenAddress[]>;
  for (const name of Object.keys(LISTENER_DEFAULTS) as ListenerName[]) {
    // A section that is absent (or has no `listen`) gets the dev default; `listen = []` turns it off.
    listeners[name] = raw[name]?.listen ?? [mustParse(parseListenAddress(LISTENER_DEFAULTS[name]), name)];
  }
  const hostname = (raw.hostname ?? context.defaultHostname).toLowerCase();
  const routes: Record<string, ListenAddress> = {};
  for (const [domain, address] of Object.entries(raw.outbound?.routes ?? {}))
    routes[domain.toLowerCase()] = address;
  return {
    configPath: context.configPath,
    hostname,
    dataDir: resolve(context.baseDir, raw.data_dir ?? './data'),
    listeners,
    tls:
      raw.tls?.cert !== undefined && raw.tls.key !== undefined
        ? { certPath: resolve(context.baseDir, raw.tls.cert), keyPath: resolve(context.baseDir, raw.tls.key) }
        : null,
    tlsPolicy: {
      ciphers: raw.tls?.ciphers ?? DEFAULT_TLS_CIPHERS,
      minVersion: raw.tls?.min_version ?? DEFAULT_TLS_MIN_VERSION,
    },
    auth: {
      allowLoopbackPlaintext: raw.auth?.allow_loopback_plaintext ?? true,
      minPasswordLength: raw.auth?.min_password_length ?? DEFAULT_MIN_PASSWORD_LENGTH,
    },
    limits: {
      maxMessageSize: raw.limits?.max_message_size ?? DEFAULT_LIMITS.maxMessageSize,
      maxRecipients: raw.limits?.max_recipients ?? DEFAULT_LIMITS.maxRecipients,
      maxConnections: raw.limits?.max_connections ?? DEFAULT_LIMITS.maxConnections,
      maxConnectionsPerIp: raw.limits?.max_connections_per_ip ?? DEFAULT_LIMITS.maxConnectionsPerIp,
      jmapWorkers: raw.limits?.jmap_workers ?? defaultJmapWorkers(availableParallelism()),
      minFreeSpace: raw.limits?.min_free_space ?? { ...DEFAULT_MIN_FREE_SPACE },
      mailboxIndexCache: raw.limits?.mailbox_index_cache ?? DEFAULT_CACHES.mailboxIndexBytes,
      headerCache: raw.limits?.header_cache ?? DEFAULT_CACHES.headerBytes,
      heap: raw.limits?.heap ?? DEFAULT_HEAP_TUNING,
      deadlines: {
        loginMs: raw.limits?.login_timeout ?? DEFAULT_DEADLINES.loginMs,
        commandLineMs: raw.limits?.command_line_timeout ?? DEFAULT_DEADLINES.commandLineMs,
        mxSessionMs: raw.limits?.mx_session_timeout ?? DEFAULT_DEADLINES.mxSessionMs,
        transferGraceMs: raw.limits?.transfer_grace ?? DEFAULT_DEADLINES.transferGraceMs,
        transferMinRate: raw.limits?.transfer_min_rate ?? DEFAULT_DEADLINES.transferMinRate,
      },
      connectionRatePerIp: raw.limits?.connection_rate_per_ip ?? DEFAULT_CONNECTION_RATE_PER_IP,
      submissionMessagesPerHour:
        raw.limits?.submission_messages_per_hour ?? DEFAULT_SUBMISSION_LIMITS.messagesPerHour,
      submissionRecipientsPerHour:
        raw.limits?.submission_recipients_per_hour ?? DEFAULT_SUBMISSION_LIMITS.recipientsPerHour,
    },
    queue: {
      retryIntervalsMs:
        raw.queue?.retry_intervals ??
        DEFAULT_RETRY_INTERVALS.map((d) => mustParse(parseDuration(d) ?? 'bad', d)),
      maxAgeMs: raw.queue?.max_age ?? mustParse(parseDuration(DEFAULT_MAX_AGE) ?? 'bad', 'max_age'),
      maxConnections: raw.queue?.max_connections ?? DEFAULT_QUEUE_CONNECTIONS.total,
      maxConnectionsPerDomain: raw.queue?.max_connections_per_domain ?? DEFAULT_QUEUE_CONNECTIONS.perDomain,
      delayWarningMs: raw.queue?.delay_warning ?? null,
    },
    outbound: {
      port: raw.outbound?.port ?? 25,
      sourceAddress: raw.outbound?.source_address ?? '',
      dnsServers: raw.outbound?.dns_servers ?? [],
      routes,
      routeAuth: Object.fromEntries(
        Object.entries(raw.outbound?.route_auth ?? {}).map(([key, a]) => [
          key.toLowerCase(),
          { username: a.username, password: a.password, allowPlaintextAuth: a.plaintext ?? false },
        ]),
      ),
      tlsReports: raw.outbound?.tls_reports ?? true,
      tlsRptFrom: raw.outbound?.tls_rpt_from ?? '',
    },
    dns: { servers: raw.dns?.servers ?? raw.outbound?.dns_servers ?? [] },
    log: { format: raw.log?.format ?? 'json' },
    acme: raw.acme ? resolveAcme(raw.acme, hostname, listeners, context.baseDir) : null,
    inbound: {
      greylisting: raw.inbound?.greylisting ?? false,
      greylistDelayMs: raw.inbound?.greylist_delay ?? GREYLIST.delayMs,
      greetPauseMs: raw.inbound?.greet_pause ?? DEFAULT_GREET_PAUSE_MS,
      dmarc: raw.inbound?.dmarc ?? 'enforce',
      dmarcReports: raw.inbound?.dmarc_reports ?? false,
      dnsbl: raw.inbound?.dnsbl ?? [],
      trustedNetworks: raw.inbound?.trusted_networks ?? [...DEFAULT_TRUSTED_NETWORKS],
      verifyWorkers: raw.inbound?.verify_workers ?? defaultInboundVerifyWorkers(availableParallelism()),
    },
    retention: {
      trace: raw.retention?.trace ?? DEFAULT_RETENTION.traceMs,
      adminActions: raw.retention?.admin_actions ?? DEFAULT_RETENTION.adminActionsMs,
    },
  };
}

/** [acme] with hostname first in `domains` (lower case, once each) and the challenges its listeners can answer. */
function resolveAcme(
  raw: NonNullable<RawConfig['acme']>,
  hostname: string,
  listeners: Record<ListenerName, ListenAddress[]>,
  baseDir: string,
): AcmeSettings {
  const challenges = acmeChallengesFor(raw.challenge, listeners.http, listeners.https);
  if (!challenges) {
    throw new ConfigError(
      raw.challenge
        ? `acme.challenge: "${raw.challenge}" needs the [${raw.challenge === 'http-01' ? 'http' : 'https'}] listener on`
        : 'acme: needs the [http] listener (HTTP-01) or the [https] listener (TLS-ALPN-01) on',
    );
  }
  return {
    directory: raw.directory,
    email: raw.email ?? null,
    domains: [...new Set([hostname, ...(raw.domains ?? []).map((d) => d.toLowerCase())])],
    challenges,
    caFile: raw.ca_file !== undefined ? resolve(baseDir, raw.ca_file) : null,
  };
}
