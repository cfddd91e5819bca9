// The IMAP session (RFC 9051 3, 5): one state machine per connection; commands in, responses and actions out. No I/O.
import { SESSION_ERROR_LIMIT } from '../config/limits.js';
import { MailroomError } from '../errors.js';
import type { SpooledBody } from '../store/store.js';
import type { ImapCommand, ImapCommandName } from './proto/command-types.js';
import type { ResponseCode, ResponsePart } from './proto/response-writer.js';
import { ALLOWED, type SessionState } from './session-state.js';
import {
  ImapCommandError,
  Out,
  type CommandContext,
  type ImapPeer,
  type ImapPolicy,
  type ImapServices,
  type SessionAction,
  type SessionData,
} from './commands/context.js';
import { HANDLERS, type Done, type LineHandler } from './commands/index.js';
import { capabilities } from './commands/auth.js';
import { syncView } from './view-sync.js';
import { updateContexts } from './commands/contexts.js';
import { contextEvaluator } from './commands/sort.js';

export interface SessionOutput {
  parts: ResponsePart[];
  action: SessionAction;
}

/** Commands during which EXPUNGE must not be sent (RFC 9051 7.4.1): sequence numbers must stay put. */
const NO_EXPUNGE_DURING: ReadonlySet<ImapCommandName> = new Set([
  'FETCH',
  'STORE',
  'SEARCH',
  'SORT',
  'THREAD',
]);

/** Every command some state allows: any other verb is unknown. */
const KNOWN_COMMANDS: ReadonlySet<string> = new Set(Object.values(ALLOWED).flatMap((names) => [...names]));

/** MailroomError codes that are the client's business, as NO with a response code (RFC 5530). */
const STORE_REFUSALS: Record<string, ResponseCode> = {
  NO_SUCH_MAILBOX: { name: 'NONEXISTENT' },
  MAILBOX_EXISTS: { name: 'ALREADYEXISTS' },
  CANNOT_DELETE_INBOX: { name: 'CANNOT' },
  MAILBOX_HAS_CHILDREN: { name: 'INUSE' },
  UIDVALIDITY_EXHAUSTED: { name: 'LIMIT' },
};

export class ImapSession {
  readonly data: SessionData;
  private pending: { tag: string; name: ImapCommandName; handler: LineHandler } | null = null;
  private invalidBeforeLogin = 0;

  constructor(
    private readonly services: ImapServices,
    private readonly policy: ImapPolicy,
    peer: ImapPeer,
  ) {
    this.data = {
      state: { kind: 'not-authenticated' },
      enabled: new Set(),
      condstoreOn: false,
      compressed: false,
      peer,
    };
  }

  get state(): SessionState {
    return this.data.state;
  }

  /** UTF-8 in strings and mailbox names (IMAP4rev2 or UTF8=ACCEPT enabled, RFC 9051 5.1 / RFC 6855 3). */
  get utf8(): boolean {
    return this.data.enabled.has('IMAP4REV2') || this.data.enabled.has('UTF8=ACCEPT');
  }

  /** The greeting (RFC 9051 7.1.1), with capabilities so clients save a round trip. */
  greeting(): Buffer {
    const caps = capabilities(this.policy, this.data).join(' ');
    return Buffer.from(`* OK [CAPABILITY ${caps}] ${this.policy.hostname} Mailroom IMAP ready\r\n`);
  }

  /** The connection switched to TLS (after STARTTLS). */
  tlsStarted(): void {
    this.data.peer = { ...this.data.peer, secure: true };
  }

  /** Autologout (RFC 9051 5.4) or shutdown: the last words. */
  bye(text: string): Buffer {
    this.data.state = { kind: 'logout' };
    return Buffer.from(`* BYE ${text}\r\n`);
  }

  /** Spooled APPEND bodies of a refused command are dropped (the connection removes their files). */
  private discard(bodies: SpooledBody[]): void {
    for (const b of bodies) this.services.discardBody(b);
    bodies.length = 0;
  }

  private context(tag: string, out: Out, bodies: SpooledBody[]): CommandContext {
    return {
      services: this.services,
      policy: this.policy,
      session: this.data,
      out,
      tag,
      bodies,
      utf8: this.utf8,
      sync: (expunges) => this.sync(out, expunges),
    };
  }

  /** Reports changes to the selected mailbox; a mailbox deleted under us ends the session (RFC 9051 7.1.5). */
  private sync(out: Out, expunges: boolean): void {
    const st = this.data.state;
    if (st.kind !== 'selected') return;
    const alive = syncView(this.services.store.mail, st.view, out, {
      expunges,
      qresync: this.data.enabled.has('QRESYNC'),
      condstore: this.data.condstoreOn,
    });
    if (!alive) {
      this.data.state = { kind: 'authenticated', account: st.account };
      out.untagged('OK', { name: 'CLOSED' }, 'The selected mailbox was deleted');
    }
  }

  /**
   * RFC 5267 4.3: how the CONTEXT=SEARCH/SORT results changed with what sync just reported (ADDTO for a
   * message after the EXISTS that announced it, REMOVEFROM after its EXPUNGE).
   */
  private async updateContexts(tag: string, out: Out): Promise<void> {
    const st = this.data.state;
    if (st.kind !== 'selected' || st.view.contextChanges === null) return;
    await updateContexts(this.context(tag, out, []), st.view, out, contextEvaluator);
  }

