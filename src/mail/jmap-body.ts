// A message's MIME structure as JMAP Email body properties (RFC 8621 4.1.4): bodyStructure, textBody, htmlBody, attachments, values, preview. Pure.
import { decodeCharset, decodeEncodedWords } from './encoded-words.js';
import { parseHeaderBlock, type HeaderField } from './headers.js';
import type { MessageStructure, MimePart } from './mime-structure.js';
import { decodeTransferEncoding } from './transfer-encoding.js';

/** One EmailBodyPart (RFC 8621 4.1.4) with the MIME part it stands for. */
export interface BodyPart {
  /** Leaves are numbered "1", "2"... in depth-first order; null for multipart/* (RFC 8621 4.1.4). */
  partId: string | null;
  /** Lower-cased "type/subtype". */
  type: string;
  charset: string | null;
  disposition: string | null;
  name: string | null;
  cid: string | null;
  language: string[] | null;
  location: string | null;
  subParts: BodyPart[] | null;
  mime: MimePart;
}

function headerFields(message: Uint8Array, part: MimePart): HeaderField[] {
  return parseHeaderBlock(message.subarray(part.headerStart, part.bodyStart));
}

/**
 * The EmailBodyPart tree of a message (RFC 8621 4.1.4). message/rfc822 parts are leaves (their content
 * is a blob Email/parse can read), as the RFC's bodyStructure has it.
 */
export function bodyStructureOf(structure: Pick<MessageStructure, 'root'>): BodyPart {
  let next = 1;
  const convert = (mime: MimePart): BodyPart => {
    const type = `${mime.contentType.type}/${mime.contentType.subtype}`;
    const multipart = mime.contentType.type === 'multipart' && mime.children !== undefined;
    const rawName = mime.disposition?.params.filename ?? mime.contentType.params.name ?? null;
    const part: BodyPart = {
      partId: multipart ? null : String(next++),
      type,
      // RFC 8621 4.1.4: charset is the parameter, or "us-ascii" for text/* without one (RFC 2046 4.1.2).
      charset: mime.contentType.params.charset ?? (mime.contentType.type === 'text' ? 'us-ascii' : null),
      disposition: mime.disposition?.value ?? null,
      name: rawName === null ? null : decodeEncodedWords(rawName).normalize('NFC'),
      cid: mime.id === null ? null : mime.id.trim().replace(/^<(.*)>$/, '$1'),
      language: mime.language,
      location: mime.location,
      subParts: null,
      mime,
    };
    if (multipart) part.subParts = mime.children!.map(convert);
    return part;
  };
  return convert(structure.root);
}

/** Every part of the tree, depth first (multiparts included). */
export function allParts(root: BodyPart): BodyPart[] {
  const out: BodyPart[] = [];
  const walk = (p: BodyPart) => {
    out.push(p);
    for (const c of p.subParts ?? []) walk(c);
  };
  walk(root);
  return out;
}

export function findBodyPart(root: BodyPart, partId: string): BodyPart | null {
  return allParts(root).find((p) => p.partId === partId) ?? null;
}

const isInlineMediaType = (type: string) =>
  type.startsWith('image/') || type.startsWith('audio/') || type.startsWith('video/');

/**
 * textBody, htmlBody and attachments: the algorithm of RFC 8621 4.1.4 (its JavaScript, transcribed).
 */
/**
 * RFC 8621 4.1.1 hasAttachment: "SHOULD be true if the attachments list contains at least one item that
 * does not have Content-Disposition: inline". One rule for Email/get and Email/query's filter.
 */
export function hasAttachment(attachments: readonly BodyPart[]): boolean {
  return attachments.some((p) => p.disposition !== 'inline');
}

