// The per-message half of the SMTP client session: MAIL/RCPT/DATA/BDAT with pipelined reply matching, results, endings.
import type { SmtpReply } from './reply-parser.js';
import { BodyEncoder } from './dot-stuff.js';
import { localRefusal, stageNow, timerFor, waitingFor, type Pending, type Phase } from './client-pending.js';
import {
  NO_EXTENSIONS,
  mailCommand,
  rcptCommand,
  type OutboundMessage,
  type PeerExtensions,
} from './client-commands.js';
import {
  CLIENT_TIMEOUTS_MS,
  resultFromReason,
  resultFromReply,
  type ClientAction,
  type ClientStage,
  type ClientTimeouts,
  type RecipientOutcome,
  type RecipientResult,
} from './client-types.js';

export interface ClientSessionOptions {
  /** Our name for EHLO/HELO (config `hostname`). */
  hostname: string;
  messages: OutboundMessage[];
  /** 'opportunistic' (MX default: upgrade when offered, else plaintext), 'required' (smarthost), 'none'. */
  tls: 'opportunistic' | 'required' | 'none';
  /** The connection is already TLS (implicit TLS, port 465). */
  implicitTls?: boolean;
  /** Smarthost credentials (RFC 4954); sent only over TLS unless allowPlaintextAuth. */
  auth?: { username: string; password: string; allowPlaintextAuth?: boolean };
  timeouts?: ClientTimeouts;
  /**
   * After the last message go idle instead of QUIT, so the connection can carry the next batch to the
   * same peer (addMessages) without a new connect, greeting, EHLO, STARTTLS and AUTH; quit() ends it.
   */
  keepOpen?: boolean;
  /**
   * The TLS policy that made `tls` 'required' for this host ("DANE", "MTA-STS"): TLS failures are then
   * reported under its name in last_error (RFC 7672 / RFC 8461 say the delivery must wait, not go plain).
   */
  tlsPolicyLabel?: string;
}

interface Transaction {
  msg: OutboundMessage;
  body: '7BIT' | '8BITMIME' | undefined;
  mail?: SmtpReply;
  rcpts: (SmtpReply | undefined)[];
  mode: 'data' | 'bdat';
  encoder?: BodyEncoder;
  /** First refusal of a BDAT chunk: the transaction's result (RFC 3030 4.1). */
  bdatFailure?: SmtpReply;
  bodyClosed: boolean;
  /** DATA got 354 although no recipient was accepted (RFC 2920 3.1): we send "." and ignore the result. */
  emptyData: boolean;
}

export const te = (s: string): Buffer => Buffer.from(s, 'utf8');
const is2xx = (r: SmtpReply | undefined): boolean => r !== undefined && r.code >= 200 && r.code < 300;

/**
 * The session's state and everything about messages: transactions (RFC 5321 3.3, pipelined per RFC 2920,
 * chunked per RFC 3030), their results, and how unfinished messages end. ClientSession (client-session.ts)
 * adds the connection-level steps around it: greeting, EHLO/HELO, STARTTLS, AUTH and reply dispatch.
 */
export abstract class ClientTransactions {
  protected phase: Phase = 'greeting';
  protected pending: Pending[] = [];
  protected out: ClientAction[] = [];
  protected ext: PeerExtensions = NO_EXTENSIONS;
  protected tls: boolean;
  /** The peer's certificate was validated (DANE, MTA-STS or PKIX): RFC 8689 4.2.1 for REQUIRETLS. */
  protected tlsVerified = false;
  private messages: readonly OutboundMessage[];
  private next = 0; // index of the next message to start
  private transactions = 0; // begun on this connection (RSET before all but the first)
  private tx: Transaction | null = null;
  private readonly timeouts: ClientTimeouts;
  readonly results: RecipientResult[] = [];

  constructor(protected readonly options: ClientSessionOptions) {
    this.tls = options.implicitTls ?? false;
    this.timeouts = options.timeouts ?? CLIENT_TIMEOUTS_MS;
    this.messages = options.messages;
  }

  /** Whether the session is idle (keepOpen, every message done) and may take more messages. */
  get idle(): boolean {
    return this.phase === 'idle';
  }

  /** Idle only: starts the next batch on this connection (RSET first, as between any two transactions). */
  addMessages(messages: readonly OutboundMessage[]): ClientAction[] {
    if (this.phase !== 'idle') return [];
    this.messages = messages;
    this.next = 0;
    this.phase = 'command';
    this.nextMessage();
    return this.flush();
  }

