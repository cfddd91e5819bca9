// Pure state machine for one outgoing SMTP connection (RFC 5321 with PIPELINING, STARTTLS, AUTH, CHUNKING, DSN):
// the connection-level steps; the per-message transactions are client-transaction.ts.
import type { SmtpReply } from './reply-parser.js';
import { stageOf, waitingFor, type Pending } from './client-pending.js';
import { NO_EXTENSIONS, parseEhloLines, type PeerExtensions } from './client-commands.js';
import type { ClientAction } from './client-types.js';
import { ClientTransactions, te } from './client-transaction.js';
export type { ClientSessionOptions } from './client-transaction.js';

/** One outgoing SMTP connection: the connection-level steps; messages are ClientTransactions' part. */
export class ClientSession extends ClientTransactions {
  /** Idle only: ends the session politely (RFC 5321 4.1.1.10). */
  quit(): ClientAction[] {
    if (this.phase !== 'idle') return [];
    this.phase = 'quit';
    this.send(te('QUIT\r\n'));
    this.pending.push({ kind: 'quit' });
    return this.flush();
  }

  /** Whether TLS protected the session (for Received/DSN/logging). */
  get tlsUsed(): boolean {
    return this.tls;
  }
  get extensions(): PeerExtensions {
    return this.ext;
  }
  get finished(): boolean {
    return this.phase === 'closed';
  }

  /** Call once connected: waits for the greeting (RFC 5321 3.1). */
  start(): ClientAction[] {
    return this.flush();
  }

  onReply(reply: SmtpReply): ClientAction[] {
    if (this.phase === 'closed') return [];
    const head = this.pending.shift();
    if (this.phase === 'greeting') this.onGreeting(reply);
    else if (!head) this.abort(reply, 'unexpected reply from the peer', this.stageNow(), false);
    // RFC 5321 3.8: 421 means the server is closing; it will read nothing more.
    else if (reply.code === 421 && head.kind !== 'quit') this.abort(reply, '', stageOf(head), false);
    else this.dispatch(head, reply);
    return this.flush();
  }

  /** `verified`: the connection validated the certificate (DANE, MTA-STS or PKIX naming the host). */
  onTlsEstablished(verified = false): ClientAction[] {
    if (this.phase !== 'tls-handshake') return [];
    // RFC 3207 4.2: forget everything learnt before TLS and ask again.
    this.tls = true;
    this.tlsVerified = verified;
    this.ext = NO_EXTENSIONS;
    this.phase = 'command';
    this.command('EHLO ' + this.options.hostname, { kind: 'ehlo' });
    return this.flush();
  }

  onTlsFailed(reason: string): ClientAction[] {
    if (this.phase !== 'tls-handshake') return [];
    this.abort(undefined, this.policyText(`TLS handshake failed: ${reason}`), 'starttls', false);
    return this.flush();
  }

  /** The handshake completed but the certificate fails the host's TLS policy (DANE, MTA-STS): defer. */
  onTlsPolicyFailed(reason: string): ClientAction[] {
    if (this.phase !== 'tls-handshake') return [];
    this.abort(undefined, this.policyText(reason), 'starttls', false);
    return this.flush();
  }

  private policyText(reason: string): string {
    const label = this.options.tlsPolicyLabel;
    return label ? `${label}: ${reason}` : reason;
  }

  onTimeout(): ClientAction[] {
    if (this.phase === 'closed') return [];
    if (this.phase === 'quit') this.close();
    else
      this.abort(
        undefined,
        `timeout waiting for ${waitingFor(this.phase, this.pending[0])}`,
        this.stageNow(),
        false,
      );
    return this.flush();
  }

  onConnectionLost(reason: string): ClientAction[] {
    if (this.phase === 'closed') return [];
    if (this.phase === 'quit') this.close();
    else this.abort(undefined, `connection lost: ${reason}`, this.stageNow(), false);
    return this.flush();
  }

  // --- replies ---

