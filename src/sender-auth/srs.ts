// The Sender Rewriting Scheme (SRS0/SRS1 as libsrs2 and postsrsd write them): pure forward rewriting and reversal.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SRS_HASH_LENGTH, SRS_MAX_AGE_DAYS } from '../config/limits.js';

/*
 * Why: a forwarder that keeps the original envelope sender makes the next hop check that sender's SPF
 * (RFC 7208 1.2.3) against the forwarder's IP, and fail. SRS (Shevek's "Sender Rewriting Scheme",
 * implemented by libsrs2 and Postfix's postsrsd) rewrites the sender into an address of the forwarder's
 * own domain that still encodes the original, so bounces can find their way back:
 *
 *   SRS0=HHHH=TT=orig-domain=orig-local@forwarder        first forwarder
 *   SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@second-forwarder
 *
 * HHHH is an HMAC of the rest under the forwarder's secret (so nobody else can make an address that
 * reverses to a victim), TT the day of rewriting (so a harvested address expires). An SRS1 keeps only
 * the first forwarder's opaque part and its own hash: a bounce goes back to the first forwarder, which
 * alone can check its hash and timestamp. Differences from libsrs2, deliberate because only we verify our
 * own addresses: the HMAC is SHA-256 over the parts joined by NUL (libsrs2 concatenates them, so
 * domain "a.b" + local "cd" and domain "a.bc" + local "d" share a hash) and encoded in base32, which
 * survives case folding (libsrs2 compares its base64 without case, losing entropy).
 */

/** RFC 4648 base32 alphabet; libsrs2 writes its timestamps with it too. */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Timestamps are days modulo 1024: two base32 characters (libsrs2 SRS_TIME_SLOTS). */
const TIME_SLOTS = 1024;
const DAY_MS = 86_400_000;

/** The separators libsrs2 accepts right after "SRS0"/"SRS1" (some MTAs rewrite '=' to '+' or '-'). */
const SRS0_RE = /^SRS0[=+-]([^=]+)=([^=]+)=([^=]+)=(.+)$/i;
const SRS1_RE = /^SRS1[=+-]([^=]+)=([^=]+)=(.+)$/i;

export interface SrsContext {
  /** The forwarder's secret (32 random bytes, kept in the store, never logged). */
  key: Buffer;
  now: Date;
  /** Reversal refuses older addresses; default SRS_MAX_AGE_DAYS. */
  maxAgeDays?: number;
}

export type SrsReversal =
  /** The local part is not an SRS address: route it like any other. */
  | { kind: 'not-srs' }
  /** Verified: the address the bounce goes to (the original sender, or for SRS1 the first forwarder's SRS0). */
  | { kind: 'ok'; address: string }
  /** Looks like SRS but is not ours to reverse: a forged or damaged hash, an expired timestamp, bad syntax. */
  | { kind: 'refused'; reason: 'hash' | 'expired' | 'malformed' };

/** True if a local part is an SRS address (SRS0 or SRS1), by its prefix. */
export function isSrsLocalPart(local: string): boolean {
  return /^SRS[01][=+-]/i.test(local);
}

/**
 * The envelope sender to use when forwarding mail from `sender` through `forwarderDomain` (ours).
 * The null sender stays null (RFC 5321 4.5.5: bounces are never answered). A sender that already is an
 * SRS address becomes SRS1 (a forwarding chain); anything else SRS0. The caller decides whether to
 * rewrite at all (a sender in one of our domains passes SPF already).
 */
