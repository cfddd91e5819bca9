// IMAP response serialisation (RFC 9051 7): values -> safe wire bytes (atom, quoted, literal, NIL, lists) and response lines.
import type { FetchItem, Section } from './command-types.js';

/** A literal whose bytes the connection streams itself (a message body): the writer emits `{size}` CRLF before it. */
export interface StreamedLiteral {
  kind: 'streamed-literal';
  size: number;
  /** Binary content (FETCH BINARY with NUL): written as literal8 `~{n}` (RFC 3516 4.3). */
  binary: boolean;
  /** Opaque handle for the connection (e.g. blob id + range); the writer never reads it. */
  source: unknown;
}

/**
 * A value in a response. `string` is an IMAP string (quoted or literal, never a bare atom);
 * `{ atom }` is written as is (flags, keywords, NIL-free names); `Buffer` is always a literal.
 */
export type ImapValue =
  | null
  | number
  | string
  | Buffer
  | { atom: string }
  | { raw: string }
  /** Values written with no separator: multipart children, "(...)(...)" (RFC 9051 9 body-type-mpart). */
  | { adjacent: ImapValue[] }
  | StreamedLiteral
  | ImapValue[];

/** A response as chunks: text/bytes to write, and streamed literals to copy in between. */
export type ResponsePart = Buffer | StreamedLiteral;

export interface WriterOptions {
  /** UTF-8 allowed in quoted strings (IMAP4rev2 / UTF8=ACCEPT enabled, RFC 9051 4.3 / RFC 6855 3). */
  utf8: boolean;
}

/** Strings longer than this go as literals: quoted strings are meant to be short (and line-length friendly). */
export const MAX_QUOTED_LENGTH = 1024;

