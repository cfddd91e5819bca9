// BODY[section]/BINARY[part] extraction (RFC 9051 6.4.5, RFC 3516) from a stored message and its stored structure. Pure.
import { parseHeaderBlock } from '../mail/headers.js';
import { findPart, type MessageStructure, type MimePart } from '../mail/mime-structure.js';
import { decodeTransferEncoding } from '../mail/transfer-encoding.js';
import type { Section, SectionText } from './proto/command-types.js';

/** The header block of a part or message: from headerStart to bodyStart (blank line included). */
function header(msg: Buffer, part: MimePart): Buffer {
  return msg.subarray(part.headerStart, part.bodyStart);
}

/** Selected fields of a header block plus the terminating blank line (RFC 9051 6.4.5 HEADER.FIELDS). */
function headerFields(block: Buffer, names: readonly string[], not: boolean): Buffer {
  const want = new Set(names.map((n) => n.toLowerCase()));
  const out: Buffer[] = [];
  // Walk the raw lines so the fields keep their exact bytes (folding included).
  let start = 0;
  let keep = false;
  while (start < block.length) {
    let end = block.indexOf(0x0a, start);
    end = end < 0 ? block.length : end + 1;
    const line = block.subarray(start, end);
    const blank = line.length <= 2 && (line[0] === 0x0d || line[0] === 0x0a);
    if (blank) break;
    if (line[0] !== 0x20 && line[0] !== 0x09) {
      const colon = line.indexOf(0x3a);
      const name = colon > 0 ? line.toString('latin1', 0, colon).trim().toLowerCase() : '';
      keep = name !== '' && want.has(name) !== not;
    }
    if (keep) out.push(line);
    start = end;
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/**
 * The bytes of BODY[section] (before any <partial>), or null when the part does not exist (the
 * caller answers with an empty string, as RFC 9051 6.4.5 allows for a missing part). `msg` is the
 * whole stored message and `s` its structure with offsets into it.
 */
export function sectionBytes(msg: Buffer, s: MessageStructure, section: Section): Buffer | null {
  const t = section.text;
  if (section.part.length === 0) return topSectionBytes(msg, s.root.bodyStart, t);
  const part = findPart(s, section.part);
  if (!part) return null;
  if (!t) return msg.subarray(part.bodyStart, part.bodyEnd);
  if (t.kind === 'MIME') return header(msg, part);
  // HEADER/TEXT/HEADER.FIELDS of a part apply to an encapsulated message (message/rfc822).
  const inner = part.message?.root;
  if (!inner) return null;
  if (t.kind === 'HEADER') return header(msg, inner);
  if (t.kind === 'TEXT') return msg.subarray(inner.bodyStart, part.bodyEnd);
  return headerFields(header(msg, inner), t.fields, t.not);
}

/**
 * BODY[], BODY[HEADER], BODY[TEXT], BODY[HEADER.FIELDS (...)] of the message itself: all they need of its
 * structure is where its body starts (the root's header starts at 0), so FETCH asks the store for that
 * alone (MessageMeta.bodyStart) and builds no structure (sectionNeeds).
 */
export function topSectionBytes(msg: Buffer, bodyStart: number, t: SectionText | null): Buffer | null {
  if (!t) return msg;
  if (t.kind === 'HEADER') return msg.subarray(0, bodyStart);
  if (t.kind === 'TEXT') return msg.subarray(bodyStart);
  if (t.kind === 'HEADER.FIELDS') return headerFields(msg.subarray(0, bodyStart), t.fields, t.not);
  return null; // MIME needs a part number (RFC 9051 6.4.5)
}

/** What of a message's structure a section needs: none (the whole message), its body start, or all of it. */
export function sectionNeeds(section: Section): 'none' | 'bodyStart' | 'structure' {
  if (section.part.length > 0) return 'structure';
  return section.text === null || section.text.kind === 'MIME' ? 'none' : 'bodyStart';
}

/** BINARY[part]: the part body with its Content-Transfer-Encoding removed (RFC 3516 4.2). Null: no such part. */
export function binaryBytes(msg: Buffer, s: MessageStructure, part: readonly number[]): Buffer | null {
  if (part.length === 0) return msg;
  const p = findPart(s, part);
  if (!p || p.children) return null;
  return decodeTransferEncoding(msg.subarray(p.bodyStart, p.bodyEnd), p.encoding);
}

/** <offset.length> (RFC 9051 6.4.5): an offset past the end gives an empty string. */
export function applyPartial(
  bytes: Buffer,
  partial: { offset: number; length: number | null } | null,
): Buffer {
  if (!partial) return bytes;
  const start = Math.min(partial.offset, bytes.length);
  const end = partial.length === null ? bytes.length : Math.min(bytes.length, start + partial.length);
  return bytes.subarray(start, end);
}

/** The header fields of a message (for SEARCH HEADER/FROM/SUBJECT...), parsed. */
export function headerFieldsOf(msg: Buffer, s: MessageStructure): { key: string; value: string }[] {
  return parseHeaderBlock(header(msg, s.root));
}
