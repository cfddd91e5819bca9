// IMAP URLs (RFC 5092) with URLAUTH parts (RFC 4467): pure parser, relative-reference resolution and serializer.
import { decodeModifiedUtf7, encodeModifiedUtf7 } from './mailbox-name.js';
import { parseSection } from './parse-fetch.js';
import { tokenizeLine } from './tokenizer.js';
import { ImapSyntaxError } from './types.js';
import { IMAP_URL_MAX_LENGTH } from '../../config/limits.js';
import type { Section } from './command-types.js';

/**
 * How to use this module (CATENATE, URLFETCH, GENURLAUTH and SMTP BURL all do the same):
 *
 *   const url = parseImapUrl(text);                      // absolute "imap://..." only
 *   const url = parseImapUrl(text, { base });            // also relative forms (RFC 4469 5, RFC 5092 7.1)
 *   if (url.uid === null) ...                            // a message list / server, not a message
 *   url.mailbox   Unicode name (percent-decoded UTF-8; legacy RFC 2192 modified UTF-7 decoded too)
 *   url.section   the decoded section text ("1.2.MIME"), url.sectionSpec its parsed form
 *   url.urlauth   { rump, access, mechanism, token } when the URL carries ;URLAUTH=
 *
 * Every malformed input throws ImapSyntaxError (the IMAP caller answers BAD, or NO [BADURL ...]
 * where the RFC says so); nothing here touches the store, the clock or the network.
 */

/** Longest URL we parse (config/limits.ts says why). */
export const MAX_IMAP_URL_LENGTH = IMAP_URL_MAX_LENGTH;
/** Largest nz-number / number (RFC 9051 9: 32-bit unsigned). */
const MAX_NUMBER = 0xffffffff;

/** URLAUTH access identifier (RFC 4467 3, "access"). */
export type UrlAccess =
  | { kind: 'submit'; user: string }
  | { kind: 'user'; user: string }
  | { kind: 'authuser' }
  | { kind: 'anonymous' };

export interface UrlAuth {
  /**
   * The URL rump (RFC 4467 2.1): the URL exactly as sent, through the access identifier and
   * without ":mechanism:token". The INTERNAL mechanism's HMAC is computed over these bytes.
   */
  rump: string;
  access: UrlAccess;
  /** ";EXPIRE=" date-time (RFC 3339) as a Date, or null. */
  expire: Date | null;
  /** Upper-cased mechanism name ("INTERNAL"), null in a rump (GENURLAUTH input). */
  mechanism: string | null;
  /** Lower-cased hex token (32+ hex digits), null in a rump. */
  token: string | null;
}

export interface ImapUrl {
  /** Decoded user name of iuserinfo, or null. */
  user: string | null;
  /** ";AUTH=" value: "*" or a SASL mechanism (upper-cased), or null. */
  auth: string | null;
  /** Host (lower-cased; IP literals keep their brackets), null only for relative URLs without one. */
  host: string | null;
  port: number | null;
  /** Unicode mailbox name, or null (server URL). */
  mailbox: string | null;
  uidvalidity: number | null;
  /** "?" enc-search, decoded (a message list URL), or null. */
  search: string | null;
  uid: number | null;
  /** Decoded section text as written ("1.2", "HEADER.FIELDS (TO)"), or null for the whole message. */
  section: string | null;
  /** The section parsed like FETCH BODY[section], or null. */
  sectionSpec: Section | null;
  partial: { offset: number; length: number | null } | null;
  urlauth: UrlAuth | null;
}

export interface ParseImapUrlOptions {
  /**
   * Base for relative references (RFC 5092 7.1; RFC 4469 5: CATENATE's base is the selected
   * mailbox). Without it, only absolute "imap://" URLs are accepted.
   */
  base?: ImapUrl;
}

const EMPTY: ImapUrl = {
  user: null,
  auth: null,
  host: null,
  port: null,
  mailbox: null,
  uidvalidity: null,
  search: null,
  uid: null,
  section: null,
  sectionSpec: null,
  partial: null,
  urlauth: null,
};

