// mailauth's header-block parser (tools.parseHeaders) without its string round trip: the same rows, found with Buffer.indexOf.

/** One header field as mailauth's parseHeaders gives it: lower-cased and as-written names, and the field's bytes. */
export interface ParsedHeader {
  key: string | null;
  casedKey: string | undefined;
  /** The field without its final line break, folding line breaks included. */
  line: Buffer;
}

export interface ParsedHeaders {
  parsed: ParsedHeader[];
  original: Buffer;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

/** What JavaScript's /\s/ matches among the 256 characters of a 'binary' (latin1) string. */
function isJsSpace(byte: number): boolean {
  return (byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0;
}

/**
 * mailauth 4.13's parseHeaders (lib/tools.js) decodes the header block to a 'binary' string, strips the trailing
 * line breaks, splits it into lines with /\r?\n/, joins each line that starts with whitespace (/^\s/) to the one
 * before (never the first), takes the name as the text before the first colon (trimmed; none when the field
 * starts with a colon) and encodes every field back into a Buffer of its own. Per 4 KiB message that is ~10 KiB
 * of strings, arrays and buffers in the verify worker's young generation and ~3 us.
 *
 * When every LF of the block follows a CR (what the verifier's line-break repair leaves, and what SMTP gives),
 * the split is exactly at each CRLF and each joined field is exactly its own bytes, so this finds the same rows
 * with Buffer.indexOf and gives each field as a view of the block (which nothing writes to). Any other block
 * (a bare LF, nothing but line breaks) goes to mailauth's own parser. test/unit/inbound/dkim-headers.test.ts
 * compares the two on random blocks.
 */
export function fastParseHeaders(original: (buf: Buffer) => ParsedHeaders): (buf: Buffer) => ParsedHeaders {
  return (buf) => {
    let end = buf.length;
    while (end > 0 && (buf[end - 1] === LF || buf[end - 1] === CR)) end--;
    if (end === 0) return original(buf);
    // Line starts: 0, then after each CRLF before `end`; a bare LF means mailauth's own split.
    const starts: number[] = [0];
    for (let i = buf.indexOf(LF); i >= 0 && i < end; i = buf.indexOf(LF, i + 1)) {
      if (i === 0 || buf[i - 1] !== CR) return original(buf);
      starts.push(i + 1);
    }
    const parsed: ParsedHeader[] = [];
    let rowStart = 0;
    for (let n = 1; n <= starts.length; n++) {
      const next = n < starts.length ? starts[n]! : -1;
      // A line that starts with whitespace continues the field (an empty line does not: /^\s/ fails on '').
      if (next >= 0 && next < end && isJsSpace(buf[next]!)) continue;
      // The field ends before the CRLF that starts the next one, or at `end`.
      const rowEnd = next >= 0 ? next - 2 : end;
      parsed.push(field(buf, rowStart, rowEnd));
      rowStart = next;
    }
    return { parsed, original: buf };
  };
}

function field(buf: Buffer, start: number, end: number): ParsedHeader {
  const line = buf.subarray(start, end);
  // /^[^:]+/ on the field: the text before its first colon, or all of it; nothing when it starts with one.
  const colon = line.indexOf(COLON);
  if (colon === 0 || line.length === 0) return { key: null, casedKey: undefined, line };
  const casedKey = line.toString('latin1', 0, colon < 0 ? line.length : colon).trim();
  return { key: casedKey.toLowerCase(), casedKey, line };
}

/** nodemailer's addressparser as mailauth's verifier calls it: one string in, address objects out. */
export type AddressParser = (text: string) => unknown[];

/**
 * nodemailer's addressparser with its results kept per input text (FIFO, `maxEntries`). mailauth's verifier
 * parses the From field and MAIL FROM of every message with it (~6 KiB of tokens and strings per message, most
 * of the verifier's remaining garbage); both repeat from message to message of one sender. The parse is a pure
 * function of the text, and the verifier only reads the results (`.address` of each entry), so a kept result
 * is frozen (a change to it would throw, not leak into the next message). Texts over `maxLength` are parsed
 * every time and not kept.
 */
export function memoAddressParser(
  parse: AddressParser,
  maxEntries: number,
  maxLength: number,
): AddressParser {
  const kept = new Map<string, unknown[]>();
  return (text) => {
    if (typeof text !== 'string' || text.length > maxLength) return parse(text);
    const known = kept.get(text);
    if (known) return known;
    const parsed = deepFreeze(parse(text));
    if (kept.size >= maxEntries) kept.delete(kept.keys().next().value!);
    kept.set(text, parsed);
    return parsed;
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** mailauth's tools.formatRelaxedLine: a header field in relaxed canonical form (RFC 6376 3.4.2), plus `suffix`. */
export type RelaxedLineFormatter = (line: Buffer | string | undefined, suffix?: string) => Buffer;

/** String.prototype.toLowerCase of a latin1 character: A-Z and À-Þ (not ×) move up by 32. */
function lowerLatin1(byte: number): number {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0xc0 && byte <= 0xde && byte !== 0xd7) ? byte + 32 : byte;
}

/**
 * mailauth's formatRelaxedLine in one pass over the bytes. mailauth decodes the field to a 'binary' string and
 * runs four regular expressions over it - drop every LF and the CR before one (/\r?\n/g), lower-case and trim the
 * name before the first colon and drop the whitespace after it, turn every run of /\s/ into one space, trim -
 * then encodes the result again: four strings a field, ~10 fields a signature. This writes the same bytes
 * straight into one buffer (whitespace as JavaScript's /\s/ sees latin1: TAB, LF, VT, FF, CR, SP, NBSP). A
 * string (the ARC sealer passes some) goes to mailauth's own. test/unit/inbound/dkim-headers.test.ts compares
 * the two on random fields.
 */
export function fastRelaxedLine(original: RelaxedLineFormatter): RelaxedLineFormatter {
  return (line, suffix) => {
    if (!Buffer.isBuffer(line)) return original(line, suffix);
    const n = line.length;
    const tail = suffix ? Buffer.byteLength(suffix, 'latin1') : 0;
    const out = Buffer.allocUnsafe(n + tail);
    let o = 0;
    // A run of whitespace seen after some output: one space, written only if more output follows (so trimmed).
    let space = false;
    const put = (byte: number) => {
      if (isJsSpace(byte)) {
        if (o > 0) space = true;
        return;
      }
      if (space) out[o++] = 0x20;
      space = false;
      out[o++] = byte;
    };
    /** The byte at i is a line break mailauth drops: a LF, or a CR right before one. */
    const dropped = (i: number) => line[i] === LF || (line[i] === CR && i + 1 < n && line[i + 1] === LF);
    let i = 0;
    // The name: up to the first colon (line breaks dropped first, as mailauth does before looking for it).
    const colon = line.indexOf(COLON);
    if (colon >= 0) {
      for (; i < colon; i++) if (!dropped(i)) put(lowerLatin1(line[i]!));
      space = false; // the name is trimmed: no space before its colon
      out[o++] = COLON;
      // /:\s*/: the whitespace after the colon goes, line breaks included.
      for (i = colon + 1; i < n && (dropped(i) || isJsSpace(line[i]!)); i++);
    }
    for (; i < n; i++) if (!dropped(i)) put(line[i]!);
    if (tail > 0) o += out.write(suffix!, o, 'latin1');
    return out.subarray(0, o);
  };
}
