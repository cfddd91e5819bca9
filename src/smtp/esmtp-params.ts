// Pure parsing of MAIL/RCPT ESMTP parameters (RFC 5321 4.1.2) and their typed meanings: SIZE, BODY, SMTPUTF8, AUTH, DSN.
import { ProtocolError } from '../errors.js';

export interface MailParams {
  size?: number; // RFC 1870
  body?: '7BIT' | '8BITMIME' | 'BINARYMIME'; // RFC 6152, RFC 3030
  smtpUtf8?: boolean; // RFC 6531
  ret?: 'FULL' | 'HDRS'; // RFC 3461 4.3
  envid?: string; // RFC 3461 4.4, xtext-decoded
  auth?: string; // RFC 4954 5, xtext-decoded mailbox or '<>'
  requireTls?: boolean; // RFC 8689 3
}

export interface RcptParams {
  notify?: string[]; // RFC 3461 4.1: ['NEVER'] or a subset of SUCCESS, FAILURE, DELAY
  orcpt?: string; // RFC 3461 4.2: 'addr-type;decoded-address'
}

/** esmtp-keyword ["=" esmtp-value] pairs as given, keyword upper-cased. */
export interface RawParam {
  keyword: string;
  value: string | undefined;
}

const syntax = (text: string) => new ProtocolError(501, '5.5.4', text);
const unknown = (keyword: string) =>
  new ProtocolError(555, '5.5.4', `Unsupported parameter ${keyword.replace(/[^A-Z0-9-]/g, '?')}`);

/**
 * Splits `KEY=VALUE KEY2` (RFC 5321 4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"),
 * esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 under RFC 6531). Duplicate keywords are refused.
 */
export function splitParams(text: string): RawParam[] | ProtocolError {
  const out: RawParam[] = [];
  const seen = new Set<string>();
  for (const token of text.split(' ')) {
    if (token === '') continue; // tolerate repeated spaces between parameters
    const eq = token.indexOf('=');
    const keyword = (eq < 0 ? token : token.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? undefined : token.slice(eq + 1);
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(keyword)) return syntax('Bad parameter keyword');
    if (value !== undefined && !/^[\x21-\x3c\x3e-\x7e\u0080-\u{10ffff}]+$/u.test(value)) {
      return syntax(`Bad value for ${keyword}`);
    }
    if (seen.has(keyword)) return syntax(`Duplicate parameter ${keyword}`);
    seen.add(keyword);
    out.push({ keyword, value });
  }
  return out;
}

/**
 * RFC 3461 4: xtext = *( xchar / hexchar ), hexchar = "+" 2HEXDIG (upper-case). Null when malformed.
 * RFC 6533 3 (utf-8-addr-xtext) lets UTF-8 characters through unencoded; they are kept as they are.
 */
export function decodeXtext(text: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i) as number;
    if (code === 0x2b) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (code >= 33 && code <= 126 && code !== 0x3d) {
      bytes.push(code);
    } else if (code > 127) {
      const char = String.fromCodePoint(code);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length - 1;
    } else {
      return null;
    }
  }
  // Encoded octets may spell UTF-8; invalid sequences become U+FFFD rather than failing the command.
  return Buffer.from(bytes).toString('utf8');
}

/** The inverse of decodeXtext, for the SMTP client and DSNs. */
export function encodeXtext(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 33 && byte <= 126 && byte !== 0x2b && byte !== 0x3d
        ? String.fromCharCode(byte)
        : '+' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function need(value: string | undefined, keyword: string): string | ProtocolError {
  return value === undefined || value === '' ? syntax(`${keyword} needs a value`) : value;
}

export function parseMailParams(text: string): MailParams | ProtocolError {
  const raw = splitParams(text);
  if (raw instanceof ProtocolError) return raw;
  const params: MailParams = {};
  for (const { keyword, value } of raw) {
    switch (keyword) {
      case 'SIZE': {
        // RFC 1870: size-value = 1*20DIGIT. Beyond 2^53 it is certainly over any limit; keep it as Infinity.
        const v = need(value, keyword);
        if (v instanceof ProtocolError) return v;
        if (!/^[0-9]{1,20}$/.test(v)) return syntax('Bad SIZE value');
        const n = Number(v);
        params.size = Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY;
        break;
      }
      case 'BODY': {
        const v = need(value, keyword);
        if (v instanceof ProtocolError) return v;
        const upper = v.toUpperCase();
        if (upper !== '7BIT' && upper !== '8BITMIME' && upper !== 'BINARYMIME') {
          return new ProtocolError(501, '5.5.4', 'Unsupported BODY type');
        }
        params.body = upper;
        break;
      }
      case 'REQUIRETLS':
        // RFC 8689 3: a parameter without a value.
        if (value !== undefined) return syntax('REQUIRETLS takes no value');
        params.requireTls = true;
        break;
      case 'SMTPUTF8':
        if (value !== undefined) return syntax('SMTPUTF8 takes no value');
        params.smtpUtf8 = true;
        break;
      case 'RET': {
        const v = need(value, keyword);
        if (v instanceof ProtocolError) return v;
        const upper = v.toUpperCase();
        if (upper !== 'FULL' && upper !== 'HDRS') return syntax('RET must be FULL or HDRS');
        params.ret = upper;
        break;
      }
      case 'ENVID': {
        const v = need(value, keyword);
        if (v instanceof ProtocolError) return v;
        const decoded = decodeXtext(v);
        // RFC 3461 4.4: at most 100 characters, printable ASCII once decoded.
        if (decoded === null || decoded.length > 100 || !/^[\x20-\x7e]+$/.test(decoded)) {
          return syntax('Bad ENVID value');
        }
        params.envid = decoded;
        break;
      }
      case 'AUTH': {
        // RFC 4954 5: accepted; the value is informational for us (we do not relay trust from it).
        const v = need(value, keyword);
        if (v instanceof ProtocolError) return v;
        const decoded = v === '<>' ? '<>' : decodeXtext(v);
        if (decoded === null) return syntax('Bad AUTH value');
        params.auth = decoded;
        break;
      }
      default:
        return unknown(keyword);
    }
  }
  return params;
}

export function parseRcptParams(text: string): RcptParams | ProtocolError {
  const raw = splitParams(text);
  if (raw instanceof ProtocolError) return raw;
  const params: RcptParams = {};
  for (const { keyword, value } of raw) {
    switch (keyword) {
      case 'NOTIFY': {
        const v = need(value, keyword);
        if (v instanceof ProtocolError) return v;
        const items = v.toUpperCase().split(',');
        const allowed = new Set(['SUCCESS', 'FAILURE', 'DELAY']);
        const ok =
          (items.length === 1 && items[0] === 'NEVER') ||
          (items.every((x) => allowed.has(x)) && new Set(items).size === items.length);
        if (!ok) return syntax('Bad NOTIFY value');
        params.notify = items;
        break;
      }
      case 'ORCPT': {
        // RFC 3461 4.2: addr-type ";" xtext
        const v = need(value, keyword);
        if (v instanceof ProtocolError) return v;
        const semi = v.indexOf(';');
        if (semi <= 0) return syntax('Bad ORCPT value');
        const type = v.slice(0, semi);
        const decoded = decodeXtext(v.slice(semi + 1));
        if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(type) || decoded === null || decoded === '') {
          return syntax('Bad ORCPT value');
        }
        params.orcpt = `${type};${decoded}`;
        break;
      }
      default:
        return unknown(keyword);
    }
  }
  return params;
}