  /** The 7-bit version is ready (RFC 6152 3); `size` is its size for SIZE=. */
  onDowngraded(size: number): ClientAction[] {
    if (this.phase !== 'downgrade' || !this.tx) return [];
    this.tx.msg = { ...this.tx.msg, size, eightBit: false };
    this.tx.body = undefined;
    this.beginTransaction();
    return this.flush();
  }

  onDowngradeFailed(reason: string): ClientAction[] {
    if (this.phase !== 'downgrade' || !this.tx) return [];
    const msg = this.tx.msg;
    this.tx = null;
    this.refuseLocally(msg, `550 5.6.3 Conversion to 7bit required but not possible: ${reason}`);
    this.nextMessage();
    return this.flush();
  }

  onBodyChunk(chunk: Buffer): ClientAction[] {
    const tx = this.tx;
    if (this.phase !== 'body' || !tx?.encoder || tx.bodyClosed) return [];
    const data = tx.encoder.write(chunk);
    if (tx.mode === 'data') {
      if (data.length > 0) this.send(data);
      this.out.push({ type: 'want-body' });
    } else if (data.length === 0) {
      this.out.push({ type: 'want-body' });
    } else {
      // RFC 3030 2: "BDAT" SP chunk-size CRLF, then exactly chunk-size octets.
      this.send(Buffer.concat([te(`BDAT ${data.length}\r\n`), data]));
      this.pending.push({ kind: 'bdat', last: false });
      // Without PIPELINING each BDAT waits for its reply (RFC 3030 4.2).
      if (this.ext.pipelining) this.out.push({ type: 'want-body' });
    }
    return this.flush();
  }

  onBodyEnd(): ClientAction[] {
    const tx = this.tx;
    if (this.phase !== 'body' || !tx?.encoder || tx.bodyClosed) return [];
    tx.bodyClosed = true;
    const tail = tx.encoder.end();
    if (tx.mode === 'data') {
      this.send(tail); // ends with ".\r\n" (RFC 5321 4.1.1.4)
      this.pending.push({ kind: 'data-end' });
    } else {
      this.send(Buffer.concat([te(`BDAT ${tail.length} LAST\r\n`), tail]));
      this.pending.push({ kind: 'bdat', last: true });
    }
    return this.flush();
  }

  // --- transaction replies ---

  /** RSET between two transactions (RFC 5321 4.1.1.5); without PIPELINING, MAIL waits for it. */
  protected onRsetReply(reply: SmtpReply): void {
    if (is2xx(reply)) {
      if (!this.ext.pipelining && this.tx) this.sendMail();
      return;
    }
    this.abort(reply, '', 'rset', true);
  }

  protected onMailReply(reply: SmtpReply): void {
    const tx = this.tx;
    if (!tx) return;
    tx.mail = reply;
    if (this.ext.pipelining) return;
    if (!is2xx(reply)) return this.finishTransaction(undefined);
    this.phase = 'transaction';
    const first = tx.msg.recipients[0];
    if (first) this.command(rcptCommand(first, this.ext).trimEnd(), { kind: 'rcpt', index: 0 });
  }

  protected onRcptReply(index: number, reply: SmtpReply): void {
    const tx = this.tx;
    if (!tx) return;
    tx.rcpts[index] = reply;
    const isLast = index === tx.msg.recipients.length - 1;
    if (!this.ext.pipelining) {
      const nextRcpt = tx.msg.recipients[index + 1];
      if (nextRcpt)
        return this.command(rcptCommand(nextRcpt, this.ext).trimEnd(), { kind: 'rcpt', index: index + 1 });
      if (!this.anyAccepted(tx)) return this.finishTransaction(undefined);
      return tx.mode === 'data' ? this.command('DATA', { kind: 'data' }) : this.startBody();
    }
    // Pipelined with CHUNKING: BDAT waits for the RCPT replies so a refused message is not sent for nothing.
    if (isLast && tx.mode === 'bdat') {
      if (is2xx(tx.mail) && this.anyAccepted(tx)) this.startBody();
      else this.finishTransaction(undefined);
    }
  }

  protected onDataReply(reply: SmtpReply): void {
    const tx = this.tx;
    if (!tx) return;
    if (reply.code !== 354) return this.finishTransaction(reply);
    if (is2xx(tx.mail) && this.anyAccepted(tx)) return this.startBody();
    // RFC 2920 3.1: 354 with no valid recipient: send the lone terminator; the result is meaningless.
    tx.emptyData = true;
    this.send(te('.\r\n'));
    this.pending.push({ kind: 'data-end' });
  }

