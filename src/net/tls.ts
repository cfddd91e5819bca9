// TLS material: the configured certificate (checked at start), or a self-signed one made once in data_dir; a SecureContext for servers.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';
import { DEFAULT_TLS_CIPHERS, DEFAULT_TLS_MIN_VERSION, TLS_EXPIRY_WARNING_MS } from '../config/limits.js';
import type { TlsVersion } from '../config/schema.js';
import { MailroomError } from '../errors.js';

export interface TlsMaterial {
  secureContext: SecureContext;
  /** Options for tls.createServer (implicit TLS) and for upgrading a socket (STARTTLS). */
  serverOptions: TlsOptions;
  certPath: string;
  keyPath: string;
  selfSigned: boolean;
  /** Problems that do not stop start-up (name mismatch, expiry soon): one log line each. */
  warnings: string[];
}
/** Self-signed certificates are replaced this long before they expire. */
const RENEW_BEFORE_MS = 7 * 86_400_000;
/** Lifetime of a made certificate: about two years; it is renewed automatically on start-up. */
const SELF_SIGNED_DAYS = 800;

export interface LoadTlsOptions {
  /** [tls] cert/key as absolute paths, or null to use (and make) the self-signed pair in dataDir. */
  configured: { certPath: string; keyPath: string } | null;
  dataDir: string;
  hostname: string;
  now: Date;
  /**
   * A pair served instead when it is present, matches and has not expired: the ACME certificate in
   * data_dir/acme ([acme], src/acme/). Absent or unusable (not issued yet): the rules above apply.
   */
  preferred?: { certPath: string; keyPath: string } | null;
  /** [tls] ciphers and min_version; defaults in config/limits.ts. */
  ciphers?: string;
  minVersion?: TlsVersion;
}

export async function loadTls(options: LoadTlsOptions): Promise<TlsMaterial> {
  const policy: TlsPolicy = {
    ciphers: options.ciphers ?? DEFAULT_TLS_CIPHERS,
    minVersion: options.minVersion ?? DEFAULT_TLS_MIN_VERSION,
  };
  if (options.preferred) {
    const { certPath, keyPath } = options.preferred;
    const usable = await readUsable(certPath, keyPath, options.now);
    if (usable) return { ...build(usable.cert, usable.key, certPath, keyPath, false, policy), warnings: [] };
  }
  if (options.configured) {
    const { certPath, keyPath } = options.configured;
    const cert = await readPem(certPath, 'cert');
    const key = await readPem(keyPath, 'key');
    const warnings = checkConfigured(cert, key, certPath, keyPath, options.hostname, options.now);
    return { ...build(cert, key, certPath, keyPath, false, policy), warnings };
  }
  const dir = join(options.dataDir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const existing = await readExisting(certPath, keyPath, options.hostname, options.now);
  if (existing)
    return { ...build(existing.cert, existing.key, certPath, keyPath, true, policy), warnings: [] };
  const made = await makeSelfSigned(options.hostname, options.now);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Key first, private from its first byte (mode 0600), each written to a temp name then renamed,
  // so a crash never leaves a half-written pair that a restart would trust.
  await writeAtomic(keyPath, made.key, 0o600);
  // The certificate is public, but everything under data_dir is the server's alone (README).
  await writeAtomic(certPath, made.cert, 0o600);
  return { ...build(made.cert, made.key, certPath, keyPath, true, policy), warnings: [] };
}

/**
 * Names a made certificate carries besides `hostname`: clients on the same machine connect to
 * `localhost`, 127.0.0.1 or ::1, and a client that checks names (RFC 6125 6.4; RFC 9525 for IP
 * addresses) would otherwise need an override for every one of them (issue 11).
 */
const SELF_SIGNED_LOCAL_NAMES = ['localhost'] as const;
const SELF_SIGNED_LOCAL_IPS = ['127.0.0.1', '::1'] as const;

/** True when a made certificate names everything makeSelfSigned now puts in it (older versions named only `hostname`). */
function namesEverything(x509: X509Certificate, hostname: string): boolean {
  return (
    x509.checkHost(hostname) !== undefined &&
    SELF_SIGNED_LOCAL_NAMES.every((name) => x509.checkHost(name) !== undefined) &&
    SELF_SIGNED_LOCAL_IPS.every((ip) => x509.checkIP(ip) !== undefined)
  );
}

/**
 * Makes a self-signed certificate for `hostname`, `localhost`, 127.0.0.1 and ::1 (RSA 2048, SHA-256:
 * what every SMTP peer can verify).
 */
export async function makeSelfSigned(hostname: string, now: Date): Promise<{ cert: string; key: string }> {
  const dnsNames = [hostname, ...SELF_SIGNED_LOCAL_NAMES.filter((name) => name !== hostname.toLowerCase())];
  const notAfter = new Date(now.getTime() + SELF_SIGNED_DAYS * 86_400_000);
  // Loaded only when a certificate is made (first start, expiry): it weighs ~15 MiB a running server keeps.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 3_600_000), // an hour of slack for peers with slow clocks
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        // Type 2 is dNSName, 7 is iPAddress (RFC 5280 4.2.1.6).
        altNames: [
          ...dnsNames.map((value) => ({ type: 2 as const, value })),
          ...SELF_SIGNED_LOCAL_IPS.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function readExisting(
  certPath: string,
  keyPath: string,
  hostname: string,
  now: Date,
): Promise<{ cert: string; key: string } | null> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new MailroomError('TLS', `tls: cannot read ${certPath}: ${(error as Error).message}`);
  }
  try {
    const x509 = new X509Certificate(cert);
    createPrivateKey(key);
    const expiresSoon = new Date(x509.validTo).getTime() - RENEW_BEFORE_MS < now.getTime();
    // A changed hostname or an ageing certificate is replaced; an unreadable pair too, and one made by
    // an older version that did not name localhost and the loopback addresses. Only this pair in
    // data_dir/tls is ever replaced: a configured [tls] certificate is the admin's, used as given.
    if (expiresSoon || !namesEverything(x509, hostname)) return null;
  } catch {
    return null;
  }
  return { cert, key };
}

/** A pair that exists, parses, belongs together and is valid at `now`; else null (never an error). */
async function readUsable(
  certPath: string,
  keyPath: string,
  now: Date,
): Promise<{ cert: string; key: string } | null> {
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return null;
    const at = now.getTime();
    if (at < Date.parse(x509.validFrom) || at > Date.parse(x509.validTo)) return null;
    return { cert, key };
  } catch {
    return null;
  }
}

