// A message APPENDed as literal8 (RFC 3516 4.4): its binary (Content-Transfer-Encoding: binary) leaf parts re-encoded as base64. Pure.
import { parseMimeStructure, type MimePart } from './mime-structure.js';
import { encodeBase64Lines } from './transfer-encoding.js';

/*
 * Why: RFC 3516 4.4 lets a client APPEND binary content (NUL and bare octets allowed) in a literal8.
 * Stored as is, BODY[...] of such a part could only be answered with raw binary, which a client that
 * never asked for BINARY cannot be sent (RFC 3516 4.3: BODY keeps the 7bit/8bit promise of literals).
 * Like Dovecot (its binary converter on APPEND), we store such parts base64-encoded: BODY[n] is then
 * plain base64 text, BINARY[n] decodes it back to exactly the bytes sent, and BINARY.SIZE is theirs.
 */

/** The binary leaf parts (not multiparts, not encapsulating message parts), in message order. */
function binaryLeaves(part: MimePart, out: MimePart[]): void {
  if (part.children) for (const c of part.children) binaryLeaves(c, out);
  else if (part.message) binaryLeaves(part.message.root, out);
  else if (part.encoding === 'binary') out.push(part);
}

/** The header block with every Content-Transfer-Encoding field (folded lines included) set to base64. */
function rewriteHeader(block: Buffer): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  let replaced = false;
  let skipping = false;
  while (start < block.length) {
    let end = block.indexOf(0x0a, start);
    end = end < 0 ? block.length : end + 1;
    const line = block.subarray(start, end);
    start = end;
    const continuation = line[0] === 0x20 || line[0] === 0x09;
    if (continuation && skipping) continue;
    skipping = !continuation && /^content-transfer-encoding[ \t]*:/i.test(line.toString('latin1', 0, 40));
    if (skipping) {
      if (!replaced) out.push(Buffer.from('Content-Transfer-Encoding: base64\r\n'));
      replaced = true;
      continue;
    }
    out.push(line);
  }
  return Buffer.concat(out);
}

/**
 * The message with its binary leaf parts base64-encoded (header field and body), or null when it has
 * none (then it is stored unchanged). Offsets come from the MIME structure parser, so boundaries,
 * preambles and other parts keep their exact bytes.
 */
export function convertBinaryParts(msg: Buffer): Buffer | null {
  const leaves: MimePart[] = [];
  binaryLeaves(parseMimeStructure(msg).root, leaves);
  if (leaves.length === 0) return null;
  const out: Buffer[] = [];
  let pos = 0;
  for (const p of leaves) {
    out.push(msg.subarray(pos, p.headerStart));
    out.push(rewriteHeader(msg.subarray(p.headerStart, p.bodyStart)));
    const encoded = encodeBase64Lines(msg.subarray(p.bodyStart, p.bodyEnd));
    // A part's body ends before the line break that precedes its boundary (RFC 2046 5.1.1), which is kept.
    const inMultipart = p.bodyEnd < msg.length;
    out.push(Buffer.from(inMultipart ? encoded.replace(/\r\n$/, '') : encoded, 'latin1'));
    pos = p.bodyEnd;
  }
  out.push(msg.subarray(pos));
  return Buffer.concat(out);
}
