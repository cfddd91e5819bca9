// The streaming MIME structure parser (RFC 2045, RFC 2046 section 5): fed a message in chunks, it records every
// part's header and body byte ranges, sizes, line counts and MIME fields, so IMAP can answer BODYSTRUCTURE and
// BODY[section] from the stored file without parsing it again. Pure, linear time, bounded memory, never throws.
import { buildEnvelope } from './envelope.js';
import type { MessageEnvelope } from './envelope.js';
import { fieldNameEnd, HeaderMap, type HeaderField } from './headers.js';
import { addDefect, applyMimeFields, newPart, toText } from './mime-part-fields.js';
import type { ContentType, Disposition } from './mime-params.js';

export type { ContentType, Disposition } from './mime-params.js';

/** One MIME entity. Offsets are absolute byte offsets in the whole message; JSON-serialisable. */
export interface MimePart {
  /** Where the part's header starts (for the root: 0). The header runs to bodyStart, blank line included. */
  headerStart: number;
  bodyStart: number;
  /** Exclusive end of the body: the line break before a boundary belongs to the boundary (RFC 2046 5.1.1). */
  bodyEnd: number;
  /** Body size in octets (bodyEnd - bodyStart), as IMAP body-fld-octets wants. */
  size: number;
  /** Body lines (IMAP body-fld-lines): line breaks in the body, plus one for a last line without a break. */
  lines: number;
  contentType: ContentType;
  disposition: Disposition | null;
  /** Content-Language tags (RFC 3282). */
  language: string[] | null;
  /** Content-Location (RFC 2557), folding white space removed. */
  location: string | null;
  /** Content-ID, raw. */
  id: string | null;
  /** Content-Description, raw (encoded words left for the client, as IMAP wants). */
  description: string | null;
  /** Lower-cased Content-Transfer-Encoding; '7bit' when absent (RFC 2045 6.1). */
  encoding: string;
  /** Content-MD5 (RFC 1864), raw. */
  md5: string | null;
  /** Multipart children, in order (multipart/* only, always at least one). */
  children?: MimePart[];
  /** The encapsulated message of a message/rfc822 (or message/global) part. */
  message?: MessageStructure;
  /** What was wrong with this part and how it was read anyway (e.g. 'multipart-without-boundary'). */
  defects?: string[];
}

/** A whole message (or an encapsulated one): its ENVELOPE and its root part. */
export interface MessageStructure {
  /** Size of the whole message in octets (header and body). */
  size: number;
  envelope: MessageEnvelope;
  root: MimePart;
}

export interface MimeLimits {
  /** Nesting depth (multiparts and encapsulated messages): deeper parts are read as opaque leaves. */
  maxDepth: number;
  /** Number of parts: past it, boundaries are no longer recognised and the rest is body of the open part. */
  maxParts: number;
  /** Bytes of one header block kept for parsing; the rest of an over-long header is skipped. */
  maxHeaderBytes: number;
}

/**
 * Defaults: real mail nests a handful of levels and has tens of parts; these leave a wide margin while keeping
 * the stored structure and the per-line boundary checks small.
 */
export const DEFAULT_MIME_LIMITS: MimeLimits = { maxDepth: 32, maxParts: 5000, maxHeaderBytes: 256 * 1024 };

/** RFC 2046 5.1.1 allows 70 characters; real mail goes a little over. Longer ones are treated as missing. */
const MAX_BOUNDARY = 200;

type FrameState = 'header' | 'body' | 'preamble' | 'parts' | 'epilogue';

interface Frame {
  part: MimePart;
  state: FrameState;
  /** Kept bytes of the header block (capped at maxHeaderBytes); the bytes are in the parser's headerBuf. */
  headerBytes: number;
  /** Whether any header line has been seen (to tell a part without header from one with a bad line). */
  sawField: boolean;
  /** Lines completed before the body started: the body's line count is measured from here. */
  bodyLineNo: number;
  /** '--' + boundary, for multipart frames. */
  delimiter: Buffer | null;
  /** Set for the root of a message (top level or encapsulated): its header yields an ENVELOPE. */
  message: MessageStructure | null;
  /** The parent multipart's subtype, for RFC 2046 5.1.5 (digest children default to message/rfc822). */
  parentSubtype: string | null;
}