const ATOM_SAFE = /^[^\x00-\x20\x7f-\xff(){%*"\\\]]+$/;
const FLAG_SAFE = /^\\?[^\x00-\x20\x7f-\xff(){%*"\\\]]+$|^\\\*$/;

/** Collects text and bytes; adjacent text is joined into one Buffer. */
class PartBuilder {
  readonly parts: ResponsePart[] = [];
  private text = '';

  add(s: string): void {
    this.text += s;
  }

  bytes(b: Buffer): void {
    this.flush();
    this.parts.push(b);
  }

  stream(s: StreamedLiteral): void {
    this.flush();
    this.parts.push(s);
  }

  flush(): void {
    if (this.text) this.parts.push(Buffer.from(this.text, 'utf8'));
    this.text = '';
  }

  finish(): ResponsePart[] {
    this.flush();
    return this.parts;
  }
}

/**
 * Chooses a string form (RFC 9051 4.3): quoted when short and free of CR, LF, NUL and (unless
 * UTF-8 is allowed) 8-bit; otherwise a literal, which carries anything.
 */
function writeString(b: PartBuilder, s: string, opts: WriterOptions): void {
  const ascii = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(s);
  const quotable = s.length <= MAX_QUOTED_LENGTH && (ascii || (opts.utf8 && !/[\x00\r\n]/.test(s)));
  if (quotable) {
    b.add('"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"');
    return;
  }
  const bytes = Buffer.from(s, 'utf8');
  writeLiteral(b, bytes);
}

function writeLiteral(b: PartBuilder, bytes: Buffer): void {
  // RFC 3516 4.3: NUL can only travel in literal8.
  b.add(`${bytes.includes(0) ? '~' : ''}{${bytes.length}}\r\n`);
  b.bytes(bytes);
}

function writeValue(b: PartBuilder, v: ImapValue, opts: WriterOptions): void {
  if (v === null) b.add('NIL');
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`Not an IMAP number: ${v}`);
    b.add(String(v));
  } else if (typeof v === 'string') writeString(b, v, opts);
  else if (Buffer.isBuffer(v)) writeLiteral(b, v);
  else if (Array.isArray(v)) {
    b.add('(');
    v.forEach((item, i) => {
      if (i > 0) b.add(' ');
      writeValue(b, item, opts);
    });
    b.add(')');
  } else if ('atom' in v) {
    // Our own atoms only (flags, keywords); refuse anything that would change the syntax.
    if (!FLAG_SAFE.test(v.atom)) throw new RangeError(`Not an IMAP atom: ${JSON.stringify(v.atom)}`);
    b.add(v.atom);
  } else if ('adjacent' in v) {
    for (const item of v.adjacent) writeValue(b, item, opts);
  } else if ('raw' in v) {
    if (/[\r\n]/.test(v.raw)) throw new RangeError('Raw response text contains CR/LF');
    b.add(v.raw);
  } else {
    b.add(`${v.binary ? '~' : ''}{${v.size}}\r\n`);
    b.stream(v);
  }
}

/** Serialises one value. */
export function serializeValue(v: ImapValue, opts: WriterOptions): ResponsePart[] {
  const b = new PartBuilder();
  writeValue(b, v, opts);
  return b.finish();
}

/** Serialises values separated by SP (the body of an untagged data response). */
export function serializeValues(values: ImapValue[], opts: WriterOptions): ResponsePart[] {
  const b = new PartBuilder();
  values.forEach((v, i) => {
    if (i > 0) b.add(' ');
    writeValue(b, v, opts);
  });
  return b.finish();
}

/** `* <values...>` CRLF, e.g. untaggedData(['FLAGS', ...]) with atoms for keywords. */
export function untaggedData(values: ImapValue[], opts: WriterOptions): ResponsePart[] {
  const b = new PartBuilder();
  b.add('* ');
  values.forEach((v, i) => {
    if (i > 0) b.add(' ');
    writeValue(b, v, opts);
  });
  b.add('\r\n');
  return b.finish();
}

/** A response code (RFC 9051 7.1): `[NAME]` or `[NAME args]`, args already formatted (e.g. COPYUID's sets). */
export interface ResponseCode {
  name: string;
  args?: string;
}

/** Human text in status responses: one line, no CR/LF, no "[" at the start (it would read as a code). */
function safeText(text: string): string {
  const t = text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return t === '' ? 'done' : t.startsWith('[') ? ' ' + t : t;
}

function codeText(code: ResponseCode | null): string {
  if (!code) return '';
  if (!/^[A-Z0-9.-]+$/i.test(code.name) || /[\r\n\]]/.test(code.args ?? '')) {
    throw new RangeError(`Bad response code ${code.name}`);
  }
  return `[${code.name}${code.args !== undefined ? ' ' + code.args : ''}] `;
}

export type StatusKind = 'OK' | 'NO' | 'BAD';

/** `tag OK|NO|BAD [CODE] text` CRLF (RFC 9051 7.1). */
export function taggedStatus(
  tag: string,
  status: StatusKind,
  code: ResponseCode | null,
  text: string,
): string {
  return `${tag} ${status} ${codeText(code)}${safeText(text)}\r\n`;
}

/** `* OK|NO|BAD|BYE|PREAUTH [CODE] text` CRLF (RFC 9051 7.1). */
export function untaggedStatus(
  status: StatusKind | 'BYE' | 'PREAUTH',
  code: ResponseCode | null,
  text: string,
): string {
  return `* ${status} ${codeText(code)}${safeText(text)}\r\n`;
}

/** `+ text` CRLF (RFC 9051 7.5): literal go-ahead, IDLE, and (base64 text) SASL challenges. */
export function continuation(text: string): string {
  return `+ ${safeText(text)}\r\n`;
}

/** Formats a section back as it appears in a FETCH response name (RFC 9051 7.5.2 "section"). */
export function formatSection(section: Section): string {
  const parts = section.part.map(String);
  const t = section.text;
  if (t) {
    if (t.kind === 'HEADER.FIELDS') {
      const names = t.fields.map((f) =>
        ATOM_SAFE.test(f) ? f : `"${f.replace(/[\\"]/g, (c) => '\\' + c)}"`,
      );
      parts.push(`HEADER.FIELDS${t.not ? '.NOT' : ''} (${names.join(' ')})`);
    } else {
      parts.push(t.kind);
    }
  }
  return `[${parts.join('.')}]`;
}

/**
 * The name a FETCH response uses for a requested item (RFC 9051 7.5.2): .PEEK is dropped, and
 * a partial shows only its origin octet, `BODY[TEXT]<0>`.
 */
export function fetchResponseName(item: FetchItem): string {
  switch (item.type) {
    case 'BODY[]':
      return `BODY${formatSection(item.section)}${item.partial ? `<${item.partial.offset}>` : ''}`;
    case 'BINARY':
      return `BINARY[${item.part.join('.')}]${item.partial ? `<${item.partial.offset}>` : ''}`;
    case 'BINARY.SIZE':
      return `BINARY.SIZE[${item.part.join('.')}]`;
    default:
      return item.type;
  }
}

/** `* seq FETCH (NAME value ...)` CRLF (RFC 9051 7.5.2); names come from fetchResponseName. */
export function fetchResponse(
  seq: number,
  items: Array<[string, ImapValue]>,
  opts: WriterOptions,
): ResponsePart[] {
  const b = new PartBuilder();
  b.add(`* ${seq} FETCH (`);
  items.forEach(([name, value], i) => {
    if (/[\r\n]/.test(name)) throw new RangeError('Bad FETCH item name');
    b.add(`${i > 0 ? ' ' : ''}${name} `);
    writeValue(b, value, opts);
  });
  b.add(')\r\n');
  return b.finish();
}

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * INTERNALDATE's date-time (RFC 9051 9): "dd-Mon-yyyy hh:mm:ss +zzzz", day space-padded.
 * `offsetMinutes` is the zone to show (east positive); the instant is `ms`.
 */
export function formatDateTime(ms: number, offsetMinutes = 0): string {
  const d = new Date(ms + offsetMinutes * 60_000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const off = Math.abs(offsetMinutes);
  return (
    `${String(d.getUTCDate()).padStart(2, ' ')}-${MONTH_NAMES[d.getUTCMonth()]}-${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${sign}${p2(Math.floor(off / 60))}${p2(off % 60)}`
  );
}

/** Concatenates parts that are all Buffers (tests, and small responses without streamed literals). */
export function partsToBuffer(parts: ResponsePart[]): Buffer {
  return Buffer.concat(
    parts.map((p) => {
      if (!Buffer.isBuffer(p)) throw new TypeError('Streamed literal in partsToBuffer');
      return p;
    }),
  );
}
