// COMPRESS=DEFLATE (RFC 4978) over real sockets: a raw deflating client, imapflow, IDLE, STARTTLS first, a decompression bomb.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { ImapFlow } from 'imapflow';
import { admitAnyone, startImapServer } from '../helpers/imap-server.js';
import { deliverText, openTestStore } from '../helpers/imap-session.js';
import { makeTestCa } from '../helpers/test-ca.js';

const { store, bob } = await openTestStore();
await deliverText(store, bob, 'From: amy@x.test\r\nSubject: First\r\n\r\n' + 'hello world\r\n'.repeat(200));
const ca = await makeTestCa();
const leaf = await ca.issue(['localhost']);
const server = await startImapServer(store, {
  authenticate: admitAnyone,
  policy: { tlsAvailable: true },
  secureContext: tls.createSecureContext({ cert: leaf.cert, key: leaf.key }),
});
after(() => server.close());

/** A line client that can switch to TLS and then to DEFLATE both ways, as a client does after COMPRESS. */
class Client {
  private text = '';
  private waiters: Array<() => void> = [];
  private deflate: zlib.DeflateRaw | null = null;
  /** Compressed bytes the server sent us (to check the responses really came deflated). */
  wireBytesIn = 0;
  closed = false;
  private n = 0;

  private constructor(private socket: Socket) {
    this.listen(socket);
  }

  static async open(port: number): Promise<Client> {
    const socket = await new Promise<Socket>((done, fail) => {
      const s = connect({ host: '127.0.0.1', port }, () => done(s));
      s.once('error', fail);
    });
    const c = new Client(socket);
    await c.untilLine(/^\* OK/);
    return c;
  }

