// DKIM keys: generating a key pair (RSA 2048 or Ed25519, RFC 8463), the selector rules, and the DNS TXT record to publish.
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { domainToASCII } from 'node:url';
import { MailroomError } from '../errors.js';
import { DKIM_RSA_BITS } from '../config/limits.js';
import type { DkimAlgorithm } from '../store/dkim-store.js';

const generate = promisify(generateKeyPair);

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 4); the raw key is the 32 bytes after it. */
const ED25519_SPKI_PREFIX_BYTES = 12;

/**
 * A new key pair: the PKCS#8 PEM to store and the p= value to publish. RSA's p= is the base64 of the
 * DER SubjectPublicKeyInfo (RFC 6376 3.6.1); Ed25519's is the base64 of the bare 32-byte key (RFC 8463 4).
 * Async: an RSA-2048 pair takes 50-500 ms of CPU, done on the thread pool.
 */
export async function generateDkimKeyPair(
  algorithm: DkimAlgorithm,
): Promise<{ privateKeyPem: string; publicKey: string }> {
  const pair: { publicKey: KeyObject; privateKey: KeyObject } =
    algorithm === 'rsa'
      ? await generate('rsa', { modulusLength: DKIM_RSA_BITS })
      : await generate('ed25519', {});
  const privateKeyPem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  const publicKey = (algorithm === 'rsa' ? spki : spki.subarray(ED25519_SPKI_PREFIX_BYTES)).toString(
    'base64',
  );
  return { privateKeyPem, publicKey };
}

/** RFC 6376 3.1: selector = sub-domain *( "." sub-domain ); lower-cased (DNS names are case-insensitive). */
export function parseSelector(input: string): string {
  const s = input.toLowerCase();
  const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
  if (s.length === 0 || s.length > 63 || !s.split('.').every((l) => label.test(l)))
    throw new MailroomError(
      'BAD_SELECTOR',
      `invalid DKIM selector ${JSON.stringify(input)}: letters, digits, hyphens and dots only (RFC 6376 3.1)`,
    );
  return s;
}

/**
 * The default selector: `mr` and the year and month (`mr202612`), so a yearly or monthly rotation gets
 * a fresh name; `mr202612-2`, `-3`... when that one is taken (several keys in one month).
 */
export function defaultSelector(now: Date, taken: ReadonlySet<string>): string {
  const base = `mr${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** The record to publish: its owner name (A-labels, as DNS holds it) and TXT value (RFC 6376 3.6.1, 7.5). */
export function dkimDnsRecord(
  domain: string,
  selector: string,
  algorithm: DkimAlgorithm,
  publicKey: string,
): { name: string; txt: string } {
  const ascii = domainToASCII(domain) || domain;
  return { name: `${selector}._domainkey.${ascii}`, txt: `v=DKIM1; k=${algorithm}; p=${publicKey}` };
}

/** The zone-file line CONTRACT.md shows: `NAME IN TXT "value"`. */
export function dkimZoneLine(record: { name: string; txt: string }): string {
  return `${record.name} IN TXT "${record.txt}"`;
}

/**
 * The same record with its value cut into quoted strings of at most 255 octets (RFC 1035 3.3.14: one
 * character-string holds 255; an RSA-2048 p= alone is 392), the form a BIND zone file needs. Verifiers
 * join the strings (RFC 6376 3.6.2.2).
 */
export function dkimZoneLineSplit(record: { name: string; txt: string }): string {
  const parts: string[] = [];
  for (let i = 0; i < record.txt.length; i += 255) parts.push(`"${record.txt.slice(i, i + 255)}"`);
  return `${record.name} IN TXT ( ${parts.join(' ')} )`;
}