async function readPem(path: string, what: 'cert' | 'key'): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new MailroomError('TLS', `tls.${what}: cannot read ${path}: ${code}`);
  }
}

interface TlsPolicy {
  ciphers: string;
  minVersion: TlsVersion;
}

const DAY_MS = 86_400_000;
const day = (date: Date): string => date.toISOString().slice(0, 10);

/**
 * Checks an admin's certificate and key before any listener starts, so a mistake is one line at
 * start-up rather than a handshake failure every client reports differently (issue 8 item 8):
 * unparsable, expired, not yet valid and a key of another certificate stop start-up; a certificate
 * that does not name `hostname` (RFC 6125 6.4; clients that check will refuse it) or that expires
 * within TLS_EXPIRY_WARNING_MS is a warning. Only the first certificate of a chain file is the server's.
 */
export function checkConfigured(
  cert: string,
  key: string,
  certPath: string,
  keyPath: string,
  hostname: string,
  now: Date,
): string[] {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new MailroomError('TLS', `tls.cert: ${certPath} holds no PEM certificate`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new MailroomError('TLS', `tls.key: ${keyPath} holds no PEM private key (or it is encrypted)`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new MailroomError('TLS', `tls.key: ${keyPath} is not the key of the certificate in ${certPath}`);
  }
  const validFrom = new Date(x509.validFrom);
  const validTo = new Date(x509.validTo);
  if (now.getTime() < validFrom.getTime()) {
    throw new MailroomError(
      'TLS',
      `tls.cert: ${certPath} is not valid before ${day(validFrom)} (check the clock)`,
    );
  }
  if (now.getTime() > validTo.getTime()) {
    throw new MailroomError('TLS', `tls.cert: ${certPath} expired on ${day(validTo)}`);
  }
  const warnings: string[] = [];
  if (x509.checkHost(hostname) === undefined) {
    const names = x509.subjectAltName ?? x509.subject.replace(/\n/g, ', ');
    warnings.push(`tls.cert: ${certPath} does not cover hostname ${hostname} (it names ${names})`);
  }
  const left = validTo.getTime() - now.getTime();
  if (left < TLS_EXPIRY_WARNING_MS) {
    warnings.push(`tls.cert: ${certPath} expires on ${day(validTo)}, in ${Math.floor(left / DAY_MS)} days`);
  }
  return warnings;
}

function build(
  cert: string,
  key: string,
  certPath: string,
  keyPath: string,
  selfSigned: boolean,
  policy: TlsPolicy,
): Omit<TlsMaterial, 'warnings'> {
  // honorCipherOrder: the server's order (strongest first) wins over a client that lists weak suites first.
  const serverOptions: TlsOptions = {
    cert,
    key,
    minVersion: policy.minVersion,
    ciphers: policy.ciphers,
    honorCipherOrder: true,
  };
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext(serverOptions);
  } catch (error) {
    const reason = ((error as Error).message ?? 'invalid').split('\n')[0] ?? 'invalid';
    if (/no cipher match/i.test(reason)) {
      throw new MailroomError(
        'TLS',
        `tls.ciphers: no cipher of ${JSON.stringify(policy.ciphers)} is available`,
      );
    }
    throw new MailroomError('TLS', `tls: cannot use ${certPath} with ${keyPath}: ${reason}`);
  }
  return { secureContext, serverOptions: { ...serverOptions, secureContext }, certPath, keyPath, selfSigned };
}

export async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode, flush: true });
  await rename(temp, path);
}