  /** Changes to report while idling (RFC 2177): everything, expunges included. */
  async idleUpdates(): Promise<ResponsePart[]> {
    const out = new Out({ utf8: this.utf8 });
    this.sync(out, true);
    await this.updateContexts(this.pending?.tag ?? '*', out);
    return out.parts;
  }

  /**
   * Whether a command announcing a literal may have it invited and read: null if so, else the BAD
   * text. The receiver asks before any "+" (RFC 9051 7.5), so APPEND before login, or an unknown
   * command, never makes the server read its literal. `verb`/`sub` are upper-cased words after the tag.
   */
  admitLiteral(verb: string, sub: string): string | null {
    const name = verb === 'UID' ? sub : verb;
    if (!KNOWN_COMMANDS.has(name)) return `Unknown command "${verb.slice(0, 40)}"`;
    if (!ALLOWED[this.data.state.kind].has(name as ImapCommandName)) {
      return `${verb} is not allowed ${stateText(this.data.state)}`;
    }
    return null;
  }

  /**
   * Counts a BAD answered before login (the connection reports those of its receiver and parser).
   * Dovecot's login processes close after 3; we allow SESSION_ERROR_LIMIT (issue 8: a client
   * streaming junk lines before login had every one of them parsed and answered).
   */
  noteInvalid(): void {
    if (this.data.state.kind === 'not-authenticated') this.invalidBeforeLogin++;
  }

  /** The connection should say `* BYE` (see bye) and close. */
  get tooManyInvalid(): boolean {
    return this.invalidBeforeLogin >= SESSION_ERROR_LIMIT;
  }

  /** Runs one parsed command. `bodies` are the APPEND messages the connection spooled. */
  async handle(cmd: ImapCommand, bodies: SpooledBody[] = []): Promise<SessionOutput> {
    const out = new Out({ utf8: this.utf8 });
    if (!ALLOWED[this.data.state.kind].has(cmd.name)) {
      this.discard(bodies);
      this.noteInvalid();
      out.tagged(cmd.tag, 'BAD', null, `${cmd.name} is not allowed ${stateText(this.data.state)}`);
      return { parts: out.parts, action: { kind: 'none' } };
    }
    const ctx = this.context(cmd.tag, out, bodies);
    const handler = HANDLERS[cmd.name];
    let done: Done | void;
    try {
      done = await handler(ctx, cmd);
    } catch (err) {
      this.discard(bodies);
      return { parts: await this.fail(cmd.tag, cmd.name, out, err), action: { kind: 'none' } };
    }
    return this.finish(cmd.tag, cmd.name, out, done);
  }

  /** A raw line for a command waiting for one (SASL response, IDLE's DONE). */
  async continueLine(line: string): Promise<SessionOutput> {
    const out = new Out({ utf8: this.utf8 });
    const p = this.pending;
    if (!p) return { parts: [], action: { kind: 'none' } };
    this.pending = null;
    const ctx = this.context(p.tag, out, []);
    let done: Done | void;
    try {
      done = await p.handler(ctx, line);
    } catch (err) {
      return { parts: await this.fail(p.tag, p.name, out, err), action: { kind: 'none' } };
    }
    return this.finish(p.tag, p.name, out, done);
  }

  private async finish(
    tag: string,
    name: ImapCommandName,
    out: Out,
    done: Done | void,
  ): Promise<SessionOutput> {
    if (done?.continueWith) {
      this.pending = { tag, name, handler: done.continueWith.handler };
      return { parts: out.parts, action: { kind: 'read-line', purpose: done.continueWith.purpose } };
    }
    if (!done?.skipSync) {
      this.sync(out, !NO_EXPUNGE_DURING.has(name));
      await this.updateContexts(tag, out);
    }
    if (!done?.taggedWritten) {
      out.tagged(tag, 'OK', done?.code ?? null, done?.text ?? `${name} completed`);
    }
    return { parts: out.parts, action: done?.action ?? { kind: 'none' } };
  }

  private async fail(tag: string, name: ImapCommandName, out: Out, err: unknown): Promise<ResponsePart[]> {
    if (err instanceof ImapCommandError) {
      if (err.status === 'BAD') this.noteInvalid();
      // Changes may still be reported with a NO (RFC 9051 7.4.1), never expunges during FETCH/STORE/SEARCH.
      if (err.status === 'NO') {
        this.sync(out, !NO_EXPUNGE_DURING.has(name));
        await this.updateContexts(tag, out);
      }
      out.tagged(tag, err.status, err.code, err.text);
      return out.parts;
    }
    if (err instanceof MailroomError && err.code in STORE_REFUSALS) {
      out.tagged(tag, 'NO', STORE_REFUSALS[err.code] ?? null, err.message);
      return out.parts;
    }
    throw err;
  }
}

function stateText(state: SessionState): string {
  switch (state.kind) {
    case 'not-authenticated':
      return 'before login';
    case 'authenticated':
      return 'without a selected mailbox';
    case 'selected':
      return 'with a mailbox selected';
    case 'logout':
      return 'after logout';
  }
}