  private onGreeting(reply: SmtpReply): void {
    this.phase = 'command';
    if (reply.code === 220) {
      this.command('EHLO ' + this.options.hostname, { kind: 'ehlo' });
    } else {
      // RFC 5321 3.1: a 554 (or 4xx) greeting: the client should QUIT and try elsewhere.
      this.failSession(reply, 'greeting', reply.code !== 421);
    }
  }

  private dispatch(head: Pending, reply: SmtpReply): void {
    switch (head.kind) {
      case 'ehlo':
        if (reply.code === 250) return this.afterHello(parseEhloLines(reply.lines));
        // RFC 5321 4.1.4 / 3.2: a server that does not know EHLO; fall back to HELO.
        if ([500, 502, 504].includes(reply.code)) {
          this.command('HELO ' + this.options.hostname, { kind: 'helo' });
          return;
        }
        return this.failSession(reply, 'ehlo', true);
      case 'helo':
        if (reply.code === 250) return this.afterHello(NO_EXTENSIONS);
        return this.failSession(reply, 'ehlo', true);
      case 'starttls':
        if (reply.code === 220) {
          this.phase = 'tls-handshake';
          this.out.push({ type: 'start-tls' });
          return;
        }
        // RFC 3207 4: on refusal an opportunistic client may go on in plaintext.
        if (this.options.tls === 'required') return this.failSession(reply, 'starttls', true, 'deferred');
        return this.afterTlsDecision();
      case 'auth':
      case 'auth-login-user':
      case 'auth-login-pass':
        return this.onAuthReply(head.kind, reply);
      case 'rset':
        return this.onRsetReply(reply);
      case 'mail':
        return this.onMailReply(reply);
      case 'rcpt':
        return this.onRcptReply(head.index, reply);
      case 'data':
        return this.onDataReply(reply);
      case 'data-end':
        return this.finishTransaction(reply);
      case 'bdat':
        return this.onBdatReply(head.last, reply);
      case 'quit':
        return this.close();
    }
  }

  private afterHello(ext: PeerExtensions): void {
    this.ext = ext;
    if (!this.tls && this.options.tls !== 'none' && ext.startTls) {
      this.command('STARTTLS', { kind: 'starttls' });
      return;
    }
    this.afterTlsDecision();
  }

  private afterTlsDecision(): void {
    if (!this.tls && this.options.tls === 'required') {
      return this.abort(
        undefined,
        this.policyText('4.7.10 peer does not offer STARTTLS, and TLS is required'),
        'starttls',
      );
    }
    const auth = this.options.auth;
    if (!auth) return this.nextMessage();
    if (!this.tls && !auth.allowPlaintextAuth) {
      return this.abort(undefined, 'refusing to send credentials without TLS', 'auth');
    }
    // RFC 4954 4: PLAIN with an initial response is one round trip; LOGIN for servers with only that.
    if (this.ext.auth.includes('PLAIN')) {
      const token = Buffer.from(`\0${auth.username}\0${auth.password}`, 'utf8').toString('base64');
      this.command(`AUTH PLAIN ${token}`, { kind: 'auth' }, true);
    } else if (this.ext.auth.includes('LOGIN')) {
      this.command('AUTH LOGIN', { kind: 'auth-login-user' });
    } else {
      this.abort(undefined, 'peer offers no AUTH mechanism we support (PLAIN, LOGIN)', 'auth');
    }
  }

  private onAuthReply(kind: Pending['kind'], reply: SmtpReply): void {
    const auth = this.options.auth;
    if (reply.code === 235) return this.nextMessage();
    if (reply.code === 334 && auth && kind !== 'auth') {
      const value = kind === 'auth-login-user' ? auth.username : auth.password;
      const nextKind = kind === 'auth-login-user' ? 'auth-login-pass' : 'auth';
      this.command(Buffer.from(value, 'utf8').toString('base64'), { kind: nextKind }, true);
      return;
    }
    // A credentials problem is ours to fix, not the sender's: defer so max_age leaves time to fix it.
    this.failSession(reply, 'auth', reply.code !== 334, 'deferred');
  }
}
