// The config file's schema (zod, strict): raw TOML keys -> a validated, typed Config; plus the pure value parsers.
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  DEFAULT_DEADLINES,
  DEFAULT_LIMITS,
  HEAP_TUNINGS,
  MAX_JMAP_WORKERS,
  type HeapTuning,
} from './limits.js';
import { MAX_INBOUND_VERIFY_WORKERS } from './limits-trust.js';
import { acmeSection, type AcmeSettings } from './schema-acme.js';

export { ACME_CHALLENGES, type AcmeChallenge, type AcmeSettings } from './schema-acme.js';

/** One address a listener binds to. */
export interface ListenAddress {
  host: string; // IP literal or host name, without brackets
  port: number; // 0 = any free port (tests)
}

const DURATION_UNITS_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s" / "5m" / "1h" / "5d" -> milliseconds; null when malformed. Zero is refused: no config duration means "never". */
export function parseDuration(text: string): number | null {
  const match = /^([1-9][0-9]{0,8})([smhd])$/.exec(text);
  if (!match) return null;
  const unit = DURATION_UNITS_MS[match[2]!]!;
  return Number(match[1]) * unit;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "20K" / "500M" / "2G" (1024-based, CONTRACT.md) or plain bytes "123" -> bytes; null when malformed. */
export function parseSize(text: string): number | null {
  const match = /^([0-9]{1,15})([KMGT]?)$/i.exec(text);
  if (!match) return null;
  const bytes = Number(match[1]) * SIZE_UNITS[match[2]!.toUpperCase()]!;
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/**
 * The free-space floor of data_dir: `bytes` and/or `percent` of the filesystem; the floor is the
 * smaller of those given (config/limits.ts DEFAULT_MIN_FREE_SPACE says why). 0 bytes turns it off.
 */
export interface MinFreeSpace {
  bytes: number | null;
  percent: number | null;
}

/** A size (bytes, "500M", "1G") or a percentage ("5%", "0.5%") -> MinFreeSpace; a message when malformed. */
export function parseMinFreeSpace(value: number | string): MinFreeSpace | string {
  const wanted = 'expected a size ("1G", "500M", bytes) or a percentage below 100 ("5%")';
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? { bytes: value, percent: null } : wanted;
  }
  const percent = /^([0-9]{1,2}(?:\.[0-9]{1,2})?)%$/.exec(value);
  if (percent) return { bytes: null, percent: Number(percent[1]) };
  const bytes = parseSize(value);
  return bytes === null ? wanted : { bytes, percent: null };
}

/** RFC 1123 2.1 host name: dot-separated labels of letters, digits and inner hyphens, 253 octets at most. */
export function isHostName(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  return text.split('.').every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/** A network for [inbound] trusted_networks: an IP, or an IP with a prefix length ("127.0.0.0/8", "::1/128"). */
export function isNetwork(text: string): boolean {
  const [ip = '', prefix, extra] = text.split('/');
  const family = isIP(ip);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^[0-9]{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** A DNS server for outbound.dns_servers: an IP, or an IP with a port ("1.2.3.4:53", "[::1]:53"). */
export function isDnsServer(text: string): boolean {
  if (isIP(text) !== 0) return true;
  const m = /^(?:\[([^\]]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text);
  if (!m) return false;
  const host = m[1] ?? m[2] ?? '';
  const p = Number(m[3]);
  return (m[1] !== undefined ? isIP(host) === 6 : isIP(host) === 4) && p >= 1 && p <= 65535;
}

/** "host:port" or "[v6]:port" -> ListenAddress; a string saying what is wrong otherwise. */
export function parseListenAddress(text: string): ListenAddress | string {
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
    if (isIP(host) !== 6) return 'expected an IPv6 address inside [ ]';
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return 'expected "host:port" or "[ipv6]:port"';
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return 'an IPv6 address must be written in brackets, like "[::1]:25"';
    if (isIP(host) !== 4 && !isHostName(host)) return 'expected an IPv4 address or a host name before ":"';
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) return 'expected a port from 0 to 65535';
  return { host, port: Number(portText) };
}

/** Formats an address back the way the config writes it (logs, errors). */
export function formatListenAddress(address: ListenAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

// Each validator carries its own message; load.ts appends the offending value (`got "x"`).
const positiveInt = (what = 'a positive integer') =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .positive({ error: `expected ${what}` })
    .max(Number.MAX_SAFE_INTEGER, { error: `expected ${what}` });

/** An integer >= 0 where 0 turns a limit off. */
const limitOrOff = (what: string) =>
  z
    .number({ error: `expected ${what}, or 0 for none` })
    .int({ error: `expected ${what}, or 0 for none` })
    .min(0, { error: `expected ${what}, or 0 for none` })
    .max(Number.MAX_SAFE_INTEGER, { error: `expected ${what}, or 0 for none` });

/** A short pause: "300ms", "1s", or "0" (none); at most 10 s (greet_pause: longer only loses mail). */
export function parsePause(text: string): number | null {
  const m = /^(?:0|([0-9]{1,5})ms|([0-9]{1,2})s)$/.exec(text);
  if (!m) return null;
  const ms = m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? Number(m[2]) * 1000 : 0;
  return ms <= 10_000 ? ms : null;
}

const pause = z.string({ error: 'expected a pause like "300ms", "1s" or "0"' }).transform((text, ctx) => {
  const ms = parsePause(text);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a pause like "300ms", "1s" or "0", at most 10s',
      input: text,
    });
    return z.NEVER;
  }
  return ms;
});

const port = z
  .number({ error: 'expected a port from 1 to 65535' })
  .int({ error: 'expected a port from 1 to 65535' })
  .min(1, { error: 'expected a port from 1 to 65535' })
  .max(65535, { error: 'expected a port from 1 to 65535' });

/** A duration, or "0": no limit (kept forever). */
const durationOrForever = z
  .string({ error: 'expected a duration like "30d", or "0" for forever' })
  .transform((text, ctx) => {
    if (text === '0') return 0;
    const ms = parseDuration(text);
    if (ms === null) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a duration like "30d", or "0" for forever',
        input: text,
      });
      return z.NEVER;
    }
    return ms;
  });

