// Pure: builds the RFC 5322 message `mailroom send` submits (From, To, Subject per RFC 2047, Date, Message-ID, MIME text/plain).
import { MailroomError } from '../../errors.js';
import { encodeHeaderText } from '../../mail/encoded-words.js';
import { foldHeaderField } from '../../mail/headers.js';
import { rfc5322Date } from '../../mail/received-header.js';
import { encodeQuotedPrintable } from '../../mail/transfer-encoding.js';
import { parsePath } from '../../smtp/address.js';

/** RFC 5322 2.1.1: a line is at most 998 octets before CRLF; longer ones force quoted-printable. */
const MAX_LINE = 998;

export interface ComposeInput {
  from: string;
  to: string[];
  subject?: string;
  /** The body text as typed; any line ending style. */
  body: string;
  date: Date;
  /** Random or unique id part; the Message-ID is `<idPart@domain-of-from>`. */
  idPart: string;
  /** Force a 7-bit body (quoted-printable for anything that is not plain ASCII): a peer without 8BITMIME. */
  sevenBit?: boolean;
}

export interface ComposedMessage {
  data: Buffer;
  /** The body has octets over 127 sent as 8bit (RFC 6152 BODY=8BITMIME). */
  eightBit: boolean;
  /** An address is non-ASCII (RFC 6531 SMTPUTF8). */
  smtpUtf8: boolean;
  messageId: string;
}

/** Parses one address given on the command line (with or without angle brackets); a clear error otherwise. */
export function parseAddressArg(text: string, what: string): { address: string; utf8: boolean } {
  const trimmed = text.trim();
  const path = trimmed.startsWith('<') ? trimmed : `<${trimmed}>`;
  const parsed = parsePath(path, 0, { allowNull: false, utf8: true });
  if (!parsed.ok || parsed.mailbox === null || parsed.end !== path.length || parsed.mailbox.domain === '') {
    throw new MailroomError('BAD_ADDRESS', `${what}: "${trimmed}" is not a valid address`);
  }
  return { address: parsed.mailbox.address, utf8: parsed.mailbox.utf8 };
}

/** Splits `--to a@x,b@y` (commas and/or spaces) into parsed addresses; at least one. */
export function parseRecipientList(text: string): { address: string; utf8: boolean }[] {
  const parts = text.split(/[,\s]+/).filter((p) => p !== '');
  if (parts.length === 0) throw new MailroomError('BAD_ADDRESS', '--to: no recipient given');
  return parts.map((p) => parseAddressArg(p, '--to'));
}

type BodyEncoding = '7bit' | '8bit' | 'quoted-printable';

/**
 * The Content-Transfer-Encoding a text body needs (RFC 2045 6): 7bit when it is short-lined ASCII without
 * NUL; 8bit when only non-ASCII text makes it so (and 8-bit is allowed); quoted-printable when a line is
 * too long or the text holds control characters SMTP mangles (NUL, bare CR after normalising).
 */
export function chooseEncoding(body: Buffer, allow8bit: boolean): BodyEncoding {
  let lineLength = 0;
  let eight = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as number;
    if (c === 0x0d && body[i + 1] === 0x0a) {
      lineLength = 0;
      i++;
      continue;
    }
    if (c === 0x00 || c === 0x0d || c === 0x0a) return 'quoted-printable';
    if (c > 0x7f) eight = true;
    if (++lineLength > MAX_LINE) return 'quoted-printable';
  }
  if (!eight) return '7bit';
  return allow8bit ? '8bit' : 'quoted-printable';
}

/** The body with every line ending as CRLF (RFC 5322 2.1) and a final CRLF. */
function normaliseBody(body: string): Buffer {
  let text = body.replace(/\r\n|\r|\n/g, '\r\n');
  if (text.length > 0 && !text.endsWith('\r\n')) text += '\r\n';
  return Buffer.from(text, 'utf8');
}

/** A display-free address header field (RFC 5322 3.6.2, 3.6.3), folded between addresses. */
function addressField(name: string, addresses: string[]): string {
  return foldHeaderField(name, addresses.join(', '));
}

/** Builds the message. Throws MailroomError on a bad address or a subject with a line break. */
export function composeMessage(input: ComposeInput): ComposedMessage {
  const from = parseAddressArg(input.from, '--from');
  if (input.to.length === 0) throw new MailroomError('BAD_ADDRESS', '--to: no recipient given');
  const to = input.to.map((t) => parseAddressArg(t, '--to'));
  const subject = input.subject ?? '';
  if (/[\r\n]/.test(subject)) throw new MailroomError('BAD_SUBJECT', '--subject must be one line');
  const domain = from.address.slice(from.address.lastIndexOf('@') + 1).replace(/[[\]]/g, '');
  const idPart = input.idPart.replace(/[^A-Za-z0-9.-]/g, '') || 'id';
  const messageId = `<${idPart}@${domain}>`;
  const body = normaliseBody(input.body);
  const encoding = chooseEncoding(body, input.sevenBit !== true);
  const encodedBody =
    encoding === 'quoted-printable' ? Buffer.from(encodeQuotedPrintable(body), 'ascii') : body;
  const smtpUtf8 = from.utf8 || to.some((t) => t.utf8);
  const head =
    addressField('From', [from.address]) +
    addressField(
      'To',
      to.map((t) => t.address),
    ) +
    // RFC 2047 5(1): unstructured text is encoded, so the header stays 7-bit whatever the subject holds.
    (subject !== '' ? foldHeaderField('Subject', encodeHeaderText(subject)) : '') +
    `Date: ${rfc5322Date(input.date)}\r\n` +
    `Message-ID: ${messageId}\r\n` +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Transfer-Encoding: ${encoding}\r\n` +
    '\r\n';
  return {
    data: Buffer.concat([Buffer.from(head, 'utf8'), encodedBody]),
    eightBit: encoding === '8bit',
    smtpUtf8,
    messageId,
  };
}