  protected onBdatReply(last: boolean, reply: SmtpReply): void {
    const tx = this.tx;
    if (!tx) return;
    if (!is2xx(reply) && !tx.bdatFailure) {
      tx.bdatFailure = reply;
      if (!tx.bodyClosed) {
        // RFC 3030 4.1: after a refused chunk the sender MUST NOT send more of this message.
        tx.bodyClosed = true;
        this.out.push({ type: 'abort-body', messageId: tx.msg.id });
      }
    }
    if (last || (tx.bdatFailure && !this.pending.some((p) => p.kind === 'bdat'))) {
      return this.finishTransaction(tx.bdatFailure ?? reply);
    }
    if (!this.ext.pipelining && !tx.bodyClosed) this.out.push({ type: 'want-body' });
  }

  // --- messages ---

  protected nextMessage(): void {
    this.tx = null;
    for (;;) {
      const msg = this.messages[this.next++];
      if (!msg) {
        if (this.options.keepOpen) {
          this.phase = 'idle';
          this.out.push({ type: 'idle' });
          return;
        }
        this.phase = 'quit';
        this.send(te('QUIT\r\n'));
        this.pending.push({ kind: 'quit' });
        return;
      }
      const refusal = localRefusal(msg, this.ext, { active: this.tls, verified: this.tlsVerified });
      if (refusal) {
        this.refuseLocally(msg, refusal);
        continue;
      }
      const useBody = msg.eightBit && this.ext.eightBitMime ? '8BITMIME' : undefined;
      this.tx = {
        msg,
        body: useBody,
        rcpts: msg.recipients.map(() => undefined),
        mode: this.ext.chunking ? 'bdat' : 'data',
        bodyClosed: false,
        emptyData: false,
      };
      if (msg.eightBit && !this.ext.eightBitMime) {
        // RFC 6152 3: a 8-bit message to a 7-bit peer must be converted (or bounced) first.
        this.phase = 'downgrade';
        this.out.push({ type: 'needs-downgrade', messageId: msg.id });
        return;
      }
      return this.beginTransaction();
    }
  }

  private refuseLocally(msg: OutboundMessage, diagnostic: string): void {
    // Our refusals are written "550 5.7.30 text": the code and enhanced status become the DSN's Status
    // (RFC 3464 2.3.4) instead of a bare 5.0.0; fromPeer stays false (no Remote-MTA).
    const m = /^(\d{3}) (\d\.\d{1,3}\.\d{1,3}) (.*)$/.exec(diagnostic);
    const reply = m ? { code: Number(m[1]), enhanced: m[2], text: m[3] ?? '' } : undefined;
    const results = msg.recipients.map((r) => ({
      ...resultFromReason(r.address, 'failed', 'local', diagnostic, this.tls),
      ...(reply ? { reply } : {}),
    }));
    this.emitDone(msg.id, results);
  }

  private beginTransaction(): void {
    const tx = this.tx;
    if (!tx) return;
    this.phase = 'transaction';
    const needRset = this.transactions++ > 0;
    if (!this.ext.pipelining) {
      if (needRset) this.command('RSET', { kind: 'rset' });
      else this.sendMail();
      return;
    }
    // RFC 2920 3.1: RSET, MAIL and RCPT may be grouped; DATA must be last in a group.
    let batch = '';
    if (needRset) {
      batch += 'RSET\r\n';
      this.pending.push({ kind: 'rset' });
    }
    batch += mailCommand(tx.msg, this.ext, tx.body);
    this.pending.push({ kind: 'mail' });
    tx.msg.recipients.forEach((r, index) => {
      batch += rcptCommand(r, this.ext);
      this.pending.push({ kind: 'rcpt', index });
    });
    if (tx.mode === 'data') {
      batch += 'DATA\r\n';
      this.pending.push({ kind: 'data' });
    }
    this.send(te(batch));
  }

  private sendMail(): void {
    const tx = this.tx;
    if (tx) this.command(mailCommand(tx.msg, this.ext, tx.body).trimEnd(), { kind: 'mail' });
  }

  private startBody(): void {
    const tx = this.tx;
    if (!tx) return;
    this.phase = 'body';
    // DATA dot-stuffs; BDAT only normalises line ends (RFC 3030 has no terminator to protect).
    tx.encoder = new BodyEncoder(tx.mode === 'data');
    this.out.push({ type: 'send-body', messageId: tx.msg.id, mode: tx.mode });
  }

  private anyAccepted(tx: Transaction): boolean {
    return tx.rcpts.some((r) => is2xx(r));
  }

