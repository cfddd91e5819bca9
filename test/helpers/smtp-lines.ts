// A line-at-a-time SMTP client for integration tests: sends one line, reads up to the last line of the reply.
import { connect, type Socket } from 'node:net';

export class SmtpLines {
  private buffer = '';
  private waiter: (() => void) | null = null;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      this.waiter?.();
    });
  }
  static async open(port: number): Promise<SmtpLines> {
    const socket = connect(port, '127.0.0.1');
    const c = new SmtpLines(socket);
    await c.reply();
    return c;
  }
  /** The last line of the next reply (a multi-line reply's final line). */
  async reply(): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const m = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(this.buffer);
      if (m) {
        const end = m.index + m[0].length;
        const text = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end);
        return text.trim().split('\r\n').at(-1) as string;
      }
      if (Date.now() > deadline) throw new Error(`no SMTP reply; have ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((done) => {
        this.waiter = done;
        setTimeout(done, 100);
      });
    }
  }
  async send(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }
  close(): void {
    this.socket.destroy();
  }
}
