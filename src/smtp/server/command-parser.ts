// Pure SMTP command parser: one command line (bytes) -> a typed SmtpCommand or a ProtocolError (RFC 5321 4.1).
import { ProtocolError } from '../../errors.js';
import { parsePath, type Mailbox } from '../address.js';
import { parseMailParams, parseRcptParams, type MailParams, type RcptParams } from '../esmtp-params.js';

export type SmtpCommand =
  | { verb: 'HELO'; domain: string }
  | { verb: 'EHLO'; domain: string }
  | { verb: 'MAIL'; from: Mailbox | null; params: MailParams }
  | { verb: 'RCPT'; to: Mailbox; params: RcptParams }
  | { verb: 'DATA' }
  /** size is Infinity when it does not fit a safe integer: certainly over any limit. */
  | { verb: 'BDAT'; size: number; last: boolean }
  /** RFC 4468 3: BURL SP absolute-URI [SP end-marker]. */
  | { verb: 'BURL'; url: string; last: boolean }
  | { verb: 'RSET' }
  | { verb: 'NOOP' }
  | { verb: 'QUIT' }
  | { verb: 'VRFY'; argument: string }
  | { verb: 'HELP'; topic: string }
  | { verb: 'STARTTLS' }
  | { verb: 'AUTH'; mechanism: string; initialResponse: string | undefined };

export type SmtpVerb = SmtpCommand['verb'];

/** RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF. */
export const MAX_COMMAND_LINE = 512;
/** RFC 4954 4: AUTH command lines (and SASL responses) may be up to 12288 octets. */
export const MAX_AUTH_LINE = 12288;

const ERR_TOO_LONG = () => new ProtocolError(500, '5.5.6', 'Line too long');
const ERR_BAD_BYTES = () => new ProtocolError(500, '5.5.2', 'Invalid characters in command');
const ERR_UNKNOWN = () => new ProtocolError(500, '5.5.2', 'Command not recognized');
/**
 * RFC 5321 4.2.4: 502 when the command is recognized but not implemented, 500 only when it is not recognized.
 * EXPN is optional (3.5.2; mailing lists are not disclosed here) and TURN, SEND, SOML and SAML are obsolete
 * (Appendix F.1, F.3: "not implemented" is the expected answer).
 */
const NOT_IMPLEMENTED = new Set(['EXPN', 'TURN', 'SEND', 'SOML', 'SAML']);
const ERR_NOT_IMPLEMENTED = () => new ProtocolError(502, '5.5.1', 'Command not implemented');
const ERR_SYNTAX = (text = 'Syntax error in parameters or arguments') =>
  new ProtocolError(501, '5.5.4', text);

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses one command line, with or without its trailing CRLF. Non-ASCII bytes are accepted only as valid
 * UTF-8 inside MAIL/RCPT (RFC 6531 3.3); a MAIL with a non-ASCII path must carry SMTPUTF8 itself, while a
 * RCPT's `to.utf8` is checked by the session against the transaction.
 */
export function parseSmtpCommand(input: Buffer | string): SmtpCommand | ProtocolError {
  let bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  bytes = bytes.subarray(0, end);
  // AUTH lines carry SASL responses, BURL lines URLAUTH URLs (RFC 4467 tokens, RFC 5092 names):
  // both outgrow 512 octets, so both get the AUTH limit (RFC 4954 4).
  const isAuth =
    bytes.length >= 4 &&
    bytes
      .subarray(0, 5)
      .toString('latin1')
      .toUpperCase()
      .match(/^(AUTH|BURL)( |$)/);
  if (bytes.length + 2 > (isAuth ? MAX_AUTH_LINE : MAX_COMMAND_LINE)) return ERR_TOO_LONG();
  let eightBit = false;
  for (const b of bytes) {
    if (b === 0 || b === 0x0d || b === 0x0a) return ERR_BAD_BYTES();
    if (b >= 0x80) eightBit = true;
  }
  let line: string;
  try {
    line = utf8Decoder.decode(bytes);
  } catch {
    return ERR_BAD_BYTES();
  }
  const space = line.indexOf(' ');
  const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
  const rest = space < 0 ? '' : line.slice(space + 1);
  if (eightBit && verb !== 'MAIL' && verb !== 'RCPT') return ERR_BAD_BYTES();

  switch (verb) {
    case 'HELO':
    case 'EHLO': {
      // RFC 5321 4.1.1.1: a Domain or address-literal. We only require one printable token: the name is
      // informational (it lands in Received) and real clients send odd ones.
      const domain = rest.trim();
      if (!/^[\x21-\x7e]{1,255}$/.test(domain)) return ERR_SYNTAX(`${verb} requires a domain name`);
      return { verb, domain };
    }
    case 'MAIL':
      return parseMail(rest);
    case 'RCPT':
      return parseRcpt(rest);
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      // RFC 5321 4.1.1: these take no arguments (trailing spaces tolerated).
      if (rest.trim() !== '') return ERR_SYNTAX(`${verb} takes no arguments`);
      return { verb };
    case 'NOOP':
      // RFC 5321 4.1.1.9: a parameter may be given and is ignored.
      return { verb };
    case 'VRFY':
      if (rest.trim() === '') return ERR_SYNTAX('VRFY requires an argument');
      return { verb, argument: rest.trim() };
    case 'HELP':
      return { verb, topic: rest.trim() };
    case 'BDAT':
      return parseBdat(rest);
    case 'BURL': {
      // RFC 4468 3: "BURL" SP absolute-URI [SP end-marker]; the URL has no spaces (RFC 3986).
      const m = /^([\x21-\x7e]+)(?: (LAST))? *$/i.exec(rest);
      if (!m) return ERR_SYNTAX('Syntax: BURL imap-url [LAST]');
      return { verb: 'BURL', url: m[1] as string, last: m[2] !== undefined };
    }
    case 'AUTH': {
      // RFC 4954 4: AUTH mechanism [initial-response]
      const parts = rest.split(' ');
      const mechanism = (parts[0] ?? '').toUpperCase();
      if (!/^[A-Z0-9_-]{1,20}$/.test(mechanism) || parts.length > 2)
        return ERR_SYNTAX('Syntax: AUTH mechanism');
      const initial = parts[1];
      if (initial !== undefined && !/^([A-Za-z0-9+/]+={0,2}|=)$/.test(initial)) {
        return new ProtocolError(501, '5.5.2', 'Cannot decode response');
      }
      return { verb, mechanism, initialResponse: initial };
    }
    default:
      return NOT_IMPLEMENTED.has(verb) ? ERR_NOT_IMPLEMENTED() : ERR_UNKNOWN();
  }
}

