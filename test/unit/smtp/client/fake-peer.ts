// Test helper: a scripted SMTP server and a synchronous driver that runs a ClientSession against it.
import { ReplyParser } from '../../../../src/smtp/client/reply-parser.js';
import type { ClientSession } from '../../../../src/smtp/client/client-session.js';
import type { ClientAction, RecipientResult } from '../../../../src/smtp/client/client-types.js';

/** Answers one command line (without CRLF) with raw reply text (CRLF-terminated lines). */
export type CommandHandler = (line: string, server: FakeServer) => string;

/** A tiny SMTP server: frames commands, DATA (with dot-unstuffing) and BDAT, and records a transcript. */
export class FakeServer {
  readonly transcript: string[] = [];
  readonly messages: Buffer[] = [];
  readonly sends: Buffer[] = [];
  tls = false;
  private buf = Buffer.alloc(0);
  private mode: 'cmd' | 'data' = 'cmd';
  private bdat: Buffer[] = [];

  constructor(
    readonly greeting: string,
    private readonly handler: CommandHandler,
    private readonly onMessage: (body: Buffer) => string = () => '250 2.0.0 queued\r\n',
  ) {
    this.transcript.push(
      ...greeting
        .trimEnd()
        .split('\r\n')
        .map((l) => 'S: ' + l),
    );
  }

  receive(data: Buffer): string {
    this.sends.push(data);
    this.buf = Buffer.concat([this.buf, data]);
    let out = '';
    for (;;) {
      if (this.mode === 'data') {
        const atStart = this.buf.subarray(0, 3).toString() === '.\r\n';
        const end = atStart ? 0 : this.buf.indexOf('\r\n.\r\n');
        if (end < 0) break;
        const raw = atStart ? Buffer.alloc(0) : this.buf.subarray(0, end + 2);
        this.buf = this.buf.subarray(atStart ? 3 : end + 5);
        this.mode = 'cmd';
        const body = Buffer.from(raw.toString('latin1').replace(/^\.\./gm, '.'), 'latin1');
        this.messages.push(body);
        this.transcript.push(`C: <body ${body.length} octets>`, 'C: .');
        out += this.reply(this.onMessage(body));
        continue;
      }
      const lf = this.buf.indexOf('\r\n');
      if (lf < 0) break;
      const line = this.buf.subarray(0, lf).toString('utf8');
      const m = /^BDAT (\d+)( LAST)?$/.exec(line);
      if (m) {
        const n = Number(m[1]);
        if (this.buf.length < lf + 2 + n) break;
        this.bdat.push(this.buf.subarray(lf + 2, lf + 2 + n));
        this.buf = this.buf.subarray(lf + 2 + n);
        this.transcript.push('C: ' + line);
        const r = this.handler(line, this);
        if (m[2]) {
          const body = Buffer.concat(this.bdat);
          this.bdat = [];
          this.messages.push(body);
          out += this.reply(r || this.onMessage(body));
        } else {
          out += this.reply(r || '250 2.0.0 chunk ok\r\n');
        }
        continue;
      }
      this.buf = this.buf.subarray(lf + 2);
      this.transcript.push('C: ' + line);
      const r = this.handler(line, this);
      if (/^DATA$/i.test(line) && r.startsWith('354')) this.mode = 'data';
      out += this.reply(r);
    }
    return out;
  }

  private reply(text: string): string {
    if (text)
      this.transcript.push(
        ...text
          .trimEnd()
          .split('\r\n')
          .map((l) => 'S: ' + l),
      );
    return text;
  }
}