  private listen(from: NodeJS.ReadableStream): void {
    from.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      this.wake();
    });
    from.on('close', () => {
      this.closed = true;
      this.wake();
    });
    from.on('error', () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until the received text has a line matching `re`; returns everything up to and with it. */
  async untilLine(re: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.text.split('\r\n');
      const i = lines.findIndex((l, k) => k < lines.length - 1 && re.test(l));
      if (i >= 0) {
        const got = lines.slice(0, i + 1).join('\r\n');
        this.text = lines.slice(i + 1).join('\r\n');
        return got;
      }
      if (this.closed) throw new Error(`closed before ${re}; got ${JSON.stringify(this.text.slice(-200))}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${re}; got ${JSON.stringify(this.text.slice(-200))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  send(bytes: string | Buffer): void {
    if (this.deflate) {
      this.deflate.write(bytes);
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    } else this.socket.write(bytes);
  }

  /** Bytes straight onto the wire (already deflated by the caller). */
  sendWire(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a command; resolves with the responses up to its tagged one. */
  async command(cmd: string): Promise<string> {
    const tag = `c${++this.n}`;
    this.send(`${tag} ${cmd}\r\n`);
    return this.untilLine(new RegExp(`^${tag} `));
  }

  async startTls(): Promise<void> {
    assert.match(await this.command('STARTTLS'), /OK/);
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((r, f) => {
      secure.once('secureConnect', r);
      secure.once('error', f);
    });
    this.socket = secure;
    this.listen(secure);
  }

  /** From now on both directions are raw deflate (RFC 4978 3); `raw` sends bytes after the COMPRESS line. */
  async compress(raw: Buffer | null = null): Promise<string> {
    const tag = `c${++this.n}`;
    this.socket.write(`${tag} COMPRESS DEFLATE\r\n`);
    const reply = await this.untilLine(new RegExp(`^${tag} `));
    assert.match(reply, /OK/);
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const inflate = zlib.createInflateRaw();
    this.socket.on('data', (chunk: Buffer) => {
      this.wireBytesIn += chunk.length;
      inflate.write(chunk);
    });
    this.socket.on('close', () => inflate.end());
    this.listen(inflate);
    this.deflate = zlib.createDeflateRaw();
    this.deflate.on('data', (chunk: Buffer) => {
      if (!this.socket.destroyed) this.socket.write(chunk);
    });
    this.deflate.on('error', () => undefined);
    if (raw) this.socket.write(raw);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}

test('COMPRESS DEFLATE: responses come deflated, commands are read inflated, a second COMPRESS is COMPRESSIONACTIVE', async () => {
  const c = await Client.open(server.port);
  try {
    assert.doesNotMatch(await c.command('CAPABILITY'), /COMPRESS=DEFLATE/, 'offered only after login');
    assert.match(await c.command('COMPRESS DEFLATE'), /^c2 BAD /m, 'not before login');
    assert.match(await c.command('LOGIN bob@example.test x'), /OK .*COMPRESS=DEFLATE/);
    assert.match(await c.command('COMPRESS GZIP'), /^c4 BAD /m);
    await c.compress();
    const fetched = await c.command('SELECT INBOX');
    assert.match(fetched, /\* 1 EXISTS/);
    const body = await c.command('FETCH 1 BODY[]');
    assert.match(body, /hello world\r\nhello world/);
    assert.match(body, /^c\d+ OK/m);
    // 200 repeated lines went out deflated: far fewer bytes on the wire than the text.
    assert.ok(c.wireBytesIn < 1500, `wire bytes ${c.wireBytesIn}`);
    assert.match(await c.command('COMPRESS DEFLATE'), /^c\d+ NO \[COMPRESSIONACTIVE\]/m);
    assert.match(await c.command('LOGOUT'), /^\* BYE/m);
  } finally {
    c.close();
  }
});

test('COMPRESS after STARTTLS (TLS below DEFLATE), and IDLE reports a delivery through both layers', async () => {
  const c = await Client.open(server.port);
  try {
    await c.startTls();
    assert.match(await c.command('LOGIN bob@example.test x'), /OK/);
    await c.compress();
    assert.match(await c.command('SELECT INBOX'), /OK/);
    c.send('i1 IDLE\r\n');
    await c.untilLine(/^\+ /);
    await deliverText(store, bob, 'From: cy@x.test\r\nSubject: While idling\r\n\r\nhi\r\n');
    await c.untilLine(/^\* \d+ EXISTS/);
    c.send('DONE\r\n');
    await c.untilLine(/^i1 OK/);
    assert.match(await c.command('FETCH * (BODY.PEEK[HEADER.FIELDS (SUBJECT)])'), /While idling/);
  } finally {
    c.close();
  }
});

test('COMPRESS: bytes the client sent right after the COMPRESS line are inflated, not parsed as text', async () => {
  const c = await Client.open(server.port);
  try {
    assert.match(await c.command('LOGIN bob@example.test x'), /OK/);
    const early = zlib.deflateRawSync(Buffer.from('e1 NOOP\r\n'), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    // The server may read these with the COMPRESS line or after its OK: either way they are inflated.
    await c.compress(early);
    await c.untilLine(/^e1 OK/);
    assert.match(await c.command('NOOP'), /OK/);
  } finally {
    c.close();
  }
});

test('COMPRESS: a decompression bomb is judged by the line limit as it inflates; memory stays bounded', async () => {
  const c = await Client.open(server.port);
  try {
    assert.match(await c.command('LOGIN bob@example.test x'), /OK/);
    await c.compress();
    // 1 MiB of one command line deflates to ~1 KB; sync-flushed, copies of it can follow each other.
    const mib = zlib.deflateRawSync(Buffer.alloc(1024 * 1024, 0x61), {
      level: 9,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    const copies = 64;
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    c.send(Buffer.from('b1 NOOP '));
    // After our sync flush the stream is at a block boundary, and each copy refers only to itself.
    for (let i = 0; i < copies; i++) c.sendWire(mib);
    c.send(Buffer.from('\r\nb2 NOOP\r\n'));
    // 64 MiB of inflated line: rejected once (TOOBIG), the rest skipped, then the next command runs.
    const got = await c.untilLine(/^b2 /, 20_000);
    clearInterval(sampler);
    assert.match(got, /BAD .*Command line too long/);
    assert.match(got, /^b2 OK/m);
    // What the server held while inflating: a few buffers, not the 64 MiB (nor its 64 KiB line limit times many).
    if (process.env.SHOW_FIGURES) console.log(`bomb: rss grew ${peak - before} bytes`);
    assert.ok(peak - before < 48 * 1024 * 1024, `rss grew ${peak - before} bytes`);
  } finally {
    c.close();
  }
});

test('imapflow uses COMPRESS when offered: list, fetch, append and search all work deflated', async () => {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: server.port,
    secure: false,
    auth: { user: 'bob@example.test', pass: 'x' },
    // The server offers STARTTLS and imapflow takes it: TLS below DEFLATE, with the test CA's leaf.
    tls: { rejectUnauthorized: false },
    logger: false,
  });
  await client.connect();
  try {
    // imapflow keeps its deflate stream here once COMPRESS succeeded (lib/imap-flow.js compress()).
    assert.ok((client as unknown as { _deflate?: unknown })._deflate, 'imapflow did not turn compression on');
    const lock = await client.getMailboxLock('INBOX');
    try {
      const msg = await client.fetchOne('1', { source: true, envelope: true });
      assert.ok(msg && msg.source?.toString().includes('hello world'));
      await client.append('INBOX', 'From: dee@x.test\r\nSubject: Appended compressed\r\n\r\nx\r\n', [
        '\\Seen',
      ]);
      const uids = await client.search({ subject: 'Appended compressed' }, { uid: true });
      assert.equal(Array.isArray(uids) ? uids.length : 0, 1);
    } finally {
      lock.release();
    }
    const boxes = await client.list();
    assert.ok(boxes.some((b) => b.path === 'INBOX'));
  } finally {
    await client.logout();
  }
});