const duration = z
  .string({ error: 'expected a duration string like "30s", "5m", "1h" or "5d"' })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === null) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a duration like "30s", "5m", "1h" or "5d"',
        input: text,
      });
      return z.NEVER;
    }
    return ms;
  });

const minFreeSpace = z
  .union([z.number(), z.string()], {
    error: 'expected a size ("1G", "500M", bytes) or a percentage below 100 ("5%")',
  })
  .transform((value, ctx) => {
    const parsed = parseMinFreeSpace(value);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed, input: value });
      return z.NEVER;
    }
    return parsed;
  });

/** A memory size: bytes, or "16M" / "512K" / "1G" (1024-based); 0 turns the cache off. */
const memorySize = z
  .union([z.number(), z.string()], { error: 'expected a size ("16M", "512K", bytes; 0 = off)' })
  .transform((value, ctx) => {
    const bytes = typeof value === 'number' ? value : parseSize(value);
    if (bytes === null || !Number.isSafeInteger(bytes) || bytes < 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a size ("16M", "512K", bytes; 0 = off)',
        input: value,
      });
      return z.NEVER;
    }
    return bytes;
  });

const listenAddress = z.string({ error: 'expected a string "host:port"' }).transform((text, ctx) => {
  const parsed = parseListenAddress(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed, input: text });
    return z.NEVER;
  }
  return parsed;
});

const hostName = z
  .string({ error: 'expected a host name' })
  .refine(isHostName, { error: 'expected a host name (letters, digits, hyphens, dots)' });

const path = z.string({ error: 'expected a file path' }).min(1, { error: 'expected a non-empty path' });

const listener = z.strictObject({
  listen: z.array(listenAddress, { error: 'expected an array of "host:port" strings' }).optional(),
});

