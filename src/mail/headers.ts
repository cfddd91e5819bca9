// Header blocks (RFC 5322 section 2.2): split into fields, unfold, look up case-insensitively, fold on
// write, and parse RFC 5322 dates (section 3.3 and the obsolete forms of 4.3) for SEARCH SENTBEFORE and friends.
import { isAscii } from 'node:buffer';
import { decodeHeaderBytes } from './encoded-words.js';

export interface HeaderField {
  /** The field name as written, without the white space RFC 5322 4.5 (obs-optional) allows before ':'. */
  name: string;
  /** Lower-cased name, for lookups (field names are case-insensitive, RFC 5322 1.2.2). */
  key: string;
  /** The value as on the wire after the colon: folding kept, final line ending removed. */
  raw: string;
  /** The value unfolded (RFC 5322 2.2.3: CRLF before WSP removed), leading and trailing white space trimmed. */
  value: string;
}

/** RFC 5322 2.2: a field name is printable US-ASCII except ':'; obs-optional (4.5) allows WSP before ':'. */
export function fieldNameEnd(line: Uint8Array): number {
  let i = 0;
  while (i < line.length) {
    const c = line[i] as number;
    if (c === 0x3a) break;
    if (c < 33 || c > 126) {
      // Only white space may follow the name, then the colon.
      let j = i;
      while (j < line.length && (line[j] === 0x20 || line[j] === 0x09)) j++;
      return j > i && j < line.length && line[j] === 0x3a && i > 0 ? i : -1;
    }
    i++;
  }
  return i > 0 && i < line.length ? i : -1;
}

/** Removes folding (RFC 5322 2.2.3): a line break followed by white space becomes that white space. */
export function unfold(raw: string): string {
  return raw.replace(/\r?\n(?=[ \t])/g, '').replace(/[\r\n]+/g, ' ');
}

function stripLineEnd(line: Uint8Array): Uint8Array {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return line.subarray(0, end);
}

/**
 * Parses a header block (up to and including the blank line, or the whole buffer when none) into fields.
 * Continuation lines (starting with SP or HT) join the previous field. Lines that are neither a field nor a
 * continuation are skipped: real mail has them, and dropping one line is better than losing the rest.
 * Each field's bytes are decoded on their own (UTF-8 when valid, else latin1), since one message can mix both.
 */
export function parseHeaderBlock(block: Uint8Array): HeaderField[] {
  const bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  // Only the part before the blank line matters, so only it is checked (the caller may pass a whole message).
  const blankLf = bytes.indexOf('\n\n');
  const blankCrlf = bytes.indexOf('\n\r\n');
  const cut = Math.min(
    blankLf < 0 ? bytes.length : blankLf + 1,
    blankCrlf < 0 ? bytes.length : blankCrlf + 1,
  );
  const head = bytes.subarray(0, cut);
  return isAscii(head) ? parseAsciiBlock(head.toString('latin1')) : parseBlockBytes(block);
}

/*
 * Why two paths: parseHeaderBlock runs on every delivered message (the MIME structure of each part, the
 * envelope), and the byte path builds two Buffer views per line and two per field (~450 B of garbage per
 * field). Almost all header blocks are ASCII (RFC 5322; 8-bit only via RFC 6532), where latin1 decoding of a
 * field is a slice of the block decoded once: parseAsciiBlock is the byte path's loop over that string, and
 * test/unit/mail/headers.test.ts compares both on fixtures and random blocks.
 */

/** parseHeaderBlock over an ASCII block decoded as one string (same rules, same fields). */
export function parseAsciiBlock(text: string): HeaderField[] {
  const fields: HeaderField[] = [];
  forEachAsciiField(text, (start, nameEnd, end) => {
    const name = text.slice(start, nameEnd);
    const raw = text.slice(text.indexOf(':', nameEnd) + 1, end);
    fields.push({ name, key: name.toLowerCase(), raw, value: unfold(raw).trim() });
  });
  return fields;
}

