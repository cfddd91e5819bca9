// Builds RFC 3464 delivery status notifications: multipart/report (RFC 6522), RFC 6533 for SMTPUTF8 mail.
import { decodeXtext } from '../../smtp/client/client-commands.js';
import type { DsnAction } from './notify.js';

export interface DsnRecipient {
  /** The address we tried (RFC 3464 2.3.2 Final-Recipient). */
  finalRecipient: string;
  /** The ORCPT parameter as received, "addr-type;xtext" (RFC 3461 4.2) -> Original-Recipient. */
  orcpt?: string;
  action: DsnAction;
  /** RFC 3463 code, e.g. '5.1.1' (see dsnStatus). */
  status: string;
  /** The peer that gave the diagnostic (RFC 3464 2.3.5), a host name. */
  remoteMta?: string;
  /** The peer's reply as one line, "550 5.1.1 no such user" (RFC 3464 2.3.6 smtp diagnostic). */
  smtpDiagnostic?: string;
  /** Our own reason when no peer said anything (connection refused, expired, DNS). */
  localDiagnostic?: string;
  lastAttemptDate?: Date;
  /** For delayed: when we give up (RFC 3464 2.3.9). */
  willRetryUntil?: Date;
}

export interface DsnInput {
  /** Our host name: Reporting-MTA and MAILER-DAEMON@hostname. */
  reportingMta: string;
  /** The original envelope sender: the DSN's recipient. Must not be '' (see wantsDsn). */
  originalSender: string;
  envelopeId?: string;
  arrivalDate: Date;
  /** Injected: the DSN's Date. */
  date: Date;
  /** Injected: "<id@host>" for the DSN's Message-ID. */
  messageId: string;
  /** Injected: the MIME boundary (must not occur in the content; a random token does not). */
  boundary: string;
  recipients: DsnRecipient[];
  /** The original message as stored (header section + body). */
  original: Buffer;
  ret?: 'FULL' | 'HDRS';
  /** The original needed SMTPUTF8: use the RFC 6533 global types. */
  smtpUtf8?: boolean;
  /**
   * Largest original returned whole. RET=FULL may ask for more; RFC 3461 4.3 lets us return
   * headers only instead, so a bounce of a 25 MB message is not another 25 MB message.
   */
  maxFullSize?: number;
}

export interface BuiltDsn {
  /** The null reverse-path (RFC 3461 6.2 / RFC 5321 4.5.5): a DSN must never cause another. */
  envelopeSender: '';
  envelopeRecipient: string;
  message: Buffer;
  /** Content flags for the outgoing queue (BODY=8BITMIME / SMTPUTF8 needs). */
  eightBit: boolean;
  smtpUtf8: boolean;
}

export const DEFAULT_MAX_FULL_SIZE = 1024 * 1024;

/** RFC 5322 3.3 date-time in UTC: "Mon, 23 Nov 2026 10:00:00 +0000". */
export function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

/** The header section of a message, up to and including the blank line (or all of it if none). */
export function headerSection(message: Buffer): Buffer {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return message.subarray(0, crlf + 4);
  if (lf >= 0) return message.subarray(0, lf + 2);
  return message;
}

const nonAscii = (s: string) => /[^\x00-\x7f]/.test(s);
const hasHighBytes = (b: Buffer) => b.some((x) => x > 0x7f);

/** Strips anything that could end or fold a header field; bounds length (RFC 5322 2.1.1: 998). */
function fieldValue(s: string, ascii: boolean): string {
  let v = s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  if (ascii) v = v.replace(/[^\x20-\x7e]/g, '?');
  return v.length > 900 ? v.slice(0, 900) + '...' : v;
}

/** Folds a field at spaces to keep lines near 78 characters (RFC 5322 2.2.3). */
function fold(line: string): string {
  if (line.length <= 78) return line;
  const words = line.split(' ');
  const out: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > 78) {
      out.push(cur);
      cur = ' ' + w;
    } else cur = cur ? cur + ' ' + w : w;
  }
  out.push(cur);
  return out.join('\r\n');
}

