// The POP3 session state machine (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034): lines in, replies out; no I/O.
import { decodeSaslPlain } from '../auth/sasl/plain.js';
import type { AuthResult } from '../smtp/server/services.js';
import type { Authenticate } from '../auth/authenticator.js';
import {
  MAX_COMMAND_LINE,
  MAX_SASL_LINE,
  isParseError,
  parsePop3Command,
  type Pop3Command,
  type Pop3Verb,
  type ReceivedLine,
} from './command-parser.js';
import { END, R } from './replies.js';

/** One message of the maildrop as fixed at login (RFC 1939 5: numbers do not change during the session). */
export interface MaildropMessage {
  uid: number;
  messageId: number;
  size: number;
}

/** An opened, locked maildrop: the INBOX snapshot and the lock's release. */
export interface Maildrop {
  accountId: number;
  mailboxId: number;
  uidValidity: number;
  messages: MaildropMessage[];
  /** Releases the exclusive lock; idempotent. */
  release(): void;
}

export type OpenMaildropResult =
  { kind: 'ok'; maildrop: Maildrop } | { kind: 'in-use' } | { kind: 'error'; error: unknown };

/** What the session asks of the rest of the server (implemented in services.ts over the Store). */
export interface Pop3Services {
  authenticate: Authenticate;
  /** Takes the account's exclusive lock and reads its INBOX (RFC 1939 4: "acquire an exclusive-access lock"). */
  openMaildrop(address: string): OpenMaildropResult;
  /**
   * UPDATE state: removes these UIDs for good (one transaction). Resolves once the removal is durable,
   * so the +OK after QUIT never reports a deletion a crash could undo; rejects on failure.
   */
  removeMessages(mailboxId: number, uids: number[]): Promise<void>;
}

export interface Pop3Policy {
  hostname: string;
  /** STLS can be offered: a certificate is loaded and the listener is not implicit TLS. */
  tlsAvailable: boolean;
  /** [auth] allow_loopback_plaintext: loopback counts as a secure channel. */
  allowLoopbackPlaintext: boolean;
}

export interface Pop3Peer {
  remoteAddress: string;
  secure: boolean;
  loopback: boolean;
}

export type Pop3State =
  | { kind: 'authorization'; user: string | null; failures: number }
  | { kind: 'sasl'; failures: number }
  | { kind: 'transaction'; account: string; maildrop: Maildrop; deleted: Set<number> }
  | { kind: 'closed' };

export type Pop3Event =
  | { kind: 'auth'; outcome: 'ok' | 'failed' | 'throttled' | 'in-use' | 'error'; account: string }
  | { kind: 'update'; removed: number; account: string }
  | { kind: 'service-error'; operation: string; error: unknown };

/** A message to stream after `reply`: whole (RETR) or header plus `topLines` body lines (TOP). */
export interface MessageRequest {
  messageId: number;
  topLines: number | null;
}

export interface Pop3Output {
  /** Status line (and for short multi-line answers the whole listing), ready to write. */
  reply: string;
  /** For RETR/TOP: the connection opens this message, then writes `reply`, the dot-stuffed lines and ".". */
  message?: MessageRequest;
  action: 'continue' | 'close' | 'start-tls';
  events: Pop3Event[];
}

/** Bad commands tolerated per connection before it is closed (a confused or hostile client). */
export const MAX_ERRORS = 20;
/** Failed logins per connection before it is closed; the failure limiter counts across connections. */
export const MAX_AUTH_FAILURES = 3;

/** Which verbs each state accepts (DESIGN habit 4); the dispatcher checks, handlers do not. RFC 1939 4-6. */
const ALLOWED: Record<'authorization' | 'transaction', ReadonlySet<Pop3Verb>> = {
  authorization: new Set<Pop3Verb>(['USER', 'PASS', 'AUTH', 'STLS', 'CAPA', 'QUIT']),
  transaction: new Set<Pop3Verb>([
    'STAT',
    'LIST',
    'RETR',
    'DELE',
    'NOOP',
    'RSET',
    'TOP',
    'UIDL',
    'CAPA',
    'QUIT',
  ]),
};

