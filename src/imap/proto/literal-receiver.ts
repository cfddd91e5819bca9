// IMAP command reader: a pure state machine turning arbitrary byte chunks into commands, literal continuations and rejections.
import { IMAP_APPEND_COMMAND } from '../../config/limits.js';
import { LITERAL_ANNOUNCEMENT } from './tokenizer.js';
import type { LiteralData, RawCommand } from './tokenizer.js';
import {
  NUL_IN_LITERAL,
  startsMessage,
  type AppendQuotaCheck,
  type AppendRefusal,
} from './append-literals.js';

/** Limits the receiver enforces while reading; each bounds memory per connection. */
export interface ReceiverLimits {
  /** Command text bytes per command, all line segments together, literals excluded (Dovecot uses 64 KiB). */
  maxLineLength: number;
  /** Largest literal held in memory (mailbox names, passwords, SEARCH strings). */
  maxLiteralSize: number;
  /** Largest APPEND message literal; those are streamed, never held (RFC 7889 APPENDLIMIT). */
  maxAppendSize: number;
  /**
   * Streamed (APPEND message / CATENATE TEXT) literals per command (MULTIAPPEND, RFC 3502); default
   * IMAP_APPEND_COMMAND.maxParts.
   */
  maxAppendLiterals?: number;
  /** Bytes of all streamed literals of one command; default IMAP_APPEND_COMMAND.maxTotalBytes. */
  maxAppendTotal?: number;
  /** Literals per command: bounds per-command bookkeeping. */
  maxLiterals: number;
  /** Total bytes of buffered (non-streamed) literals per command. */
  maxBufferedLiteralBytes: number;
  /**
   * Most bytes read and dropped to skip the rest of one refused command (a non-synchronising literal,
   * the rest of a too-long line). Past it an `overflow` ends the connection: before login nobody may
   * make us read megabytes for nothing. Absent: no bound (the authenticated limits).
   */
  maxDiscard?: number;
}

/**
 * Asked when a command announces a literal, before it is invited ("+") or read: null admits it, a
 * text refuses the command with BAD (RFC 9051 7.5: a command the state does not allow gets no "+").
 * `verb` and `sub` are the first two words after the tag, upper-cased (`sub` matters for UID).
 */
export type LiteralAdmission = (verb: string, sub: string) => string | null;

export const DEFAULT_RECEIVER_LIMITS: ReceiverLimits = {
  maxLineLength: 64 * 1024,
  maxLiteralSize: 64 * 1024,
  maxAppendSize: 25 * 1024 * 1024,
  maxLiterals: 256,
  maxBufferedLiteralBytes: 1024 * 1024,
};

/**
 * What the connection must do next. A `reject` ends the current command: the connection writes
 * the tagged (or, with tag null, untagged) response and drops any literal it was streaming for it.
 */
export type ReceiverEvent =
  /** A complete command, ready for parseImapCommand. */
  | { kind: 'command'; tag: string | null; command: RawCommand }
  /** A synchronising literal was accepted: send "+ ..." now (RFC 9051 7.5). */
  | { kind: 'continue'; tag: string | null; size: number }
  /** An APPEND message literal begins: chunks follow, then literal-end; stream them to a spool. */
  | { kind: 'literal-start'; tag: string | null; size: number; binary: boolean }
  /** Part of a streamed literal; a view of the pushed chunk (not copied): consume before reusing it. */
  | { kind: 'literal-chunk'; bytes: Buffer }
  | { kind: 'literal-end' }
  /** A raw line asked for with expectRawLine() (IDLE's DONE, AUTHENTICATE responses), CRLF removed. */
  | { kind: 'line'; line: Buffer }
  /** The command is refused before (or instead of) reading its literal; see RFC 9051 7.5 and RFC 7888 4. */
  | {
      kind: 'reject';
      tag: string | null;
      status: 'BAD' | 'NO';
      code: 'TOOBIG' | 'OVERQUOTA' | null;
      text: string;
    }
  /** Input that cannot be skipped within maxDiscard: say `* BYE text` and close; nothing more is read. */
  | { kind: 'overflow'; text: string };

export type { AppendQuotaCheck, AppendRefusal } from './append-literals.js';
export { NUL_IN_LITERAL } from './append-literals.js';

type Mode =
  | { name: 'line' }
  | { name: 'literal'; remaining: number; streamed: boolean; binary: boolean; size: number }
  | { name: 'discard-literal'; remaining: number }
  | { name: 'discard-line' }
  /** After an overflow: every byte is dropped, the connection is closing. */
  | { name: 'dead' };

const LF = 0x0a;
const CR = 0x0d;