/** RFC 3464 2.3.1: "addr-type; address" from ORCPT "addr-type;xtext"; null when malformed. */
export function originalRecipientField(orcpt: string): { type: string; address: string } | null {
  const semi = orcpt.indexOf(';');
  if (semi <= 0) return null;
  const type = orcpt.slice(0, semi).trim().toLowerCase();
  if (!/^[a-z0-9-]+$/.test(type)) return null;
  const address = decodeXtext(orcpt.slice(semi + 1).trim());
  return address === null || address === '' ? null : { type, address };
}

function humanText(input: DsnInput): string {
  const failed = input.recipients.filter((r) => r.action === 'failed');
  const delayed = input.recipients.filter((r) => r.action === 'delayed');
  const ok = input.recipients.filter((r) => r.action !== 'failed' && r.action !== 'delayed');
  const lines = [`This is the mail system at host ${input.reportingMta}.`, ''];
  const describe = (r: DsnRecipient) => {
    // Peer text is untrusted: one line, bounded, so it can neither fake fields nor end the part.
    const why = fieldValue(r.smtpDiagnostic ?? r.localDiagnostic ?? '', false);
    const host = r.remoteMta
      ? ` (host ${fieldValue(r.remoteMta, true)} said: ${why})`
      : why
        ? ` (${why})`
        : '';
    return `<${fieldValue(r.finalRecipient, false)}>: ${r.status}${host}`;
  };
  if (failed.length) {
    lines.push(
      "I'm sorry to have to inform you that your message could not be delivered to one or more",
      'recipients:',
      '',
    );
    lines.push(...failed.map(describe), '');
  }
  if (delayed.length) {
    const until = delayed[0]?.willRetryUntil;
    lines.push(
      'Your message could not be delivered yet to the recipients below. We will keep trying',
      until ? `until ${rfc5322Date(until)}.` : 'for a while.',
      '',
    );
    lines.push(...delayed.map(describe), '');
    // RFC 3464 1: a "delayed" DSN is a warning, not a failure; say so, or senders resend and duplicate.
    lines.push(
      'This is a warning only: you do not need to do anything or send your message again.',
      'It is still in the queue and will be delivered automatically as soon as possible.',
      '',
    );
  }
  if (ok.length) {
    lines.push('Your message was successfully delivered to (or relayed for) these recipients:', '');
    lines.push(...ok.map(describe), '');
  }
  return lines.join('\r\n');
}

function subjectFor(recipients: DsnRecipient[]): string {
  if (recipients.some((r) => r.action === 'failed')) return 'Undelivered Mail Returned to Sender';
  if (recipients.some((r) => r.action === 'delayed')) return 'Delayed Mail (still being retried)';
  return 'Successful Mail Delivery Report';
}

