// The IMAP session (RFC 9051 3, 5): one state machine per connection; commands in, responses and actions out. No I/O.
import { SESSION_ERROR_LIMIT } from '../config/limits.js';
import { MailroomError } from '../errors.js';
import type { SpooledBody } from '../store/store.js';
import type { ImapCommand, ImapCommandName } from './proto/command-types.js';
import type { ImapValue, ResponseCode, ResponsePart } from './proto/response-writer.js';
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
import { fetch } from './commands/fetch.js';
import { appendQuotaRefusal } from './commands/quota.js';
import { URLAUTH_MECHANISMS } from './urlauth.js';
import type { AppendRefusal } from './proto/literal-receiver.js';
import { statusValues } from './commands/mailboxes.js';
import { encodeMailboxName, DELIMITER } from './proto/mailbox-name.js';
import {
  changeStatusItems,
  dirtyMailboxes,
  nameNotices,
  noticeAttributes,
  type ChangeKind,
} from './notify.js';

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

/** Commands that change mailbox names or subscriptions themselves: RFC 5465 5 "SHOULD NOT" report them back. */
const OWN_NAME_CHANGES: ReadonlySet<ImapCommandName> = new Set([
  'CREATE',
  'DELETE',
  'RENAME',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
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
  // A message another session expunged while a command read it (store/read-unless-expunged.ts covers the usual
  // places; this is the net under the rest): the command fails, the session goes on.
  NO_SUCH_MESSAGE: { name: 'EXPUNGEISSUED' },
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
      urlmechSeen: 0,
      peer,
      notify: null,
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
  private sync(out: Out, expunges: boolean, flags = true): void {
    const st = this.data.state;
    if (st.kind !== 'selected') return;
    const alive = syncView(this.services.store.mail, st.view, out, {
      expunges,
      qresync: this.data.enabled.has('QRESYNC'),
      condstore: this.data.condstoreOn,
      flags,
    });
    if (!alive) {
      this.data.state = { kind: 'authenticated', account: st.account };
      out.untagged('OK', { name: 'CLOSED' }, 'The selected mailbox was deleted');
      return;
    }
    // RFC 4467 6.2: a RESETKEY of this mailbox (by any session of the user) is told with its mechanisms.
    const resets = this.services.store.urlauth.resetCount(st.account.id, st.view.mailboxId);
    if (resets !== this.data.urlmechSeen) {
      this.data.urlmechSeen = resets;
      out.untagged('OK', { name: 'URLMECH', args: URLAUTH_MECHANISMS.join(' ') }, 'URLAUTH keys reset');
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

  /**
   * Changes to report while idling (RFC 2177): everything, expunges included; after NOTIFY SET, "exactly
   * the same events as instructed by the client using the NOTIFY command" (RFC 5465 4).
   */
  async idleUpdates(): Promise<ResponsePart[]> {
    const out = new Out({ utf8: this.utf8 });
    const tag = this.pending?.tag ?? '*';
    if (this.data.notify) await this.reportNotify(out, tag, 'idle');
    else {
      this.sync(out, true);
      await this.updateContexts(tag, out);
    }
    return out.parts;
  }

  /** RFC 5465 3.1: the account whose changes the connection must watch (NOTIFY is on), else null. */
  get notifyAccount(): number | null {
    const st = this.data.state;
    if (this.data.notify === null || (st.kind !== 'authenticated' && st.kind !== 'selected')) return null;
    return st.account.id;
  }

  /** A store change of the watched account; true when there may be something to report. */
  noteChange(kind: ChangeKind, mailboxId: number | null): boolean {
    return this.data.notify?.note(kind, mailboxId) ?? false;
  }

  /** NOTIFY has something waiting (the connection reports it between commands, RFC 5465 3.1). */
  get hasNotifications(): boolean {
    return (this.data.notify?.hasPending ?? false) && this.notifyAccount !== null;
  }

  /**
   * What NOTIFY owes the client between commands (RFC 5465 3.1 "even when no command is in progress"):
   * the selected mailbox's message events as SELECTED asks (EXPUNGE only without SELECTED-DELAYED, 6.1.2),
   * STATUS for other mailboxes, LIST for names and subscriptions.
   */
  async notifyUpdates(): Promise<ResponsePart[]> {
    const out = new Out({ utf8: this.utf8 });
    await this.reportNotify(out, '*', 'between');
    return out.parts;
  }

  /**
   * Reports NOTIFY's waiting events into `out`. `mode`: 'between' commands and 'idle' also bring the
   * selected view up to date (if SELECTED asked for any event); 'command' leaves that to finish().
   */
  private async reportNotify(out: Out, tag: string, mode: 'between' | 'idle' | 'command'): Promise<void> {
    const n = this.data.notify;
    const st = this.data.state;
    if (!n || (st.kind !== 'authenticated' && st.kind !== 'selected')) return;
    if (n.overflowed) {
      // RFC 5465 5.8: say so, and "behave as if a NOTIFY NONE command had just been received".
      this.data.notify = null;
      out.untagged('OK', { name: 'NOTIFICATIONOVERFLOW' }, 'Too many changes at once; NOTIFY is now off');
      return;
    }
    n.pending = 0;
    if (mode !== 'command' && st.kind === 'selected' && n.selectedEvents.size > 0) {
      const delayed = n.request.selected?.delayed ?? false;
      await this.syncSelected(
        out,
        tag,
        n.selectedEvents.has('MessageExpunge') && (mode === 'idle' || !delayed),
        // Flag changes without FlagChange wait for the next command's end, as without NOTIFY.
        n.selectedEvents.has('FlagChange'),
      );
    }
    const now = this.data.state;
    const selectedId = now.kind === 'selected' ? now.view.mailboxId : null;
    const store = this.services.store;
    const ctx = this.context(tag, out, []);
    for (const { mailbox, kinds } of dirtyMailboxes(n, store.mail, selectedId)) {
      const items = changeStatusItems(kinds, n.eventsFor(mailbox.name), this.data.condstoreOn);
      if (items.length === 0) continue;
      out.data([
        { atom: 'STATUS' },
        encodeMailboxName(mailbox.name, this.utf8),
        statusValues(ctx, mailbox, items),
      ]);
    }
    if (n.namesDirty) {
      n.namesDirty = false;
      const all = store.mail.listMailboxRefs(n.accountId);
      for (const notice of nameNotices(n, all, store.mail.listSubscriptions(n.accountId))) {
        const values: ImapValue[] = [
          { atom: 'LIST' },
          { raw: `(${noticeAttributes(notice, all).join(' ')})` },
          DELIMITER,
          encodeMailboxName(notice.name, this.utf8),
        ];
        // RFC 5465 5.4: the renamed mailbox's new name with ("OLDNAME" ("old name")).
        if (notice.oldName !== null) values.push(['OLDNAME', [encodeMailboxName(notice.oldName, this.utf8)]]);
        out.data(values);
      }
    }
  }

  /**
   * Brings the selected view up to date; after NOTIFY SET (SELECTED MessageNew (fetch-atts)) new messages
   * also get an unsolicited FETCH of those attributes after their EXISTS (RFC 5465 5.2).
   */
  private async syncSelected(out: Out, tag: string, expunges: boolean, flags = true): Promise<void> {
    const st = this.data.state;
    if (st.kind !== 'selected') return;
    const before = st.view.maxUid;
    this.sync(out, expunges, flags);
    const after = this.data.state;
    const items = this.data.notify?.request.selected?.fetch ?? null;
    if (after.kind === 'selected' && items !== null && after.view.maxUid > before) {
      await fetch(this.context(tag, out, []), {
        name: 'FETCH',
        tag,
        uid: true,
        set: { kind: 'set', ranges: [{ start: before + 1, end: after.view.maxUid }] },
        items,
        modifiers: { changedSince: null, vanished: false },
      });
    }
    await this.updateContexts(tag, out);
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
   * Asked by the receiver before an APPEND message literal is invited: NO [OVERQUOTA] when the command's
   * announced literals alone cannot fit the account's quota (RFC 9208 4.3); null admits them.
   */
  admitAppendSize(bytes: number, messages: number): AppendRefusal | null {
    const st = this.data.state;
    if (st.kind !== 'authenticated' && st.kind !== 'selected') return null;
    return appendQuotaRefusal(this.services.store, st.account.id, bytes, messages);
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
    if (!done?.skipSync) await this.syncSelected(out, tag, !NO_EXPUNGE_DURING.has(name));
    await this.afterCommandNotify(out, tag, name);
    if (!done?.taggedWritten) {
      out.tagged(tag, 'OK', done?.code ?? null, done?.text ?? `${name} completed`);
    }
    return { parts: out.parts, action: done?.action ?? { kind: 'none' } };
  }

  /** NOTIFY's waiting STATUS/LIST before a tagged response; the client's own name changes are not echoed. */
  private async afterCommandNotify(out: Out, tag: string, name: ImapCommandName): Promise<void> {
    const n = this.data.notify;
    if (!n) return;
    if (OWN_NAME_CHANGES.has(name) && n.namesDirty) {
      // RFC 5465 5: "the server SHOULD NOT notify the client of the MailboxName change" it made itself.
      const mail = this.services.store.mail;
      n.names = new Map(mail.listMailboxRefs(n.accountId).map((m) => [m.id, m.name]));
      n.subscriptions = new Set(mail.listSubscriptions(n.accountId));
      n.namesDirty = false;
    }
    await this.reportNotify(out, tag, 'command');
  }

  private async fail(tag: string, name: ImapCommandName, out: Out, err: unknown): Promise<ResponsePart[]> {
    if (err instanceof ImapCommandError) {
      if (err.status === 'BAD') this.noteInvalid();
      // Changes may still be reported with a NO (RFC 9051 7.4.1), never expunges during FETCH/STORE/SEARCH.
      if (err.status === 'NO') {
        await this.syncSelected(out, tag, !NO_EXPUNGE_DURING.has(name));
        await this.afterCommandNotify(out, tag, name);
      }
      out.tagged(tag, err.status, err.code, err.text);
      return out.parts;
    }
    if (err instanceof MailroomError && err.code in STORE_REFUSALS) {
      const text = err.code === 'NO_SUCH_MESSAGE' ? 'A message was expunged meanwhile' : err.message;
      out.tagged(tag, 'NO', STORE_REFUSALS[err.code] ?? null, text);
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