export function classifyBody(root: BodyPart): {
  textBody: BodyPart[];
  htmlBody: BodyPart[];
  attachments: BodyPart[];
} {
  const textBody: BodyPart[] = [];
  const htmlBody: BodyPart[] = [];
  const attachments: BodyPart[] = [];
  const parse = (
    parts: readonly BodyPart[],
    multipartType: string,
    inAlternative: boolean,
    html: BodyPart[] | null,
    text: BodyPart[] | null,
  ): void => {
    const textLength = text ? text.length : -1;
    const htmlLength = html ? html.length : -1;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const isMultipart = part.subParts !== null;
      const isInline =
        part.disposition !== 'attachment' &&
        (part.type === 'text/plain' || part.type === 'text/html' || isInlineMediaType(part.type)) &&
        (i === 0 || (multipartType !== 'related' && (isInlineMediaType(part.type) || part.name === null)));
      if (isMultipart) {
        const sub = part.type.split('/')[1] ?? '';
        parse(part.subParts!, sub, inAlternative || sub === 'alternative', html, text);
      } else if (isInline) {
        if (multipartType === 'alternative') {
          if (part.type === 'text/plain') text?.push(part);
          else if (part.type === 'text/html') html?.push(part);
          else attachments.push(part);
          continue;
        } else if (inAlternative) {
          if (part.type === 'text/plain') html = null;
          if (part.type === 'text/html') text = null;
        }
        text?.push(part);
        html?.push(part);
        if ((!text || !html) && isInlineMediaType(part.type)) attachments.push(part);
      } else {
        attachments.push(part);
      }
    }
    if (multipartType === 'alternative' && text && html) {
      // Only an HTML part was found: it serves as the text body too, and the reverse.
      if (textLength === text.length && htmlLength !== html.length) {
        for (let i = htmlLength; i < html.length; i++) text.push(html[i]!);
      }
      if (htmlLength === html.length && textLength !== text.length) {
        for (let i = textLength; i < text.length; i++) html.push(text[i]!);
      }
    }
  };
  parse([root], 'mixed', false, htmlBody, textBody);
  return { textBody, htmlBody, attachments };
}

/** A leaf's content with its transfer encoding removed (RFC 2045 6): the part's blob. */
export function partContent(message: Uint8Array, part: MimePart): Buffer {
  return decodeTransferEncoding(message.subarray(part.bodyStart, part.bodyEnd), part.encoding);
}

/** The decoded size of a part (RFC 8621 4.1.4 size: "after decoding the Content-Transfer-Encoding"). */
export function partSize(message: Uint8Array, part: BodyPart): number {
  if (part.subParts !== null) return part.mime.size;
  const enc = part.mime.encoding;
  return enc === 'base64' || enc === 'quoted-printable'
    ? partContent(message, part.mime).length
    : part.mime.size;
}

/** EmailBodyValue (RFC 8621 4.1.4). */
export interface BodyValue {
  value: string;
  isEncodingProblem: boolean;
  isTruncated: boolean;
}

/**
 * A text part's value: decoded from its charset (an unknown charset or malformed bytes set
 * isEncodingProblem, and the text is the best guess: UTF-8, else latin1), "with any CRLF replaced
 * with a single LF" (RFC 8621 4.1.4: a client quoting it line by line must not see a CR per line).
 * Truncated to at most `maxBytes` octets of UTF-8 at a character boundary (isTruncated).
 */
export function bodyValueOf(message: Uint8Array, part: BodyPart, maxBytes: number): BodyValue {
  const bytes = partContent(message, part.mime);
  const charset = part.charset ?? 'us-ascii';
  let value = decodeCharset(bytes, charset);
  let isEncodingProblem = false;
  if (value === undefined) {
    value = decodeCharset(bytes, 'utf-8') ?? bytes.toString('latin1');
    isEncodingProblem = true;
  }
  if (value.includes('\ufffd') && !bytes.includes(Buffer.from('\ufffd'))) isEncodingProblem = true;
  value = value.replaceAll('\r\n', '\n');
  let isTruncated = false;
  if (maxBytes > 0 && Buffer.byteLength(value) > maxBytes) {
    let cut = Buffer.from(value).subarray(0, maxBytes).toString('utf8');
    if (cut.endsWith('\ufffd')) cut = cut.slice(0, -1); // a character cut in half
    value = cut;
    isTruncated = true;
  }
  return { value, isEncodingProblem, isTruncated };
}

/** Text of HTML for the preview only (not a sanitiser): tags, comments, style/script contents and entities gone. */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(style|script|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'")
    .replace(/&#(\d{1,7});/g, (_, n: string) => {
      const c = Number(n);
      return c > 0 && c <= 0x10ffff ? String.fromCodePoint(c) : ' ';
    })
    .replace(/&amp;/gi, '&');
}

/**
 * preview (RFC 8621 4.1.4): up to `chars` characters of the first text part (or the HTML one made
 * plain), white space collapsed. Reads at most a few times `chars` bytes of the part.
 */
export function previewOf(message: Uint8Array, textBody: readonly BodyPart[], chars: number): string {
  const first = textBody.find((p) => p.type === 'text/plain' || p.type === 'text/html');
  if (!first) return '';
  // Enough of the part for `chars` characters even when HTML markup takes most of it.
  const value = bodyValueOf(message, first, first.type === 'text/html' ? 64 * 1024 : chars * 4 + 64).value;
  const text = first.type === 'text/html' ? htmlToPlain(value) : value;
  return [...text.replace(/\s+/g, ' ').trim()].slice(0, chars).join('');
}

/** The header fields of a part (EmailBodyPart headers / header:* properties). */
export function partHeaders(message: Uint8Array, part: BodyPart): HeaderField[] {
  return headerFields(message, part.mime);
}
