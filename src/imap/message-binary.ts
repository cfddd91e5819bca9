// The binary form of a MIME part and everything in it (RFC 5524 3, URLAUTH=BINARY): transfer encodings removed at every level. Pure.
import { parseMimeStructure, type MessageStructure, type MimePart } from '../mail/mime-structure.js';
import { decodeTransferEncoding } from '../mail/transfer-encoding.js';

/** Encodings that are decoded (the others are already the content's own octets). */
const DECODED = new Set(['base64', 'quoted-printable']);

/** Deepest nesting converted: the MIME parser's own limit is lower, this only guards the recursion. */
const MAX_DEPTH = 64;

/**
 * A part's header with its Content-Transfer-Encoding said to be "binary" when its body is decoded
 * (RFC 3516 4.2 calls the decoded content "binary"): the header must not claim base64 any more.
 */
function header(msg: Buffer, part: MimePart): Buffer {
  const block = msg.subarray(part.headerStart, part.bodyStart);
  if (part.children || part.message || !DECODED.has(part.encoding)) return block;
  const text = block.toString('latin1');
  const out = text.replace(
    /^Content-Transfer-Encoding[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*/gim,
    'Content-Transfer-Encoding: binary',
  );
  return Buffer.from(out, 'latin1');
}

/** A part's body with every transfer encoding inside it removed; the MIME framing is kept byte for byte. */
function body(msg: Buffer, part: MimePart, depth: number): Buffer {
  if (depth > MAX_DEPTH) return msg.subarray(part.bodyStart, part.bodyEnd);
  if (part.message) {
    const inner = part.message.root;
    return Buffer.concat([
      header(msg, inner),
      body(msg, inner, depth + 1),
      msg.subarray(inner.bodyEnd, part.bodyEnd),
    ]);
  }
  if (part.children) {
    const chunks: Buffer[] = [];
    let at = part.bodyStart;
    for (const child of part.children) {
      chunks.push(msg.subarray(at, child.headerStart), header(msg, child), body(msg, child, depth + 1));
      at = child.bodyEnd;
    }
    chunks.push(msg.subarray(at, part.bodyEnd));
    return Buffer.concat(chunks);
  }
  return decodeTransferEncoding(msg.subarray(part.bodyStart, part.bodyEnd), part.encoding);
}

/** The binary content of a part (its body; for message/rfc822 the whole encapsulated message). */
export function binaryContent(msg: Buffer, part: MimePart): Buffer {
  return body(msg, part, 0);
}

/** BINARY[] of a whole message: its header (encoding rewritten if it is a single encoded part) and binary content. */
export function binaryMessage(msg: Buffer, root: MimePart): Buffer {
  return Buffer.concat([header(msg, root), binaryContent(msg, root)]);
}

/**
 * Puts the original encodings back on a structure parsed from binary content (same shape). A
 * decoded leaf counts its line breaks only: decoded data need not end with one, and the
 * "last line without a break" rule of the MIME parser would count one line that is not there.
 */
function restoreEncodings(synthetic: Buffer, conv: MimePart, orig: MimePart): void {
  conv.encoding = orig.encoding;
  if (!conv.children && !conv.message && DECODED.has(orig.encoding)) {
    let lines = 0;
    for (let i = conv.bodyStart; i < conv.bodyEnd; i++) if (synthetic[i] === 0x0a) lines++;
    conv.lines = lines;
  }
  if (conv.message && orig.message) restoreEncodings(synthetic, conv.message.root, orig.message.root);
  if (conv.children && orig.children) {
    conv.children.forEach((c, i) => {
      const o = orig.children?.[i];
      if (o) restoreEncodings(synthetic, c, o);
    });
  }
}

/**
 * The structure of a part as its binary content reads (sizes and line counts of the decoded
 * octets), with the encodings the part declares: what BODYPARTSTRUCTURE describes when BINARY is
 * fetched with it (RFC 5524 3; Dovecot answers the same).
 */
export function binaryStructure(msg: Buffer, part: MimePart): MimePart {
  const synthetic = Buffer.concat([header(msg, part), binaryContent(msg, part)]);
  const parsed: MessageStructure = parseMimeStructure(synthetic);
  restoreEncodings(synthetic, parsed.root, part);
  return parsed.root;
}