/** RFC 3464 2.2 / 2.3 fields; `global` allows UTF-8 (RFC 6533 3). */
function deliveryStatus(input: DsnInput, global: boolean): string {
  const ascii = !global;
  const block: string[] = [`Reporting-MTA: dns; ${fieldValue(input.reportingMta, true)}`];
  if (input.envelopeId) block.push(`Original-Envelope-Id: ${fieldValue(input.envelopeId, true)}`);
  block.push(`Arrival-Date: ${rfc5322Date(input.arrivalDate)}`);
  const parts = [block.join('\r\n')];
  for (const r of input.recipients) {
    const f: string[] = [];
    const orig = r.orcpt ? originalRecipientField(r.orcpt) : null;
    // RFC 6533 3: UTF-8 addresses use type "utf-8", only inside message/global-delivery-status.
    if (orig && (global || !nonAscii(orig.address)))
      f.push(`Original-Recipient: ${orig.type}; ${fieldValue(orig.address, ascii)}`);
    const finalType = nonAscii(r.finalRecipient) ? 'utf-8' : 'rfc822';
    f.push(`Final-Recipient: ${finalType}; ${fieldValue(r.finalRecipient, ascii)}`);
    f.push(`Action: ${r.action}`);
    // RFC 3464 2.3.4 requires a well-formed x.y.z; a caller's bad value must not corrupt the report.
    const fallback = r.action === 'failed' ? '5.0.0' : r.action === 'delayed' ? '4.0.0' : '2.0.0';
    f.push(`Status: ${/^[245]\.[0-9]{1,3}\.[0-9]{1,3}$/.test(r.status) ? r.status : fallback}`);
    if (r.remoteMta) f.push(`Remote-MTA: dns; ${fieldValue(r.remoteMta, true)}`);
    if (r.smtpDiagnostic) f.push(fold(`Diagnostic-Code: smtp; ${fieldValue(r.smtpDiagnostic, ascii)}`));
    else if (r.localDiagnostic)
      f.push(fold(`Diagnostic-Code: X-Mailroom; ${fieldValue(r.localDiagnostic, ascii)}`));
    if (r.lastAttemptDate) f.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttemptDate)}`);
    if (r.action === 'delayed' && r.willRetryUntil)
      f.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
    parts.push(f.join('\r\n'));
  }
  return parts.join('\r\n\r\n') + '\r\n';
}

function base64Lines(b: Buffer): string {
  return (b.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

/** Builds the DSN. Pure: dates, ids and the boundary are inputs. */
export function buildDsn(input: DsnInput): BuiltDsn {
  if (input.originalSender === '') throw new RangeError('a DSN is never sent to the null reverse-path');
  const addressesUtf8 =
    nonAscii(input.originalSender) ||
    input.recipients.some(
      (r) => nonAscii(r.finalRecipient) || (r.orcpt !== undefined && nonAscii(decodeXtext(r.orcpt) ?? '')),
    );
  const diagnosticsUtf8 = input.recipients.some((r) =>
    nonAscii((r.smtpDiagnostic ?? '') + (r.localDiagnostic ?? '')),
  );
  const global = Boolean(input.smtpUtf8) || addressesUtf8;
  const b = input.boundary;

  // What of the original to return (RFC 3461 4.3 RET; only failures get the full content).
  const anyFailed = input.recipients.some((r) => r.action === 'failed');
  const limit = input.maxFullSize ?? DEFAULT_MAX_FULL_SIZE;
  const full = anyFailed && input.ret !== 'HDRS' && input.original.length <= limit;
  const returned = full ? input.original : headerSection(input.original);
  const returnedEightBit = hasHighBytes(returned);
  // RFC 6532 3.7 / RFC 6533 6: UTF-8 header fields travel in the global types.
  const origType = full
    ? global
      ? 'message/global'
      : 'message/rfc822'
    : global
      ? 'message/global-headers'
      : 'text/rfc822-headers';

  const text = humanText(input);
  const textIs8 = nonAscii(text);
  const status = deliveryStatus(input, global);
  const statusType = global ? 'message/global-delivery-status' : 'message/delivery-status';

  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${fieldValue(input.reportingMta, true)}>`,
    `To: <${fieldValue(input.originalSender, false)}>`,
    `Subject: ${subjectFor(input.recipients)}`,
    `Date: ${rfc5322Date(input.date)}`,
    `Message-ID: ${fieldValue(input.messageId, true)}`,
    // RFC 3834 5: automatic responses say so; well-behaved responders will not answer it.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${b}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${b}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Transfer-Encoding: ${textIs8 ? 'base64' : '7bit'}`,
    '',
    textIs8 ? base64Lines(Buffer.from(text, 'utf8')) : text,
    `--${b}`,
    'Content-Description: Delivery report',
    `Content-Type: ${statusType}`,
    ...(global && (addressesUtf8 || diagnosticsUtf8) ? ['Content-Transfer-Encoding: 8bit'] : []),
    '',
    status,
    `--${b}`,
    `Content-Description: ${full ? 'Undelivered Message' : 'Undelivered Message Headers'}`,
    `Content-Type: ${origType}`,
    ...(returnedEightBit ? ['Content-Transfer-Encoding: 8bit'] : []),
    '',
    '',
  ].join('\r\n');
  const tail = `${returned.length > 0 && !returned.subarray(-2).equals(Buffer.from('\r\n')) ? '\r\n' : ''}\r\n--${b}--\r\n`;
  const message = Buffer.concat([Buffer.from(head, 'utf8'), returned, Buffer.from(tail)]);
  return {
    envelopeSender: '',
    envelopeRecipient: input.originalSender,
    message,
    eightBit: returnedEightBit || (global && (addressesUtf8 || diagnosticsUtf8)),
    smtpUtf8: nonAscii(input.originalSender) || (global && addressesUtf8),
  };
}