const EMPTY_ENVELOPE: MessageEnvelope = {
  date: null,
  subject: null,
  from: null,
  sender: null,
  replyTo: null,
  to: null,
  cc: null,
  bcc: null,
  inReplyTo: null,
  messageId: null,
};

/** lineBuf's first size: a header line or boundary rarely exceeds it (see grow()). */
const INITIAL_LINE_BUFFER = 4096;
const EMPTY_BLOCK = Buffer.alloc(0);
/** headerBuf's first size (below half of Buffer.poolSize: from Node's pool); doubles up to maxHeaderBytes. */
const INITIAL_HEADER_BUFFER = 2048;

/**
 * Parses a message delivered in chunks: `write()` each chunk as it streams to disk, then `end()`. Works on
 * lines, keeping only a bounded prefix of each (enough for a header line or a boundary), so memory does not
 * grow with the message and time is linear. Tolerates LF-only mail, missing and unclosed boundaries, parts
 * without headers, duplicate and garbage fields, as Dovecot and wildduck do.
 */
export class MimeStructureParser {
  private readonly limits: MimeLimits;
  private readonly frames: Frame[] = [];
  private readonly top: MessageStructure;
  private offset = 0; // absolute offset of the start of the current line
  private lineNo = 0; // complete lines so far
  private prevLineLen = 0; // content length of the previous line
  private prevEolLen = 0; // length of the previous line's break (1 for LF, 2 for CRLF)
  // Grows on demand up to lineCap: most lines are short, and zero-filling the full cap (256 KiB) for every
  // delivered message cost more than the rest of the parse (CPU profile of SMTP acceptance, issue 2).
  private lineBuf: Buffer;
  // The header block being kept: one buffer per parse, as only the innermost frame can be in its header and
  // finishHeader turns the bytes into strings (was two Buffers per line and a concat per part: ~2.5 KiB/message).
  private headerBuf: Buffer | null = null;
  private topFields: readonly HeaderField[] | null = null;
  private readonly lineCap: number;
  private kept = 0; // bytes of the current line kept in lineBuf
  private lineLen = 0; // bytes of the current line seen so far
  private keepLimit = 0;
  private lastTwo = 0; // the current line's last two bytes, for CRLF detection past the kept prefix
  private parts = 1;
  private degraded = false;
  private ended = false;

  constructor(limits: Partial<MimeLimits> = {}) {
    this.limits = { ...DEFAULT_MIME_LIMITS, ...limits };
    this.lineCap = Math.max(this.limits.maxHeaderBytes, MAX_BOUNDARY + 8);
    this.lineBuf = Buffer.allocUnsafe(Math.min(this.lineCap, INITIAL_LINE_BUFFER));
    const root = newPart(0);
    this.top = { size: 0, envelope: EMPTY_ENVELOPE, root };
    this.frames.push(this.frame(root, this.top, null));
    this.keepLimit = this.currentKeepLimit();
  }

  private frame(part: MimePart, message: MessageStructure | null, parentSubtype: string | null): Frame {
    return {
      part,
      state: 'header',
      headerBytes: 0,
      sawField: false,
      bodyLineNo: 0,
      delimiter: null,
      message,
      parentSubtype,
    };
  }

  private currentKeepLimit(): number {
    const f = this.frames[this.frames.length - 1];
    return f && f.state === 'header' ? this.lineCap : MAX_BOUNDARY + 8;
  }

