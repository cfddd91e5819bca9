// Test helpers for DKIM: a key as the store holds it, a TXT resolver for mailauth, python3-dkim (dkimpy) runs.
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dkimVerify } from 'mailauth';
import { arcSealFor } from '../../src/sender-auth/arc-seal.js';
import { dkimDnsRecord, generateDkimKeyPair } from '../../src/sender-auth/dkim-keys.js';
import { signMessage } from '../../src/sender-auth/dkim-sign.js';
import type { DkimAlgorithm, DkimKey } from '../../src/store/dkim-store.js';

export async function makeKey(domain: string, selector: string, algorithm: DkimAlgorithm): Promise<DkimKey> {
  const pair = await generateDkimKeyPair(algorithm);
  return { domain, selector, algorithm, ...pair, createdAt: new Date(), activatedAt: null, inactive: false };
}

/** TXT answers for mailauth's `resolver` option (node:dns shape, ENOTFOUND for anything else). */
export function txtResolver(records: Record<string, string>) {
  return async (name: string, rrtype: string): Promise<string[][]> => {
    const txt = records[name.toLowerCase()];
    if (rrtype === 'TXT' && txt !== undefined) return [[txt]];
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
}

export function recordOf(key: DkimKey): { name: string; txt: string } {
  return dkimDnsRecord(key.domain, key.selector, key.algorithm, key.publicKey);
}

/** mailauth's verdicts for every signature of `message`, as "result d= s=". */
export async function mailauthVerdicts(message: Buffer, records: Record<string, string>): Promise<string[]> {
  const res = await dkimVerify(message, { resolver: txtResolver(records) });
  return res.results.map((r) => `${r.status.result} d=${r.signingDomain} s=${r.selector ?? ''}`);
}

/** Debian's python3 (dkimpy and PyNaCl installed by scripts/install-test-tools.sh). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./pydkim.py', import.meta.url));

function python(args: string[], input: Buffer): string {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { input, timeout: 20_000 });
  if (r.status !== 0)
    throw new Error(
      `python3-dkim failed (run scripts/install-test-tools.sh): ${r.error?.message ?? r.stderr.toString()}`,
    );
  return r.stdout.toString('latin1');
}

/** dkimpy's dkim.verify of the message's first signature, the TXT of `record` as the only DNS answer. */
export function pythonVerify(message: Buffer, record: { name: string; txt: string }): string {
  return python(['verify', record.name, record.txt], message).trim();
}

/** dkimpy's dkim.arc_verify of the message's ARC chain: its cv result (pass/fail/none) and comment. */
export function pythonArcVerify(message: Buffer, records: Record<string, string>): string {
  return python(['arcverify', JSON.stringify(records)], message).trim();
}

/** dkimpy's dkim.sign (relaxed/relaxed): the DKIM-Signature header it makes, CRLF-terminated. */
export function pythonSign(message: Buffer, key: DkimKey): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-pydkim-'));
  try {
    const file = join(dir, 'key');
    // dkimpy takes RSA keys as PEM and Ed25519 keys as the base64 of the 32-byte seed (RFC 8463 3).
    const jwk = createPrivateKey(key.privateKeyPem).export({ format: 'jwk' });
    writeFileSync(
      file,
      key.algorithm === 'rsa' ? key.privateKeyPem : Buffer.from(jwk.d ?? '', 'base64url').toString('base64'),
    );
    const args = [
      'sign',
      key.domain,
      key.selector,
      file,
      ...(key.algorithm === 'ed25519' ? ['ed25519'] : []),
    ];
    const header = python(args, message).replace(/\r?\n/g, '\r\n');
    return header.endsWith('\r\n') ? header : `${header}\r\n`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `original` as a list forwarder passes it on (RFC 8617): DKIM-signed by `author`, given the forwarder's
 * Authentication-Results (dkim=pass), then ARC-sealed by `forwarder` (instance 1, authserv-id fwd.test);
 * with the message as `author` signed it.
 */
export async function arcSealedForward(
  original: Buffer,
  author: DkimKey,
  forwarder: DkimKey,
): Promise<{ signed: Buffer; sealed: Buffer }> {
  const signed = Buffer.concat([Buffer.from((await signMessage(original, author)).header), original]);
  const arrived = Buffer.concat([
    Buffer.from(`Authentication-Results: fwd.test; dkim=pass header.d=${author.domain}\r\n`),
    signed,
  ]);
  const seal = (await arcSealFor(arrived, forwarder, { authservId: 'fwd.test' }))!;
  return { signed, sealed: Buffer.concat([seal, arrived]) };
}

/**
 * The message with its (first) ARC-Seal's signature broken: the first character of its b= changed, to 'A', or to
 * 'B' when it is an 'A' already (one key in 64 signs so, and the seal would stay whole).
 */
export function breakArcSeal(message: Buffer): Buffer {
  const text = message
    .toString('latin1')
    .replace(
      /(ARC-Seal:[^]*?b=)([A-Za-z0-9+/])/,
      (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'),
    );
  return Buffer.from(text, 'latin1');
}