const out = (reply: string, events: Pop3Event[] = []): Pop3Output => ({ reply, action: 'continue', events });

export class Pop3Session {
  state: Pop3State = { kind: 'authorization', user: null, failures: 0 };
  private errors = 0;

  constructor(
    private readonly policy: Pop3Policy,
    private readonly services: Pop3Services,
    readonly peer: Pop3Peer,
  ) {}

  greet(): string {
    return R.greeting(this.policy.hostname);
  }

  /** The line limit for the next line: SASL responses may be longer than commands (RFC 5034 4). */
  get lineLimit(): number {
    return this.state.kind === 'sasl' ? MAX_SASL_LINE : MAX_COMMAND_LINE;
  }

  /** RFC 2595 4 / RFC 8314: plaintext credentials only over TLS, or loopback when configured. */
  private get plaintextAllowed(): boolean {
    return this.peer.secure || (this.peer.loopback && this.policy.allowLoopbackPlaintext);
  }

  async handle(line: ReceivedLine): Promise<Pop3Output> {
    if (this.state.kind === 'closed') return { reply: '', action: 'close', events: [] };
    if (line.kind === 'too-long') {
      if (this.state.kind === 'sasl') return this.saslFailed(R.saslBadResponse);
      return this.error(R.lineTooLong);
    }
    if (this.state.kind === 'sasl') return this.saslResponse(line.text.toString('latin1'));
    const parsed = parsePop3Command(line.text);
    if (isParseError(parsed))
      return this.error(parsed.error === 'unknown-command' ? R.unknownCommand : `-ERR ${parsed.text}\r\n`);
    const state = this.state;
    if (!ALLOWED[state.kind].has(parsed.verb)) return this.error(R.notInThisState);
    // RFC 1939 7: PASS is only valid right after USER.
    if (state.kind === 'authorization' && parsed.verb !== 'PASS') state.user = null;
    return this.dispatch(parsed);
  }

  private async dispatch(cmd: Pop3Command): Promise<Pop3Output> {
    switch (cmd.verb) {
      case 'CAPA':
        return out(this.capabilities());
      case 'QUIT':
        return this.quit();
      case 'STLS':
        return this.stls();
      case 'USER':
        if (!this.plaintextAllowed) return this.error(R.plaintextRefused);
        if (this.state.kind === 'authorization') this.state.user = cmd.name;
        return out(R.userOk);
      case 'PASS': {
        const state = this.state;
        if (state.kind !== 'authorization' || state.user === null) return this.error(R.passWithoutUser);
        const user = state.user;
        state.user = null;
        return this.login(user, cmd.password);
      }
      case 'AUTH':
        return this.auth(cmd.mechanism, cmd.initialResponse);
      default:
        return this.transaction(cmd);
    }
  }

  /**
   * RFC 2449 5: what we support on the current channel. "Capabilities available in the AUTHORIZATION
   * state MUST be announced in both states", so the list does not depend on the state.
   */
  private capabilities(): string {
    const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
    if (this.plaintextAllowed) lines.push('USER', 'SASL PLAIN');
    if (this.policy.tlsAvailable && !this.peer.secure) lines.push('STLS');
    lines.push('IMPLEMENTATION Mailroom');
    return R.capaFollows + lines.map((l) => `${l}\r\n`).join('') + END;
  }

  private stls(): Pop3Output {
    if (this.peer.secure) return this.error(R.stlsAlreadyActive);
    if (!this.policy.tlsAvailable) return this.error(R.stlsUnavailable);
    return { reply: R.stlsBegin, action: 'start-tls', events: [] };
  }

  /** Called by the connection once the TLS handshake after STLS has finished. */
  tlsStarted(): void {
    this.peer.secure = true;
    if (this.state.kind === 'authorization') this.state.user = null;
  }