/**
 * Walks an ASCII header block held as one string, field by field, by parseHeaderBlock's rules: a line starting
 * with WSP continues the field (RFC 5322 2.2.3), a line without a field name is skipped, the blank line ends the
 * block (2.1). `visit` gets the field's start, where its name ends, and its end (final line break excluded).
 * parseAsciiBlock and the SEARCH header index (store/sqlite/mail-headers.ts) both read headers through it.
 */
export function forEachAsciiField(
  text: string,
  visit: (start: number, nameEnd: number, end: number) => void,
): void {
  let start = -1; // start offset of the current field
  let end = -1; // end offset (exclusive, without final line break) of the current field
  const finish = (): void => {
    if (start < 0) return;
    const nameEnd = asciiNameEnd(text, start, end);
    if (nameEnd > 0) visit(start, nameEnd, end);
    start = -1;
  };
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    let lineEnd = nl < 0 ? text.length : nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
    if (lineEnd === pos) break; // the blank line ending the header (RFC 5322 2.1)
    const first = text.charCodeAt(pos);
    if ((first === 0x20 || first === 0x09) && start >= 0) {
      end = lineEnd;
    } else {
      finish();
      if (asciiNameEnd(text, pos, lineEnd) > 0) {
        start = pos;
        end = lineEnd;
      }
    }
    if (nl < 0) break;
    pos = nl + 1;
  }
  finish();
}

/** fieldNameEnd over text[from, to): the offset in `text` where the field name ends, or -1. */
function asciiNameEnd(text: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) break;
    if (c < 33 || c > 126) {
      let j = i;
      while (j < to && (text.charCodeAt(j) === 0x20 || text.charCodeAt(j) === 0x09)) j++;
      return j > i && j < to && text.charCodeAt(j) === 0x3a && i > from ? i : -1;
    }
    i++;
  }
  return i > from && i < to ? i : -1;
}

/** parseHeaderBlock over bytes: each field decoded on its own (the reference, and any 8-bit block). */
export function parseBlockBytes(block: Uint8Array): HeaderField[] {
  const fields: HeaderField[] = [];
  let start = -1; // start offset of the current field
  let end = -1; // end offset (exclusive, without final line break) of the current field
  const finish = (): void => {
    if (start < 0) return;
    const bytes = block.subarray(start, end);
    const nameEnd = fieldNameEnd(bytes);
    if (nameEnd > 0) {
      const text = decodeHeaderBytes(bytes);
      // Field names are ASCII, so the byte offset is also the character offset.
      const colon = text.indexOf(':', nameEnd);
      const name = text.slice(0, nameEnd);
      const raw = text.slice(colon + 1);
      fields.push({ name, key: name.toLowerCase(), raw, value: unfold(raw).trim() });
    }
    start = -1;
  };
  let pos = 0;
  while (pos < block.length) {
    let nl = block.indexOf(0x0a, pos);
    const lineEnd = nl < 0 ? block.length : nl + 1;
    const line = stripLineEnd(block.subarray(pos, lineEnd));
    if (line.length === 0) break; // the blank line ending the header (RFC 5322 2.1)
    const first = line[0];
    if ((first === 0x20 || first === 0x09) && start >= 0) {
      end = pos + line.length;
    } else {
      finish();
      if (fieldNameEnd(line) > 0) {
        start = pos;
        end = pos + line.length;
      }
    }
    if (nl < 0) nl = block.length;
    pos = nl + 1;
  }
  finish();
  return fields;
}

/** Case-insensitive access to a parsed header block, keeping every field in order. */
export class HeaderMap {
  private readonly index = new Map<string, HeaderField[]>();

  constructor(readonly fields: readonly HeaderField[]) {
    for (const f of fields) {
      const list = this.index.get(f.key);
      if (list) list.push(f);
      else this.index.set(f.key, [f]);
    }
  }

  static parse(block: Uint8Array): HeaderMap {
    return new HeaderMap(parseHeaderBlock(block));
  }

  /** The first field's unfolded value (RFC 5322 3.6 allows most fields once; the first is what readers show). */
  get(name: string): string | undefined {
    return this.index.get(name.toLowerCase())?.[0]?.value;
  }

  getAll(name: string): string[] {
    return (this.index.get(name.toLowerCase()) ?? []).map((f) => f.value);
  }

