// The SMTP server session: a pure state machine fed raw input bytes; returns replies, events and actions for the connection.
import { ProtocolError } from '../../errors.js';
import {
  REPLY,
  errorReply,
  formatReply,
  greetingReply,
  internalErrorReply,
  junkLimitReply,
  shuttingDownReply,
  accountEndedReply,
  timeoutReply,
  tooManyErrorsReply,
  type Reply,
} from '../reply-codes.js';
import {
  SESSION_ERROR_LIMIT,
  SMTP_JUNK_COMMAND_LIMIT,
  SMTP_REPLY_BACKLOG_BYTES,
} from '../../config/limits.js';
import { MAX_AUTH_LINE, parseSmtpCommand, type SmtpCommand, type SmtpVerb } from './command-parser.js';
import { LineReceiver } from './receivers.js';
import { ALLOWED_VERBS, isCommandState, type CommandState, type SessionState } from './session-state.js';
import type { SmtpPeer, SmtpPolicy, SmtpServices } from './services.js';
import type { ReadPhase } from '../../net/deadlines.js';
import {
  resetTransaction,
  type SessionAction,
  type SessionCore,
  type SessionEvent,
} from './commands/context.js';
import { handleEhlo, handleHelo } from './commands/helo.js';
import { handleMail } from './commands/mail.js';
import { handleRcpt } from './commands/rcpt.js';
import {
  discardChunk,
  finishChunk,
  finishData,
  handleBdat,
  handleBurl,
  handleData,
  writeFailureOf,
  type WriteFailure,
} from './commands/data.js';
import { handleAuth, handleAuthResponse } from './commands/auth.js';
import {
  handleHelp,
  handleNoop,
  handleQuit,
  handleRset,
  handleStartTls,
  handleVrfy,
} from './commands/misc.js';

export type { SessionEvent, SessionAction } from './commands/context.js';

/** What one call produced: bytes to write (in order), things to log, and at most one action. */
export interface SessionOutput {
  replies: string;
  events: SessionEvent[];
  action?: SessionAction;
  /**
   * Input not looked at yet because the replies so far reached SMTP_REPLY_BACKLOG_BYTES: feed it
   * again once `replies` are written (and the client reads them), so a client pipelining without
   * reading cannot make us hold more replies than that.
   */
  rest?: Buffer;
}

/** Which RFC 5321 4.5.3.2 server timeout applies while waiting for the client's next bytes. */
export type WaitKind = 'command' | 'data';

export interface SmtpSessionOptions {
  policy: SmtpPolicy;
  services: SmtpServices;
  peer: SmtpPeer;
}

/**
 * Usage (connection.ts): `greet()` once; then `feed(bytes)` for each input chunk, writing `replies` and
 * performing `action`; `tlsStarted()` after a STARTTLS handshake; `abort()` when the connection goes away.
 * feed() consumes the whole chunk, processing pipelined commands in order (RFC 2920); after a 'start-tls' or
 * 'close' action the rest of the chunk is deliberately dropped (RFC 3207 4.2: nothing sent before the
 * handshake may be acted upon).
 */
export class SmtpSession implements SessionCore {
  readonly policy: SmtpPolicy;
  readonly services: SmtpServices;
  readonly peer: SmtpPeer;
  state: SessionState = { kind: 'connected' };
  greeting: 'EHLO' | 'HELO' | null = null;
  heloName = '';
  authenticatedAs: string | null = null;
  peerTrusted?: boolean;

  private lines = new LineReceiver(MAX_AUTH_LINE);
  private out = '';
  private events: SessionEvent[] = [];
  private action: SessionAction | undefined;
  /** Invalid commands so far (SESSION_ERROR_LIMIT). */
  private errors = 0;
  /** Set when a spool write failed mid-body: the rest of the body is read and dropped, then 451 (452 if the disk is full). */
  private writeFailed: WriteFailure = null;
  /** NOOP/RSET/VRFY/HELP since the last accepted message (SMTP_JUNK_COMMAND_LIMIT). */
  private junkCommands = 0;
  /** The command being answered, as the log shows it (see commandForLog); null before the first. */
  private command: string | null = null;

