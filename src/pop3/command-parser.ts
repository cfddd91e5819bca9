// Pure POP3 input handling: splitting bytes into command lines (with a length limit) and parsing a line into a typed command.

/** RFC 2449 4: a command line is at most 255 octets including the CRLF. */
export const MAX_COMMAND_LINE = 255;
/**
 * RFC 5034 4: a SASL response line is not bound by the 255-octet command limit. 12 KiB holds a
 * PLAIN response with the longest username and password we accept (4 KiB password, base64 grows 4/3).
 */
export const MAX_SASL_LINE = 12 * 1024;
/** RFC 2449 4: keywords are at most 4 characters; arguments at most 40 (we allow a full address). */
export const MAX_ARGUMENT = 255;

/** One received line, without its line end; `tooLong` when more than the limit arrived (the rest was dropped). */
export type ReceivedLine = { kind: 'line'; text: Buffer } | { kind: 'too-long' };

/**
 * Splits a byte stream into lines ended by CRLF (a bare LF is accepted too: many hand-typed sessions send
 * it). A line longer than the current limit is dropped up to its end and reported once as `too-long`, so a
 * client streaming bytes without a line end never grows memory beyond the limit.
 */
export class LineReceiver {
  private pending: Buffer[] = []; // received, not yet split into lines
  private parts: Buffer[] = []; // the unfinished current line
  private held = 0;
  private discarding = false;

  /** The limit for the next line (octets including CRLF); the session raises it during a SASL exchange. */
  limit = MAX_COMMAND_LINE;

  /** Adds received bytes; take lines out with next(), one at a time, so each sees the limit of its moment. */
  feed(chunk: Buffer): void {
    if (chunk.length > 0) this.pending.push(chunk);
  }

  /** True while part of a line has arrived (for the command-line deadline: a slow client, not an idle one). */
  get partial(): boolean {
    return this.held > 0 || this.discarding || this.pending.length > 0;
  }