/** [tls] min_version values (Node's names). TLS 1.0/1.1 (RFC 8996) also need `ciphers` with @SECLEVEL=0. */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** The TOML file as written; every key optional (CONTRACT.md "Config file"). */
export const rawConfigSchema = z.strictObject({
  hostname: hostName.optional(),
  data_dir: path.optional(),
  smtp: listener.optional(),
  submission: listener.optional(),
  submissions: listener.optional(),
  imap: listener.optional(),
  imaps: listener.optional(),
  pop3: listener.optional(),
  pop3s: listener.optional(),
  http: listener.optional(),
  https: listener.optional(),
  // Prometheus text at GET /metrics and GET /healthz (observability/metrics-server.ts).
  metrics: listener.optional(),
  tls: z
    .strictObject(
      {
        // Both or neither: neither makes a self-signed certificate in data_dir.
        cert: path.optional(),
        key: path.optional(),
        // An OpenSSL cipher string (TLS 1.2 names and TLS 1.3 TLS_* names); checked at start.
        ciphers: z
          .string({ error: 'expected an OpenSSL cipher list string' })
          .min(1, { error: 'expected a non-empty cipher list' })
          .optional(),
        min_version: z
          .enum(TLS_VERSIONS, { error: `expected one of ${TLS_VERSIONS.map((v) => `"${v}"`).join(', ')}` })
          .optional(),
      },
      { error: 'expected a table' },
    )
    .superRefine((tls, ctx) => {
      if ((tls.cert === undefined) !== (tls.key === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [tls.cert === undefined ? 'cert' : 'key'],
          message: 'expected both cert and key (or neither, for a self-signed certificate)',
          input: undefined, // the line names the missing key; "got a table" would say nothing
        });
      }
    })
    .optional(),
  auth: z
    .strictObject({
      allow_loopback_plaintext: z.boolean({ error: 'expected true or false' }).optional(),
      min_password_length: positiveInt('a positive integer (characters)').optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      max_message_size: positiveInt('a positive integer (bytes)').optional(),
      max_recipients: positiveInt().optional(),
      max_connections: positiveInt().optional(),
      max_connections_per_ip: positiveInt().optional(),
      // Worker threads for read-only JMAP requests (http/jmap-workers.ts); 0: none. Default in limits.ts.
      jmap_workers: z
        .number({ error: `expected a whole number from 0 to ${MAX_JMAP_WORKERS}` })
        .int({ error: `expected a whole number from 0 to ${MAX_JMAP_WORKERS}` })
        .min(0, { error: `expected a whole number from 0 to ${MAX_JMAP_WORKERS}` })
        .max(MAX_JMAP_WORKERS, { error: `expected a whole number from 0 to ${MAX_JMAP_WORKERS}` })
        .optional(),
      // Free space data_dir keeps: below it new mail gets 452 4.3.1 / NO [OVERQUOTA] (issue 8 item 6).
      min_free_space: minFreeSpace.optional(),
      // Memory for the IMAP caches (issue 12); defaults and reasons in limits.ts DEFAULT_CACHES.
      mailbox_index_cache: memorySize.optional(),
      header_cache: memorySize.optional(),
      // V8 heap sizing applied at `serve` start (server/heap-tuning.ts); values and reasons in limits.ts HEAP_TUNINGS.
      heap: z
        .enum(Object.keys(HEAP_TUNINGS) as [HeapTuning, ...HeapTuning[]], {
          error: `expected one of ${Object.keys(HEAP_TUNINGS)
            .map((k) => JSON.stringify(k))
            .join(', ')}`,
        })
        .optional(),
      // Deadlines activity does not extend (net/deadlines.ts); defaults and reasons in limits.ts.
      login_timeout: duration.optional(),
      command_line_timeout: duration.optional(),
      mx_session_timeout: duration.optional(),
      transfer_grace: duration.optional(),
      transfer_min_rate: positiveInt('a positive integer (bytes per second)').optional(),
      // Abuse defence (issue 10): new SMTP connections per minute per IP; per-account submission per hour.
      connection_rate_per_ip: limitOrOff('connections per minute').optional(),
      submission_messages_per_hour: limitOrOff('messages per hour').optional(),
      submission_recipients_per_hour: limitOrOff('recipients per hour').optional(),
    })
    .optional(),
  queue: z
    .strictObject({
      retry_intervals: z
        .array(duration, { error: 'expected an array of durations' })
        .min(1, { error: 'expected at least one interval' })
        .optional(),
      max_age: duration.optional(),
      // Outgoing SMTP connections at once: in all, and to one destination domain (be polite to peers).
      max_connections: positiveInt().optional(),
      max_connections_per_domain: positiveInt().optional(),
      // RFC 3464 delay DSN once a recipient has waited this long (absent: none, as Postfix's delay_warning_time).
      delay_warning: duration.optional(),
    })
    .optional(),
  outbound: z
    .strictObject({
      port: port.optional(),
      // The local IP outbound SMTP binds to (the address SPF and PTR must name, on a host with several).
      source_address: z
        .string({ error: 'expected an IP address' })
        .refine((v) => v === '' || isIP(v) !== 0, { error: 'expected an IP address' })
        .optional(),
      dns_servers: z
        .array(
          // "ip" or "ip:port" / "[v6]:port" (node:dns setServers syntax): tests run a DNS server on a free port.
          z.string({ error: 'expected an IP address' }).refine(isDnsServer, {
            error: 'expected an IP address, optionally with a port ("127.0.0.1:5353", "[::1]:5353")',
          }),
          { error: 'expected an array of IP addresses' },
        )
        .optional(),
      routes: z
        // "*" is the smarthost: every domain without its own route goes there.
        .record(
          z
            .string()
            .refine((k) => k === '*' || isHostName(k), { error: 'expected a domain name or "*" as key' }),
          listenAddress,
          {
            error: 'expected a table of domain = "host:port"',
          },
        )
        .optional(),
      // Credentials for a route (RFC 4954 AUTH as a client), typically the "*" smarthost of a provider.
      route_auth: z
        .record(
          z
            .string()
            .refine((k) => k === '*' || isHostName(k), { error: 'expected a domain name or "*" as key' }),
          z.strictObject({
            username: z
              .string({ error: 'expected a non-empty string' })
              .min(1, { error: 'expected a non-empty string' }),
            password: z.string({ error: 'expected a string' }),
            // AUTH without TLS sends the password in clear: only for a trusted link (e.g. loopback).
            plaintext: z.boolean({ error: 'expected true or false' }).optional(),
          }),
        )
        .optional(),
      // TLS-RPT (RFC 8460): daily aggregate reports to domains that publish _smtp._tls rua=mailto:.
      tls_reports: z.boolean({ error: 'expected true or false' }).optional(),
      // Their From and envelope sender (a local domain's address); empty: postmaster@ the first local domain.
      tls_rpt_from: z
        .string({ error: 'expected an address' })
        .refine((v) => v === '' || /^[^@\s<>]+@[^@\s<>]+$/.test(v), { error: 'expected an address' })
        .optional(),
    })
    .superRefine((outbound, ctx) => {
      for (const key of Object.keys(outbound.route_auth ?? {})) {
        if (!outbound.routes?.[key]) {
          ctx.addIssue({
            code: 'custom',
            path: ['route_auth', key],
            message: `expected a route "${key}" in outbound.routes for these credentials`,
          });
        }
      }
    })
    .optional(),
  // The one resolver for every lookup (MX, SPF, DKIM, DMARC, MTA-STS, TLSA, DNSBL, PTR).
  dns: z
    .strictObject({
      servers: z
        .array(
          z.string({ error: 'expected an IP address' }).refine(isDnsServer, {
            error: 'expected an IP address, optionally with a port ("127.0.0.1:5353", "[::1]:5353")',
          }),
          { error: 'expected an array of IP addresses' },
        )
        .optional(),
    })
    .optional(),
  // ACME certificates (RFC 8555, issue 11): absent, none; present, hostname and `domains` are obtained and renewed.
  acme: acmeSection(hostName, path).optional(),
  // How `mailroom serve` writes its log on stdout (`--log-format` overrides): JSON lines or text for humans.
  log: z
    .strictObject({
      format: z.enum(['json', 'text'], { error: 'expected "json" or "text"' }).optional(),
    })
    .optional(),
  // Checks on mail arriving on the MX (issue 10): greylisting, the greeting pause, DMARC policy, DNS
  // block lists, networks exempt from the checks.
  inbound: z
    .strictObject({
      greylisting: z.boolean({ error: 'expected true or false' }).optional(),
      greylist_delay: duration.optional(),
      // Pause before the MX greeting; a client talking during it is an early talker (554). "0": off.
      greet_pause: pause.optional(),
      dmarc: z.enum(['enforce', 'monitor'], { error: 'expected "enforce" or "monitor"' }).optional(),
      // RFC 7489 7.2 aggregate reports to the rua of domains we receive from: opt-in (mail to strangers).
      dmarc_reports: z.boolean({ error: 'expected true or false' }).optional(),
      dnsbl: z
        .array(
          z
            .string({ error: 'expected a DNS zone' })
            .refine(isHostName, { error: 'expected a DNS zone name' }),
          { error: 'expected an array of DNS zones' },
        )
        .optional(),
      trusted_networks: z
        .array(
          z
            .string({ error: 'expected a network' })
            .refine(isNetwork, { error: 'expected "ip" or "ip/prefix"' }),
          {
            error: 'expected an array of networks',
          },
        )
        .optional(),
      // Threads running the DKIM/ARC pass of MX messages (inbound/verify-pool.ts); 0: the main thread.
      verify_workers: z
        .number({ error: `expected a whole number from 0 to ${MAX_INBOUND_VERIFY_WORKERS}` })
        .int({ error: `expected a whole number from 0 to ${MAX_INBOUND_VERIFY_WORKERS}` })
        .min(0, { error: `expected a whole number from 0 to ${MAX_INBOUND_VERIFY_WORKERS}` })
        .max(MAX_INBOUND_VERIFY_WORKERS, {
          error: `expected a whole number from 0 to ${MAX_INBOUND_VERIFY_WORKERS}`,
        })
        .optional(),
    })
    .optional(),
  // How long the store keeps what `mailroom trace` shows and the admin-action record ("0": forever).
  retention: z
    .strictObject({
      trace: durationOrForever.optional(),
      admin_actions: durationOrForever.optional(),
    })
    .optional(),
});

