// A raw text-protocol connection for the soak bench: connect from a chosen 127.x.y.z, write, wait for a pattern.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface RawTarget {
  host: string;
  port: number;
  /** Source address to bind (the soak spreads clients over 127.0.0.0/8 to look like many hosts). */
  localAddress?: string;
  /** Implicit TLS (imaps); the server's certificate is self-signed, so it is not verified. */
  tls?: boolean;
}

/** What the bench keeps of what a server sent: a bounded tail (hostile floods must not grow our memory). */
const KEEP_CHARS = 256 * 1024;

/**
 * One connection, read as latin1 text. `waitFor` resolves when the text received since the last
 * `consume` matches a pattern; it never holds more than KEEP_CHARS (a reply to wait for is short).
 */
export class RawConnection {
  private text = '';
  private closed = false;
  private waiter: { re: RegExp; resolve: (m: RegExpExecArray) => void; reject: (e: Error) => void } | null =
    null;
  private timer: NodeJS.Timeout | undefined;
  /** When the connection closed (Date.now() ms), or null while open. */
  closedAt: number | null = null;
  /** One promise for every waiter (a listener per waiter would pile up on a connection held for minutes). */
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      if (this.text.length > KEEP_CHARS) this.text = this.text.slice(-KEEP_CHARS);
      this.check();
    });
    socket.on('error', () => this.finish());
    socket.on('close', () => this.finish());
  }

  /** Connects (TCP handshake, and TLS handshake for tls targets) within timeoutMs. */
  static open(t: RawTarget, timeoutMs: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const opts = {
        host: t.host,
        port: t.port,
        ...(t.localAddress ? { localAddress: t.localAddress } : {}),
      };
      const s: Socket = t.tls
        ? tlsConnect({ ...opts, rejectUnauthorized: false }, () => done(null))
        : tcpConnect(opts, () => done(null));
      const timer = setTimeout(() => done(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
      const onError = (e: Error): void => done(e);
      s.once('error', onError);
      let settled = false;
      function done(err: Error | null): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.off('error', onError);
        if (err) {
          s.destroy();
          reject(err);
        } else resolve(new RawConnection(s));
      }
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves with the first match of `re` in the unread text; rejects on close or after timeoutMs. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      this.waiter = { re, resolve, reject };
      this.timer = setTimeout(() => this.reject(new Error(`timeout waiting for ${re.source}`)), timeoutMs);
      this.check();
    });
  }

  /** Drops the text read so far (the next waitFor looks only at what arrives after). */
  consume(): void {
    this.text = '';
  }

  /** Writes; resolves once the socket buffer drained (backpressure), or at once if it did not fill. */
  write(data: string | Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    if (this.socket.write(data)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        this.socket.off('drain', onDrain);
        reject(new Error('connection closed while writing'));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  /** Resolves when the server closes the connection (or at once if it is closed). */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  close(): void {
    this.socket.destroy();
  }

  private check(): void {
    const w = this.waiter;
    if (!w) return;
    const m = w.re.exec(this.text);
    if (!m) return;
    this.waiter = null;
    clearTimeout(this.timer);
    this.text = this.text.slice(m.index + m[0].length);
    w.resolve(m);
  }

  private reject(err: Error): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = null;
    clearTimeout(this.timer);
    w.reject(err);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.closedAt = Date.now();
    this.check(); // a reply that came with the close still counts
    this.reject(new Error('connection closed by the server'));
  }
}

/** Sleeps for ms; resolves early (false) when `stop` says so, checked every 100 ms. */
export async function sleepUnless(ms: number, stop: () => boolean): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (stop()) return false;
    await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
  }
  return !stop();
}