  private async auth(mechanism: string | null, initial: string | null): Promise<Pop3Output> {
    if (mechanism === null) {
      // Not in RFC 5034, but many clients probe with a bare AUTH to list mechanisms (as RFC 1734 servers did).
      const list = this.plaintextAllowed ? 'PLAIN\r\n' : '';
      return out(R.mechanismsFollow + list + END);
    }
    if (mechanism !== 'PLAIN') return this.error(R.unknownMechanism);
    if (!this.plaintextAllowed) return this.error(R.plaintextRefused);
    const failures = this.state.kind === 'authorization' ? this.state.failures : 0;
    if (initial === null) {
      // RFC 5034 4: no initial response, so an empty challenge; the client answers on the next line.
      this.state = { kind: 'sasl', failures };
      return out(R.saslContinue);
    }
    this.state = { kind: 'sasl', failures };
    return this.saslResponse(initial);
  }

  private async saslResponse(response: string): Promise<Pop3Output> {
    // RFC 5034 4: "*" cancels; the exchange fails with -ERR and the session stays in AUTHORIZATION.
    if (response === '*') return this.saslFailed(R.saslCancelled, false);
    const decoded = decodeSaslPlain(response);
    if (!decoded.ok) return this.saslFailed(R.saslBadResponse);
    if (decoded.authzid !== '' && decoded.authzid.toLowerCase() !== decoded.authcid.toLowerCase()) {
      return this.saslFailed(R.authzidRefused);
    }
    return this.login(decoded.authcid, decoded.password);
  }

  private saslFailed(reply: string, countsAsError = true): Pop3Output {
    const failures = this.state.kind === 'sasl' ? this.state.failures : 0;
    this.state = { kind: 'authorization', user: null, failures };
    return countsAsError ? this.error(reply) : out(reply);
  }

  private async login(username: string, password: string): Promise<Pop3Output> {
    const failures =
      this.state.kind === 'authorization' || this.state.kind === 'sasl' ? this.state.failures : 0;
    this.state = { kind: 'authorization', user: null, failures };
    const account = username.trim().toLowerCase();
    let result: AuthResult;
    try {
      result = await this.services.authenticate(username, password, this.peer.remoteAddress, 'pop3');
    } catch (error) {
      return out(R.maildropError, [{ kind: 'service-error', operation: 'authenticate', error }]);
    }
    // The connection may have dropped while the password was checked: take no lock for a dead session.
    if (this.isClosed()) return { reply: '', action: 'close', events: [] };
    if (result.kind === 'throttled') return this.authFailure(R.throttled, 'throttled', account);
    if (result.kind === 'failed') return this.authFailure(R.authFailed, 'failed', account);
    const opened = this.services.openMaildrop(result.account);
    if (opened.kind === 'in-use')
      return out(R.inUse, [{ kind: 'auth', outcome: 'in-use', account: result.account }]);
    if (opened.kind === 'error') {
      return out(R.maildropError, [
        { kind: 'auth', outcome: 'error', account: result.account },
        { kind: 'service-error', operation: 'open-maildrop', error: opened.error },
      ]);
    }
    this.state = {
      kind: 'transaction',
      account: result.account,
      maildrop: opened.maildrop,
      deleted: new Set(),
    };
    const { count, size } = this.totals();
    return out(R.loggedIn(count, size), [{ kind: 'auth', outcome: 'ok', account: result.account }]);
  }

  private authFailure(reply: string, outcome: 'failed' | 'throttled', account: string): Pop3Output {
    const events: Pop3Event[] = [{ kind: 'auth', outcome, account }];
    if (this.state.kind !== 'authorization') return out(reply, events);
    this.state.failures++;
    if (this.state.failures >= MAX_AUTH_FAILURES) {
      this.close();
      return { reply: reply + R.tooManyAuthFailures, action: 'close', events };
    }
    return out(reply, events);
  }

  private totals(): { count: number; size: number } {
    if (this.state.kind !== 'transaction') return { count: 0, size: 0 };
    let count = 0;
    let size = 0;
    const { messages } = this.state.maildrop;
    for (let i = 0; i < messages.length; i++) {
      if (this.state.deleted.has(i + 1)) continue;
      count++;
      size += messages[i]!.size;
    }
    return { count, size };
  }

  /** The message numbered n (1-based, RFC 1939 5), or null when out of range or marked deleted. */
  private message(n: number): MaildropMessage | null {
    if (this.state.kind !== 'transaction' || this.state.deleted.has(n)) return null;
    return this.state.maildrop.messages[n - 1] ?? null;
  }