export type RawConfig = z.infer<typeof rawConfigSchema>;

/** Every listener section of CONTRACT.md, with its dev default address. */
export const LISTENER_DEFAULTS = {
  smtp: '127.0.0.1:2525',
  submission: '127.0.0.1:2587',
  submissions: '127.0.0.1:2465',
  imap: '127.0.0.1:2143',
  imaps: '127.0.0.1:2993',
  pop3: '127.0.0.1:2110',
  pop3s: '127.0.0.1:2995',
  http: '127.0.0.1:8080',
  // JMAP and web mail over TLS with the [tls] certificate (RFC 8620 8.1: TLS is the norm).
  https: '127.0.0.1:8443',
  // Prometheus metrics and /healthz (CONTRACT.md's [metrics]); plain HTTP, so loopback by default.
  metrics: '127.0.0.1:9187',
} as const;

export type ListenerName = keyof typeof LISTENER_DEFAULTS;

/**
 * The deadline settings of [limits], shared by every protocol; each connection enforces those that apply
 * to it (net/deadlines.ts). Durations in milliseconds, the rate in bytes per second.
 */
export interface DeadlineSettings {
  /** From connect until a successful login (IMAP, POP3, SMTP submission). */
  loginMs: number;
  /** From the first byte of a command line until its end. */
  commandLineMs: number;
  /** From connect until an MX session (no login) must end; a transfer in progress finishes first. */
  mxSessionMs: number;
  /** The time a DATA/BDAT/APPEND transfer has in hand: its budget starts at this and never exceeds it. */
  transferGraceMs: number;
  /** Each byte received adds 1/transferMinRate s to a transfer's budget. */
  transferMinRate: number;
}

