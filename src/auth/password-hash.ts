// Password hashing with scrypt (RFC 7914): self-describing hash strings, random salts, constant-time checks.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { SCRYPT_PARAMS } from '../config/limits.js';
import { MailroomError } from '../errors.js';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keyLength: number;
  saltLength: number;
}

function scryptAsync(
  password: string,
  salt: Buffer,
  keyLength: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((done, fail) => {
    scrypt(password, salt, keyLength, options, (error, key) => (error ? fail(error) : done(key)));
  });
}

/** scrypt needs 128 * N * r bytes; Node refuses above maxmem (32 MiB default), so raise it to fit. */
function memoryFor(params: { N: number; r: number }): number {
  return 128 * params.N * params.r + 1024 * 1024;
}

/**
 * Hashes a password: `$scrypt$N=32768,r=8,p=1$<salt b64>$<hash b64>`. The parameters travel
 * with the hash so they can be raised later without invalidating stored passwords.
 * `salt` is injectable for exact tests; production passes nothing (16 random bytes).
 */
export async function hashPassword(
  password: string,
  options: { params?: ScryptParams; salt?: Buffer } = {},
): Promise<string> {
  const params = options.params ?? SCRYPT_PARAMS;
  const salt = options.salt ?? randomBytes(params.saltLength);
  const key = await scryptAsync(password.normalize('NFC'), salt, params.keyLength, {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: memoryFor(params),
  });
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** Upper bounds so a tampered hash string cannot make verification eat the machine. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

/** Parses a stored hash; null if it is not one of ours (or its parameters are out of bounds). */
export function parsePasswordHash(stored: string): ParsedHash | null {
  const match =
    /^\$scrypt\$N=([0-9]{1,8}),r=([0-9]{1,3}),p=([0-9]{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(
      stored,
    );
  if (!match) return null;
  const N = Number(match[1]);
  const r = Number(match[2]);
  const p = Number(match[3]);
  // N must be a power of two above 1 (RFC 7914 2).
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0 || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return null;
  const salt = Buffer.from(match[4]!, 'base64');
  const key = Buffer.from(match[5]!, 'base64');
  if (salt.length < 8 || key.length < 16) return null;
  return { N, r, p, salt, key };
}

/** True when `password` matches `stored`. A malformed stored hash is a server fault, not a mismatch. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed)
    throw new MailroomError('BAD_PASSWORD_HASH', 'stored password hash is not a valid $scrypt$ string');
  const key = await scryptAsync(password.normalize('NFC'), parsed.salt, parsed.key.length, {
    N: parsed.N,
    r: parsed.r,
    p: parsed.p,
    maxmem: memoryFor(parsed),
  });
  // Constant-time: the comparison must not leak how many leading bytes matched.
  return timingSafeEqual(key, parsed.key);
}
