// API tokens: making one (256 random bits, shown once), the hash the store keeps, and the Bearer header (RFC 6750 2.1).
import { createHash, randomBytes } from 'node:crypto';

/** Every token starts with this, so a leaked one is recognisable (secret scanners) and never taken for a password. */
export const TOKEN_PREFIX = 'mrt_';

/** 32 random bytes, base64url: 43 characters after the prefix. */
const TOKEN_PATTERN = /^mrt_[A-Za-z0-9_-]{43}$/;

/** A new token and the hash to store. `random` is injectable (DESIGN habit 10). */
export function newApiToken(random: (bytes: number) => Buffer = randomBytes): {
  token: string;
  hash: string;
} {
  const token = TOKEN_PREFIX + random(32).toString('base64url');
  return { token, hash: hashApiToken(token) };
}

/**
 * What the store keeps: SHA-256 of the token, hex. A fast hash is enough: the token is 256 random bits,
 * so unlike a password there is nothing a slow hash would protect against guessing.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when `token` has the shape of one of ours (checked before any lookup; anything else fails at once). */
export function isApiTokenShape(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/**
 * `Authorization: Bearer <b64token>` (RFC 6750 2.1: the scheme is case-insensitive, one or more spaces,
 * token68 characters) -> the token, or null for anything else (another scheme, empty, too long).
 */
export function parseBearerAuth(header: string | undefined): string | null {
  if (header === undefined || header.length > 1024) return null;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return m ? m[1]! : null;
}