/** Percent-decodes to bytes, then UTF-8 (fatal). Rejects NUL and CR/LF (RFC 5092 allows neither in names). */
function decodeComponent(s: string, what: string, allowControls = false): string {
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) throw new ImapSyntaxError(`Bad percent-encoding in URL ${what}`);
  if (/[^\x21-\x7e]/.test(s)) throw new ImapSyntaxError(`Unencoded character in URL ${what}`);
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(s.charCodeAt(i));
  }
  let out: string;
  try {
    out = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    throw new ImapSyntaxError(`URL ${what} is not UTF-8`);
  }
  if (out.includes('\0') || (!allowControls && /[\r\n]/.test(out))) {
    throw new ImapSyntaxError(`Control character in URL ${what}`);
  }
  return out;
}

/**
 * RFC 5092 6: the mailbox name is UTF-8 then percent-encoded. RFC 2192 URLs carried modified
 * UTF-7 instead; an all-ASCII name that is valid modified UTF-7 with non-ASCII content is one of
 * those, so it is decoded (an ASCII name like "R&D" is not valid modified UTF-7 and stays).
 */
function decodeMailbox(enc: string): string {
  const name = decodeComponent(enc, 'mailbox');
  if (name.length === 0) throw new ImapSyntaxError('Empty mailbox in URL');
  if (/^[\x20-\x7e]*&[A-Za-z0-9+,]+-/.test(name)) {
    try {
      const legacy = decodeModifiedUtf7(name);
      if (/[^\x00-\x7f]/.test(legacy)) return legacy;
    } catch {
      /* not modified UTF-7: the name is what it says */
    }
  }
  return name;
}

function parseNumber(s: string, what: string, allowZero: boolean): number {
  if (!/^[0-9]{1,10}$/.test(s) || (s.length > 1 && s.startsWith('0'))) {
    throw new ImapSyntaxError(`Invalid ${what} in URL`);
  }
  const n = Number(s);
  if (n > MAX_NUMBER || (!allowZero && n === 0)) throw new ImapSyntaxError(`Invalid ${what} in URL`);
  return n;
}

/** ";NAME=value" (case-insensitive name) at the start of s, or null. */
function param(s: string, name: string): string | null {
  const prefix = `;${name}=`;
  return s.slice(0, prefix.length).toUpperCase() === prefix ? s.slice(prefix.length) : null;
}

/** RFC 3339 date-time (RFC 4467 3: ";EXPIRE="), with an explicit offset or Z. */
const DATE_TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/i;

function parseDateTime(s: string): Date {
  const m = DATE_TIME.exec(s);
  if (!m) throw new ImapSyntaxError('Invalid EXPIRE date-time in URL');
  const [mo, d, h, mi, sec] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    throw new ImapSyntaxError('Invalid EXPIRE date-time in URL');
  }
  const t = Date.parse(s.toUpperCase().replace(/(\.[0-9]{3})[0-9]+/, '$1'));
  if (Number.isNaN(t)) throw new ImapSyntaxError('Invalid EXPIRE date-time in URL');
  return new Date(t);
}

