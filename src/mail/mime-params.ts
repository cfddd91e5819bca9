// MIME header field values with parameters: Content-Type (RFC 2045 section 5), Content-Disposition (RFC 2183),
// with RFC 2231 continuations, charsets and languages, and the garbage real mail puts there.
import { decodeCharset, decodeEncodedWords } from './encoded-words.js';

export interface ContentType {
  /** Lower-cased media type, e.g. 'text'. */
  type: string;
  /** Lower-cased subtype, e.g. 'plain'. */
  subtype: string;
  /** Parameters by lower-cased name, values decoded (RFC 2231 joined and charset-decoded; encoded words decoded). */
  params: Record<string, string>;
}

export interface Disposition {
  /** Lower-cased disposition type, e.g. 'attachment'. */
  value: string;
  params: Record<string, string>;
}

/** RFC 2045 5.2: the default when Content-Type is absent or cannot be parsed. */
export function defaultContentType(): ContentType {
  return { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' } };
}

// RFC 2045 5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;

/** Removes RFC 5322 comments outside quoted strings (nesting included), linear in the input length. */
function stripComments(text: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && (quoted || depth > 0)) {
      if (depth === 0) out += c + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (quoted) {
      out += c;
      if (c === '"') quoted = false;
    } else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) {
      if (c === '"') quoted = true;
      out += c;
    }
  }
  return out;
}

interface RawParam {
  name: string;
  value: string;
}

/** Splits "; a=b; c="d;e"" into raw name/value pairs; anything unparsable up to the next ';' is skipped. */
function splitParams(text: string): RawParam[] {
  const out: RawParam[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    // Find the start of a name.
    while (i < n && (text[i] === ';' || text[i] === ' ' || text[i] === '\t')) i++;
    const eq = text.indexOf('=', i);
    const semi = text.indexOf(';', i);
    if (eq < 0 || (semi >= 0 && semi < eq)) {
      // "; garbage ;" - no '=' before the next ';': skip it.
      if (semi < 0) break;
      i = semi + 1;
      continue;
    }
    const name = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    let value = '';
    if (text[i] === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) i++; // quoted-pair (RFC 5322 3.2.1)
        value += text[i];
        i++;
      }
      i++; // closing quote (missing at end of input is tolerated)
      // Skip trailing junk after the quoted string up to the next ';'.
      const next = text.indexOf(';', i);
      i = next < 0 ? n : next;
    } else {
      // Unquoted: a token per RFC 2045, but real mail has spaces in unquoted file names, so take up to ';'.
      const next = text.indexOf(';', i);
      const end = next < 0 ? n : next;
      value = text.slice(i, end).trim();
      i = end;
    }
    if (name.length > 0 && TOKEN.test(name)) out.push({ name, value });
  }
  return out;
}

function percentDecode(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else bytes.push(...Buffer.from(text[i] as string, 'utf8'));
  }
  return Uint8Array.from(bytes);
}

interface Continuation {
  sections: Map<number, { value: string; extended: boolean }>;
}

/** RFC 2231 section 4: a charset'language' prefix on the first extended section. */
function splitCharset(value: string): { charset: string; rest: string } {
  const m = /^([^']*)'[^']*'(.*)$/s.exec(value);
  return m ? { charset: m[1] as string, rest: m[2] as string } : { charset: '', rest: value };
}

function decodeExtended(bytes: Uint8Array, charset: string): string {
  return (
    decodeCharset(bytes, charset || 'us-ascii') ?? Buffer.from(bytes).toString('latin1') // unknown charset: keep the bytes visible
  );
}

/**
 * Parses the parameter list that follows a MIME value (RFC 2045 5.1), joining RFC 2231 continuations
 * (name*0, name*1*...) and decoding charset'lang'%XX values. A plain value with encoded words (which RFC 2047
 * 5 forbids, and which many mailers write into filename="...") is decoded too. Where both a plain and an
 * RFC 2231 form exist, the RFC 2231 one wins (RFC 2231 is the newer, more exact form).
 */
export function parseParams(text: string): Record<string, string> {
  const plain = new Map<string, string>();
  const continued = new Map<string, Continuation>();
  for (const { name, value } of splitParams(stripComments(text))) {
    const m = /^(.+?)\*(?:(\d{1,3})(\*)?)?$/.exec(name);
    if (!m) {
      if (!plain.has(name)) plain.set(name, value);
      continue;
    }
    const base = m[1] as string;
    const section = m[2] === undefined ? 0 : parseInt(m[2], 10);
    const extended = m[2] === undefined ? true : m[3] === '*';
    let entry = continued.get(base);
    if (!entry) {
      entry = { sections: new Map() };
      continued.set(base, entry);
    }
    if (!entry.sections.has(section)) entry.sections.set(section, { value, extended });
  }
  const out: Record<string, string> = {};
  const put = (k: string, v: string): void => {
    if (k !== '__proto__' && !Object.prototype.hasOwnProperty.call(out, k)) out[k] = v;
  };
  for (const [base, entry] of continued) {
    const first = entry.sections.get(0);
    if (!first) continue;
    const { charset, rest } = first.extended ? splitCharset(first.value) : { charset: '', rest: first.value };
    const chunks: Uint8Array[] = [];
    // RFC 2231 3: sections are numbered from 0 without gaps; stop at the first gap.
    for (let k = 0; entry.sections.has(k); k++) {
      const s = entry.sections.get(k) as { value: string; extended: boolean };
      const v = k === 0 ? rest : s.value;
      chunks.push(s.extended ? percentDecode(v) : Buffer.from(v, 'utf8'));
    }
    const bytes = Buffer.concat(chunks);
    put(base, charset ? decodeExtended(bytes, charset) : bytes.toString('utf8'));
  }
  for (const [name, value] of plain) put(name, value.includes('=?') ? decodeEncodedWords(value) : value);
  return out;
}

function splitMain(value: string): { main: string; rest: string } {
  const clean = stripComments(value);
  const semi = clean.indexOf(';');
  return semi < 0
    ? { main: clean.trim(), rest: '' }
    : { main: clean.slice(0, semi).trim(), rest: clean.slice(semi) };
}

/** Parses a Content-Type value (RFC 2045 5.1); null when the type/subtype is not valid (caller uses the default). */
export function parseContentType(value: string): ContentType | null {
  const { main, rest } = splitMain(value);
  const m = /^([^\s/]+)\s*\/\s*([^\s/]+)$/.exec(main);
  if (!m || !TOKEN.test(m[1] as string) || !TOKEN.test(m[2] as string)) return null;
  return {
    type: (m[1] as string).toLowerCase(),
    subtype: (m[2] as string).toLowerCase(),
    params: parseParams(rest),
  };
}

/** Parses a Content-Disposition value (RFC 2183 section 2); null when the disposition type is not a token. */
export function parseDisposition(value: string): Disposition | null {
  const { main, rest } = splitMain(value);
  if (!TOKEN.test(main)) return null;
  return { value: main.toLowerCase(), params: parseParams(rest) };
}

/**
 * Parameters as an IMAP body-fld-param list (RFC 9051 7.5.2): ASCII values as they are; others re-encoded per
 * RFC 2231 (name*=utf-8''%XX), since an IMAP4rev1 string cannot carry 8-bit text.
 */
export function paramsForWire(params: Record<string, string>): [string, string][] {
  return Object.entries(params).map(([k, v]): [string, string] => {
    if (!/[^\x20-\x7e]/.test(v)) return [k, v];
    return [
      k + '*',
      "utf-8''" +
        encodeURIComponent(v).replace(/['()*!]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
    ];
  });
}