export interface DriveOptions {
  /** Called when the session goes idle (keepOpen): e.g. session.addMessages(...) or session.quit(). */
  onIdle?: (session: ClientSession) => ClientAction[];
  bodies?: Record<string, Buffer>;
  /** Body chunk size fed to the session. */
  chunkSize?: number;
  /** Deliver reply bytes to the parser one at a time. */
  bytewise?: boolean;
  /** What the connection's downgrader returns; undefined = fail. */
  downgrade?: (body: Buffer) => Buffer | undefined;
  /** The TLS handshake fails after STARTTLS's 220. */
  tlsFails?: boolean;
  /** When a `send` matches, the bytes are lost and the connection reported lost (a dead socket). */
  loseConnectionAfterSend?: (data: string) => boolean;
}

export interface DriveResult {
  actions: ClientAction[];
  results: Map<string, RecipientResult[]>;
  closed: boolean;
}

/** Runs the session to completion against the server, synchronously. */
export function drive(session: ClientSession, server: FakeServer, opts: DriveOptions = {}): DriveResult {
  const parser = new ReplyParser();
  const actions: ClientAction[] = [];
  const results = new Map<string, RecipientResult[]>();
  let inbound = Buffer.from(server.greeting);
  let body: { data: Buffer; offset: number; want: boolean } | null = null;
  const tasks: (() => ClientAction[])[] = [() => session.start()];
  let closed = false;
  const bodies = { ...(opts.bodies ?? {}) };
  for (let guard = 0; guard < 100_000 && !closed; guard++) {
    const task = tasks.shift();
    let produced: ClientAction[] = [];
    if (task) produced = task();
    else if (body?.want) {
      body.want = false;
      const b = body;
      const size = opts.chunkSize ?? 1 << 16;
      if (b.offset >= b.data.length) {
        body = null;
        produced = session.onBodyEnd();
      } else {
        const chunk = b.data.subarray(b.offset, b.offset + size);
        b.offset += chunk.length;
        produced = session.onBodyChunk(chunk);
      }
    } else if (inbound.length > 0) {
      const n = opts.bytewise ? 1 : inbound.length;
      const piece = inbound.subarray(0, n);
      inbound = inbound.subarray(n);
      const r = parser.push(piece);
      if (r.error) throw r.error;
      for (const reply of r.replies) produced.push(...session.onReply(reply));
    } else {
      break;
    }
    for (const a of produced) {
      actions.push(a);
      switch (a.type) {
        case 'send': {
          const text = a.data.toString('latin1');
          if (opts.loseConnectionAfterSend?.(text)) {
            tasks.push(() => session.onConnectionLost('ECONNRESET'));
            inbound = Buffer.alloc(0);
            break;
          }
          inbound = Buffer.concat([inbound, Buffer.from(server.receive(a.data))]);
          break;
        }
        case 'start-tls':
          if (opts.tlsFails) tasks.push(() => session.onTlsFailed('self test'));
          else {
            server.tls = true;
            tasks.push(() => session.onTlsEstablished());
          }
          break;
        case 'needs-downgrade': {
          const original = bodies[a.messageId] ?? Buffer.alloc(0);
          const down = opts.downgrade?.(original);
          if (down) {
            bodies[a.messageId] = down;
            tasks.push(() => session.onDowngraded(down.length));
          } else tasks.push(() => session.onDowngradeFailed('no converter'));
          break;
        }
        case 'send-body':
          body = { data: bodies[a.messageId] ?? Buffer.alloc(0), offset: 0, want: true };
          break;
        case 'want-body':
          if (body) body.want = true;
          break;
        case 'abort-body':
          body = null;
          break;
        case 'message-done':
          results.set(a.messageId, a.results);
          break;
        case 'idle':
          // keepOpen: what the caller does with the idle session (more messages, quit), if anything.
          if (opts.onIdle) {
            const next = opts.onIdle;
            tasks.push(() => next(session));
          }
          break;
        case 'close':
          closed = true;
          break;
        case 'timeout':
          break;
      }
    }
  }
  return { actions, results, closed };
}

/** Builds a multi-line 250 EHLO reply. */
export function ehloReply(domain: string, extensions: string[]): string {
  const lines = [`${domain} greets you`, ...extensions];
  return lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}\r\n`).join('');
}