/** The resolved configuration every module reads: defaults applied, paths absolute, durations in ms. */
export interface Config {
  /** The file it came from, or null for built-in defaults. */
  configPath: string | null;
  hostname: string;
  dataDir: string;
  listeners: Record<ListenerName, ListenAddress[]>;
  /** Absolute paths, or null: make a self-signed certificate in dataDir. */
  tls: { certPath: string; keyPath: string } | null;
  /** Server-side TLS (all listeners, implicit TLS and STARTTLS); the outbound client keeps its own. */
  tlsPolicy: { ciphers: string; minVersion: TlsVersion };
  auth: { allowLoopbackPlaintext: boolean; minPasswordLength: number };
  limits: {
    maxMessageSize: number;
    maxRecipients: number;
    maxConnections: number;
    maxConnectionsPerIp: number;
    /** Worker threads for read-only JMAP requests (0: none). */
    jmapWorkers: number;
    /** Free-space floor of data_dir; the smaller of bytes and percent counts (null: not given). */
    minFreeSpace: MinFreeSpace;
    /** Bytes of the IMAP mailbox index cache (SELECT) and of the SEARCH header cache; 0: off. */
    mailboxIndexCache: number;
    headerCache: number;
    /** V8 heap sizing applied once at `serve` start (a reload keeps the running one). */
    heap: HeapTuning;
    deadlines: DeadlineSettings;
    /** New connections per minute per IP on the SMTP listeners (loopback exempt); 0: no limit. */
    connectionRatePerIp: number;
    /** Per authenticated account and hour (SMTP and JMAP submission); 0: no limit. */
    submissionMessagesPerHour: number;
    submissionRecipientsPerHour: number;
  };
  queue: {
    retryIntervalsMs: number[];
    maxAgeMs: number;
    maxConnections: number;
    maxConnectionsPerDomain: number;
    /** Age after which a still-deferred recipient gets one delay DSN; null: never. */
    delayWarningMs: number | null;
  };
  outbound: {
    port: number;
    /** The local IP outbound SMTP connects from ('' = the system's choice). */
    sourceAddress: string;
    dnsServers: string[];
    routes: Record<string, ListenAddress>;
    /** AUTH credentials per routes key ('*' = smarthost). */
    routeAuth: Record<string, { username: string; password: string; allowPlaintextAuth: boolean }>;
    /** Send TLS-RPT daily reports (RFC 8460). */
    tlsReports: boolean;
    /** Their sender; '' = postmaster@ the first local domain. */
    tlsRptFrom: string;
  };
  /** [dns] servers, else outbound.dns_servers (the older spelling); empty: the system's resolver. */
  dns: { servers: string[] };
  /** [log] format: JSON lines (default) or text; `mailroom serve --log-format` overrides it. */
  log: { format: 'json' | 'text' };
  /** [acme]: certificates from an ACME CA (src/acme/); null: none (the [tls] or self-signed one is served). */
  acme: AcmeSettings | null;
  /** [inbound]: checks on mail arriving on the MX from outside trusted_networks (src/inbound/). */
  inbound: {
    greylisting: boolean;
    greylistDelayMs: number;
    /** Pause before the MX 220; 0: none (no early-talker test). */
    greetPauseMs: number;
    dmarc: 'enforce' | 'monitor';
    /** Daily DMARC aggregate reports (RFC 7489 7.2) to the rua of the domains evaluated; default false. */
    dmarcReports: boolean;
    /** DNSBL zones (RFC 5782) asked at connect. */
    dnsbl: string[];
    /** "ip" or "ip/prefix": clients exempt from the DNSBL and message checks (like authenticated ones). */
    trustedNetworks: string[];
    /** Threads for the DKIM/ARC pass (inbound/verify-pool.ts); 0: on the main thread. */
    verifyWorkers: number;
  };
  /** [retention]: how long message timelines and admin actions are kept, in ms; 0: forever. */
  retention: { trace: number; adminActions: number };
}

export const DEFAULT_RETRY_INTERVALS = ['1m', '5m', '15m', '1h', '4h'] as const;
export const DEFAULT_MAX_AGE = '5d';
/** Outgoing connections at once, in all and per destination domain (Postfix: 100 and 20). */
export const DEFAULT_QUEUE_CONNECTIONS = { total: 100, perDomain: 10 } as const;
export { DEFAULT_DEADLINES, DEFAULT_LIMITS };
