// A stored message's HTML body and its inline (cid:) images, found in the MIME tree and decoded; pure.
import { WEB_HTML_LIMITS } from '../config/limits.js';
import { decodeCharset } from './encoded-words.js';
import { parseMimeStructure, type MimePart } from './mime-structure.js';
import { decodeTransferEncoding } from './transfer-encoding.js';
import { sanitizeMessageHtml, type SanitizedHtml } from './html-sanitize.js';

/** The limits message-html applies (config/limits.ts WEB_HTML_LIMITS; tests pass smaller ones). */
export type MessageHtmlLimits = { readonly [K in keyof typeof WEB_HTML_LIMITS]: number };

function isAttachment(part: MimePart): boolean {
  return part.disposition?.value === 'attachment';
}

/**
 * The part whose HTML a reader sees, after RFC 8621 4.1.4's htmlBody choice in short: in
 * multipart/alternative the last alternative that has HTML (alternatives go from plainest to richest,
 * RFC 2046 5.1.4); in multipart/related its root (the first part, RFC 2387 3.2); in other multiparts
 * the first inline part that has HTML. Encapsulated messages (message/rfc822) are attachments, not body.
 */
export function findHtmlPart(part: MimePart): MimePart | null {
  const { type, subtype } = part.contentType;
  if (type === 'text' && subtype === 'html') return isAttachment(part) ? null : part;
  if (type !== 'multipart' || !part.children) return null;
  if (subtype === 'alternative') {
    for (const child of [...part.children].reverse()) {
      const found = findHtmlPart(child);
      if (found) return found;
    }
    return null;
  }
  if (subtype === 'related') return findHtmlPart(part.children[0]!);
  for (const child of part.children) {
    const found = findHtmlPart(child);
    if (found) return found;
  }
  return null;
}

function decodedBody(message: Uint8Array, part: MimePart): Buffer {
  return decodeTransferEncoding(message.subarray(part.bodyStart, part.bodyEnd), part.encoding);
}

/** Every image part with a Content-ID, by id without angle brackets (RFC 2392: cid: URLs name them so). */
function imagesById(root: MimePart, out = new Map<string, MimePart>()): Map<string, MimePart> {
  if (root.children) for (const child of root.children) imagesById(child, out);
  else if (root.contentType.type === 'image' && root.id) {
    const id = root.id.trim().replace(/^<|>$/g, '');
    if (id && !out.has(id)) out.set(id, root);
  }
  return out;
}

/**
 * The message's HTML, sanitised for the web mail (html-sanitize.ts), with cid: images resolved to data:
 * URIs from the message's own parts within the size limits; null when the message has no HTML body.
 * Image types are limited to raster formats a browser shows as images (never SVG: it can script).
 */
export function sanitizedMessageHtml(
  message: Uint8Array,
  allowRemote: boolean,
  limits: MessageHtmlLimits = WEB_HTML_LIMITS,
): SanitizedHtml | null {
  const structure = parseMimeStructure(message);
  const htmlPart = findHtmlPart(structure.root);
  if (!htmlPart) return null;
  const bytes = decodedBody(message, htmlPart).subarray(0, limits.maxHtmlBytes);
  const charset = htmlPart.contentType.params.charset ?? 'utf-8';
  const html = decodeCharset(bytes, charset) ?? bytes.toString('utf8');
  const images = imagesById(structure.root);
  const resolved = new Map<string, string | null>();
  let budget = limits.maxInlineTotalBytes;
  const resolveCid = (cid: string): string | null => {
    const cached = resolved.get(cid);
    if (cached !== undefined) return cached;
    const part = images.get(cid);
    let uri: string | null = null;
    const subtype = part?.contentType.subtype ?? '';
    if (part && /^(?:png|gif|jpeg|jpg|webp|bmp)$/.test(subtype)) {
      const data = decodedBody(message, part);
      if (data.length <= limits.maxInlineImageBytes && data.length <= budget) {
        budget -= data.length;
        uri = `data:image/${subtype === 'jpg' ? 'jpeg' : subtype};base64,${data.toString('base64')}`;
      }
    }
    resolved.set(cid, uri);
    return uri;
  };
  return sanitizeMessageHtml(html, { allowRemote, resolveCid });
}
