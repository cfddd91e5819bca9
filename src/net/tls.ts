// TLS material: the configured certificate, or a self-signed one made once in data_dir; a SecureContext for servers.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';
import { generate } from 'selfsigned';
import { MailroomError } from '../errors.js';

export interface TlsMaterial {
  secureContext: SecureContext;
  /** Options for tls.createServer (implicit TLS) and for upgrading a socket (STARTTLS). */
  serverOptions: TlsOptions;
  certPath: string;
  keyPath: string;
  selfSigned: boolean;
}

/** RFC 8996 deprecates TLS 1.0 and 1.1; RFC 8314 4.1 asks mail to use current TLS. */
const MIN_TLS_VERSION = 'TLSv1.2';
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
}

export async function loadTls(options: LoadTlsOptions): Promise<TlsMaterial> {
  if (options.configured) {
    const { certPath, keyPath } = options.configured;
    const cert = await readPem(certPath, 'cert');
    const key = await readPem(keyPath, 'key');
    return build(cert, key, certPath, keyPath, false);
  }
  const dir = join(options.dataDir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const existing = await readExisting(certPath, keyPath, options.hostname, options.now);
  if (existing) return build(existing.cert, existing.key, certPath, keyPath, true);
  const made = await makeSelfSigned(options.hostname, options.now);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Key first, private from its first byte (mode 0600), each written to a temp name then renamed,
  // so a crash never leaves a half-written pair that a restart would trust.
  await writeAtomic(keyPath, made.key, 0o600);
  // The certificate is public, but everything under data_dir is the server's alone (README).
  await writeAtomic(certPath, made.cert, 0o600);
  return build(made.cert, made.key, certPath, keyPath, true);
}

/** Makes a self-signed certificate for `hostname` (RSA 2048, SHA-256: what every SMTP peer can verify). */
export async function makeSelfSigned(hostname: string, now: Date): Promise<{ cert: string; key: string }> {
  const notAfter = new Date(now.getTime() + SELF_SIGNED_DAYS * 86_400_000);
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
      { name: 'subjectAltName', altNames: [{ type: 2, value: hostname }] },
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
    // A changed hostname or an ageing certificate is replaced; an unreadable pair too.
    if (expiresSoon || x509.checkHost(hostname) === undefined) return null;
  } catch {
    return null;
  }
  return { cert, key };
}

async function readPem(path: string, what: 'cert' | 'key'): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new MailroomError('TLS', `tls.${what}: cannot read ${path}: ${code}`);
  }
}

function build(
  cert: string,
  key: string,
  certPath: string,
  keyPath: string,
  selfSigned: boolean,
): TlsMaterial {
  const serverOptions: TlsOptions = { cert, key, minVersion: MIN_TLS_VERSION };
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext(serverOptions);
  } catch (error) {
    const reason = ((error as Error).message ?? 'invalid').split('\n')[0];
    throw new MailroomError('TLS', `tls: cannot use ${certPath} with ${keyPath}: ${reason}`);
  }
  return { secureContext, serverOptions: { ...serverOptions, secureContext }, certPath, keyPath, selfSigned };
}

async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode, flush: true });
  await rename(temp, path);
}