  /** Results for the current message; `final` is the DATA-end / last BDAT / refused DATA reply. */
  protected finishTransaction(final: SmtpReply | undefined): void {
    const tx = this.tx;
    if (!tx) return;
    if (this.pending.some((p) => p.kind === 'bdat')) return; // wait for the rest of the chunk replies
    const results = tx.msg.recipients.map((r, i) => {
      if (!is2xx(tx.mail) && tx.mail) return resultFromReply(r.address, tx.mail, 'mail', this.tls);
      const rcpt = tx.rcpts[i];
      if (!is2xx(rcpt) && rcpt) return resultFromReply(r.address, rcpt, 'rcpt', this.tls);
      if (final && !tx.emptyData) return resultFromReply(r.address, final, 'data', this.tls);
      return resultFromReason(r.address, 'deferred', 'data', 'no reply to the message data', this.tls);
    });
    this.emitDone(tx.msg.id, results);
    this.nextMessage();
  }

  // --- session-wide endings ---

  /**
   * A failure before any transaction (greeting, EHLO, STARTTLS, AUTH): every message shares it.
   * `outcome` overrides the reply class where the fault is not the recipient's.
   */
  protected failSession(
    reply: SmtpReply,
    stage: ClientStage,
    quit: boolean,
    outcome?: RecipientOutcome,
  ): void {
    for (const msg of this.remainingMessages()) {
      const results = msg.recipients.map((r) => {
        const res = resultFromReply(r.address, reply, stage, this.tls);
        return outcome ? { ...res, outcome } : res;
      });
      this.emitDone(msg.id, results);
    }
    this.tx = null;
    this.next = this.messages.length;
    if (quit && this.pending.length === 0) {
      this.phase = 'quit';
      this.send(te('QUIT\r\n'));
      this.pending.push({ kind: 'quit' });
    } else {
      this.close();
    }
  }

  /**
   * Ends the session with everything unfinished deferred: 421, timeout, lost connection, TLS
   * failure, a broken peer. Recipients the peer already refused keep that refusal.
   */
  protected abort(reply: SmtpReply | undefined, reason: string, stage: ClientStage, quit = true): void {
    const tx = this.tx;
    for (const msg of this.remainingMessages()) {
      const results = msg.recipients.map((r, i) => {
        if (tx && tx.msg.id === msg.id) {
          if (tx.mail && !is2xx(tx.mail)) return resultFromReply(r.address, tx.mail, 'mail', this.tls);
          const rcpt = tx.rcpts[i];
          if (rcpt && !is2xx(rcpt)) return resultFromReply(r.address, rcpt, 'rcpt', this.tls);
        }
        if (reply)
          return { ...resultFromReply(r.address, reply, stage, this.tls), outcome: 'deferred' as const };
        return resultFromReason(r.address, 'deferred', stage, reason, this.tls);
      });
      this.emitDone(msg.id, results);
    }
    this.tx = null;
    this.next = this.messages.length;
    // QUIT only when the peer is listening for commands: not mid-body or mid-pipeline (a pipelined
    // DATA may yet get 354, and QUIT would become message text).
    if (quit && this.pending.length === 0 && (this.phase === 'command' || this.phase === 'transaction')) {
      this.phase = 'quit';
      this.send(te('QUIT\r\n'));
      this.pending.push({ kind: 'quit' });
    } else {
      this.close();
    }
  }

  private remainingMessages(): OutboundMessage[] {
    const rest = this.messages.slice(this.next);
    return this.tx ? [this.tx.msg, ...rest] : rest;
  }

  protected close(): void {
    this.phase = 'closed';
    this.pending = [];
    this.tx = null;
    this.out.push({ type: 'close' });
  }

  private emitDone(messageId: string, results: RecipientResult[]): void {
    this.results.push(...results);
    this.out.push({ type: 'message-done', messageId, results });
  }

  // --- plumbing ---

  protected command(line: string, pending: Pending, sensitive = false): void {
    this.send(te(line + '\r\n'), sensitive);
    this.pending.push(pending);
  }

  protected send(data: Buffer, sensitive = false): void {
    this.out.push(sensitive ? { type: 'send', data, sensitive } : { type: 'send', data });
  }

  /** Returns the collected actions plus the timer for whatever we now wait on. */
  protected flush(): ClientAction[] {
    const out = this.out;
    this.out = [];
    if (this.phase !== 'closed') {
      const head = this.pending[0];
      out.push({
        type: 'timeout',
        ms: timerFor(this.phase, head, this.timeouts),
        waitingFor: waitingFor(this.phase, head),
      });
    }
    return out;
  }

  protected stageNow(): ClientStage {
    return stageNow(this.phase, this.pending[0]);
  }
}
