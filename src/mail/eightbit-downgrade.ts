// The 8-bit downgrade (RFC 6152 section 3, RFC 2045): turns a message with 8-bit bodies or headers into a 7-bit
// one for a peer without 8BITMIME - leaf parts re-encoded, multipart structure and boundaries kept, 8-bit text
// headers turned into RFC 2047 encoded words. Pure: a Buffer in, a Buffer out.
import { decodeHeaderBytes, encodeHeaderText, encodePhrase } from './encoded-words.js';
import { parseAddressList } from './envelope.js';
import type { EnvelopeAddress } from './envelope.js';
import { fieldNameEnd, foldHeaderField, unfold } from './headers.js';
import { paramsForWire, parseContentType, parseDisposition } from './mime-params.js';
import { parseMimeStructure } from './mime-structure.js';
import type { MimeLimits, MimePart } from './mime-structure.js';
import { decodeTransferEncoding, encodeBase64Lines, encodeQuotedPrintable } from './transfer-encoding.js';

/** RFC 5321 4.5.3.1.6: a line is at most 998 octets plus CRLF. */
const MAX_LINE = 998;

/** True when any byte has the high bit set (RFC 6152: such a message needs 8BITMIME or a downgrade). */
export function isEightBit(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if ((data[i] as number) >= 0x80) return true;
  return false;
}

/** Replaces 8-bit bytes with '?': for text no reader shows (preamble, epilogue, garbage header lines). */
function sevenBit(chunk: Buffer): Buffer {
  if (!isEightBit(chunk)) return chunk;
  const copy = Buffer.from(chunk);
  for (let i = 0; i < copy.length; i++) if ((copy[i] as number) >= 0x80) copy[i] = 0x3f;
  return copy;
}

/** True when a line is over 998 octets (RFC 5322 2.1.1): strict peers refuse such a message. */
export function hasLongLine(data: Uint8Array): boolean {
  let start = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, start);
    const end = nl < 0 ? data.length : nl;
    if (end - start > MAX_LINE + 1) return true; // +1: the CR of a CRLF
    if (nl < 0) return false;
    start = nl + 1;
  }
}

export interface DowngradeResult {
  /** The 7-bit message (the input itself when nothing had to change). */
  message: Buffer;
  changed: boolean;
  /**
   * True when 8-bit bytes remain that no MIME encoding may carry: addresses (local part or domain) or other
   * structured fields. Such a message needs SMTPUTF8 (RFC 6531); the queue bounces it if the peer lacks it.
   */
  needsSmtpUtf8: boolean;
}

// RFC 2047 section 5 (1): encoded words may replace 'text' in unstructured fields. Fields not listed here and not
// in STRUCTURED are treated as unstructured too: X- fields and unknown ones are free text in practice.
const ADDRESS_FIELDS = new Set([
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'resent-from',
  'resent-sender',
  'resent-to',
  'resent-cc',
  'resent-bcc',
  'disposition-notification-to',
]);
const PARAM_FIELDS = new Set(['content-type', 'content-disposition']);
const STRUCTURED = new Set([
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'received',
  'return-path',
  'mime-version',
  'content-id',
  'content-transfer-encoding',
  'content-location',
  'resent-date',
  'resent-message-id',
  'dkim-signature',
  'authentication-results',
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
]);

interface RawField {
  key: string;
  name: string;
  bytes: Buffer; // the whole field, line breaks included
}

/** Splits a header region into fields, keeping their bytes; lines that are not fields stay attached. */
function splitFields(region: Buffer): RawField[] {
  const fields: RawField[] = [];
  let pos = 0;
  let cur: { start: number; key: string; name: string } | null = null;
  const push = (end: number): void => {
    if (cur) fields.push({ key: cur.key, name: cur.name, bytes: region.subarray(cur.start, end) });
    cur = null;
  };
  while (pos < region.length) {
    const nl = region.indexOf(0x0a, pos);
    const end = nl < 0 ? region.length : nl + 1;
    const line = region.subarray(pos, end);
    const content = line.subarray(0, line.length - (line[line.length - 1] === 0x0a ? 1 : 0));
    const bare = content[content.length - 1] === 0x0d ? content.subarray(0, -1) : content;
    if (bare.length === 0) {
      push(pos); // blank line: the end of the header; rewritten headers end with their own blank line
      break;
    }
    if ((bare[0] === 0x20 || bare[0] === 0x09) && cur) {
      // continuation
    } else {
      push(pos);
      const nameEnd = fieldNameEnd(bare);
      const name = nameEnd > 0 ? bare.subarray(0, nameEnd).toString('latin1') : '';
      cur = { start: pos, key: name.toLowerCase(), name };
    }
    pos = end;
  }
  push(pos);
  return fields;
}

function fieldValue(f: RawField): string {
  const text = decodeHeaderBytes(f.bytes);
  return unfold(text.slice(text.indexOf(':') + 1)).trim();
}