  /** The next complete line, or null when none has fully arrived. */
  next(): ReceivedLine | null {
    while (this.pending.length > 0) {
      const chunk = this.pending[0]!;
      const lf = chunk.indexOf(0x0a);
      const piece = lf === -1 ? chunk : chunk.subarray(0, lf);
      if (!this.discarding) {
        if (this.held + piece.length + (lf === -1 ? 0 : 1) > this.limit) {
          this.discarding = true;
          this.parts = [];
          this.held = 0;
        } else {
          // Copied when the line is unfinished: a view would keep the socket's whole chunk alive
          // while the client takes its time (bounded by the limit, so the copy is small).
          this.parts.push(lf === -1 ? Buffer.from(piece) : piece);
          this.held += piece.length;
        }
      }
      if (lf === -1) {
        this.pending.shift();
        continue;
      }
      if (lf + 1 === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(lf + 1);
      const tooLong = this.discarding;
      let text = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
      this.parts = [];
      this.held = 0;
      this.discarding = false;
      if (tooLong) return { kind: 'too-long' };
      if (text.length > 0 && text[text.length - 1] === 0x0d) text = text.subarray(0, text.length - 1);
      // A copy: the socket's chunk may be large and must not be kept alive by a short line.
      return { kind: 'line', text: Buffer.from(text) };
    }
    return null;
  }

  /** feed() and then every complete line (for tests and simple callers). */
  push(chunk: Buffer): ReceivedLine[] {
    this.feed(chunk);
    const out: ReceivedLine[] = [];
    for (let line = this.next(); line !== null; line = this.next()) out.push(line);
    return out;
  }

  /** Forgets buffered input (RFC 2595 4: after STLS, plaintext the client pipelined must not be used). */
  reset(): void {
    this.pending = [];
    this.parts = [];
    this.held = 0;
    this.discarding = false;
  }

  /** True when bytes of an unfinished line or unsplit input are held. */
  get hasPending(): boolean {
    return this.pending.length > 0 || this.held > 0;
  }

  /** Octets of the unfinished current line held right now (bounded by the limit). */
  get buffered(): number {
    return this.held;
  }
}

/** The commands we know (RFC 1939 5-7, RFC 2449 5, RFC 2595 4, RFC 5034 4). */
export type Pop3Command =
  | { verb: 'USER'; name: string }
  | { verb: 'PASS'; password: string }
  | { verb: 'AUTH'; mechanism: string | null; initialResponse: string | null }
  | { verb: 'STLS' }
  | { verb: 'CAPA' }
  | { verb: 'QUIT' }
  | { verb: 'STAT' }
  | { verb: 'LIST'; msg: number | null }
  | { verb: 'RETR'; msg: number }
  | { verb: 'DELE'; msg: number }
  | { verb: 'NOOP' }
  | { verb: 'RSET' }
  | { verb: 'TOP'; msg: number; lines: number }
  | { verb: 'UIDL'; msg: number | null };

export type Pop3Verb = Pop3Command['verb'];

/** Why a line is not a command we can run; the session turns it into one `-ERR`. */
export interface Pop3ParseError {
  error: 'unknown-command' | 'syntax' | 'bad-bytes';
  text: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 1939 3 allows message numbers up to the count; a 9-digit cap keeps them far inside safe integers. */
const NUMBER = /^[0-9]{1,9}$/;

function num(arg: string | undefined): number | null {
  if (arg === undefined || !NUMBER.test(arg)) return null;
  return Number(arg);
}

function syntax(text: string): Pop3ParseError {
  return { error: 'syntax', text };
}

export function isParseError(x: Pop3Command | Pop3ParseError): x is Pop3ParseError {
  return 'error' in x;
}

/**
 * Parses one command line (without CRLF). Keywords are case-insensitive (RFC 1939 3); arguments are
 * separated by single spaces, but we tolerate runs of spaces and tabs as real clients send them. PASS
 * takes the rest of the line as the password, spaces included (RFC 1939 7 notes passwords may contain
 * spaces). Control characters other than TAB, and bytes that are not UTF-8, are refused.
 */
export function parsePop3Command(line: Buffer): Pop3Command | Pop3ParseError {
  let text: string;
  try {
    text = UTF8.decode(line);
  } catch {
    return { error: 'bad-bytes', text: 'Command is not valid UTF-8' };
  }
  // Control characters (other than TAB) have no place in a command: refuse rather than log or pass them on.
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(text))
    return { error: 'bad-bytes', text: 'Control characters in command' };
  const sp = text.search(/[ \t]/);
  const keyword = (sp === -1 ? text : text.slice(0, sp)).toUpperCase();
  const rest = sp === -1 ? '' : text.slice(sp + 1);
  const args = rest.split(/[ \t]+/).filter((a) => a !== '');
  if (args.some((a) => a.length > MAX_ARGUMENT)) return syntax('Argument too long');
  const none = (cmd: Pop3Command): Pop3Command | Pop3ParseError =>
    args.length === 0 ? cmd : syntax(`${keyword} takes no arguments`);
  switch (keyword) {
    case 'USER':
      return args.length === 1 ? { verb: 'USER', name: args[0]! } : syntax('Usage: USER name');
    case 'PASS':
      // The whole rest of the line (RFC 1939 7: "the server may treat spaces in the argument as part of the password").
      return rest.length > 0 ? { verb: 'PASS', password: rest } : syntax('Usage: PASS password');
    case 'AUTH':
      if (args.length > 2) return syntax('Usage: AUTH mechanism [initial-response]');
      return { verb: 'AUTH', mechanism: args[0]?.toUpperCase() ?? null, initialResponse: args[1] ?? null };
    case 'STLS':
      return none({ verb: 'STLS' });
    case 'CAPA':
      return none({ verb: 'CAPA' });
    case 'QUIT':
      return none({ verb: 'QUIT' });
    case 'STAT':
      return none({ verb: 'STAT' });
    case 'NOOP':
      return none({ verb: 'NOOP' });
    case 'RSET':
      return none({ verb: 'RSET' });
    case 'LIST':
    case 'UIDL': {
      if (args.length === 0) return { verb: keyword, msg: null };
      const msg = num(args[0]);
      if (args.length !== 1 || msg === null) return syntax(`Usage: ${keyword} [msg]`);
      return { verb: keyword, msg };
    }
    case 'RETR':
    case 'DELE': {
      const msg = num(args[0]);
      if (args.length !== 1 || msg === null) return syntax(`Usage: ${keyword} msg`);
      return { verb: keyword, msg };
    }
    case 'TOP': {
      const msg = num(args[0]);
      const lines = num(args[1]);
      if (args.length !== 2 || msg === null || lines === null) return syntax('Usage: TOP msg n');
      return { verb: 'TOP', msg, lines };
    }
    default:
      return { error: 'unknown-command', text: 'Unknown command' };
  }
}
