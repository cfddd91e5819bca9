// Shared IMAP protocol types: the syntax error, ENVELOPE and BODYSTRUCTURE shapes (RFC 9051 7.5.2) the MIME parser fills.

/**
 * A syntax problem in client input. Thrown inside the pure parsers and caught once in
 * parseImapCommand, which turns it into a tagged BAD (RFC 9051 7.1.3: BAD = syntax error).
 */
export class ImapSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImapSyntaxError';
  }
}

/** One address of an ENVELOPE (RFC 9051 7.5.2, "address"): each field NIL when absent. */
export interface EnvelopeAddress {
  /** Display name as in the header: quotes and escapes removed, RFC 2047 encoded words left encoded. */
  name: string | null;
  /** Source route (obsolete); almost always null. */
  adl: string | null;
  /** Local part; for RFC 5322 groups: the group name (start marker) or null (end marker, with host null). */
  mailbox: string | null;
  /** Domain; null marks a group start/end (RFC 9051 7.5.2). */
  host: string | null;
}

/**
 * ENVELOPE (RFC 9051 7.5.2): header values as they appear in the message (unfolded, not
 * decoded: RFC 2047 encoded words stay encoded, as servers conventionally send them).
 * Empty address lists are written as NIL.
 */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[];
  sender: EnvelopeAddress[];
  replyTo: EnvelopeAddress[];
  to: EnvelopeAddress[];
  cc: EnvelopeAddress[];
  bcc: EnvelopeAddress[];
  inReplyTo: string | null;
  messageId: string | null;
}

/** Content-Disposition (RFC 2183) as BODYSTRUCTURE extension data. */
export interface BodyDisposition {
  /** e.g. 'attachment', 'inline' (as sent; the writer does not change case). */
  type: string;
  params: BodyParam[];
}

/** One MIME parameter, name and value already RFC 2231-decoded into Unicode. */
export interface BodyParam {
  name: string;
  value: string;
}

/** Extension data common to every part (RFC 9051 7.5.2 body-ext-1part / body-ext-mpart tails). */
export interface BodyExtension {
  disposition: BodyDisposition | null;
  /** Content-Language values; null when absent. */
  language: string[] | null;
  /** Content-Location; null when absent. */
  location: string | null;
}

/** Fields every non-multipart part has (RFC 9051 7.5.2 "body-fields"). */
export interface BodyFields extends BodyExtension {
  /** Lower or upper case as sent; the writer upper-cases type/subtype per convention. */
  type: string;
  subtype: string;
  params: BodyParam[];
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding, default '7BIT'. */
  encoding: string;
  /** Size in octets of the encoded body of this part. */
  size: number;
  /** Content-MD5 (extension data); null when absent. */
  md5: string | null;
}

/** Any single part that is neither text/* nor message/rfc822 (RFC 9051 7.5.2 body-type-basic). */
export interface BasicPart extends BodyFields {
  kind: 'basic';
}

/** text/* parts also carry their line count (body-type-text). */
export interface TextPart extends BodyFields {
  kind: 'text';
  lines: number;
}

/** message/rfc822 (and message/global, RFC 6532) parts carry the inner envelope and structure (body-type-msg). */
export interface MessagePart extends BodyFields {
  kind: 'message';
  envelope: Envelope;
  body: BodyStructure;
  lines: number;
}

/** multipart/* (body-type-mpart): children, subtype, then extension data (params first). */
export interface MultipartPart extends BodyExtension {
  kind: 'multipart';
  subtype: string;
  parts: BodyStructure[];
  params: BodyParam[];
}

/** The BODYSTRUCTURE tree the MIME parser produces once at delivery and the FETCH writer serialises. */
export type BodyStructure = BasicPart | TextPart | MessagePart | MultipartPart;