/** RFC 9051 9: tag = 1*<any ASTRING-CHAR except "+">. */
const TAG = /^([^\x00-\x20\x7f-\xff(){%*"\\+]+)(?: |$)/;

/** Bytes kept from a discarded line: enough to see a trailing `~{<20 digits>+}` announcement. */
const TAIL_KEEP = 32;

/** The tag of a command line, or null when it has none valid (the reply is then untagged). */
export function tagOf(line: Buffer, complete = true): string | null {
  const text = line.toString('latin1', 0, Math.min(line.length, 256));
  const m = TAG.exec(text);
  if (!m) return null;
  // In a truncated (too long) line the tag only counts if the space after it was seen.
  if (!complete && m[0].length === text.length && !text.endsWith(' ')) return null;
  return m[1] as string;
}

/**
 * Reads IMAP commands from chunks split anywhere. Pull-based: push() bytes, then call next()
 * until it returns null, acting on each event before pulling the next (so STARTTLS or IDLE can
 * change what follows). Nothing here touches a socket.
 */
export class ImapCommandReceiver {
  private readonly chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  private readonly outbox: ReceiverEvent[] = [];
  private mode: Mode = { name: 'line' };
  private lineParts: Buffer[] = [];
  private lineLen = 0;
  private segments: Buffer[] = [];
  private literals: LiteralData[] = [];
  private literalParts: Buffer[] = [];
  private commandTextLen = 0;
  private bufferedLiteralBytes = 0;
  /** Streamed literals of the current command and their bytes (MULTIAPPEND bounds). */
  private appendLiterals = 0;
  private appendBytes = 0;
  /** Messages the command's streamed literals make at least (AppendQuotaCheck). */
  private appendMessages = 0;
  /** A streamed non-binary literal of the current command held NUL: it ends in BAD (NUL_IN_LITERAL). */
  private nulSeen = false;
  private appendQuota: AppendQuotaCheck | null = null;
  private tag: string | null = null;
  private tail: Buffer = Buffer.alloc(0);
  private rawLine = false;
  private appendRefusal: AppendRefusal | null = null;
  /** Bytes dropped so far while skipping the current refused command (bounded by maxDiscard). */
  private skipped = 0;
  private admit: LiteralAdmission | null = null;

  constructor(private limits: ReceiverLimits = DEFAULT_RECEIVER_LIMITS) {}

  /**
   * Limits for the commands not yet read (the connection tightens them before login and widens them
   * after). A command already partly read keeps being checked against the new ones.
   */
  setLimits(limits: ReceiverLimits): void {
    this.limits = limits;
  }

  /** Sets the check made before any literal is invited or read (the session's allowed-commands table). */
  setAdmission(admit: LiteralAdmission | null): void {
    this.admit = admit;
  }

  /** Adds received bytes (not copied: do not reuse the buffer until its events are consumed). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.chunks.push(buf);
    this.buffered += buf.length;
  }

  /** Unconsumed bytes: for backpressure, and to refuse plaintext pipelined after STARTTLS (RFC 9051 6.2.1). */
  bufferedBytes(): number {
    return this.buffered;
  }

  /** Drops every unconsumed byte (after STARTTLS the plaintext buffer must not be used). Returns how many. */
  discardBuffered(): number {
    const n = this.buffered;
    this.chunks.length = 0;
    this.head = 0;
    this.buffered = 0;
    return n;
  }

  /**
   * Removes and returns every unconsumed byte: after COMPRESS (RFC 4978 3) what follows the command
   * is compressed, so it goes to the inflater instead of being parsed here.
   */
  takeBuffered(): Buffer {
    const rest: Buffer[] = [];
    for (let c = this.peek(); c; c = this.peek()) {
      rest.push(c);
      this.consume(c.length);
    }
    return Buffer.concat(rest);
  }

  /**
   * While set, an APPEND message literal is refused when announced, before "+" invites it (a
   * non-synchronising one is skipped unread): data_dir below its free-space floor. null: accept.
   */
  refuseAppends(refusal: AppendRefusal | null): void {
    this.appendRefusal = refusal;
  }

  /** Sets the account's quota check made before an APPEND message literal is invited (null: none). */
  setAppendQuota(check: AppendQuotaCheck | null): void {
    this.appendQuota = check;
  }

  /** The next line is returned raw as a `line` event, without literal handling (IDLE DONE, SASL data). */
  expectRawLine(): void {
    this.rawLine = true;
  }

  /** True between commands (nothing of a command read yet): a safe point to switch TLS. */
  isIdle(): boolean {
    return (
      this.mode.name === 'line' &&
      this.segments.length === 0 &&
      this.lineLen === 0 &&
      this.outbox.length === 0
    );
  }

  /**
   * What the next bytes continue, for the connection's deadlines: a literal (its bytes are a transfer
   * held to a floor rate), a started command line (a line deadline), or nothing yet.
   */
  readPhase(): 'idle' | 'line' | 'transfer' {
    if (this.mode.name === 'literal' || this.mode.name === 'discard-literal') return 'transfer';
    if (this.mode.name === 'discard-line' || this.lineLen > 0 || this.segments.length > 0) return 'line';
    return 'idle';
  }

  /** The next event, or null when more bytes are needed. */
  next(): ReceiverEvent | null {
    for (;;) {
      const queued = this.outbox.shift();
      if (queued) return queued;
      const chunk = this.peek();
      if (!chunk) return null;
      const ev = this.step(chunk);
      if (ev) return ev;
    }
  }

  private peek(): Buffer | null {
    while (this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      if (this.head < first.length) return first.subarray(this.head);
      this.chunks.shift();
      this.head = 0;
    }
    return null;
  }

  private consume(n: number): void {
    this.head += n;
    this.buffered -= n;
  }

  private step(chunk: Buffer): ReceiverEvent | null {
    const mode = this.mode;
    switch (mode.name) {
      case 'dead':
        this.consume(chunk.length);
        return null;
      case 'line':
      case 'discard-line': {
        const lf = chunk.indexOf(LF);
        const part = lf < 0 ? chunk : chunk.subarray(0, lf);
        this.consume(lf < 0 ? chunk.length : lf + 1);
        if (mode.name === 'discard-line') {
          this.skipped += part.length;
          if (this.skipped > this.maxDiscard()) return this.overflow('Command line too long');
          this.tail = Buffer.concat([this.tail, part.subarray(Math.max(0, part.length - TAIL_KEEP))]);
          this.tail = this.tail.subarray(Math.max(0, this.tail.length - TAIL_KEEP));
          if (lf >= 0) this.endDiscardedLine();
          return null;
        }
        const lineSoFar = this.commandTextLen + this.lineLen + part.length;
        if (lineSoFar > this.limits.maxLineLength) {
          // Too long: we cannot know the command, so reject it and skip to its end (Dovecot and
          // mox do the same); the tail lets us still skip a trailing non-synchronising literal.
          this.lineParts.push(part.subarray(0, Math.min(part.length, 256)));
          const tag = this.segments.length > 0 ? this.tag : tagOf(Buffer.concat(this.lineParts), false);
          this.mode = { name: 'discard-line' };
          // Bytes past the limit count as skipped, so the result does not depend on how input was cut.
          this.skipped = lineSoFar - this.limits.maxLineLength;
          this.tail = Buffer.from(part.subarray(Math.max(0, part.length - TAIL_KEEP)));
          this.resetCommand();
          if (this.skipped > this.maxDiscard()) this.overflowPending('Command line too long');
          else if (lf >= 0) this.endDiscardedLine();
          return { kind: 'reject', tag, status: 'BAD', code: 'TOOBIG', text: 'Command line too long' };
        }
        // An unfinished line is copied: a view would keep the socket's whole chunk (up to 64 KiB)
        // alive while the client takes its time, and the caller may reuse the chunk.
        this.lineParts.push(lf >= 0 ? part : Buffer.from(part));
        this.lineLen += part.length;
        return lf >= 0 ? this.finishLine() : null;
      }
      case 'literal': {
        const take = Math.min(mode.remaining, chunk.length);
        const piece = chunk.subarray(0, take);
        this.consume(take);
        mode.remaining -= take;
        if (mode.streamed) {
          // A memchr over bytes already in hand: NUL_IN_LITERAL (a literal8 may carry it).
          if (!mode.binary && !this.nulSeen && piece.indexOf(0) !== -1) this.nulSeen = true;
          if (mode.remaining === 0) this.completeLiteral(mode);
          return { kind: 'literal-chunk', bytes: piece };
        }
        // Copied unless it completes here (completeLiteral copies then): see the line case.
        this.literalParts.push(mode.remaining === 0 ? piece : Buffer.from(piece));
        if (mode.remaining === 0) this.completeLiteral(mode);
        return null;
      }
      case 'discard-literal': {
        const take = Math.min(mode.remaining, chunk.length);
        this.consume(take);
        mode.remaining -= take;
        this.skipped += take;
        if (mode.remaining === 0) {
          this.mode = { name: 'discard-line' };
          this.tail = Buffer.alloc(0);
        }
        return null;
      }
    }
  }

  private finishLine(): ReceiverEvent | null {
    let line = this.lineParts.length === 1 ? (this.lineParts[0] as Buffer) : Buffer.concat(this.lineParts);
    this.lineParts = [];
    this.lineLen = 0;
    // RFC 9051 2.2: lines end with CRLF; a bare LF is tolerated as many servers do.
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (this.rawLine && this.segments.length === 0) {
      this.rawLine = false;
      return { kind: 'line', line };
    }
    if (this.segments.length === 0) {
      if (line.length === 0) return null; // an empty line is not a command: ignore it
      this.tag = tagOf(line);
    }
    this.commandTextLen += line.length;
    const tailText = line.toString('latin1', Math.max(0, line.length - TAIL_KEEP));
    const m = LITERAL_ANNOUNCEMENT.exec(tailText);
    // A segment waiting for its literal is copied (it may wait long; see the line case above).
    this.segments.push(m ? Buffer.from(line) : line);
    if (!m && this.nulSeen) {
      // The whole command was read (the client is in step again); the spooled bodies are dropped.
      const tag = this.tag;
      this.resetCommand();
      return { kind: 'reject', tag, status: 'BAD', code: null, text: NUL_IN_LITERAL };
    }
    if (!m) {
      const ev: ReceiverEvent = {
        kind: 'command',
        tag: this.tag,
        command: { segments: this.segments, literals: this.literals },
      };
      this.resetCommand();
      return ev;
    }
    const size = Number(m[2]);
    const sync = m[3] !== '+';
    const binary = m[1] === '~';
    const tag = this.tag;
    const streamed = this.isAppendMessage();
    const messages = streamed ? this.appendMessages + (startsMessage(line) ? 1 : 0) : 0;
    let refusal: ReceiverEvent | null = null;
    let overQuota: AppendRefusal | null = null;
    const notAllowed = this.admission();
    if (notAllowed !== null) {
      // Checked first: a command the state refuses gets no "+" whatever its size (RFC 9051 7.5).
      refusal = { kind: 'reject', tag, status: 'BAD', code: null, text: notAllowed };
    } else if (this.nulSeen) {
      // An earlier literal of this command held NUL: no "+" for the next one, the command is BAD.
      refusal = { kind: 'reject', tag, status: 'BAD', code: null, text: NUL_IN_LITERAL };
    } else if (streamed && size > this.limits.maxAppendSize) {
      // RFC 7889 / RFC 9051 7.1 TOOBIG: refuse before the client sends the message.
      refusal = { kind: 'reject', tag, status: 'NO', code: 'TOOBIG', text: 'Message too large' };
    } else if (
      streamed &&
      this.appendLiterals + 1 > (this.limits.maxAppendLiterals ?? IMAP_APPEND_COMMAND.maxParts)
    ) {
      // RFC 3502 / RFC 4469 5: the command as a whole is too big; nothing of it is stored.
      refusal = {
        kind: 'reject',
        tag,
        status: 'NO',
        code: 'TOOBIG',
        text: 'Too many messages in one APPEND',
      };
    } else if (
      streamed &&
      this.appendBytes + size >
        Math.max(this.limits.maxAppendTotal ?? IMAP_APPEND_COMMAND.maxTotalBytes, this.limits.maxAppendSize)
    ) {
      refusal = { kind: 'reject', tag, status: 'NO', code: 'TOOBIG', text: 'APPEND too large in total' };
    } else if (this.literals.length + 1 > this.limits.maxLiterals) {
      refusal = { kind: 'reject', tag, status: 'BAD', code: null, text: 'Too many literals' };
    } else if (streamed && this.appendRefusal) {
      // RFC 9051 7.1 OVERQUOTA (RFC 5530 3), Dovecot's answer to a full disk: before the bytes are sent.
      refusal = { kind: 'reject', tag, status: 'NO', ...this.appendRefusal };
    } else if (
      streamed &&
      this.appendQuota &&
      (overQuota = this.appendQuota(this.appendBytes + size, messages)) !== null
    ) {
      // RFC 9208 4.3 (RFC 3502 6.3.11 for the later messages of a MULTIAPPEND): the announced size alone
      // takes the account over its quota, so the client is told before it uploads (no "+").
      refusal = { kind: 'reject', tag, status: 'NO', ...overQuota };
    } else if (
      !streamed &&
      (size > this.limits.maxLiteralSize ||
        this.bufferedLiteralBytes + size > this.limits.maxBufferedLiteralBytes)
    ) {
      refusal = { kind: 'reject', tag, status: 'BAD', code: 'TOOBIG', text: 'Literal too large' };
    }
    if (refusal) {
      this.resetCommand();
      this.skipped = 0;
      // RFC 9051 7.5: for a synchronising literal the client waits for "+", so it never sends the
      // bytes; a non-synchronising one (RFC 7888 4) is already on its way: skip it if that is cheap
      // enough (maxDiscard), else give up on the connection (the client will not stop sending it).
      if (!sync && size > this.maxDiscard()) return this.overflow(refusal.text);
      if (!sync)
        this.mode = size > 0 ? { name: 'discard-literal', remaining: size } : { name: 'discard-line' };
      if (!sync && size === 0) this.tail = Buffer.alloc(0);
      return refusal;
    }
    if (sync) this.outbox.push({ kind: 'continue', tag, size });
    if (streamed) {
      this.outbox.push({ kind: 'literal-start', tag, size, binary });
      this.appendLiterals++;
      this.appendBytes += size;
      this.appendMessages = messages;
    } else this.bufferedLiteralBytes += size;
    const mode: Mode = { name: 'literal', remaining: size, streamed, binary, size };
    this.mode = mode;
    if (size === 0) this.completeLiteral(mode);
    return null;
  }

  private completeLiteral(mode: { streamed: boolean; binary: boolean; size: number }): void {
    if (mode.streamed) {
      this.literals.push({ streamed: true, size: mode.size, binary: mode.binary });
      this.outbox.push({ kind: 'literal-end' });
    } else {
      const bytes =
        this.literalParts.length === 1 ? (this.literalParts[0] as Buffer) : Buffer.concat(this.literalParts);
      // Copy small literals out of the caller's chunk so later reuse of that chunk cannot change them.
      this.literals.push({ streamed: false, bytes: Buffer.from(bytes), binary: mode.binary });
      this.literalParts = [];
    }
    this.mode = { name: 'line' };
  }

  /**
   * Whether the literal just announced is an APPEND message (streamed) rather than a small
   * argument. RFC 9051 6.3.12: APPEND mailbox [flags] [date-time] literal; only the mailbox can
   * be an earlier literal, and it is then the first one, announced right after "APPEND ".
   */
  private isAppendMessage(): boolean {
    const first = this.segments[0] as Buffer;
    const head = first.toString('latin1', 0, Math.min(first.length, 300));
    const m = /^[^ ]+ +APPEND( +|$)/i.exec(head);
    if (!m) return false;
    if (this.literals.length === 0 && /^[^ ]+ +APPEND +~?\{[0-9]+\+?\}$/i.test(head)) return false;
    // RFC 4469 5: a CATENATE URL sent as a literal is a small argument, not message text.
    const last = this.segments[this.segments.length - 1] as Buffer;
    const tail = last.toString('latin1', Math.max(0, last.length - 40));
    if (/[ (]URL +~?\{[0-9]+\+?\}$/i.test(tail)) return false;
    return true;
  }

  private endDiscardedLine(): void {
    const text = this.tail.toString('latin1');
    const m = /~?\{([0-9]{1,20})\+\}\r?$/.exec(text);
    this.tail = Buffer.alloc(0);
    if (m) {
      const n = Number(m[1]);
      if (this.skipped + n > this.maxDiscard()) {
        this.overflowPending('Literal too large');
        return;
      }
      this.mode = n > 0 ? { name: 'discard-literal', remaining: n } : { name: 'discard-line' };
    } else {
      this.mode = { name: 'line' };
      this.skipped = 0;
    }
  }

  private maxDiscard(): number {
    return this.limits.maxDiscard ?? Number.POSITIVE_INFINITY;
  }

  /** The command's verb (and UID's sub-command) put to the admission check; null: admitted. */
  private admission(): string | null {
    if (!this.admit) return null;
    const first = this.segments[0] as Buffer;
    const words = first.toString('latin1', 0, Math.min(first.length, 300)).split(' ');
    return this.admit((words[1] ?? '').toUpperCase(), (words[2] ?? '').toUpperCase());
  }

  /** Ends reading for good: the connection answers `* BYE` and closes. */
  private overflow(text: string): ReceiverEvent {
    this.resetCommand();
    this.mode = { name: 'dead' };
    this.tail = Buffer.alloc(0);
    this.discardBuffered();
    return { kind: 'overflow', text };
  }

  private overflowPending(text: string): void {
    this.outbox.push(this.overflow(text));
  }

  private resetCommand(): void {
    this.segments = [];
    this.literals = [];
    this.literalParts = [];
    this.lineParts = [];
    this.lineLen = 0;
    this.commandTextLen = 0;
    this.bufferedLiteralBytes = 0;
    this.appendLiterals = 0;
    this.appendBytes = 0;
    this.appendMessages = 0;
    this.nulSeen = false;
  }
}
