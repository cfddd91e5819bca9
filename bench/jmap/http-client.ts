// The JMAP bench's HTTP/1.1 client: one keep-alive connection, one request in flight, answers framed by Content-Length.
import { connect, type Socket } from 'node:net';

/*
 * Why not node:http: its client (ClientRequest, the Agent's socket bookkeeping, IncomingMessage streams,
 * header objects) cost the bench more CPU per JMAP page than the IMAP side's whole client (imap/client.ts,
 * a socket and a line reader) cost per Dovecot page, and the bench shares the machine's two cores with
 * the server under test. This client does for HTTP what that one does for IMAP: writes the request bytes,
 * frames each answer and hands its status and body to the same check as before (load.ts checkPage).
 * It reads only what our server sends: a status line, headers and a Content-Length body; anything else
 * (chunked, no length, a malformed head) is an error of that page, never a guess.
 */

export interface HttpAnswer {
  status: number;
  body: string;
}

/** The most head bytes accepted before the blank line (our server's heads are ~400 bytes). */
const MAX_HEAD = 16 * 1024;

/** Frames HTTP/1.1 responses from a byte stream (pure: no socket); each complete one goes to `onAnswer`. */
export class HttpResponseReader {
  private buffered: Buffer = Buffer.alloc(0);
  /** Body bytes still expected for the response whose head was read (-1: reading a head). */
  private status = 0;
  private need = -1;
  private closing = false;

  /** `closing`: the answer said Connection: close (the server ends the connection after it). */
  constructor(
    private readonly onAnswer: (a: HttpAnswer, closing: boolean) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      if (this.need < 0) {
        const end = this.buffered.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.buffered.length > MAX_HEAD) return this.fail('response head too long');
          return;
        }
        const head = this.buffered.toString('latin1', 0, end);
        this.buffered = this.buffered.subarray(end + 4);
        const status = /^HTTP\/1\.[01] (\d{3})(?: |\r|$)/.exec(head);
        if (!status) return this.fail(`malformed status line: ${head.slice(0, 80)}`);
        if (/\r\ntransfer-encoding:/i.test(head))
          return this.fail('a chunked answer (this client reads Content-Length only)');
        const lengths = [...head.matchAll(/\r\ncontent-length:[ \t]*(\d{1,9})[ \t]*(?=\r|$)/gi)];
        if (lengths.length !== 1) return this.fail('an answer without one Content-Length');
        this.status = Number(status[1]);
        this.need = Number(lengths[0]![1]);
        this.closing = /\r\nconnection:[ \t]*close[ \t]*(?=\r|$)/i.test(head);
      }
      if (this.buffered.length < this.need) return;
      const body = this.buffered.toString('utf8', 0, this.need);
      this.buffered = this.buffered.subarray(this.need);
      this.need = -1;
      this.onAnswer({ status: this.status, body }, this.closing);
      if (this.buffered.length === 0) return;
    }
  }

  private fail(why: string): void {
    this.buffered = Buffer.alloc(0);
    this.need = -1;
    this.onError(new Error(why));
  }
}

/** One keep-alive connection to 127.0.0.1:port; a lost connection is opened again by the next request. */
export class HttpConnection {
  private socket: Socket | null = null;
  private waiting: {
    resolve: (a: HttpAnswer) => void;
    reject: (e: Error) => void;
    timer: NodeJS.Timeout;
  } | null = null;

  constructor(
    private readonly port: number,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Sends one whole request (head and body bytes, see requestBytes) and resolves with its answer. */
  async send(request: Buffer): Promise<HttpAnswer> {
    if (this.waiting) throw new Error('one request at a time');
    const socket = this.socket ?? (await this.open());
    return new Promise<HttpAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(new Error(`timed out after ${this.timeoutMs / 1000} s`));
        socket.destroy();
      }, this.timeoutMs);
      this.waiting = { resolve, reject, timer };
      socket.write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): Promise<Socket> {
    return new Promise((done, fail) => {
      const s = connect({ host: '127.0.0.1', port: this.port }, () => {
        s.off('error', fail);
        s.setNoDelay(true);
        const reader = new HttpResponseReader(
          (a, closing) => {
            // The server ends this connection: the next request must not be written to it.
            if (closing) this.drop(s);
            this.settle(null, a);
          },
          (e) => {
            this.settle(e);
            this.drop(s);
            s.destroy(); // the stream's framing is lost: a new connection for the next request
          },
        );
        s.on('data', (chunk: Buffer) => reader.push(chunk));
        // Only the current connection's end concerns the request in flight (a dropped one may end later).
        s.on('error', (e) => {
          if (this.socket === s) this.settle(e);
        });
        s.on('close', () => {
          if (this.socket !== s) return;
          this.socket = null;
          this.settle(new Error('connection closed by the server'));
        });
        this.socket = s;
        done(s);
      });
      s.once('error', fail);
    });
  }

  private drop(s: Socket): void {
    if (this.socket === s) this.socket = null;
  }

  private settle(error: Error | null, answer?: HttpAnswer): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = null;
    clearTimeout(w.timer);
    if (error) w.reject(error);
    else w.resolve(answer!);
  }
}

/** A request's bytes: the request line, Host, the given headers, Content-Length when there is a body. */
export function requestBytes(
  method: 'GET' | 'POST',
  path: string,
  port: number,
  headers: Record<string, string>,
  body?: string,
): Buffer {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body, 'utf8');
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined) lines.push(`Content-Length: ${payload.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}
