// Pure: whether a delivered message gets the vacation auto-reply (RFC 3834), and the reply itself.
import { parseAddresses } from '../mail/envelope.js';
import { encodeHeaderText } from '../mail/encoded-words.js';
import type { HeaderMap } from '../mail/headers.js';
import { rfc5322Date } from '../mail/received-header.js';
import type { VacationRecord } from '../store/sending-store.js';

export interface VacationFacts {
  /** The envelope sender (MAIL FROM); '' for the null reverse-path. */
  sender: string;
  headers: HeaderMap;
  /** The recipient account's addresses, lower case (own-addresses.ts). */
  ownAddresses: readonly string[];
  vacation: VacationRecord;
  now: Date;
}

export type VacationDecision = { reply: true; to: string } | { reply: false; reason: string };

/** Local parts that are machines, not people (RFC 3834 2; RFC 2142 role mailboxes of list software). */
const MACHINE_SENDER =
  /^(mailer-daemon|postmaster|listserv|majordomo|owner-.*|.*-request|.*-owner|.*-bounces?|no-?reply)$/i;

/**
 * RFC 3834 2 and 3.1 for a personal responder, in the order a reason is most useful in a log:
 * - only while enabled and within fromDate..toDate (RFC 8621 8);
 * - never to the null sender (bounces, other auto-replies: RFC 3834 3.1.2 replies go to the Return-Path),
 *   MAILER-DAEMON and list software addresses;
 * - never to a message with Auto-Submitted other than "no" (RFC 3834 2, 5);
 * - never to mailing-list mail: any List-* field (RFC 2369, RFC 2919) or Precedence bulk/list/junk
 *   (RFC 3834 2 "SHOULD NOT respond to ... bulk");
 * - only when one of the user's addresses is in To, Cc, Bcc, Resent-To/Cc/Bcc (RFC 3834 2: otherwise the
 *   message was not sent to the user personally);
 * - never to the user themself.
 * "Once per sender per period" is the store's part (SendingStore.claimVacationReply).
 */
export function decideVacation(f: VacationFacts): VacationDecision {
  const { vacation: v, now, headers } = f;
  if (!v.isEnabled) return { reply: false, reason: 'disabled' };
  if (v.fromDate && now < v.fromDate) return { reply: false, reason: 'before fromDate' };
  if (v.toDate && now >= v.toDate) return { reply: false, reason: 'after toDate' };
  const sender = f.sender.trim().toLowerCase();
  if (sender === '') return { reply: false, reason: 'null sender' };
  const local = sender.slice(0, sender.lastIndexOf('@'));
  if (MACHINE_SENDER.test(local)) return { reply: false, reason: 'machine sender' };
  const auto = headers.get('auto-submitted');
  if (auto !== undefined && auto.split(';')[0]!.trim().toLowerCase() !== 'no') {
    return { reply: false, reason: 'auto-submitted' };
  }
  if (headers.fields.some((field) => field.key.startsWith('list-'))) return { reply: false, reason: 'list' };
  const precedence = headers.get('precedence')?.toLowerCase();
  if (precedence === 'bulk' || precedence === 'list' || precedence === 'junk') {
    return { reply: false, reason: `precedence ${precedence}` };
  }
  const own = new Set(f.ownAddresses.map((a) => a.toLowerCase()));
  if (own.has(sender)) return { reply: false, reason: 'own address' };
  const named = ['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc'].some((name) =>
    headers.getAll(name).some((value) => parseAddresses(value).some((a) => own.has(a.address.toLowerCase()))),
  );
  if (!named) return { reply: false, reason: 'not addressed to the user' };
  return { reply: true, to: f.sender.trim() };
}

/** Base64 lines of 76 characters (RFC 2045 6.8). */
function base64Lines(text: string): string {
  return (
    Buffer.from(text, 'utf8')
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join('\r\n');
}

/** Only the msg-id tokens of a header value (a hostile value cannot add fields: no CR/LF survives). */
function msgIds(value: string | undefined): string[] {
  return value?.match(/<[^<>\s]+>/g) ?? [];
}

/**
 * The reply (RFC 3834 3.1): From the user, To the sender, Subject "Re: <original>" unless the user set
 * one (3.1.5), In-Reply-To and References (3.1.4), Auto-Submitted: auto-replied (5.2), text and, when the
 * user wrote one, HTML as multipart/alternative. The body is base64 so any text is 7-bit safe.
 */
export function buildVacationReply(input: {
  from: string;
  to: string;
  original: HeaderMap;
  vacation: VacationRecord;
  messageId: string;
  date: Date;
}): string {
  const { original, vacation } = input;
  const originalSubject = (original.get('subject') ?? '').replace(/[\r\n]+/g, ' ');
  const subject =
    vacation.subject ??
    (/^re:/i.test(originalSubject) ? originalSubject : `Re: ${originalSubject}`.trimEnd());
  const parentId = msgIds(original.get('message-id'))[0];
  const references = [...msgIds(original.get('references')), ...(parentId ? [parentId] : [])].slice(-20);
  const lines = [
    `From: <${input.from}>`,
    `To: <${input.to}>`,
    `Subject: ${encodeHeaderText(subject)}`,
    `Date: ${rfc5322Date(input.date)}`,
    `Message-ID: <${input.messageId}>`,
    ...(parentId ? [`In-Reply-To: ${parentId}`] : []),
    ...(references.length > 0 ? [`References: ${references.join(' ')}`] : []),
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
  ];
  const text =
    vacation.textBody ?? (vacation.htmlBody === null ? 'I am away.' : htmlToText(vacation.htmlBody));
  const part = (type: string, body: string) =>
    `Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(body)}\r\n`;
  if (vacation.htmlBody === null) return `${lines.join('\r\n')}\r\n${part('text/plain', text)}`;
  const boundary = `=_vacation_${input.messageId.replace(/[^A-Za-z0-9]/g, '')}`;
  return (
    `${lines.join('\r\n')}\r\nContent-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n` +
    `--${boundary}\r\n${part('text/plain', text)}--${boundary}\r\n${part('text/html', vacation.htmlBody)}--${boundary}--\r\n`
  );
}

/** A plain-text stand-in for an HTML-only reply (RFC 8621 8: textBody may be derived from htmlBody). */
function htmlToText(html: string): string {
  return html
    .replace(/<(br|\/p|\/div)[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}
