// Builds an RFC 5322 / MIME (RFC 2045-2047, 2231) message from a tree of parts and header fields: JMAP Email/set create's writer. Pure.
import { encodeHeaderText, encodePhrase } from './encoded-words.js';
import { foldHeaderField } from './headers.js';
import { paramsForWire } from './mime-params.js';
import { encodeBase64Lines, encodeQuotedPrintable } from './transfer-encoding.js';

/** One header field as the caller wants it written: `raw` is already RFC 5322 text, else `text` is encoded. */
export type BuildHeader = { name: string; raw: string } | { name: string; text: string };

/** One MIME part to write. A leaf has `content`; a multipart has `subParts` (and no content). */
export interface BuildPart {
  /** "text/plain", "multipart/alternative", ... (lower case). */
  type: string;
  /** Parameters besides charset/boundary/name (RFC 2045 5.1), values as text (RFC 2231 encoded if needed). */
  params?: Record<string, string>;
  /** For text/*: the charset the content is written in (utf-8 unless given). */
  charset?: string;
  disposition?: 'inline' | 'attachment' | null;
  /** The file name (Content-Disposition filename and Content-Type name). */
  name?: string | null;
  /** Content-ID without angle brackets (RFC 2392). */
  cid?: string | null;
  language?: string[] | null;
  location?: string | null;
  /** Extra fields of the part (not Content-Type/Transfer-Encoding/Disposition/ID). */
  headers?: BuildHeader[];
  content?: string | Uint8Array;
  subParts?: BuildPart[];
}

export interface BuildOptions {
  /** A fresh multipart boundary for the n-th multipart (injected: habit 10; tests make them stable). */
  boundary: (n: number) => string;
}

/** RFC 5322 2.1.1: lines at most 998 octets; 7bit also means no NUL and no bare CR/LF (RFC 2045 2.7). */
function fitsSevenBit(text: string): boolean {
  if (/[^\x01-\x7f]/.test(text) || /\r(?!\n)|(?<!\r)\n/.test(text)) return false;
  return text.split('\r\n').every((l) => l.length <= 998);
}

/** Text with any line endings as CRLF (RFC 2046 4.1.1: text line breaks are CRLF on the wire). */
function crlf(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\r\n');
}

/** A header parameter value: a token as it is, else a quoted-string; non-ASCII per RFC 2231 (paramsForWire). */
function param(name: string, value: string): string {
  const [[k, v]] = paramsForWire({ [name]: value }) as [[string, string]];
  if (k.endsWith('*') || /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v)) return `; ${k}=${v}`;
  return `; ${k}="${v.replace(/["\\]/g, '\\$&')}"`;
}

/** A field value of raw text, refusing line breaks (header injection) by turning them into spaces. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

export function headerLine(h: BuildHeader): string {
  const value = 'raw' in h ? oneLine(h.raw) : encodeHeaderText(oneLine(h.text));
  return foldHeaderField(h.name, value);
}

/** An address as a header writes it (RFC 5322 3.4): `"Name" <a@b>` or `a@b`; the name encoded when not ASCII. */
export function formatAddress(a: { name?: string | null; email: string }): string {
  const email = oneLine(a.email).trim();
  const name = a.name ? oneLine(a.name).trim() : '';
  if (name === '') return email;
  const encoded = encodePhrase(name);
  // RFC 5322 3.2.3: a phrase of atoms can stand bare; anything else goes in quotes (an encoded word must not).
  const phrase =
    encoded !== name || /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name)
      ? encoded
      : `"${name.replace(/["\\]/g, '\\$&')}"`;
  return `${phrase} <${email}>`;
}

type Piece = string | Buffer;

function writePart(part: BuildPart, opts: BuildOptions, counter: { n: number }, out: Piece[]): void {
  const [type, subtype] = part.type.split('/') as [string, string];
  let contentType = part.type;
  for (const [k, v] of Object.entries(part.params ?? {})) contentType += param(k, v);
  const body: Piece[] = [];
  let encoding: string | null = null;
  if (part.subParts) {
    const boundary = opts.boundary(counter.n++);
    contentType += param('boundary', boundary);
    for (const [i, sub] of part.subParts.entries()) {
      // RFC 2046 5.1.1: the CRLF before a boundary line belongs to the boundary.
      body.push(`${i === 0 ? '' : '\r\n'}--${boundary}\r\n`);
      writePart(sub, opts, counter, body);
    }
    body.push(`\r\n--${boundary}--\r\n`);
  } else if (type === 'text' && typeof part.content === 'string') {
    const text = crlf(part.content);
    contentType += param('charset', part.charset ?? 'utf-8');
    if (fitsSevenBit(text)) {
      body.push(text);
      encoding = '7bit';
    } else {
      body.push(encodeQuotedPrintable(Buffer.from(text, 'utf8')));
      encoding = 'quoted-printable';
    }
  } else {
    const bytes = Buffer.from(
      typeof part.content === 'string'
        ? Buffer.from(part.content, 'utf8')
        : (part.content ?? new Uint8Array()),
    );
    // message/rfc822 must not be base64 (RFC 2046 5.2.1): 7bit when it is, else 8bit, bytes as they are.
    if (type === 'message' && subtype === 'rfc822') {
      body.push(bytes);
      encoding = fitsSevenBit(bytes.toString('latin1')) ? '7bit' : '8bit';
    } else {
      body.push(encodeBase64Lines(bytes));
      encoding = 'base64';
    }
  }
  if (part.name) contentType += param('name', part.name);
  out.push(foldHeaderField('Content-Type', contentType));
  if (encoding !== null && encoding !== '7bit') out.push(`Content-Transfer-Encoding: ${encoding}\r\n`);
  if (part.disposition) {
    out.push(
      foldHeaderField(
        'Content-Disposition',
        part.disposition + (part.name ? param('filename', part.name) : ''),
      ),
    );
  }
  if (part.cid) out.push(foldHeaderField('Content-ID', `<${oneLine(part.cid).replace(/^<|>$/g, '')}>`));
  if (part.language && part.language.length > 0) {
    out.push(foldHeaderField('Content-Language', part.language.map(oneLine).join(', ')));
  }
  if (part.location) out.push(foldHeaderField('Content-Location', oneLine(part.location)));
  for (const h of part.headers ?? []) out.push(headerLine(h));
  out.push('\r\n', ...body);
}

/**
 * The message: `headers` in order, MIME-Version, then the root part's own fields and its body. A leaf
 * text body ends in CRLF (so the message does too). Callers add Date and Message-ID themselves.
 */
export function buildMessage(headers: readonly BuildHeader[], root: BuildPart, opts: BuildOptions): Buffer {
  const out: Piece[] = headers.map(headerLine);
  if (!headers.some((h) => h.name.toLowerCase() === 'mime-version')) out.push('MIME-Version: 1.0\r\n');
  writePart(root, opts, { n: 0 }, out);
  const message = Buffer.concat(out.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  const ends =
    message.length >= 2 && message[message.length - 2] === 0x0d && message[message.length - 1] === 0x0a;
  return ends ? message : Buffer.concat([message, Buffer.from('\r\n')]);
}
