// Parses SMTP server replies (RFC 5321 4.2) from a byte stream split anywhere, with RFC 3463 enhanced codes.

/** One complete reply: all lines of a multi-line reply joined, enhanced code lifted out when present. */
export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status code (e.g. '5.1.1') when the reply carries one whose class matches the code. */
  enhanced: string | undefined;
  /** Text of each line with the code, separator and enhanced code removed. */
  lines: string[];
}

/** A reply the peer should never have sent: the connection cannot go on (we no longer know where we are). */
export class ReplyParseError extends Error {
  constructor(
    readonly reason:
      'line-too-long' | 'too-many-lines' | 'bad-code' | 'code-mismatch' | 'bad-separator' | 'bad-text',
    message: string,
  ) {
    super(message);
    this.name = 'ReplyParseError';
  }
}

export interface ReplyParserLimits {
  /**
   * RFC 5321 4.5.3.1.5 says 512 octets per reply line, but real servers send longer EHLO and
   * error lines; we allow more and still bound memory against a peer that never sends CRLF.
   */
  maxLineLength: number;
  /** A bound on one reply's lines: EHLO replies are ~20 lines; a peer streaming `250-` forever is hostile. */
  maxLines: number;
}

export const DEFAULT_REPLY_LIMITS: ReplyParserLimits = { maxLineLength: 4096, maxLines: 200 };

/** One parsed line of a reply. */
export interface ReplyLine {
  code: number;
  last: boolean;
  text: string;
}

// RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39.
const CODE_RE = /^[2-5][0-5][0-9]$/;
// RFC 3463 2: class "." subject "." detail; subject and detail are 1-3 digits without leading zeros beyond one.
const ENHANCED_RE = /^([245])\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})(?:\s+|$)/;

/**
 * Parses one reply line (without its CRLF). RFC 5321 4.2:
 *   Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
 * A bare code ("250") is a valid last line. TAB and printable text are allowed; NUL and other
 * controls are refused (they only ever come from broken or hostile peers).
 */
export function parseReplyLine(line: string): ReplyLine | ReplyParseError {
  const codeText = line.slice(0, 3);
  if (!CODE_RE.test(codeText))
    return new ReplyParseError('bad-code', `malformed reply code in ${show(line)}`);
  const code = Number(codeText);
  if (line.length === 3) return { code, last: true, text: '' };
  const sep = line[3];
  if (sep !== ' ' && sep !== '-')
    return new ReplyParseError('bad-separator', `malformed reply ${show(line)}`);
  const text = line.slice(4);
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) {
    return new ReplyParseError('bad-text', `control character in reply ${show(line)}`);
  }
  return { code, last: sep === ' ', text };
}

/** Splits an RFC 3463 code off the front of a text whose reply code starts with `classDigit`. */
export function splitEnhanced(
  text: string,
  classDigit: string,
): { enhanced: string | undefined; text: string } {
  const m = ENHANCED_RE.exec(text);
  if (!m || m[1] !== classDigit) return { enhanced: undefined, text };
  return { enhanced: `${m[1]}.${m[2]}.${m[3]}`, text: text.slice(m[0].length) };
}

/** A printable, bounded rendering of peer input for error messages and logs. */
function show(s: string): string {
  return JSON.stringify(s.length > 80 ? s.slice(0, 80) + '...' : s);
}

/**
 * Accumulates bytes and yields complete replies. Pure (no I/O): the connection pushes what the
 * socket gave it. After an error the parser stays failed: the byte stream has lost its framing.
 */
export class ReplyParser {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private lines: ReplyLine[] = [];
  private failed: ReplyParseError | null = null;

  constructor(private readonly limits: ReplyParserLimits = DEFAULT_REPLY_LIMITS) {}

  /** True when bytes of an unfinished reply are buffered (a clean close here means a truncated reply). */
  get midReply(): boolean {
    return this.pendingLength > 0 || this.lines.length > 0;
  }

  /** Feeds bytes; returns the replies completed by them, and the error if the stream became malformed. */
  push(chunk: Buffer): { replies: SmtpReply[]; error?: ReplyParseError } {
    const replies: SmtpReply[] = [];
    if (this.failed) return { replies, error: this.failed };
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(0x0a, start);
      if (lf < 0) break;
      const piece = chunk.subarray(start, lf);
      const whole = this.pendingLength ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingLength = 0;
      start = lf + 1;
      if (whole.length > this.limits.maxLineLength) return this.fail(replies, tooLong(this.limits));
      // RFC 5321 4.2 wants CRLF; a bare LF is accepted on input (robustness), the CR is dropped.
      const end = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
      // Reply text may be UTF-8 (RFC 6531 servers); invalid bytes become U+FFFD rather than an error.
      const result = this.onLine(whole.toString('utf8', 0, end));
      if (result instanceof ReplyParseError) return this.fail(replies, result);
      if (result) replies.push(result);
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      this.pendingLength += rest.length;
      if (this.pendingLength > this.limits.maxLineLength) return this.fail(replies, tooLong(this.limits));
      // Copy: the caller may reuse its buffer after push returns.
      this.pending.push(Buffer.from(rest));
    }
    return { replies };
  }

  private fail(
    replies: SmtpReply[],
    error: ReplyParseError,
  ): { replies: SmtpReply[]; error: ReplyParseError } {
    this.failed = error;
    this.pending = [];
    this.pendingLength = 0;
    this.lines = [];
    return { replies, error };
  }

  private onLine(text: string): SmtpReply | ReplyParseError | null {
    const line = parseReplyLine(text);
    if (line instanceof ReplyParseError) return line;
    const first = this.lines[0];
    if (first && first.code !== line.code) {
      return new ReplyParseError('code-mismatch', `reply line code ${line.code} differs from ${first.code}`);
    }
    this.lines.push(line);
    if (!line.last) {
      if (this.lines.length >= this.limits.maxLines) {
        return new ReplyParseError('too-many-lines', `reply longer than ${this.limits.maxLines} lines`);
      }
      return null;
    }
    const lines = this.lines;
    this.lines = [];
    return assemble(lines);
  }
}

function tooLong(limits: ReplyParserLimits): ReplyParseError {
  return new ReplyParseError('line-too-long', `reply line longer than ${limits.maxLineLength} octets`);
}

/** Builds a reply from its lines; RFC 3463 4: each line of a multi-line reply repeats the enhanced code. */
function assemble(lines: ReplyLine[]): SmtpReply {
  const code = lines[0]?.code ?? 0;
  const classDigit = String(code)[0] ?? '';
  const firstSplit = splitEnhanced(lines[0]?.text ?? '', classDigit);
  const enhanced = firstSplit.enhanced;
  const texts = lines.map((l, i) => {
    if (i === 0) return firstSplit.text;
    if (!enhanced) return l.text;
    const s = splitEnhanced(l.text, classDigit);
    return s.enhanced === enhanced ? s.text : l.text;
  });
  return { code, enhanced, lines: texts };
}

/** The reply as one line for logs, DSN Diagnostic-Code and queue last_error: "550 5.1.1 text; more text". */
export function formatReply(reply: SmtpReply): string {
  const text = reply.lines.filter((l) => l.length > 0).join('; ');
  return [String(reply.code), reply.enhanced, text].filter((p) => p !== undefined && p !== '').join(' ');
}