  constructor(options: SmtpSessionOptions) {
    this.policy = options.policy;
    this.services = options.services;
    this.peer = { ...options.peer };
  }

  /** The greeting; with `refusal` (a DNSBL listing) a 554 instead, after which only QUIT is served (RFC 5321 3.1). */
  greet(refusal?: Reply): SessionOutput {
    if (refusal) {
      this.state = { kind: 'refused' };
      this.reply(refusal);
    } else {
      this.reply(greetingReply(this.policy.hostname));
    }
    return this.drain();
  }

  get closed(): boolean {
    return this.state.kind === 'closed';
  }

  /** Command timeout (5 min) between commands, DATA block timeout (3 min) inside a body (RFC 5321 4.5.3.2). */
  waitKind(): WaitKind {
    const k = this.state.kind;
    return k === 'data' || k === 'bdat' || k === 'discard' ? 'data' : 'command';
  }

  /**
   * What the next input continues, for the connection's deadlines: a body (DATA, BDAT, including the
   * commands between BDAT chunks of one message), the rest of a started line, or nothing yet.
   */
  readPhase(): ReadPhase {
    const k = this.state.kind;
    if (k === 'data' || k === 'bdat' || k === 'bdat-wait' || k === 'discard') return 'transfer';
    return this.lines.pending ? 'line' : 'idle';
  }

  async feed(input: Buffer): Promise<SessionOutput> {
    let offset = 0;
    while (offset < input.length && this.action === undefined && this.state.kind !== 'closed') {
      if (this.out.length >= SMTP_REPLY_BACKLOG_BYTES) {
        const output = this.drain();
        output.rest = input.subarray(offset);
        return output;
      }
      const state = this.state;
      switch (state.kind) {
        case 'data': {
          const t = state.receiver.take(input, offset);
          offset += t.consumed;
          for (const chunk of t.chunks) await this.write(state.spool, chunk);
          if (t.end) {
            const failed = this.writeFailed;
            this.writeFailed = null;
            await finishData(this, state, t.end.failure, failed);
          }
          break;
        }
        case 'bdat': {
          const t = state.receiver.take(input, offset);
          offset += t.consumed;
          if (t.chunk) await this.write(state.spool, t.chunk);
          break;
        }
        case 'discard': {
          offset += state.receiver.take(input, offset).consumed;
          break;
        }
        default: {
          const t = this.lines.take(input, offset);
          offset += t.consumed;
          if (t.event?.kind === 'too-long') {
            if (state.kind === 'auth') this.state = { kind: 'ready' };
            this.invalid(REPLY.lineTooLong);
          } else if (t.event) {
            await this.onLine(t.event.line);
          }
        }
      }
      await this.settle();
    }
    if (this.action === 'start-tls') this.lines = new LineReceiver(MAX_AUTH_LINE);
    return this.drain();
  }

  /** After a STARTTLS handshake: RFC 3207 4.2 - forget everything learnt before, back to pre-EHLO. */
  tlsStarted(info: { protocol?: string; cipher?: string }): void {
    this.peer.secure = true;
    if (info.protocol) this.peer.tlsProtocol = info.protocol;
    if (info.cipher) this.peer.tlsCipher = info.cipher;
    this.greeting = null;
    this.heloName = '';
    this.authenticatedAs = null;
    this.state = { kind: 'connected' };
    this.lines = new LineReceiver(MAX_AUTH_LINE);
    this.action = undefined;
  }

  /** The client went quiet too long, or (`what`) missed a deadline: 421 4.4.2 and close. */
  timedOut(what?: string): SessionOutput {
    return this.shutdown(timeoutReply(this.policy.hostname, what));
  }

  /** Something unexpected broke: 421 4.3.0 and close (the connection logs the error). */
  internalError(): SessionOutput {
    return this.shutdown(internalErrorReply(this.policy.hostname));
  }

  /** The server is stopping: 421 4.3.2 and close; a transaction in progress is abandoned (no 250 was sent). */
  shuttingDown(): SessionOutput {
    return this.shutdown(shuttingDownReply(this.policy.hostname));
  }