  /** RFC 2449 / RFC 1939 7 UIDL: derived from UIDVALIDITY and UID, so it never changes and is never reused. */
  private uniqueId(m: MaildropMessage): string {
    if (this.state.kind !== 'transaction') return '';
    return `${this.state.maildrop.uidValidity}.${m.uid}`;
  }

  private transaction(cmd: Pop3Command): Pop3Output {
    const state = this.state;
    if (state.kind !== 'transaction') return this.error(R.notInThisState);
    const { messages } = state.maildrop;
    switch (cmd.verb) {
      case 'STAT': {
        const { count, size } = this.totals();
        return out(R.stat(count, size));
      }
      case 'LIST':
      case 'UIDL': {
        const show = (m: MaildropMessage) => (cmd.verb === 'LIST' ? String(m.size) : this.uniqueId(m));
        if (cmd.msg !== null) {
          const m = this.message(cmd.msg);
          return m ? out(`+OK ${cmd.msg} ${show(m)}\r\n`) : this.error(R.noSuchMessage);
        }
        const { count, size } = this.totals();
        const lines: string[] = [cmd.verb === 'LIST' ? R.listFollows(count, size) : R.uidlFollows];
        for (let i = 0; i < messages.length; i++) {
          if (!state.deleted.has(i + 1)) lines.push(`${i + 1} ${show(messages[i]!)}\r\n`);
        }
        lines.push(END);
        return out(lines.join(''));
      }
      case 'RETR':
      case 'TOP': {
        const m = this.message(cmd.msg);
        if (!m) return this.error(R.noSuchMessage);
        const topLines = cmd.verb === 'TOP' ? cmd.lines : null;
        return {
          ...out(topLines === null ? R.retr(m.size) : R.top),
          message: { messageId: m.messageId, topLines },
        };
      }
      case 'DELE': {
        if (cmd.msg >= 1 && cmd.msg <= messages.length && state.deleted.has(cmd.msg)) {
          return this.error(R.alreadyDeleted(cmd.msg));
        }
        if (!this.message(cmd.msg)) return this.error(R.noSuchMessage);
        state.deleted.add(cmd.msg);
        return out(R.deleted(cmd.msg));
      }
      case 'NOOP':
        return out(R.noop);
      case 'RSET': {
        state.deleted.clear();
        const { count, size } = this.totals();
        return out(R.rset(count, size));
      }
      default:
        return this.error(R.notInThisState);
    }
  }

  /** QUIT: in TRANSACTION enter UPDATE and remove what was marked (RFC 1939 6); in AUTHORIZATION just leave. */
  private async quit(): Promise<Pop3Output> {
    const state = this.state;
    if (state.kind !== 'transaction') {
      this.close();
      return { reply: R.bye(this.policy.hostname), action: 'close', events: [] };
    }
    const { maildrop } = state;
    const uids = [...state.deleted].sort((a, b) => a - b).map((n) => maildrop.messages[n - 1]!.uid);
    const left = maildrop.messages.length - uids.length;
    const events: Pop3Event[] = [];
    let reply = R.byeAfterUpdate(this.policy.hostname, left);
    if (uids.length > 0) {
      try {
        // The lock is held until the removal is durable (close() below releases it).
        await this.services.removeMessages(maildrop.mailboxId, uids);
        events.push({ kind: 'update', removed: uids.length, account: state.account });
      } catch (error) {
        events.push({ kind: 'service-error', operation: 'update', error });
        reply = R.updateFailed;
      }
    }
    this.close();
    return { reply, action: 'close', events };
  }

  /** Ends the session without UPDATE (disconnect, autologout, shutdown): nothing is deleted; the lock is freed. */
  close(): void {
    if (this.state.kind === 'transaction') this.state.maildrop.release();
    this.state = { kind: 'closed' };
  }

  isClosed(): boolean {
    return this.state.kind === 'closed';
  }

  private error(reply: string): Pop3Output {
    this.errors++;
    if (this.errors >= MAX_ERRORS) {
      this.close();
      return { reply: reply + R.tooManyErrors, action: 'close', events: [] };
    }
    return out(reply);
  }
}
