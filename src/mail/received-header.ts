// Pure builder of the Received trace header (RFC 5321 4.4) with the queue id and the RFC 3848 / RFC 6531 protocol.
import { isIPv6 } from 'node:net';

export interface ReceivedInfo {
  /** The EHLO/HELO argument as the client gave it. */
  heloName: string;
  remoteAddress: string;
  /** Our host name ("by"). */
  hostname: string;
  /** 'EHLO' selects ESMTP, 'HELO' plain SMTP (RFC 3848). */
  greeting: 'EHLO' | 'HELO';
  secure: boolean;
  authenticated: boolean;
  smtpUtf8: boolean;
  tlsProtocol?: string;
  tlsCipher?: string;
  queueId: string;
  /** Only given for single-recipient messages: naming all recipients would disclose Bcc (RFC 5321 7.2). */
  recipient?: string;
  date: Date;
}

/**
 * RFC 3848 with-protocol: SMTP, ESMTP, ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA (both); with SMTPUTF8,
 * RFC 6531 3.7.3 gives UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA.
 */
export function withProtocol(
  info: Pick<ReceivedInfo, 'greeting' | 'secure' | 'authenticated' | 'smtpUtf8'>,
): string {
  if (info.greeting === 'HELO') return 'SMTP';
  const base = info.smtpUtf8 ? 'UTF8SMTP' : 'ESMTP';
  return base + (info.secure ? 'S' : '') + (info.authenticated ? 'A' : '');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 3.3 date-time, in UTC so it does not depend on the host's zone. */
export function rfc5322Date(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`
  );
}

/** The client's name goes in a header: keep only characters that cannot break its structure. */
function safeToken(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9.\-_:[\]]/g, '?').slice(0, 255);
  return cleaned === '' ? 'unknown' : cleaned;
}

function addressLiteral(ip: string): string {
  const plain = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  return isIPv6(plain) ? `[IPv6:${plain}]` : `[${plain}]`;
}

/**
 * The whole header, folded, CRLF-terminated:
 *   Received: from client.example ([192.0.2.1])
 *   \tby mx.example.test (Mailroom) with ESMTPS id Q1
 *   \t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384)
 *   \tfor <bob@example.test>;
 *   \tTue, 24 Nov 2026 10:00:00 +0000
 */
export function buildReceivedHeader(info: ReceivedInfo): string {
  const lines = [`Received: from ${safeToken(info.heloName)} (${addressLiteral(info.remoteAddress)})`];
  lines.push(
    `by ${safeToken(info.hostname)} (Mailroom) with ${withProtocol(info)} id ${safeToken(info.queueId)}`,
  );
  if (info.secure && (info.tlsProtocol || info.tlsCipher)) {
    const parts = [];
    if (info.tlsProtocol) parts.push(`version=${safeToken(info.tlsProtocol)}`);
    if (info.tlsCipher) parts.push(`cipher=${safeToken(info.tlsCipher)}`);
    lines.push(`(${parts.join(' ')})`);
  }
  if (info.recipient && !/[\r\n<>]/.test(info.recipient)) lines.push(`for <${info.recipient}>`);
  // RFC 5321 4.4: Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
  lines[lines.length - 1] += ';';
  lines.push(rfc5322Date(info.date));
  return lines.join('\r\n\t') + '\r\n';
}