  /** The signed-in account may no longer sign in (user disable/remove): 421 and close. */
  accountEnded(why: string): SessionOutput {
    return this.shutdown(accountEndedReply(this.policy.hostname, why));
  }

  /** The connection is gone: drop any body being received. */
  abort(): void {
    if (this.state.kind !== 'closed') resetTransaction(this);
    this.state = { kind: 'closed' };
  }

  // SessionCore outboxes
  reply(reply: Reply): void {
    this.out += formatReply(reply, this.greeting !== null);
    // Every refusal is logged with what it answered (issue 11: RCPT rejections with their codes).
    if (reply.code >= 400) {
      this.events.push({
        kind: 'reply-error',
        command: this.command,
        code: reply.code,
        ...(reply.enhanced ? { enhanced: reply.enhanced } : {}),
        text: reply.lines.join(' '),
      });
    }
  }

  event(event: SessionEvent): void {
    if (event.kind === 'accepted') this.junkCommands = 0; // as Postfix: delivering mail resets the count
    this.events.push(event);
  }

  act(action: SessionAction): void {
    this.action = action;
  }

  private shutdown(reply: Reply): SessionOutput {
    this.abort();
    this.reply(reply);
    this.act('close');
    return this.drain();
  }

  /** Replies to an invalid command; at SESSION_ERROR_LIMIT of them the session ends with 421 4.7.0. */
  private invalid(reply: Reply): void {
    this.reply(reply);
    if (++this.errors < SESSION_ERROR_LIMIT) return;
    this.abort();
    this.reply(tooManyErrorsReply(this.policy.hostname));
    this.act('close');
  }

  private drain(): SessionOutput {
    const output: SessionOutput = { replies: this.out, events: this.events };
    if (this.action !== undefined) output.action = this.action;
    this.out = '';
    this.events = [];
    if (this.action === 'start-tls') this.action = undefined;
    return output;
  }

  /** Backpressure: the spool's promise is awaited before more input is looked at. */
  private async write(spool: { write(chunk: Buffer): void | Promise<void> }, chunk: Buffer): Promise<void> {
    if (this.writeFailed !== null) return;
    try {
      await spool.write(chunk);
    } catch (error) {
      this.writeFailed = writeFailureOf(error);
      this.event({ kind: 'service-error', operation: 'spool.write', error });
    }
  }

  /** Completes receivers that need no more input (a BDAT chunk just filled, or of size 0). */
  private async settle(): Promise<void> {
    const state = this.state;
    if (state.kind === 'bdat' && state.receiver.done) {
      const failed = this.writeFailed;
      this.writeFailed = null;
      await finishChunk(this, state, failed);
    } else if (state.kind === 'discard' && state.receiver.done) {
      this.state = state.next;
      this.reply(state.reply);
    }
  }

  private async onLine(line: Buffer): Promise<void> {
    const state = this.state;
    if (state.kind === 'auth') {
      this.command = 'AUTH (response)'; // never the credentials
      return handleAuthResponse(this, state, line);
    }
    this.command = commandForLog(line);
    if (!isCommandState(state)) return; // not reached: the feed loop only reads lines in these states
    const cmd = parseSmtpCommand(line);
    if (cmd instanceof ProtocolError) return this.invalid(errorReply(cmd));
    if (!ALLOWED_VERBS[state.kind].has(cmd.verb)) {
      const reply = sequenceReply(state, cmd);
      // A refused BDAT is still followed by its chunk (RFC 3030 2): read and drop it.
      if (cmd.verb === 'BDAT') return discardChunk(this, cmd.size, reply, state);
      return this.invalid(reply);
    }
    if (JUNK_VERBS.has(cmd.verb) && ++this.junkCommands > SMTP_JUNK_COMMAND_LIMIT) {
      // Replies to them keep the idle timer alive without ever sending mail (Postfix smtpd_junk_command_limit).
      this.event({ kind: 'junk-limit', commands: this.junkCommands });
      this.abort();
      this.reply(junkLimitReply(this.policy.hostname));
      return this.act('close');
    }
    try {
      await this.dispatch(state, cmd);
    } catch (error) {
      // One typed error, thrown deep, caught once (DESIGN.md habit 5); anything else goes up: 421.
      if (error instanceof ProtocolError) return this.reply(errorReply(error));
      throw error;
    }
  }

