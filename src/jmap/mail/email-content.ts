// What Email/query's text/body/hasAttachment filters and SearchSnippet/get read from a message: its body text and attachments (RFC 8621 4.1.4).
import { JMAP_QUERY_LIMITS } from '../../config/limits.js';
import { decodeCharset, decodeEncodedWords } from '../../mail/encoded-words.js';
import { HeaderMap } from '../../mail/headers.js';
import { bodyStructureOf, classifyBody, hasAttachment } from '../../mail/jmap-body.js';
import { MimeStructureParser, type MimePart } from '../../mail/mime-structure.js';
import { decodeTransferEncoding } from '../../mail/transfer-encoding.js';
import type { Store } from '../../store/store.js';

/** A message as the search filters see it. */
export interface EmailContent {
  /** The decoded text of the textBody and htmlBody parts (HTML without its tags), within the byte budget. */
  text: string;
  /** RFC 8621 4.1.1 hasAttachment. */
  hasAttachment: boolean;
  /** The Subject, decoded (RFC 2047), for SearchSnippet/get; null when there is none. */
  subject: string | null;
}

/** HTML to its text for searching: tags, comments, script/style contents dropped, entities of note decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'")
    .replace(/&amp;/gi, '&');
}

/** The decoded text of one leaf part whose bytes are in `bytes` (cut at the budget: a shorter text). */
export function partText(bytes: Buffer, part: MimePart): string {
  const end = Math.min(part.bodyEnd, bytes.length);
  if (end <= part.bodyStart) return '';
  const raw = decodeTransferEncoding(bytes.subarray(part.bodyStart, end), part.encoding);
  const charset = part.contentType.params.charset ?? 'us-ascii';
  const text = decodeCharset(raw, charset) ?? raw.toString('latin1');
  return part.contentType.subtype === 'html' ? htmlToText(text) : text;
}

/** The searchable content of a parsed message whose first bytes are `bytes`. Pure. */
export function contentOf(bytes: Buffer, root: MimePart): EmailContent {
  // The same RFC 8621 4.1.4 lists as Email/get's textBody, htmlBody and attachments, so the search agrees with them.
  const { textBody, htmlBody, attachments } = classifyBody(bodyStructureOf({ root }));
  const seen = new Set<MimePart>();
  const texts: string[] = [];
  for (const { mime: p } of [...textBody, ...htmlBody]) {
    if (seen.has(p) || p.contentType.type !== 'text') continue;
    seen.add(p);
    texts.push(partText(bytes, p));
  }
  const header = HeaderMap.parse(bytes.subarray(root.headerStart, Math.min(root.bodyStart, bytes.length)));
  const subject = header.get('subject');
  return {
    text: texts.join('\n'),
    hasAttachment: hasAttachment(attachments),
    subject: subject === undefined ? null : decodeEncodedWords(subject),
  };
}

/**
 * Reads a stored message once: the whole of it through the MIME parser (the structure needs every
 * boundary) but only its first `bodySearchBytes` kept for text. Null when it is gone meanwhile.
 */
export async function loadContent(store: Store, messageId: number): Promise<EmailContent | null> {
  let opened;
  try {
    opened = await store.mail.openMessage(messageId);
  } catch {
    return null; // expunged and collected meanwhile
  }
  const parser = new MimeStructureParser();
  const kept: Buffer[] = [];
  let keptBytes = 0;
  try {
    for await (const chunk of opened.chunks) {
      parser.write(chunk);
      if (keptBytes < JMAP_QUERY_LIMITS.bodySearchBytes) {
        const take = chunk.subarray(0, JMAP_QUERY_LIMITS.bodySearchBytes - keptBytes);
        kept.push(take);
        keptBytes += take.length;
      }
    }
  } finally {
    await opened.close();
  }
  return contentOf(Buffer.concat(kept), parser.end().root);
}
