// Pure parsing of SMTP paths and mailboxes (RFC 5321 4.1.2, 4.5.3.1; RFC 6531 3.3 for UTF-8), shared by server and client.
import { isIPv4, isIPv6 } from 'node:net';

/** A parsed mailbox: `localPart` is in its canonical form (quoted only when it must be). */
export interface Mailbox {
  localPart: string;
  /** Lower-cased domain, or an address literal such as `[192.0.2.1]` / `[IPv6:2001:db8::1]`. */
  domain: string;
  /** `localPart@domain` as it should be stored and routed. */
  address: string;
  /** True when the address holds non-ASCII characters (needs SMTPUTF8, RFC 6531). */
  utf8: boolean;
}

export type PathResult =
  | { ok: true; mailbox: Mailbox | null; end: number } // mailbox null: the null reverse-path <>
  | { ok: false; reason: 'syntax' | 'too-long' | 'utf8' };

// RFC 5321 4.5.3.1: size limits in octets.
export const MAX_LOCAL_PART = 64;
export const MAX_DOMAIN = 255;
export const MAX_PATH = 256;

const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]$/;

function isAtext(ch: string, utf8: boolean): boolean {
  return ATEXT.test(ch) || (utf8 && ch.charCodeAt(0) >= 0x80);
}

/** Let-dig [Ldh-str] sub-domains (RFC 5321 4.1.2), plus U-labels when UTF-8 is allowed (RFC 6531 3.3). */
export function isValidDomain(domain: string, utf8 = false): boolean {
  if (domain.length === 0 || Buffer.byteLength(domain) > MAX_DOMAIN) return false;
  const labelRe = utf8
    ? /^[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}-]*[\p{L}\p{N}\p{M}])?$/u
    : /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
  return domain
    .split('.')
    .every((label) => label.length > 0 && Buffer.byteLength(label) <= 63 && labelRe.test(label));
}