  private async dispatch(state: CommandState, cmd: SmtpCommand): Promise<void> {
    switch (cmd.verb) {
      case 'EHLO':
        return handleEhlo(this, cmd.domain);
      case 'HELO':
        return handleHelo(this, cmd.domain);
      case 'MAIL':
        return handleMail(this, cmd);
      case 'RCPT':
        if (state.kind === 'mail' || state.kind === 'rcpt') return handleRcpt(this, state, cmd);
        return this.reply(REPLY.badSequence);
      case 'DATA':
        if (state.kind === 'mail' || state.kind === 'rcpt') return handleData(this, state);
        return this.reply(REPLY.badSequence);
      case 'BDAT':
        if (state.kind === 'mail' || state.kind === 'rcpt' || state.kind === 'bdat-wait') {
          return handleBdat(this, state, cmd);
        }
        return discardChunk(this, cmd.size, REPLY.badSequence, state);
      case 'BURL':
        if (state.kind === 'mail' || state.kind === 'rcpt' || state.kind === 'bdat-wait') {
          return handleBurl(this, state, cmd);
        }
        return this.reply(REPLY.badSequence);
      case 'AUTH':
        return handleAuth(this, cmd);
      case 'STARTTLS':
        return handleStartTls(this);
      case 'RSET':
        return handleRset(this);
      case 'NOOP':
        return handleNoop(this);
      case 'QUIT':
        return handleQuit(this);
      case 'VRFY':
        return handleVrfy(this);
      case 'HELP':
        return handleHelp(this);
    }
  }
}

/** Commands that do not advance a mail transaction (Postfix's "junk" commands; we have no ETRN). */
const JUNK_VERBS: ReadonlySet<SmtpVerb> = new Set<SmtpVerb>(['NOOP', 'RSET', 'VRFY', 'HELP']);

/** The most helpful 503 text for a verb the table refused in this state. */
function sequenceReply(state: CommandState, cmd: SmtpCommand): Reply {
  if (state.kind === 'refused') return REPLY.badSequence;
  if (state.kind === 'connected') return REPLY.needHelo;
  if (cmd.verb === 'MAIL' && (state.kind === 'mail' || state.kind === 'rcpt')) return REPLY.nestedMail;
  if (cmd.verb === 'AUTH' && state.kind !== 'ready') return REPLY.authInTransaction;
  if ((cmd.verb === 'RCPT' || cmd.verb === 'DATA' || cmd.verb === 'BDAT') && state.kind === 'ready') {
    return REPLY.needMail;
  }
  return REPLY.badSequence;
}

/** A log line's length limit for a command (RFC 5321 4.5.3.1.4: a command line is at most 512 octets). */
const MAX_LOGGED_COMMAND = 200;

/**
 * The command line as the log shows it: AUTH keeps only its mechanism (the initial response is a
 * credential, RFC 4954 4), BURL loses its URLAUTH token, everything else its text (MAIL FROM and RCPT TO carry the addresses an
 * admin greps for), cut to MAX_LOGGED_COMMAND.
 */
export function commandForLog(line: Buffer): string {
  const text = line
    .toString('latin1', 0, Math.min(line.length, MAX_LOGGED_COMMAND + 2))
    .replace(/\r?\n$/, '');
  if (/^auth(?:\s|$)/i.test(text)) return text.split(/\s+/, 2).join(' ');
  // A BURL URL's URLAUTH token lets anyone holding it fetch the message (RFC 4467 9): never logged.
  if (/^burl\s/i.test(text)) return text.replace(/(;urlauth=[^:\s]*:[^:\s]*:)[0-9a-f]+/i, '$1...');
  return text.length > MAX_LOGGED_COMMAND ? `${text.slice(0, MAX_LOGGED_COMMAND)}...` : text;
}
