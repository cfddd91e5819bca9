// ENVELOPE and BODY/BODYSTRUCTURE as response values (RFC 9051 7.5.2), from the types the MIME parser fills.
import type {
  BodyDisposition,
  BodyExtension,
  BodyParam,
  BodyStructure,
  Envelope,
  EnvelopeAddress,
} from './types.js';
import type { ImapValue } from './response-writer.js';

function addressList(list: EnvelopeAddress[]): ImapValue {
  // RFC 9051 7.5.2: an empty address list is NIL, never "()".
  if (list.length === 0) return null;
  return list.map((a) => [a.name, a.adl, a.mailbox, a.host]);
}

/**
 * ENVELOPE (RFC 9051 7.5.2). Sender and Reply-To fall back to From when absent, as the RFC
 * requires of the server ("the server sets the corresponding member ... to be the same value
 * as the from member"), so the stored envelope can stay a faithful copy of the headers.
 */
export function envelopeValue(env: Envelope): ImapValue {
  return [
    env.date,
    env.subject,
    addressList(env.from),
    addressList(env.sender.length > 0 ? env.sender : env.from),
    addressList(env.replyTo.length > 0 ? env.replyTo : env.from),
    addressList(env.to),
    addressList(env.cc),
    addressList(env.bcc),
    env.inReplyTo,
    env.messageId,
  ];
}

function params(list: BodyParam[]): ImapValue {
  // body-fld-param: "(" string SP string *(SP string SP string) ")" / nil.
  if (list.length === 0) return null;
  return list.flatMap((p) => [p.name.toUpperCase(), p.value]);
}

function disposition(d: BodyDisposition | null): ImapValue {
  return d ? [d.type.toUpperCase(), params(d.params)] : null;
}

function extensionTail(e: BodyExtension): ImapValue[] {
  return [disposition(e.disposition), e.language && e.language.length > 0 ? e.language : null, e.location];
}

/** An empty text/plain part: IMAP has no syntax for a multipart without parts (body-type-mpart = 1*body). */
const EMPTY_PART: BodyStructure = {
  kind: 'text',
  type: 'text',
  subtype: 'plain',
  params: [{ name: 'charset', value: 'us-ascii' }],
  id: null,
  description: null,
  encoding: '7BIT',
  size: 0,
  lines: 0,
  md5: null,
  disposition: null,
  language: null,
  location: null,
};

/** Parts nested deeper than this are cut off: bounds recursion for hostile stored structures. */
export const MAX_STRUCTURE_DEPTH = 100;

/**
 * BODYSTRUCTURE (extensible = true) or BODY (false, no extension data) per RFC 9051 7.5.2.
 * Types and subtypes are upper-cased, as most servers send them.
 */
export function bodyStructureValue(bs: BodyStructure, extensible: boolean, depth = 0): ImapValue {
  if (depth > MAX_STRUCTURE_DEPTH) return bodyStructureValue(EMPTY_PART, extensible, depth - 1);
  if (bs.kind === 'multipart') {
    const children = (bs.parts.length > 0 ? bs.parts : [EMPTY_PART]).map((p) =>
      bodyStructureValue(p, extensible, depth + 1),
    );
    const out: ImapValue[] = [{ adjacent: children }, bs.subtype.toUpperCase()];
    // RFC 9051 9: body-type-mpart = 1*body SP media-subtype: children are adjacent, "((...)(...) "MIXED")".
    if (extensible) out.push(params(bs.params), ...extensionTail(bs));
    return out;
  }
  const out: ImapValue[] = [
    bs.type.toUpperCase(),
    bs.subtype.toUpperCase(),
    params(bs.params),
    bs.id,
    bs.description,
    bs.encoding.toUpperCase(),
    bs.size,
  ];
  if (bs.kind === 'text') out.push(bs.lines);
  if (bs.kind === 'message') {
    out.push(envelopeValue(bs.envelope), bodyStructureValue(bs.body, extensible, depth + 1), bs.lines);
  }
  if (extensible) out.push(bs.md5, ...extensionTail(bs));
  return out;
}