/** Quotes a display name when it is not a plain phrase of atoms (RFC 5322 3.2.3, 3.2.4). */
function phrase(name: string): string {
  if (/[^\x20-\x7e]/.test(name)) return encodePhrase(name);
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ .]*$/.test(name) && !/^\.|\.$/.test(name)) return name;
  return '"' + name.replace(/(["\\])/g, '\\$1') + '"';
}

/** Rewrites an address list with encoded display names; null when an address itself is 8-bit. */
function rewriteAddresses(value: string): string | null {
  const list: EnvelopeAddress[] = parseAddressList(value);
  const out: string[] = [];
  let inGroup = false;
  let first = true;
  for (const a of list) {
    if (a.host === null && a.mailbox !== null) {
      out.push((first ? '' : ', ') + phrase(a.mailbox) + ':');
      inGroup = true;
      first = true;
      continue;
    }
    if (a.host === null) {
      out.push(';');
      inGroup = false;
      first = false;
      continue;
    }
    const spec = `${a.mailbox ?? ''}@${a.host}`;
    if (/[^\x20-\x7e]/.test(spec) || /[^\x20-\x7e]/.test(a.adl ?? '')) return null;
    const route = a.adl ? a.adl + ':' : '';
    const text = a.name ? `${phrase(a.name)} <${route}${spec}>` : `<${route}${spec}>`;
    out.push((first ? (inGroup ? ' ' : '') : ', ') + text);
    first = false;
  }
  return out.join('');
}

function formatParams(params: Record<string, string>): string {
  return paramsForWire(params)
    .map(([k, v]) => (k.endsWith('*') ? `; ${k}=${v}` : `; ${k}="${v.replace(/(["\\])/g, '\\$1')}"`))
    .join('');
}

interface Rewrite {
  header: Buffer;
  changed: boolean;
  needsSmtpUtf8: boolean;
}

/** Replaces a header region's Content-Transfer-Encoding with `cte`, every other field kept byte for byte. */
function replaceTransferEncoding(region: Buffer, cte: string, isRoot: boolean): Rewrite {
  const fields = splitFields(region);
  const out = fields.filter((f) => f.key !== 'content-transfer-encoding').map((f) => f.bytes);
  // RFC 2045 4: a reader honours Content-Transfer-Encoding only in a MIME message; plain RFC 5322 mail gets the marker.
  if (isRoot && !fields.some((f) => f.key === 'mime-version')) out.push(Buffer.from('MIME-Version: 1.0\r\n'));
  out.push(Buffer.from(`Content-Transfer-Encoding: ${cte}\r\n\r\n`));
  return { header: Buffer.concat(out), changed: true, needsSmtpUtf8: false };
}

/** Rewrites a header region so it is 7-bit, with Content-Transfer-Encoding set to `cte` when given. */
function rewriteHeader(region: Buffer, cte: string | null): Rewrite {
  if (cte === null && !isEightBit(region)) return { header: region, changed: false, needsSmtpUtf8: false };
  let needsSmtpUtf8 = false;
  const out: Buffer[] = [];
  for (const f of splitFields(region)) {
    if (cte !== null && f.key === 'content-transfer-encoding') continue;
    if (!isEightBit(f.bytes)) {
      out.push(f.bytes);
      continue;
    }
    if (f.name === '') {
      out.push(sevenBit(f.bytes)); // not a field at all: nothing to encode, only to make 7-bit
      continue;
    }
    const value = fieldValue(f);
    let replacement: string | null = null;
    if (ADDRESS_FIELDS.has(f.key)) {
      const list = rewriteAddresses(value);
      if (list !== null) replacement = list;
    } else if (PARAM_FIELDS.has(f.key)) {
      const ct = f.key === 'content-type' ? parseContentType(value) : null;
      const cd = f.key === 'content-disposition' ? parseDisposition(value) : null;
      if (ct) replacement = `${ct.type}/${ct.subtype}${formatParams(ct.params)}`;
      else if (cd) replacement = `${cd.value}${formatParams(cd.params)}`;
    } else if (!STRUCTURED.has(f.key)) replacement = encodeHeaderText(value);
    if (replacement === null) {
      needsSmtpUtf8 = true;
      out.push(f.bytes);
    } else out.push(Buffer.from(foldHeaderField(f.name, replacement), 'latin1'));
  }
  if (cte !== null) out.push(Buffer.from(`Content-Transfer-Encoding: ${cte}\r\n`));
  out.push(Buffer.from('\r\n'));
  return { header: Buffer.concat(out), changed: true, needsSmtpUtf8 };
}

/** RFC 6152 3 / RFC 2045 6.2: text that is mostly ASCII reads best as quoted-printable; the rest as base64. */
function chooseEncoding(part: MimePart, content: Buffer): 'quoted-printable' | 'base64' {
  if (part.contentType.type !== 'text') return 'base64';
  let high = 0;
  for (let i = 0; i < content.length; i++) {
    const c = content[i] as number;
    if (c >= 0x80) high++;
    // Bare CR or LF and NUL are not text (RFC 2045 2.8 line breaks are CRLF): base64 keeps them exact.
    else if (c === 0 || (c === 0x0d && content[i + 1] !== 0x0a) || (c === 0x0a && content[i - 1] !== 0x0d))
      return 'base64';
  }
  // QP spends 3 characters per 8-bit byte, base64 4 per 3 bytes: past about a third, base64 is smaller.
  return high * 3 < content.length ? 'quoted-printable' : 'base64';
}

/**
 * Downgrades a message to 7-bit (RFC 6152 section 3). Leaf parts whose body has 8-bit bytes (or lines over
 * 998 octets) are decoded from their current encoding and re-encoded as quoted-printable or base64; multipart
 * and message/rfc822 parts keep their structure (RFC 2046 5.2.1 forbids encoding message/rfc822) and get
 * Content-Transfer-Encoding 7bit; 8-bit bytes in preambles and epilogues, which no reader shows, become '?'.
 * 8-bit text headers become encoded words, 8-bit display names and MIME parameters are re-encoded (RFC 2047,
 * RFC 2231); 8-bit addresses and other structured fields are left and reported as `needsSmtpUtf8`.
 */
export function downgradeTo7Bit(input: Uint8Array, limits: Partial<MimeLimits> = {}): DowngradeResult {
  const msg = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (!isEightBit(msg) && !hasLongLine(msg)) return { message: msg, changed: false, needsSmtpUtf8: false };
  return reencode(msg, limits, false);
}

/**
 * Re-encodes only the leaf parts that have body lines over 998 octets (quoted-printable for text, base64
 * otherwise), so a message we accepted with long lines (limits.ts DATA_LINE_MAX) can be relayed to a peer that
 * enforces RFC 5321 4.5.3.1.6 / RFC 5322 2.1.1. Everything else, 8-bit headers and 8-bit parts included, stays
 * byte for byte: the peer's 8BITMIME/SMTPUTF8 decide about those, as for any other message.
 */
export function foldLongLines(input: Uint8Array, limits: Partial<MimeLimits> = {}): DowngradeResult {
  const msg = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (!hasLongLine(msg)) return { message: msg, changed: false, needsSmtpUtf8: false };
  return reencode(msg, limits, true);
}

/** The walk shared by both: `longLinesOnly` leaves 8-bit content alone and touches only parts with long lines. */
function reencode(msg: Buffer, limits: Partial<MimeLimits>, longLinesOnly: boolean): DowngradeResult {
  const structure = parseMimeStructure(msg, limits);
  const out: Buffer[] = [];
  let cursor = 0;
  let needsSmtpUtf8 = false;
  // Copies the original bytes up to `end` (delimiter lines, preambles, epilogues), making them 7-bit.
  const copyTo = (end: number): void => {
    if (end <= cursor) return;
    const chunk = msg.subarray(cursor, end);
    out.push(longLinesOnly ? chunk : sevenBit(chunk));
    cursor = end;
  };
  const emitHeader = (part: MimePart, cte: string | null): void => {
    copyTo(part.headerStart);
    const start = Math.max(cursor, part.headerStart);
    const end = Math.max(start, part.bodyStart);
    const region = msg.subarray(start, end);
    const r = longLinesOnly
      ? cte === null
        ? { header: region, changed: false, needsSmtpUtf8: false }
        : replaceTransferEncoding(region, cte, part === structure.root)
      : rewriteHeader(region, cte);
    needsSmtpUtf8 ||= r.needsSmtpUtf8;
    out.push(r.header);
    cursor = end;
  };
  // Iterative walk (document order) so that deep nesting cannot overflow the stack. Delimiter lines, closing
  // delimiters and epilogues between parts are copied by the next copyTo.
  const stack: MimePart[] = [structure.root];
  while (stack.length > 0) {
    const part = stack.pop() as MimePart;
    if (part.children || part.message) {
      const relabel = !longLinesOnly && ['8bit', 'binary'].includes(part.encoding) ? '7bit' : null;
      emitHeader(part, relabel);
      const inner = part.message ? [part.message.root] : (part.children as MimePart[]);
      for (let k = inner.length - 1; k >= 0; k--) stack.push(inner[k] as MimePart);
      continue;
    }
    const body = msg.subarray(part.bodyStart, part.bodyEnd);
    const reencodePart = longLinesOnly ? hasLongLine(body) : isEightBit(body) || hasLongLine(body);
    if (part.bodyStart >= cursor && reencodePart) {
      const content = decodeTransferEncoding(body, part.encoding);
      const enc = chooseEncoding(part, content);
      emitHeader(part, enc);
      let text = enc === 'base64' ? encodeBase64Lines(content) : encodeQuotedPrintable(content);
      // The line break before the next boundary belongs to the boundary and is copied with it, so a final
      // CRLF that is only line-wrapping (base64, or a QP soft break) is dropped when more follows.
      if (part.bodyEnd < msg.length && (enc === 'base64' || text.endsWith('=\r\n')))
        text = text.replace(/\r\n$/, '');
      out.push(Buffer.from(text, 'latin1'));
      cursor = part.bodyEnd;
    } else {
      emitHeader(part, null);
      copyTo(part.bodyEnd);
    }
  }
  copyTo(msg.length);
  return { message: Buffer.concat(out), changed: true, needsSmtpUtf8 };
}
