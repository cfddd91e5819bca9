// Every SMTP reply the server sends, as named constants (code, RFC 3463/5248 enhanced code, text), and the one formatter.
import type { ProtocolError } from '../errors.js';

/** One SMTP reply; several `lines` make a multi-line reply (RFC 5321 4.2.1). */
export interface Reply {
  readonly code: number;
  /** RFC 3463 enhanced status code; only 2xx/4xx/5xx replies have one (intermediate 3xx do not). */
  readonly enhanced?: string;
  readonly lines: readonly string[];
}

function r(code: number, enhanced: string | undefined, ...lines: string[]): Reply {
  return enhanced === undefined ? { code, lines } : { code, enhanced, lines };
}

/** Fixed replies. Parameterised ones are functions below. Texts never echo client input (no reply injection). */
export const REPLY = {
  // 2xx
  ok: r(250, '2.0.0', 'OK'),
  senderOk: r(250, '2.1.0', 'Sender OK'),
  recipientOk: r(250, '2.1.5', 'Recipient OK'),
  resetOk: r(250, '2.0.0', 'Reset OK'),
  // RFC 5321 3.5.3 / 7.3: VRFY must not be used to probe mailboxes; 252 says "will try delivery".
  vrfy: r(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  help: r(
    214,
    '2.0.0',
    'Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH',
    'See RFC 5321 for details',
  ),
  authOk: r(235, '2.7.0', 'Authentication successful'),
  startTls: r(220, '2.0.0', 'Ready to start TLS'),
  // 3xx (intermediate: no enhanced code)
  startData: r(354, undefined, 'End data with <CR><LF>.<CR><LF>'),
  // 4xx
  tooManyRecipients: r(452, '4.5.3', 'Too many recipients'),
  storageError: r(451, '4.3.0', 'Temporary failure storing the message, try again later'),
  // RFC 3463 4.3.1 "mail system full"; RFC 5321 4.2.2 452 "insufficient system storage" (Postfix's words at MAIL).
  insufficientStorage: r(452, '4.3.1', 'Insufficient system storage'),
  // RFC 3463 X.2.2 "mailbox full": the recipient's storage quota (store/quota.ts); deleting mail makes room.
  mailboxFull: r(452, '4.2.2', 'Mailbox full, try again later'),
  tlsNotAvailable: r(454, '4.7.0', 'TLS not available'),
  authThrottled: r(454, '4.7.0', 'Too many authentication failures, try again later'),
  authServiceError: r(454, '4.7.0', 'Temporary authentication failure'),
  // 5xx
  // RFC 3463 5.2.2: the message alone is larger than the recipient's whole quota, so retrying cannot help.
  quotaExceeded: r(552, '5.2.2', 'Message exceeds the mailbox quota'),
  commandUnrecognized: r(500, '5.5.2', 'Command not recognized'),
  lineTooLong: r(500, '5.5.6', 'Line too long'),
  badBytes: r(500, '5.5.2', 'Invalid characters in command'),
  syntax: r(501, '5.5.4', 'Syntax error in parameters or arguments'),
  badSequence: r(503, '5.5.1', 'Bad sequence of commands'),
  nestedMail: r(503, '5.5.1', 'Sender already specified'),
  needMail: r(503, '5.5.1', 'Need MAIL command first'),
  needRcpt: r(503, '5.5.1', 'Need RCPT command first'),
  needHelo: r(503, '5.5.1', 'Send HELO/EHLO first'),
  alreadyAuthenticated: r(503, '5.5.1', 'Already authenticated'),
  authInTransaction: r(503, '5.5.1', 'AUTH not permitted during a mail transaction'),
  tlsActive: r(503, '5.5.1', 'TLS already active'),
  binaryNeedsBdat: r(503, '5.5.1', 'BODY=BINARYMIME requires BDAT'),
  noValidRecipients: r(554, '5.5.1', 'No valid recipients'),
  unknownMechanism: r(504, '5.5.4', 'Unrecognized authentication type'),
  authCancelled: r(501, '5.0.0', 'Authentication cancelled'),
  authBadBase64: r(501, '5.5.2', 'Cannot decode response'),
  authFailed: r(535, '5.7.8', 'Authentication credentials invalid'),
  authRequired: r(530, '5.7.0', 'Authentication required'),
  // RFC 4954 6: 538 when the mechanism needs an encrypted channel.
  encryptionRequired: r(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  // RFC 8689 3 / RFC 5248: MAIL FROM ... REQUIRETLS outside TLS ("Encryption needed", X.7.10).
  requireTlsWithoutTls: r(530, '5.7.10', 'REQUIRETLS needs a TLS session (STARTTLS first)'),
  unknownUser: r(550, '5.1.1', 'Mailbox unavailable: no such user here'),
  relayDenied: r(554, '5.7.1', 'Relay access denied'),
  // RFC 5321 6.3 (a mail loop is a permanent failure here) and RFC 3463 X.4.6 "Routing loop detected".
  routingLoop: r(554, '5.4.6', 'Routing loop detected: the aliases of this address loop'),
  // Per-account submission limits (abuse/rate-limits.ts): temporary, RFC 3463 4.7.1 "not authorized".
  messageLimit: r(451, '4.7.1', 'Too many messages sent in the last hour, try again later'),
  recipientLimit: r(451, '4.7.1', 'Too many recipients in the last hour, try again later'),
  // Greylisting (abuse/greylist.ts): RFC 3463 4.7.1, a temporary policy refusal; a real MTA retries.
  greylisted: r(451, '4.7.1', 'Greylisted: please try again in a few minutes'),
  // An SRS address reverses only for bounces (README "Forwarding"): otherwise anyone could relay through it.
  srsBouncesOnly: r(550, '5.7.1', 'This forwarding return address accepts only bounces (MAIL FROM:<>)'),
  messageTooBig: r(552, '5.3.4', 'Message size exceeds fixed maximum message size'),
  // RFC 5321 4.5.3.1.10 "500 Line too long", sent after the final dot; the limit is DATA_LINE_MAX.
  dataLineTooLong: r(500, '5.5.6', 'Line too long in message data (over 65536 octets)'),
  utf8NotPermitted: r(553, '5.6.7', 'Non-ASCII address requires SMTPUTF8'),
  // RFC 5321 4.2.2 553 (mailbox name not allowed) + RFC 3463 5.7.1 (not authorized): submission sender check.
  senderNotOwned: r(553, '5.7.1', 'Sender address not owned by the authenticated user'),
  unknownParameter: r(555, '5.5.4', 'Unsupported MAIL/RCPT parameter'),
  // RFC 4468 6: a URL that is not an IMAP URLAUTH URL for submit+<this user> gets 554 5.7.0; one that
  // is but does not resolve (bad token, expired, RESETKEY, no such message) 554 5.6.6, "message
  // content not available" (the code RFC 4468 registers).
  burlNotAuthorized: r(554, '5.7.0', 'BURL needs an IMAP URLAUTH URL with submit+ access for you'),
  burlUnavailable: r(554, '5.6.6', 'IMAP URL resolution failed'),
  burlNeedsAuth: r(530, '5.7.0', 'Authentication required for BURL'),
} as const;

export function greetingReply(hostname: string): Reply {
  return r(220, undefined, `${hostname} ESMTP Mailroom ready`);
}

export function heloReply(hostname: string, clientName: string): Reply {
  return r(250, undefined, `${hostname} Hello ${sanitize(clientName)}`);
}

/** RFC 5321 4.1.1.1: the first line greets, each further line names one extension. No enhanced codes here. */
export function ehloReply(hostname: string, clientName: string, extensions: readonly string[]): Reply {
  return r(250, undefined, `${hostname} Hello ${sanitize(clientName)}`, ...extensions);
}

export function queuedReply(queueId: string): Reply {
  return r(250, '2.0.0', `OK queued as ${queueId}`);
}

export function chunkReply(octets: number): Reply {
  return r(250, '2.0.0', `${octets} octets received`);
}

export function quitReply(hostname: string): Reply {
  return r(221, '2.0.0', `${hostname} closing connection`);
}

/** Idle too long, or (with `what`) a deadline passed: the line, the login, the session or the data rate. */
export function timeoutReply(hostname: string, what?: string): Reply {
  if (what) return r(421, '4.4.2', `${hostname} Error: timeout exceeded (${what}), closing connection`);
  return r(421, '4.4.2', `${hostname} timeout exceeded, closing connection`);
}

/**
 * A client that sent before our greeting (RFC 5321 3.1: the client waits for it; Postfix postscreen's
 * pregreet test): 554 refuses the connection in place of the 220 (RFC 5321 3.1), 5.5.0 a protocol error.
 */
export function earlyTalkerReply(hostname: string): Reply {
  return r(554, '5.5.0', `${hostname} Protocol error: client spoke before the greeting`);
}

/** Too many NOOP/RSET/VRFY/HELP without mail (limits.ts SMTP_JUNK_COMMAND_LIMIT); 4.7.0: a policy refusal (RFC 3463). */
export function junkLimitReply(hostname: string): Reply {
  return r(421, '4.7.0', `${hostname} Error: too many commands without mail, closing connection`);
}

/** RFC 5321 3.8: a server shutting down answers 421 and closes; 4.3.2 = system not accepting messages (RFC 3463). */
export function shuttingDownReply(hostname: string): Reply {
  return r(421, '4.3.2', `${hostname} service shutting down, try again later`);
}

/**
 * The signed-in account was disabled or removed (user disable/remove) during the session: 421 (RFC 5321
 * 3.8, closing) with 4.7.0, a policy reason (RFC 3463); nothing more is accepted from this session.
 */
export function accountEndedReply(hostname: string, why: string): Reply {
  return r(421, '4.7.0', `${hostname} ${why}, closing connection`);
}

/** Too many invalid commands (SESSION_ERROR_LIMIT): 421 and close, as Postfix's smtpd_hard_error_limit. */
export function tooManyErrorsReply(hostname: string): Reply {
  return r(421, '4.7.0', `${hostname} too many errors, closing connection`);
}

export function internalErrorReply(hostname: string): Reply {
  return r(421, '4.3.0', `${hostname} internal error, closing connection`);
}

// ---- inbound checks on the MX (src/inbound/) ----

/** Only a well-formed domain is named in a reply (it comes from the client's message). */
function domainText(domain: string): string {
  return /^[a-z0-9.-]{1,253}$/i.test(domain) ? domain : 'the sender domain';
}

/** RFC 7489 10.3 / 6.6.4: a p=reject failure is refused after DATA, naming DMARC; RFC 3463 5.7.1 (not authorized). */
export function dmarcRejectReply(domain: string): Reply {
  return r(550, '5.7.1', `Rejected by DMARC policy of ${domainText(domain)}`);
}

/** A local domain used by a stranger: neither SPF nor aligned DKIM vouches for it (we know our own domains). */
export function localDomainSpoofReply(domain: string): Reply {
  return r(550, '5.7.1', `Not authorized to send mail as ${domainText(domain)} (no SPF or DKIM pass)`);
}

/** RFC 7208 8.6, RFC 7489 6.6.2: DNS failed during the checks; RFC 3463 4.4.3 "directory server failure". */
export function inboundDeferReply(domain: string): Reply {
  return r(451, '4.4.3', `Temporary DNS failure checking ${domainText(domain)}, try again later`);
}

/** RFC 5321 3.1 / RFC 5782 2.1: a 554 greeting naming the list; the list's TXT reason (text is sanitized). */
export function dnsblGreetingReply(hostname: string, zone: string, reason?: string): Reply {
  const why = reason ? `: ${reason.slice(0, 200)}` : '';
  return r(554, '5.7.1', `${hostname} Service unavailable; client host listed by ${zone}${why}`);
}

/** 334 challenge for SASL (RFC 4954 4): base64 text, no enhanced code. */
export function challengeReply(base64: string): Reply {
  return r(334, undefined, base64);
}

export function errorReply(error: ProtocolError): Reply {
  return r(error.code, error.enhanced, error.text);
}

/** CR/LF in a reply line would let a peer inject replies; anything that is not printable ASCII becomes '?'. */
function sanitize(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/**
 * The one place replies become bytes: `250-first`, ..., `250 last` (RFC 5321 4.2.1). With `withEnhanced`
 * (after EHLO/HELO; RFC 2034 3) each line carries the enhanced code after the basic code.
 */
export function formatReply(reply: Reply, withEnhanced: boolean): string {
  const prefix = withEnhanced && reply.enhanced !== undefined ? `${reply.enhanced} ` : '';
  const lines = reply.lines.length > 0 ? reply.lines : [''];
  let out = '';
  lines.forEach((line, i) => {
    const sep = i < lines.length - 1 ? '-' : ' ';
    out += `${reply.code}${sep}${prefix}${sanitize(line)}\r\n`;
  });
  return out;
}