/** RFC 5321 4.1.3 address literals: IPv4, `IPv6:` and General-address-literal (`tag:dcontent`). */
export function isValidAddressLiteral(literal: string): boolean {
  if (!literal.startsWith('[') || !literal.endsWith(']')) return false;
  const inner = literal.slice(1, -1);
  if (isIPv4(inner)) return true;
  if (/^IPv6:/i.test(inner)) return isIPv6(inner.slice(5));
  // General-address-literal = Standardized-tag ":" 1*dcontent; dcontent = %d33-90 / %d94-126
  return /^[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+$/.test(inner) && !/^IPv6:/i.test(inner);
}

/** Dot-string = Atom *("." Atom) (RFC 5321 4.1.2). */
function isDotString(s: string, utf8: boolean): boolean {
  if (s.length === 0) return false;
  return s.split('.').every((atom) => atom.length > 0 && [...atom].every((ch) => isAtext(ch, utf8)));
}

/** Quotes a local part only when it is not a Dot-string, escaping `"` and `\` (RFC 5321 4.1.2 Quoted-string). */
export function canonicalLocalPart(raw: string, utf8: boolean): string {
  if (isDotString(raw, utf8)) return raw;
  return '"' + raw.replace(/(["\\])/g, '\\$1') + '"';
}

/**
 * Parses `<...>` starting at `start` in `text`: source routes (`@a,@b:`) are accepted and ignored (RFC 5321
 * 4.1.1.3, C); `<>` is returned as mailbox null when `allowNull`. `utf8` allows non-ASCII (RFC 6531); without
 * it a non-ASCII address fails with reason 'utf8' so the caller can answer 553 5.6.7.
 */
export function parsePath(
  text: string,
  start: number,
  options: { allowNull: boolean; utf8: boolean },
): PathResult {
  if (text[start] !== '<') return { ok: false, reason: 'syntax' };
  let i = start + 1;
  if (text[i] === '>') {
    return options.allowNull ? { ok: true, mailbox: null, end: i + 1 } : { ok: false, reason: 'syntax' };
  }
  // A-d-l = At-domain *( "," At-domain ) ":"  - parsed for syntax, then thrown away.
  if (text[i] === '@') {
    const colon = text.indexOf(':', i);
    if (colon < 0) return { ok: false, reason: 'syntax' };
    const adl = text.slice(i, colon).split(',');
    const fine = adl.every((d) => d.startsWith('@') && isValidDomain(d.slice(1), true));
    if (!fine) return { ok: false, reason: 'syntax' };
    i = colon + 1;
  }
  // Local-part = Dot-string / Quoted-string
  let rawLocal: string;
  let quoted = false;
  if (text[i] === '"') {
    quoted = true;
    i++;
    let value = '';
    for (;;) {
      const ch = text[i];
      if (ch === undefined) return { ok: false, reason: 'syntax' };
      if (ch === '"') {
        i++;
        break;
      }
      if (ch === '\\') {
        // quoted-pairSMTP = %d92 %d32-126
        const next = text[i + 1];
        if (next === undefined || next.charCodeAt(0) < 32 || next.charCodeAt(0) > 126) {
          return { ok: false, reason: 'syntax' };
        }
        value += next;
        i += 2;
        continue;
      }
      const code = ch.charCodeAt(0);
      // qtextSMTP = %d32-33 / %d35-91 / %d93-126, plus UTF8-non-ascii (RFC 6531)
      if (code < 32 || code === 127) return { ok: false, reason: 'syntax' };
      value += ch;
      i++;
    }
    rawLocal = value;
  } else {
    const at = text.indexOf('@', i);
    const close = text.indexOf('>', i);
    if (at < 0 || (close >= 0 && close < at)) {
      // RFC 5321 4.1.1.3: "RCPT TO:<Postmaster>" without a domain must be accepted.
      if (close >= 0 && text.slice(i, close).toLowerCase() === 'postmaster') {
        const mailbox: Mailbox = { localPart: 'postmaster', domain: '', address: 'postmaster', utf8: false };
        return options.allowNull ? { ok: false, reason: 'syntax' } : { ok: true, mailbox, end: close + 1 };
      }
      return { ok: false, reason: 'syntax' };
    }
    rawLocal = text.slice(i, at);
    if (!isDotString(rawLocal, true)) return { ok: false, reason: 'syntax' };
    i = at;
  }
  if (text[i] !== '@') return { ok: false, reason: 'syntax' };
  i++;
  const close = text.indexOf('>', i);
  if (close < 0) return { ok: false, reason: 'syntax' };
  const rawDomain = text.slice(i, close);
  let domain: string;
  if (rawDomain.startsWith('[')) {
    if (!isValidAddressLiteral(rawDomain)) return { ok: false, reason: 'syntax' };
    domain = rawDomain;
  } else {
    if (!isValidDomain(rawDomain, true)) return { ok: false, reason: 'syntax' };
    domain = rawDomain.toLowerCase();
  }
  const utf8 = /[^\x00-\x7f]/.test(rawLocal) || /[^\x00-\x7f]/.test(domain);
  if (utf8 && !options.utf8) return { ok: false, reason: 'utf8' };
  if (quoted && rawLocal.length === 0) {
    // "" is a legal Quoted-string but not a usable mailbox.
    return { ok: false, reason: 'syntax' };
  }
  const localPart = canonicalLocalPart(rawLocal, true);
  if (Buffer.byteLength(localPart) > MAX_LOCAL_PART || Buffer.byteLength(domain) > MAX_DOMAIN) {
    return { ok: false, reason: 'too-long' };
  }
  // Path length counts the angle brackets (RFC 5321 4.5.3.1.3).
  if (Buffer.byteLength(text.slice(start, close + 1)) > MAX_PATH) return { ok: false, reason: 'too-long' };
  return {
    ok: true,
    mailbox: { localPart, domain, address: `${localPart}@${domain}`, utf8 },
    end: close + 1,
  };
}
