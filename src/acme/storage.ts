// ACME files under data_dir/acme (0700, files 0600 like data_dir/tls): the account key, the certificate chain and its key.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../net/tls.js';
import type { CertificateFacts } from './renewal.js';

export interface AcmePaths {
  dir: string;
  /** The ACME account's private key (RFC 8555 7.3: the account is the key; kept so renewals reuse it). */
  accountKey: string;
  /** The issued chain, leaf first (what the listeners serve). */
  cert: string;
  key: string;
}

export function acmePaths(dataDir: string): AcmePaths {
  const dir = join(dataDir, 'acme');
  return {
    dir,
    accountKey: join(dir, 'account-key.pem'),
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
  };
}

/** The account key, made by `create` and stored on first use. */
export async function accountKeyOf(paths: AcmePaths, create: () => Promise<string>): Promise<string> {
  try {
    return await readFile(paths.accountKey, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = await create();
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await writeAtomic(paths.accountKey, key, 0o600);
  return key;
}

/** The facts of a PEM chain's first certificate (its DNS names from subjectAltName, RFC 5280 4.2.1.6). */
export function factsOf(pem: string): CertificateFacts {
  const x509 = new X509Certificate(pem);
  const names = (x509.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return { notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo), names };
}

/** The stored certificate's facts, or null when there is none or it cannot be used (then a new order replaces it). */
export async function readStored(paths: AcmePaths): Promise<CertificateFacts | null> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(paths.cert, 'utf8'), readFile(paths.key, 'utf8')]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return null;
    return factsOf(cert);
  } catch {
    return null;
  }
}

/**
 * Stores a new pair: the key first, then the chain, each written to a temp name and renamed, so a crash
 * leaves the old pair or (for a moment) the new key beside the old chain, which readStored refuses and
 * loadTls passes over; the next start orders again rather than serving a mismatched pair.
 */
export async function storeCertificate(paths: AcmePaths, cert: string, key: string): Promise<void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await writeAtomic(paths.key, key, 0o600);
  await writeAtomic(paths.cert, cert, 0o600);
}