function parseAccess(s: string): UrlAccess {
  const lower = s.toLowerCase();
  if (lower === 'authuser') return { kind: 'authuser' };
  if (lower === 'anonymous') return { kind: 'anonymous' };
  // enc-user = 1*achar (RFC 5092 9): no ";", ":" or "/" unencoded. An unencoded "@" is not an achar
  // either, but clients write "user+fred@example.com" (imaptest, Dovecot accept it): nothing follows
  // the access identifier that it could be confused with, so it is accepted.
  const m = /^(submit|user)\+([A-Za-z0-9\-._~!$'()*+,&=%@]+)$/i.exec(s);
  if (!m) throw new ImapSyntaxError('Invalid URLAUTH access identifier');
  const user = decodeComponent(m[2] as string, 'access user');
  return { kind: (m[1] as string).toLowerCase() as 'submit' | 'user', user };
}

/**
 * The tail after a message part: [";EXPIRE=" date-time] ";URLAUTH=" access [":" mech ":" token]
 * (RFC 5092 "iurlauth", RFC 4467 3), starting at tailStart in the original text.
 */
function parseUrlAuthTail(text: string, tailStart: number): UrlAuth {
  let rest = text.slice(tailStart);
  let expire: Date | null = null;
  const exp = param(rest, 'EXPIRE');
  if (exp !== null) {
    const semi = exp.indexOf(';');
    if (semi < 0) throw new ImapSyntaxError('EXPIRE without URLAUTH in URL');
    expire = parseDateTime(decodeComponent(exp.slice(0, semi), 'expire'));
    rest = exp.slice(semi);
  }
  const ua = param(rest, 'URLAUTH');
  if (ua === null) throw new ImapSyntaxError('Unexpected data after URL');
  const colon = ua.indexOf(':');
  const accessText = colon < 0 ? ua : ua.slice(0, colon);
  const access = parseAccess(accessText);
  const rump = text.slice(0, text.length - (colon < 0 ? 0 : ua.length - colon));
  if (colon < 0) return { rump, access, expire, mechanism: null, token: null };
  const m = /^:([A-Za-z0-9.-]{1,64}):([0-9A-Fa-f]{32,1024})$/.exec(ua.slice(colon));
  if (!m) throw new ImapSyntaxError('Invalid URLAUTH mechanism or token');
  return {
    rump,
    access,
    expire,
    mechanism: (m[1] as string).toUpperCase(),
    token: (m[2] as string).toLowerCase(),
  };
}

/** iserver (RFC 5092 4): [enc-user [";AUTH=" (* / type)] "@"] host [":" port]. */
function parseServer(s: string): Pick<ImapUrl, 'user' | 'auth' | 'host' | 'port'> {
  let user: string | null = null;
  let auth: string | null = null;
  let hostport = s;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    const info = s.slice(0, at);
    hostport = s.slice(at + 1);
    const semi = info.indexOf(';');
    const encUser = semi < 0 ? info : info.slice(0, semi);
    if (semi >= 0) {
      const a = param(info.slice(semi), 'AUTH');
      if (a === null || !/^(\*|[A-Za-z0-9_.~!$'()+,=-]{1,64})$/.test(a)) {
        throw new ImapSyntaxError('Invalid ;AUTH= in URL');
      }
      auth = a.toUpperCase();
    }
    if (encUser.length > 0) user = decodeComponent(encUser, 'user');
    else if (auth === null) throw new ImapSyntaxError('Empty user in URL');
  }
  // A host name (IDNs in their A-label form) or an IP literal: RFC 3986's other reg-name characters
  // and percent-encoding name no host a mail server has, and would not survive formatting.
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::([0-9]{0,5}))?$/.exec(hostport);
  if (!m) throw new ImapSyntaxError('Invalid host in URL');
  const host = (m[1] as string).toLowerCase();
  let port: number | null = null;
  if (m[2] !== undefined && m[2] !== '') {
    port = Number(m[2]);
    if (port > 65535) throw new ImapSyntaxError('Invalid port in URL');
  }
  return { user, auth, host, port };
}

interface PathParts {
  mailbox: string | null;
  uidvalidity: number | null;
  search: string | null;
  uid: number | null;
  section: string | null;
  partial: ImapUrl['partial'];
  /** Offset in the path where the URLAUTH tail starts, or -1. */
  tailAt: number;
  /** Which level the path starts at (for relative references). */
  level: 'mailbox' | 'uid' | 'section' | 'partial' | 'empty';
}

/**
 * Parses the path after "imap://server/" (or a relative path). The mailbox ends at its first
 * ";" or "?" (";" is not a bchar, RFC 5092 9), so "/"s inside it are hierarchy delimiters.
 */
function parsePath(path: string, offset: number): PathParts {
  const out: PathParts = {
    mailbox: null,
    uidvalidity: null,
    search: null,
    uid: null,
    section: null,
    partial: null,
    tailAt: -1,
    level: 'empty',
  };
  if (path === '') return out;
  let i = 0;
  if (!path.startsWith(';')) {
    // imailbox-ref: enc-mailbox [";UIDVALIDITY=" nz-number], then "?" search or "/;UID=".
    const end = path.search(/[;?]/);
    let enc = end < 0 ? path : path.slice(0, end);
    const next = end < 0 ? '' : path.slice(end);
    if (param(next, 'UIDVALIDITY') === null && /^;/.test(next)) {
      // "mailbox/;UID=..": the "/" separates, it is not part of the name.
      if (!enc.endsWith('/')) throw new ImapSyntaxError('Invalid URL path');
      enc = enc.slice(0, -1);
    }
    out.mailbox = decodeMailbox(enc);
    out.level = 'mailbox';
    i = enc.length;
    const uv = param(path.slice(i), 'UIDVALIDITY');
    if (uv !== null) {
      const m = /^[0-9]+/.exec(uv);
      out.uidvalidity = parseNumber(m ? m[0] : '', 'UIDVALIDITY', false);
      i += ';UIDVALIDITY='.length + (m ? m[0].length : 0);
    }
    if (path[i] === '?') {
      out.search = decodeComponent(path.slice(i + 1), 'search', true);
      return out;
    }
    if (i === path.length) return out;
    if (path[i] !== '/' || path[i + 1] !== ';') throw new ImapSyntaxError('Invalid URL path');
    i++;
  }
  // Then ";UID=" / ";SECTION=" / ";PARTIAL=" segments in this order, each after a "/".
  const levels = ['UID', 'SECTION', 'PARTIAL'] as const;
  let li = 0;
  let first = true;
  while (i < path.length) {
    if (!first) {
      if (path[i] !== '/') break;
      i++;
    }
    const rest = path.slice(i);
    while (li < levels.length && param(rest, levels[li] as string) === null) li++;
    if (li >= levels.length) {
      if (first) throw new ImapSyntaxError('Invalid URL path');
      i--; // give the "/" back: not a segment
      break;
    }
    const name = levels[li] as (typeof levels)[number];
    const valueStart = i + name.length + 2;
    // A value runs to the next "/" or ";" (neither is a bchar in these values, RFC 5092 9).
    const m = /^[^/;]*/.exec(path.slice(valueStart)) as RegExpExecArray;
    const value = m[0];
    if (out.level === 'empty')
      out.level = name === 'UID' ? 'uid' : name === 'SECTION' ? 'section' : 'partial';
    if (name === 'UID') out.uid = parseNumber(value, 'UID', false);
    else if (name === 'SECTION') {
      out.section = decodeComponent(value, 'section');
      if (out.section === '') throw new ImapSyntaxError('Empty section in URL');
    } else {
      const pm = /^([0-9]+)(?:\.([0-9]+))?$/.exec(value);
      if (!pm) throw new ImapSyntaxError('Invalid PARTIAL in URL');
      out.partial = {
        offset: parseNumber(pm[1] as string, 'PARTIAL offset', true),
        length: pm[2] === undefined ? null : parseNumber(pm[2], 'PARTIAL length', false),
      };
    }
    i = valueStart + value.length;
    li++;
    first = false;
  }
  if (i < path.length) {
    if (path[i] === ';' && out.uid !== null) out.tailAt = offset + i;
    else throw new ImapSyntaxError('Unexpected data in URL path');
  }
  return out;
}

function sectionSpecOf(section: string | null): Section | null {
  if (section === null) return null;
  // Same syntax as FETCH BODY[<section>] (RFC 5092 9: enc-section = section-text per RFC 3501).
  if (!/^[\x20-\x7e]+$/.test(section)) throw new ImapSyntaxError('Invalid section in URL');
  return parseSection(tokenizeLine(section));
}

/**
 * Parses an absolute IMAP URL, or (with options.base) a relative one resolved against the base
 * (RFC 5092 7.1: a reference replaces the base from the level it starts at down: "//server..."
 * everything, "/mailbox..." the mailbox and below, ";UID=" the message and below, and so on).
 */
export function parseImapUrl(text: string, options: ParseImapUrlOptions = {}): ImapUrl {
  if (text.length === 0) throw new ImapSyntaxError('Empty URL');
  if (text.length > MAX_IMAP_URL_LENGTH) throw new ImapSyntaxError('URL too long');
  if (/[^\x21-\x7e]/.test(text)) throw new ImapSyntaxError('Unencoded character in URL');
  if (/#/.test(text)) throw new ImapSyntaxError('Fragment in IMAP URL');
  const scheme = /^imap:\/\//i.exec(text);
  const base = options.base;
  let url: ImapUrl;
  let pathStart: number;
  let path: PathParts;
  if (scheme || text.startsWith('//')) {
    if (!scheme && !base) throw new ImapSyntaxError('Relative URL without a base');
    const serverStart = scheme ? scheme[0].length : 2;
    const slash = text.indexOf('/', serverStart);
    const q = text.indexOf('?', serverStart);
    if (q >= 0 && (slash < 0 || q < slash)) throw new ImapSyntaxError('Search without a mailbox in URL');
    const serverEnd = slash < 0 ? text.length : slash;
    const server = parseServer(text.slice(serverStart, serverEnd));
    pathStart = slash < 0 ? text.length : slash + 1;
    path = parsePath(text.slice(pathStart), pathStart);
    if (path.level !== 'mailbox' && path.level !== 'empty')
      throw new ImapSyntaxError('Message part without a mailbox in URL');
    url = { ...EMPTY, ...server };
  } else {
    if (!base) throw new ImapSyntaxError('Relative URL without a base');
    const absolute = text.startsWith('/');
    pathStart = absolute ? 1 : 0;
    path = parsePath(text.slice(pathStart), pathStart);
    if (absolute && path.level !== 'mailbox' && path.level !== 'empty') {
      throw new ImapSyntaxError('Message part without a mailbox in URL');
    }
    url = { ...EMPTY, user: base.user, auth: base.auth, host: base.host, port: base.port };
    if (!absolute) {
      // Keep the base's levels above where the reference starts.
      const keep = { mailbox: 0, empty: 0, uid: 1, section: 2, partial: 3 }[path.level];
      if (keep >= 1) {
        if (base.mailbox === null) throw new ImapSyntaxError('Relative URL needs a mailbox in its base');
        url.mailbox = base.mailbox;
        url.uidvalidity = base.uidvalidity;
      }
      if (keep >= 2) {
        if (base.uid === null) throw new ImapSyntaxError('Relative URL needs a message in its base');
        url.uid = base.uid;
      }
      if (keep >= 3) {
        url.section = base.section;
        url.sectionSpec = base.sectionSpec;
      }
    }
  }
  if (path.mailbox !== null) {
    url.mailbox = path.mailbox;
    url.uidvalidity = path.uidvalidity;
  }
  url.search = path.search;
  if (path.uid !== null) url.uid = path.uid;
  if (path.section !== null) {
    url.section = path.section;
    url.sectionSpec = sectionSpecOf(path.section);
  }
  if (path.partial !== null) url.partial = path.partial;
  if (path.tailAt >= 0) url.urlauth = parseUrlAuthTail(text, path.tailAt);
  return url;
}

/** Percent-encodes everything outside RFC 5092's achar set (plus "/" where allowed). */
function encodeComponent(s: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~!$'()*+,&=]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Writes an absolute IMAP URL (RFC 5092 form: UTF-8 mailbox, percent-encoded) without the
 * URLAUTH tail; callers append ";URLAUTH=..." themselves. legacyUtf7 writes the mailbox as
 * modified UTF-7 for RFC 2192-era readers.
 */
export function formatImapUrl(url: ImapUrl, legacyUtf7 = false): string {
  let s = 'imap://';
  if (url.user !== null || url.auth !== null) {
    if (url.user !== null) s += encodeComponent(url.user, false);
    if (url.auth !== null) s += `;AUTH=${url.auth}`;
    s += '@';
  }
  s += url.host ?? '';
  if (url.port !== null) s += `:${url.port}`;
  s += '/';
  if (url.mailbox === null) return s;
  s += encodeComponent(legacyUtf7 ? encodeModifiedUtf7(url.mailbox) : url.mailbox, true);
  if (url.uidvalidity !== null) s += `;UIDVALIDITY=${url.uidvalidity}`;
  if (url.search !== null) return `${s}?${encodeComponent(url.search, false)}`;
  if (url.uid === null) return s;
  s += `/;UID=${url.uid}`;
  if (url.section !== null) s += `/;SECTION=${encodeComponent(url.section, false)}`;
  if (url.partial !== null) {
    s += `/;PARTIAL=${url.partial.offset}${url.partial.length === null ? '' : `.${url.partial.length}`}`;
  }
  return s;
}
