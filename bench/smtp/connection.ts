// A minimal SMTP client connection for the load generator: awaitable replies over one net.Socket.
import { connect, type Socket } from 'node:net';
import { ReplyReader, type SmtpReply } from './reply-reader.js';

/** Thrown when the peer answers with an unexpected code; the bench counts these as rejections. */
export class UnexpectedReply extends Error {
  constructor(
    readonly step: string,
    readonly reply: SmtpReply,
  ) {
    super(`${step}: ${reply.code} ${reply.lines.join(' / ').slice(0, 200)}`);
  }
}

export class BenchConnection {
  private readonly reader = new ReplyReader();
  private readonly ready: SmtpReply[] = [];
  private waiter: { resolve: (r: SmtpReply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly socket: Socket,
    private readonly replyTimeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const r of this.reader.push(chunk)) this.deliver(r);
      } catch (err) {
        this.fail(err as Error);
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by server')));
  }

  /** Connects and resolves once the TCP handshake is done (the greeting is read with next()). */
  static open(host: string, port: number, replyTimeoutMs: number): Promise<BenchConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const onError = (err: Error): void => reject(err);
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new BenchConnection(socket, replyTimeoutMs));
      });
    });
  }

  /** The next complete reply; rejects on close, error, garbage or after the reply timeout. */
  next(): Promise<SmtpReply> {
    const r = this.ready.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.timer = setTimeout(() => {
        this.fail(new Error(`no reply within ${this.replyTimeoutMs} ms`));
        this.socket.destroy();
      }, this.replyTimeoutMs);
    });
  }

  /** next(), requiring the given code. */
  async expect(code: number, step: string): Promise<SmtpReply> {
    const r = await this.next();
    if (r.code !== code) throw new UnexpectedReply(step, r);
    return r;
  }

  /** Writes, waiting for 'drain' when the socket buffer is full (backpressure on our side too). */
  write(...parts: (Buffer | string)[]): Promise<void> | undefined {
    let ok = true;
    for (const p of parts) ok = this.socket.write(p);
    if (ok) return undefined;
    return new Promise((resolve) => this.socket.once('drain', resolve));
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(r: SmtpReply): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      clearTimeout(this.timer);
      w.resolve(r);
    } else this.ready.push(r);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      clearTimeout(this.timer);
      w.reject(this.failure);
    }
  }
}