export function srsForward(sender: string, forwarderDomain: string, ctx: SrsContext): string {
  if (sender === '') return '';
  const at = sender.lastIndexOf('@');
  if (at <= 0 || at === sender.length - 1) return sender; // not an address we can encode: left as it is
  const local = sender.slice(0, at);
  const domain = sender.slice(at + 1);
  const host = forwarderDomain.toLowerCase();

  const srs1 = SRS1_RE.exec(local);
  if (srs1) {
    // Already SRS1: keep the first forwarder and its opaque part, re-hash under our key (libsrs2).
    const [, , first, rest] = srs1 as unknown as [string, string, string, string];
    return `SRS1=${hash(ctx.key, [first, rest])}=${first}=${rest}@${host}`;
  }
  if (SRS0_RE.test(local)) {
    // SRS0 of another forwarder: we point back at it; its opaque part keeps its separator ("=HHHH=TT=...").
    const rest = local.slice(4);
    return `SRS1=${hash(ctx.key, [domain, rest])}=${domain}=${rest}@${host}`;
  }
  const tt = timestamp(ctx.now);
  return `SRS0=${hash(ctx.key, [tt, domain, local])}=${tt}=${domain}=${local}@${host}`;
}

/**
 * Reverses the local part of an address in one of our domains. SRS0 gives the original sender once
 * the hash verifies and the timestamp is at most maxAgeDays old; SRS1 gives the first forwarder's SRS0
 * address once our hash verifies (that forwarder checks its own timestamp).
 */
export function srsReverse(local: string, ctx: SrsContext): SrsReversal {
  if (!isSrsLocalPart(local)) return { kind: 'not-srs' };
  const srs0 = SRS0_RE.exec(local);
  if (/^SRS0/i.test(local)) {
    if (!srs0) return { kind: 'refused', reason: 'malformed' };
    const [, given, tt, domain, original] = srs0 as unknown as [string, string, string, string, string];
    if (!hashMatches(given, hash(ctx.key, [tt, domain, original])))
      return { kind: 'refused', reason: 'hash' };
    const age = ageInDays(tt, ctx.now);
    if (age === null) return { kind: 'refused', reason: 'malformed' };
    if (age > (ctx.maxAgeDays ?? SRS_MAX_AGE_DAYS)) return { kind: 'refused', reason: 'expired' };
    return { kind: 'ok', address: `${original}@${domain}` };
  }
  const srs1 = SRS1_RE.exec(local);
  if (!srs1) return { kind: 'refused', reason: 'malformed' };
  const [, given, first, rest] = srs1 as unknown as [string, string, string, string];
  if (!/^[=+-]/.test(rest)) return { kind: 'refused', reason: 'malformed' };
  if (!hashMatches(given, hash(ctx.key, [first, rest]))) return { kind: 'refused', reason: 'hash' };
  return { kind: 'ok', address: `SRS0${rest}@${first}` };
}

/**
 * HMAC-SHA256 of the parts, lower-cased (MTAs on the way may change the case of a local part, and
 * domains have none: the spec's "case insensitivity"), joined by NUL, base32, truncated.
 */
function hash(key: Buffer, parts: string[]): string {
  const mac = createHmac('sha256', key).update(parts.join('\0').toLowerCase(), 'utf8').digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of mac) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < SRS_HASH_LENGTH) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= SRS_HASH_LENGTH) break;
    value &= (1 << bits) - 1;
  }
  return out;
}

/** Compared without regard to case and in constant time (the hash is the only secret-derived part). */
function hashMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given.toUpperCase());
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function dayOf(now: Date): number {
  return Math.floor(now.getTime() / DAY_MS) % TIME_SLOTS;
}

function timestamp(now: Date): string {
  const day = dayOf(now);
  return BASE32[day >> 5]! + BASE32[day & 31]!;
}

/** Days since the timestamp was written, modulo 1024 (libsrs2 srs_timestamp_check); null if not base32. */
function ageInDays(tt: string, now: Date): number | null {
  if (tt.length !== 2) return null;
  const hi = BASE32.indexOf(tt[0]!.toUpperCase());
  const lo = BASE32.indexOf(tt[1]!.toUpperCase());
  if (hi < 0 || lo < 0) return null;
  const then = hi * 32 + lo;
  return (dayOf(now) - then + TIME_SLOTS) % TIME_SLOTS;
}