/** `FROM:<path> params`; one space after the colon is tolerated, as widely deployed clients send it. */
function parseMail(rest: string): SmtpCommand | ProtocolError {
  const m = /^FROM: ?/i.exec(rest);
  if (!m) return ERR_SYNTAX('Syntax: MAIL FROM:<address>');
  const afterPath = rest.slice(m[0].length);
  // SMTPUTF8 must be known before the path is judged (RFC 6531 3.4): look for it among the parameters.
  const close = closingBracket(afterPath);
  const paramText = close < 0 ? '' : afterPath.slice(close + 1);
  const paramsFirst = parseMailParams(paramText.trimStart());
  const smtpUtf8 = !(paramsFirst instanceof ProtocolError) && paramsFirst.smtpUtf8 === true;
  const path = parsePath(afterPath, 0, { allowNull: true, utf8: smtpUtf8 });
  if (!path.ok) return pathError(path.reason);
  const tail = afterPath.slice(path.end);
  if (tail !== '' && !tail.startsWith(' ')) return ERR_SYNTAX('Syntax: MAIL FROM:<address>');
  const params = parseMailParams(tail.trimStart());
  if (params instanceof ProtocolError) return params;
  return { verb: 'MAIL', from: path.mailbox, params };
}

function parseRcpt(rest: string): SmtpCommand | ProtocolError {
  const m = /^TO: ?/i.exec(rest);
  if (!m) return ERR_SYNTAX('Syntax: RCPT TO:<address>');
  const afterPath = rest.slice(m[0].length);
  const path = parsePath(afterPath, 0, { allowNull: false, utf8: true });
  if (!path.ok) return pathError(path.reason);
  if (path.mailbox === null) return ERR_SYNTAX('Syntax: RCPT TO:<address>');
  const tail = afterPath.slice(path.end);
  if (tail !== '' && !tail.startsWith(' ')) return ERR_SYNTAX('Syntax: RCPT TO:<address>');
  const params = parseRcptParams(tail.trimStart());
  if (params instanceof ProtocolError) return params;
  return { verb: 'RCPT', to: path.mailbox, params };
}

/** The `>` closing a path, skipping a quoted local part (which may contain `>`). */
function closingBracket(text: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted && ch === '\\') i++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '>') return i;
  }
  return -1;
}

function pathError(reason: 'syntax' | 'too-long' | 'utf8'): ProtocolError {
  switch (reason) {
    case 'too-long':
      // RFC 5321 4.5.3.1: 501 for a path over the limits (553 would also do; 501 matches "syntax").
      return new ProtocolError(501, '5.1.3', 'Address too long');
    case 'utf8':
      return new ProtocolError(553, '5.6.7', 'Non-ASCII address requires SMTPUTF8');
    default:
      return new ProtocolError(501, '5.1.3', 'Bad address syntax');
  }
}

/** RFC 3030 2: BDAT SP chunk-size [SP end-marker], chunk-size = 1*DIGIT, end-marker = "LAST". */
function parseBdat(rest: string): SmtpCommand | ProtocolError {
  const m = /^([0-9]{1,30})(?: (LAST))? *$/i.exec(rest);
  if (!m) return ERR_SYNTAX('Syntax: BDAT size [LAST]');
  const digits = m[1] as string;
  // Parsing 30 digits into a double allocates nothing; unsafe sizes become Infinity (never buffered).
  const n = Number(digits);
  return {
    verb: 'BDAT',
    size: Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY,
    last: m[2] !== undefined,
  };
}