  getFields(name: string): readonly HeaderField[] {
    return this.index.get(name.toLowerCase()) ?? [];
  }

  has(name: string): boolean {
    return this.index.has(name.toLowerCase());
  }
}

/**
 * Formats one field, folded (RFC 5322 2.2.3) at white space so lines stay within `width` where possible
 * (78, the SHOULD of 2.1.1); a word longer than that stays whole, which is legal up to 998 octets. The value
 * must already be 7-bit or meant for SMTPUTF8. Returns the field ending in CRLF.
 */
export function foldHeaderField(name: string, value: string, width = 78): string {
  const words = value.replace(/\r?\n/g, ' ').split(/(?=[ \t])/);
  let out = '';
  let line = name + ':';
  for (let k = 0; k < words.length; k++) {
    let word = words[k] as string;
    if (k === 0 && !/^[ \t]/.test(word)) word = ' ' + word;
    if (word.length === 0) continue;
    // Folding right after the colon is legal (RFC 5322 3.2.2 FWS) and keeps encoded-word lines within
    // 76 characters as RFC 2047 section 2 asks.
    if (line.length + word.length > width && line.trim().length > 0) {
      out += line + '\r\n';
      line = word;
    } else line += word;
  }
  return out + line + '\r\n';
}

/** RFC 5322 3.3 month names (lower-cased) to Date's month index; also sort.ts's fast canonical-date path. */
export const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

/** RFC 5322 4.3 obs-zone; military zones are treated as -0000 as that section says. */
const ZONES: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -5 * 60,
  edt: -4 * 60,
  cst: -6 * 60,
  cdt: -5 * 60,
  mst: -7 * 60,
  mdt: -6 * 60,
  pst: -8 * 60,
  pdt: -7 * 60,
};

/**
 * Parses an RFC 5322 date-time (3.3), accepting the obsolete syntax of 4.3: optional day name, comments,
 * two- and three-digit years, missing seconds, alphabetic and military zones, extra white space. A missing
 * zone is taken as UTC. Returns null when no date can be made out or the fields are out of range.
 */
export function parseRfc5322Date(input: string): Date | null {
  // Comments (CFWS) may appear anywhere; drop them (non-nested is enough for dates).
  const text = input
    .slice(0, 200)
    .replace(/\([^()]*\)/g, ' ')
    .replace(/[\s,]+/g, ' ')
    .trim();
  const m =
    /^(?:[A-Za-z]{3,9}\.? )?(\d{1,2})[ -]?([A-Za-z]{3,9})\.?[ -]?(\d{2,4}) (\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?: ?([+-]\d{4}|[+-]\d{2}:?\d{2}|[A-Za-z]{1,5}))?(?: .*)?$/.exec(
      text,
    );
  if (!m) return null;
  const [, dd = '', mon = '', yy = '', hh = '', mi = '', ss, zone] = m;
  const month = MONTHS[mon.slice(0, 3).toLowerCase()];
  if (month === undefined) return null;
  let year = parseInt(yy, 10);
  // RFC 5322 4.3: two-digit years < 50 are 20xx, otherwise 19xx; three-digit years add 1900.
  if (yy.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yy.length === 3) year += 1900;
  const day = parseInt(dd, 10);
  const hour = parseInt(hh, 10);
  const minute = parseInt(mi, 10);
  const second = ss === undefined ? 0 : parseInt(ss, 10);
  // 60 is a leap second (3.3); Date cannot hold it, so it rolls into the next minute.
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let offset = 0;
  if (zone !== undefined) {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    if (z) {
      const mins = parseInt(z[2] as string, 10) * 60 + parseInt(z[3] as string, 10);
      offset = z[1] === '-' ? -mins : mins;
    } else offset = ZONES[zone.toLowerCase()] ?? 0;
  }
  const ms = Date.UTC(year, month, day, hour, minute, second) - offset * 60_000;
  const date = new Date(ms);
  // Reject "31 Feb": Date.UTC would silently roll it into March.
  if (Number.isNaN(ms) || new Date(Date.UTC(year, month, day)).getUTCDate() !== day) return null;
  return date;
}
