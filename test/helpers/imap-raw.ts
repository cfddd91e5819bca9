// A bare IMAP line client for e2e tests and the bench: raw commands over TCP or TLS, tagged replies collected.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface TaggedReply {
  /** Untagged and continuation lines before the tagged one (literals inlined as text). */
  lines: string[];
  /** The tagged line itself, e.g. "A1 OK done". */
  tagged: string;
  status: 'OK' | 'NO' | 'BAD';
}

/** One connection; commands are sent one at a time (no pipelining), which is what the tests need. */
export class RawImap {
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private counter = 0;
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, tls = false): Promise<RawImap> {
    const socket = await new Promise<Socket>((done, fail) => {
      const s = tls
        ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => done(s))
        : tcpConnect({ host: '127.0.0.1', port }, () => done(s));
      s.once('error', fail);
    });
    // As real clients do: with Nagle on, the literal after "APPEND ... {n+}" waits for the server's
    // delayed ACK (40 ms on Linux), which measured the kernel, not the server.
    socket.setNoDelay(true);
    const client = new RawImap(socket);
    await client.line(); // greeting
    return client;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async more(timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error('timed out waiting for the server')), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        done();
      });
    });
  }

  /** The next CRLF-terminated line, with any literal it announces appended (so one logical response line). */
  async line(timeoutMs = 5000): Promise<string> {
    let out = '';
    for (;;) {
      const nl = this.buffer.indexOf('\r\n');
      if (nl < 0) {
        await this.more(timeoutMs);
        continue;
      }
      const text = this.buffer.subarray(0, nl).toString('latin1');
      this.buffer = this.buffer.subarray(nl + 2);
      out += text;
      const literal = /\{(\d+)\}$/.exec(text);
      if (!literal || text.startsWith('+')) return out;
      const size = Number(literal[1]);
      while (this.buffer.length < size) await this.more(timeoutMs);
      out += '\r\n' + this.buffer.subarray(0, size).toString('latin1');
      this.buffer = this.buffer.subarray(size);
    }
  }

  nextTag(): string {
    return `T${++this.counter}`;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends `command` with a fresh tag and reads up to its tagged reply. */
  async command(command: string, timeoutMs = 5000): Promise<TaggedReply> {
    const tag = this.nextTag();
    this.write(`${tag} ${command}\r\n`);
    return this.until(tag, timeoutMs);
  }

  async until(tag: string, timeoutMs = 5000): Promise<TaggedReply> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      if (l.startsWith(`${tag} `)) {
        const status = l.slice(tag.length + 1, tag.length + 4).trim() as TaggedReply['status'];
        return { lines, tagged: l, status };
      }
      lines.push(l);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
