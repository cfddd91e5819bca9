// The bench's IMAP client: one connection (TCP or TLS), one command in flight, every response framed and kept.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ResponseReader, type ImapResponse } from './reader.js';

export interface Endpoint {
  host: string;
  port: number;
  /** Implicit TLS (imaps); the peers' certificates are self-signed, so they are not verified. */
  tls: boolean;
}

export interface Completion {
  tag: string;
  status: 'OK' | 'NO' | 'BAD' | 'OTHER';
  /** The tagged line's text after the tag, e.g. "OK [READ-WRITE] SELECT completed". */
  text: string;
  /** Untagged responses that arrived while the command ran (including unsolicited ones). */
  untagged: ImapResponse[];
}

interface Pending {
  tag: string;
  untagged: ImapResponse[];
  resolve: (c: Completion) => void;
  reject: (e: Error) => void;
  onContinuation?: (text: string) => void;
  timer: NodeJS.Timeout;
}

/**
 * A deliberately small client: commands go one at a time, like a real MUA's connection, and each
 * resolves with all its untagged responses so the caller can check them. Anything the server sends
 * that is not a response to the command in flight (a stray tag, a continuation nobody asked for) is
 * recorded in `protocolErrors`.
 */
export class ImapClient {
  private pending: Pending | null = null;
  private counter = 0;
  private greeting: ((r: ImapResponse) => void) | null = null;
  private closedError: Error | null = null;
  readonly protocolErrors: string[] = [];
  /** Untagged responses received with no command in flight (e.g. BYE). */
  readonly unsolicited: ImapResponse[] = [];

  private constructor(private readonly socket: Socket) {
    const reader = new ResponseReader((r) => this.onResponse(r));
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  static async open(ep: Endpoint, timeoutMs = 30_000): Promise<ImapClient> {
    const socket = await new Promise<Socket>((done, fail) => {
      const s = ep.tls
        ? tlsConnect({ host: ep.host, port: ep.port, rejectUnauthorized: false }, () => done(s))
        : tcpConnect({ host: ep.host, port: ep.port }, () => done(s));
      s.once('error', fail);
    });
    socket.setNoDelay(true);
    const client = new ImapClient(socket);
    const greeting = await new Promise<ImapResponse>((done, fail) => {
      const timer = setTimeout(() => fail(new Error('no greeting')), timeoutMs);
      client.greeting = (r) => {
        clearTimeout(timer);
        done(r);
      };
    });
    if (greeting.kind !== 'untagged' || !/^(OK|PREAUTH)\b/i.test(greeting.text)) {
      client.close();
      throw new Error(`unexpected greeting: ${greeting.text}`);
    }
    return client;
  }

  private onResponse(r: ImapResponse): void {
    if (this.greeting) {
      const g = this.greeting;
      this.greeting = null;
      g(r);
      return;
    }
    const p = this.pending;
    if (r.kind === 'untagged') {
      (p ? p.untagged : this.unsolicited).push(r);
      return;
    }
    if (r.kind === 'continuation') {
      if (p?.onContinuation) p.onContinuation(r.text);
      else this.protocolErrors.push(`unexpected continuation: + ${r.text}`);
      return;
    }
    if (!p || r.tag !== p.tag) {
      this.protocolErrors.push(`unexpected tagged response: ${r.tag} ${r.text}`);
      return;
    }
    this.pending = null;
    clearTimeout(p.timer);
    const sp = r.text.indexOf(' ');
    const word = (sp < 0 ? r.text : r.text.slice(0, sp)).toUpperCase();
    const status = word === 'OK' || word === 'NO' || word === 'BAD' ? word : 'OTHER';
    p.resolve({ tag: p.tag, status, text: r.text, untagged: p.untagged });
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    const p = this.pending;
    this.pending = null;
    if (p) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /**
   * Sends `tag command` (plus `extra` bytes, e.g. a LITERAL+ message and its CRLF) and resolves at the
   * tagged response. `onContinuation` sees "+" requests (IDLE, synchronising literals).
   */
  run(
    command: string,
    o: { extra?: Buffer; timeoutMs?: number; onContinuation?: (text: string) => void } = {},
  ): Promise<Completion> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.pending) return Promise.reject(new Error('bench client: one command at a time'));
    const tag = `A${++this.counter}`;
    return new Promise<Completion>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        reject(new Error(`timed out after ${o.timeoutMs ?? 60_000} ms: ${command.slice(0, 60)}`));
        this.socket.destroy(); // the stream is out of step now; a later command must not read this one's reply
      }, o.timeoutMs ?? 60_000);
      this.pending = { tag, untagged: [], resolve, reject, timer, onContinuation: o.onContinuation };
      const line = Buffer.from(`${tag} ${command}\r\n`, 'latin1');
      this.socket.write(o.extra ? Buffer.concat([line, o.extra]) : line);
    });
  }

  /** Bytes sent outside a command line (DONE after IDLE). */
  write(data: string): void {
    this.socket.write(data);
  }

  async login(user: string, password: string): Promise<void> {
    const c = await this.run(`LOGIN ${quote(user)} ${quote(password)}`);
    if (c.status !== 'OK') throw new Error(`LOGIN ${user}: ${c.text}`);
  }

  async logout(): Promise<void> {
    try {
      await this.run('LOGOUT', { timeoutMs: 5000 });
    } catch {
      // the server may close before or after its tagged OK: either way the session is over
    }
    this.close();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An IMAP quoted string (RFC 9051 4.3): backslash and double quote escaped. */
export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
