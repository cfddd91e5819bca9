// Outgoing SMTP command building for the client: EHLO extension parsing, MAIL/RCPT parameters.
import { encodeXtext } from '../esmtp-params.js';

// xtext (RFC 3461 4) is shared with the server's parameter parser.
export { decodeXtext, encodeXtext } from '../esmtp-params.js';

/** What the peer's EHLO reply offered (RFC 5321 4.1.1.1 and each extension's RFC). */
export interface PeerExtensions {
  pipelining: boolean; // RFC 2920
  /** RFC 1870: undefined = SIZE not offered; 0 = offered without a fixed limit. */
  size: number | undefined;
  eightBitMime: boolean; // RFC 6152
  smtpUtf8: boolean; // RFC 6531
  startTls: boolean; // RFC 3207
  chunking: boolean; // RFC 3030
  binaryMime: boolean; // RFC 3030
  dsn: boolean; // RFC 3461
  requireTls: boolean; // RFC 8689
  enhancedStatusCodes: boolean; // RFC 2034
  /** RFC 4954 SASL mechanisms, upper-cased. */
  auth: string[];
}

export const NO_EXTENSIONS: PeerExtensions = {
  pipelining: false,
  size: undefined,
  eightBitMime: false,
  smtpUtf8: false,
  startTls: false,
  chunking: false,
  binaryMime: false,
  dsn: false,
  requireTls: false,
  enhancedStatusCodes: false,
  auth: [],
};

/** Parses the lines of a 250 EHLO reply; the first line is the greeting, the rest `keyword [params]`. */
export function parseEhloLines(lines: readonly string[]): PeerExtensions {
  const ext: PeerExtensions = { ...NO_EXTENSIONS, auth: [] };
  for (const line of lines.slice(1)) {
    // Some old servers write "AUTH=LOGIN PLAIN" (pre-RFC 4954 syntax); treat "=" as a separator.
    const words = line.trim().split(/[ =]+/);
    const keyword = (words[0] ?? '').toUpperCase();
    const params = words.slice(1);
    switch (keyword) {
      case 'PIPELINING':
        ext.pipelining = true;
        break;
      case 'SIZE': {
        const n = params[0] !== undefined && /^[0-9]{1,15}$/.test(params[0]) ? Number(params[0]) : 0;
        ext.size = n;
        break;
      }
      case '8BITMIME':
        ext.eightBitMime = true;
        break;
      case 'SMTPUTF8':
        ext.smtpUtf8 = true;
        break;
      case 'STARTTLS':
        ext.startTls = true;
        break;
      case 'CHUNKING':
        ext.chunking = true;
        break;
      case 'BINARYMIME':
        ext.binaryMime = true;
        break;
      case 'DSN':
        ext.dsn = true;
        break;
      case 'REQUIRETLS':
        ext.requireTls = true;
        break;
      case 'ENHANCEDSTATUSCODES':
        ext.enhancedStatusCodes = true;
        break;
      case 'AUTH':
        for (const m of params) {
          const mech = m.toUpperCase();
          if (/^[A-Z0-9_-]{1,20}$/.test(mech) && !ext.auth.includes(mech)) ext.auth.push(mech);
        }
        break;
      default:
        break;
    }
  }
  return ext;
}

/** What the session needs to know about one message to send it. */
export interface OutboundMessage {
  /** The queue id: appears in logs and results. */
  id: string;
  /** Envelope sender; '' is the null reverse-path (bounces). */
  sender: string;
  recipients: OutboundRecipient[];
  /** Octets of the message as stored (SIZE=, RFC 1870). */
  size: number;
  /** The content has octets over 127 (RFC 6152 BODY=8BITMIME needed). */
  eightBit: boolean;
  /** Non-ASCII addresses or header fields: needs SMTPUTF8 (RFC 6531). */
  smtpUtf8: boolean;
  dsnRet?: 'FULL' | 'HDRS';
  dsnEnvid?: string;
  /** RFC 8689 REQUIRETLS: only over validated TLS to a peer offering REQUIRETLS (client-pending.ts). */
  requireTls?: boolean;
}

export interface OutboundRecipient {
  address: string;
  /** RFC 3461 NOTIFY values, e.g. ['SUCCESS','FAILURE'] or ['NEVER']. */
  notify?: string[];
  /** RFC 3461 ORCPT as received: 'addr-type;xtext'. */
  orcpt?: string;
}

/** MAIL FROM with only the parameters the peer advertised (RFC 5321 4.1.1.2 and extensions). */
export function mailCommand(
  msg: OutboundMessage,
  ext: PeerExtensions,
  body: '7BIT' | '8BITMIME' | undefined,
): string {
  let cmd = `MAIL FROM:<${msg.sender}>`;
  if (ext.size !== undefined) cmd += ` SIZE=${msg.size}`; // RFC 1870 6
  if (body === '8BITMIME') cmd += ' BODY=8BITMIME'; // RFC 6152 2
  if (msg.smtpUtf8 && ext.smtpUtf8) cmd += ' SMTPUTF8'; // RFC 6531 3.4
  if (msg.requireTls && ext.requireTls) cmd += ' REQUIRETLS'; // RFC 8689 4.2.1
  if (ext.dsn) {
    // RFC 3461 4.3 / 4.4: only to a peer that advertised DSN.
    if (msg.dsnRet) cmd += ` RET=${msg.dsnRet}`;
    if (msg.dsnEnvid) cmd += ` ENVID=${encodeXtext(msg.dsnEnvid)}`;
  }
  return cmd + '\r\n';
}

/** RCPT TO, with NOTIFY/ORCPT only when the peer has DSN (RFC 3461 4.1, 4.2). */
export function rcptCommand(rcpt: OutboundRecipient, ext: PeerExtensions): string {
  let cmd = `RCPT TO:<${rcpt.address}>`;
  if (ext.dsn) {
    // Stored values are forwarded only when well-formed, so a bad row can never inject a command.
    const notify = (rcpt.notify ?? []).filter((n) => /^(NEVER|SUCCESS|FAILURE|DELAY)$/i.test(n));
    if (notify.length > 0) cmd += ` NOTIFY=${notify.join(',').toUpperCase()}`;
    if (rcpt.orcpt && /^[\x21-\x7e]+;[\x21-\x7e]+$/.test(rcpt.orcpt)) cmd += ` ORCPT=${rcpt.orcpt}`;
  }
  return cmd + '\r\n';
}

/** True when a string holds only printable ASCII (addresses we may send without SMTPUTF8). */
export function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}
