// Stored MIME structure (mail/mime-structure.ts) -> the ENVELOPE/BODYSTRUCTURE shapes the IMAP writer serialises.
import type { MessageEnvelope } from '../mail/envelope.js';
import { paramsForWire } from '../mail/mime-params.js';
import type { MimePart } from '../mail/mime-structure.js';
import type { BodyParam, BodyStructure, Envelope } from './proto/types.js';

export function toEnvelope(e: MessageEnvelope): Envelope {
  return {
    date: e.date,
    subject: e.subject,
    from: e.from ?? [],
    sender: e.sender ?? [],
    replyTo: e.replyTo ?? [],
    to: e.to ?? [],
    cc: e.cc ?? [],
    bcc: e.bcc ?? [],
    inReplyTo: e.inReplyTo,
    messageId: e.messageId,
  };
}

function params(p: Record<string, string>): BodyParam[] {
  return paramsForWire(p).map(([name, value]) => ({ name, value }));
}

/** One part as BODYSTRUCTURE (RFC 9051 7.5.2). */
export function toBodyStructure(part: MimePart): BodyStructure {
  const ext = {
    disposition: part.disposition
      ? { type: part.disposition.value, params: params(part.disposition.params) }
      : null,
    language: part.language,
    location: part.location,
  };
  const ct = part.contentType;
  if (part.children) {
    return {
      kind: 'multipart',
      subtype: ct.subtype,
      parts: part.children.map(toBodyStructure),
      params: params(ct.params),
      ...ext,
    };
  }
  const fields = {
    type: ct.type,
    subtype: ct.subtype,
    params: params(ct.params),
    id: part.id,
    description: part.description,
    encoding: part.encoding.toUpperCase(),
    size: part.size,
    md5: part.md5,
    ...ext,
  };
  if (part.message) {
    return {
      kind: 'message',
      ...fields,
      envelope: toEnvelope(part.message.envelope),
      body: toBodyStructure(part.message.root),
      lines: part.lines,
    };
  }
  if (ct.type === 'text') return { kind: 'text', ...fields, lines: part.lines };
  return { kind: 'basic', ...fields };
}