  write(chunk: Uint8Array): void {
    if (this.ended) return;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.lineLen === 0 && this.onlyCounting()) {
        pos = this.countLines(chunk, pos);
        if (pos >= chunk.length) break;
      }
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl < 0 ? chunk.length : nl + 1;
      this.append(chunk, pos, end);
      if (nl < 0) break;
      this.finishLine();
      pos = end;
    }
  }

  /**
   * True while no line can change the structure: the innermost part is in its body (not its header) and no
   * multipart boundary is being looked for (or the part limit switched boundaries off). Then lines are only
   * counted, which is most of a message: a single-part body skips the per-line copy and boundary check.
   */
  private onlyCounting(): boolean {
    const top = this.frames[this.frames.length - 1];
    if (!top || top.state === 'header') return false;
    return this.degraded || this.frames.every((f) => f.delimiter === null);
  }

  /**
   * The effect of finishLine() for every complete line of chunk[pos..] while onlyCounting(): offsets, line
   * numbers and the last line's lengths. Returns where the last complete line ends (pos if there is none).
   */
  private countLines(chunk: Uint8Array, pos: number): number {
    let last = -1; // the last LF
    let prev = pos - 1; // the LF before it (or just before pos: a line starts at pos)
    let count = 0;
    for (let nl = chunk.indexOf(0x0a, pos); nl >= 0; nl = chunk.indexOf(0x0a, nl + 1)) {
      if (last >= 0) prev = last;
      last = nl;
      count++;
    }
    if (last < 0) return pos;
    const len = last - prev; // the last line, LF included
    const eol = len >= 2 && chunk[last - 1] === 0x0d ? 2 : 1;
    this.offset += last + 1 - pos;
    this.lineNo += count;
    this.prevLineLen = len - eol;
    this.prevEolLen = eol;
    this.kept = 0;
    this.lastTwo = 0;
    return last + 1;
  }

  private append(chunk: Uint8Array, from: number, to: number): void {
    const room = this.keepLimit - this.kept;
    if (room > 0) {
      const n = Math.min(room, to - from);
      if (this.kept + n > this.lineBuf.length) this.grow(this.kept + n);
      this.lineBuf.set(chunk.subarray(from, from + n), this.kept);
      this.kept += n;
    }
    if (to - from >= 2) this.lastTwo = ((chunk[to - 2] as number) << 8) | (chunk[to - 1] as number);
    else if (to > from) this.lastTwo = ((this.lastTwo & 0xff) << 8) | (chunk[from] as number);
    this.lineLen += to - from;
  }

  /** Only bytes [0, kept) are ever read, so the unzeroed allocation is never observed. */
  private grow(needed: number): void {
    const next = Buffer.allocUnsafe(Math.min(this.lineCap, Math.max(needed, this.lineBuf.length * 2)));
    this.lineBuf.copy(next, 0, 0, this.kept);
    this.lineBuf = next;
  }

  private finishLine(): void {
    const len = this.lineLen;
    let eol = 0;
    if ((this.lastTwo & 0xff) === 0x0a) eol = this.lastTwo >> 8 === 0x0d && len >= 2 ? 2 : 1;
    const contentLen = len - eol;
    const content = this.lineBuf.subarray(0, Math.min(this.kept, contentLen));
    this.onLine(this.offset, content, contentLen, eol);
    this.offset += len;
    this.lineNo++;
    this.prevLineLen = contentLen;
    this.prevEolLen = eol;
    this.kept = 0;
    this.lineLen = 0;
    this.lastTwo = 0;
    this.keepLimit = this.currentKeepLimit();
  }

  /**
   * Finds the multipart frame whose boundary this line is, innermost first. RFC 2046 5.1.1: only white space
   * (transport padding) may follow a delimiter, so "--d10" is not the boundary "d1"; after a close delimiter
   * ("--b--") anything is tolerated, as some mailers add text there.
   */
  private matchBoundary(content: Buffer): { index: number; close: boolean } | null {
    if (content.length < 3 || content[0] !== 0x2d || content[1] !== 0x2d) return null;
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const d = (this.frames[i] as Frame).delimiter;
      if (!d || content.length < d.length || content.compare(d, 0, d.length, 0, d.length) !== 0) continue;
      if (content[d.length] === 0x2d && content[d.length + 1] === 0x2d) return { index: i, close: true };
      let k = d.length;
      while (k < content.length && (content[k] === 0x20 || content[k] === 0x09)) k++;
      if (k === content.length) return { index: i, close: false };
    }
    return null;
  }

  private onLine(start: number, content: Buffer, contentLen: number, eol: number): void {
    if (!this.degraded) {
      const m = this.matchBoundary(content);
      if (m) {
        const owner = this.frames[m.index] as Frame;
        if (!m.close && this.parts >= this.limits.maxParts) {
          // Too many parts: from here on the rest of the message is body of whatever part is open.
          this.degraded = true;
          addDefect(this.top.root, 'part-limit');
        } else {
          while (this.frames.length - 1 > m.index) this.close(this.frames.pop() as Frame, start);
          if (m.close) owner.state = 'epilogue';
          else {
            owner.state = 'parts';
            this.parts++;
            const child = newPart(start + contentLen + eol);
            (owner.part.children as MimePart[]).push(child);
            this.frames.push(this.frame(child, null, owner.part.contentType.subtype));
          }
          return;
        }
      }
    }
    const f = this.frames[this.frames.length - 1] as Frame;
    if (f.state !== 'header') return; // body, preamble, epilogue: only counted
    if (contentLen === 0) {
      this.finishHeader(f, start + eol, this.lineNo + 1, false, true);
      return;
    }
    const first = content[0];
    const continuation = first === 0x20 || first === 0x09;
    if ((continuation && f.sawField) || fieldNameEnd(content) > 0) {
      f.sawField = true;
      if (contentLen > content.length) addDefect(f.part, 'header-line-too-long');
      const room = this.limits.maxHeaderBytes - f.headerBytes;
      if (room >= content.length + 2) this.keepHeaderLine(f, content);
      else addDefect(f.part, 'header-too-long');
      return;
    }
    // Not a header line: the header ended without its blank line (or the part has none); this line is body.
    if (f.sawField) addDefect(f.part, 'missing-header-separator');
    const depth = this.frames.length;
    this.finishHeader(f, start, this.lineNo, false);
    // An encapsulated message starts at this very line: it is the first line of that message's header.
    // Recursion is bounded: each level pushed a frame, and frames are bounded by maxDepth.
    if (this.frames.length > depth) this.onLine(start, content, contentLen, eol);
  }

  /** Parses a finished header block and decides what the body is: leaf, multipart or encapsulated message. */
  /** Appends one header line (its content, then CRLF) to headerBuf; the caller checked maxHeaderBytes. */
  private keepHeaderLine(f: Frame, content: Buffer): void {
    const at = f.headerBytes;
    const needed = at + content.length + 2;
    let buf = this.headerBuf;
    if (buf === null || buf.length < needed) {
      const size = Math.min(
        this.limits.maxHeaderBytes,
        Math.max(needed, INITIAL_HEADER_BUFFER, (buf?.length ?? 0) * 2),
      );
      const next = Buffer.allocUnsafe(size);
      if (buf !== null) buf.copy(next, 0, 0, at);
      this.headerBuf = buf = next;
    }
    content.copy(buf, at);
    buf[at + content.length] = 0x0d;
    buf[at + content.length + 1] = 0x0a;
    f.headerBytes = needed;
  }

  private finishHeader(
    f: Frame,
    bodyStart: number,
    bodyLineNo: number,
    final: boolean,
    blankLine = false,
  ): void {
    const part = f.part;
    const clean = blankLine && part === this.top.root && part.defects === undefined;
    part.bodyStart = bodyStart;
    part.bodyEnd = bodyStart;
    f.bodyLineNo = bodyLineNo;
    f.state = 'body';
    const headers = HeaderMap.parse(
      this.headerBuf === null ? EMPTY_BLOCK : this.headerBuf.subarray(0, f.headerBytes),
    );
    f.headerBytes = 0;
    if (clean) this.topFields = headers.fields;
    if (f.message) f.message.envelope = buildEnvelope(headers);
    applyMimeFields(part, headers, f.parentSubtype);
    const depth = this.frames.length;
    const ct = part.contentType;
    if (ct.type === 'multipart') {
      const boundary = ct.params['boundary'] ?? '';
      if (boundary.length === 0 || boundary.length > MAX_BOUNDARY) {
        toText(part, 'multipart-without-boundary');
      } else if (depth >= this.limits.maxDepth || final) {
        toText(part, final ? 'multipart-without-parts' : 'depth-limit');
      } else {
        f.state = 'preamble';
        f.delimiter = Buffer.from('--' + boundary, 'utf8');
        part.children = [];
      }
      return;
    }
    const encapsulated = ct.type === 'message' && (ct.subtype === 'rfc822' || ct.subtype === 'global');
    // RFC 2046 5.2.1: message/rfc822 may only be 7bit, 8bit or binary; an encoded one is read as a leaf.
    if (!encapsulated || !['7bit', '8bit', 'binary'].includes(part.encoding) || final) return;
    if (depth >= this.limits.maxDepth || this.parts >= this.limits.maxParts) {
      addDefect(part, depth >= this.limits.maxDepth ? 'depth-limit' : 'part-limit');
      return;
    }
    this.parts++;
    const inner = newPart(bodyStart);
    const message: MessageStructure = { size: 0, envelope: EMPTY_ENVELOPE, root: inner };
    part.message = message;
    this.frames.push(this.frame(inner, message, null));
  }

  /** Closes a frame at a boundary line starting at `at`, or at the end of the message when `at` is null. */
  private close(f: Frame, at: number | null): void {
    const part = f.part;
    if (f.state === 'header') {
      if (f.sawField) addDefect(part, 'missing-header-separator');
      this.finishHeader(f, at ?? this.offset, this.lineNo, true);
    }
    const n = this.lineNo - f.bodyLineNo;
    if (at === null) {
      part.bodyEnd = this.offset;
      part.lines = n;
    } else if (n === 0) {
      part.bodyEnd = part.bodyStart;
      part.lines = 0;
    } else {
      part.bodyEnd = at - this.prevEolLen;
      part.lines = n - 1 + (this.prevLineLen > 0 ? 1 : 0);
    }
    part.size = part.bodyEnd - part.bodyStart;
    if (part.children) {
      if (part.children.length === 0) {
        delete part.children;
        toText(part, 'multipart-without-parts');
      } else if (f.state !== 'epilogue') addDefect(part, 'unterminated-multipart');
    }
    if (part.message) part.message.size = part.size;
    if (f.message) f.message.size = part.bodyEnd - part.headerStart;
  }

  /** Finishes parsing and returns the structure. Further writes are ignored. */
  /**
   * The top-level header's fields when it ended on its blank line with every line a field or a continuation
   * (no defect): then they are parseHeaderBlock's fields of the message's header block, values alike (only
   * line ends are CRLF here), and the store builds the SEARCH index from them instead of parsing again.
   */
  get headerFields(): readonly HeaderField[] | null {
    return this.topFields;
  }

  end(): MessageStructure {
    if (this.ended) return this.top;
    if (this.lineLen > 0) {
      // A last line without a line break: treat it as a line of zero-length break.
      const len = this.lineLen;
      this.onLine(this.offset, this.lineBuf.subarray(0, Math.min(this.kept, len)), len, 0);
      this.offset += len;
      this.lineNo++;
      this.lineLen = 0;
    }
    this.ended = true;
    while (this.frames.length > 0) this.close(this.frames.pop() as Frame, null);
    this.top.size = this.offset;
    return this.top;
  }
}

/** Parses a whole message held in memory. */
export function parseMimeStructure(message: Uint8Array, limits: Partial<MimeLimits> = {}): MessageStructure {
  const p = new MimeStructureParser(limits);
  p.write(message);
  return p.end();
}

/**
 * Resolves an IMAP section part number (RFC 9051 6.4.5, e.g. [1, 2] for "1.2") to its part. Every message
 * (top level or encapsulated) numbers its parts from 1; a message that is not multipart has one part, 1,
 * which is its body. Returns null when there is no such part.
 */
export function findPart(structure: MessageStructure, path: readonly number[]): MimePart | null {
  let current: MimePart | null = null;
  for (const n of path) {
    let container: MimePart;
    if (current === null) container = structure.root;
    else if (current.message) container = current.message.root;
    else if (current.children) container = current;
    else return null;
    current = container.children ? (container.children[n - 1] ?? null) : n === 1 ? container : null;
    if (current === null) return null;
  }
  return current;
}
