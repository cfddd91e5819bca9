// The POP3 server over real sockets on port 0 with the real SQLite store: RETR streaming, STLS, locks, autologout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { createAuthenticator } from '../../src/auth/authenticator.js';
import { hashPassword, type ScryptParams } from '../../src/auth/password-hash.js';
import { encodeSaslPlain } from '../../src/auth/sasl/plain.js';
import { silentLogger, type Logger } from '../../src/observability/logger.js';
import { captureLogs } from '../helpers/log-capture.js';
import { servePop3Connection } from '../../src/pop3/connection.js';
import { MaildropLocks } from '../../src/pop3/maildrop-lock.js';
import { createPop3Services } from '../../src/pop3/services.js';
import type { Pop3Policy } from '../../src/pop3/session.js';
import type { OpenedMessage } from '../../src/store/mail-store.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { memoryBody, request } from '../contract/store-contract.js';

const CHEAP: ScryptParams = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
let dir: string;
let store: SqliteStore;
let secureContext: tls.SecureContext;
let alice: number;
const servers: net.Server[] = [];
/** One lock map for every server in this file, as serve.ts shares one between pop3 and pop3s. */
const locks = new MaildropLocks();
/** Bytes the store handed out through openMessage (to see backpressure from outside). */
let bytesRead = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-pop3-'));
  store = openSqliteStore({ dataDir: dir, inlineMaxBytes: 64 * 1024 });
  store.addDomain('example.test');
  alice = store.addAccount('alice@example.test', await hashPassword('alice-pw', { params: CHEAP })).id;
  store.addAccount('bob@example.test', await hashPassword('bob-pw', { params: CHEAP }));
  const pems = await generate([{ name: 'commonName', value: 'pop.example.test' }], { keySize: 2048 });
  secureContext = tls.createSecureContext({ key: pems.private, cert: pems.cert });
});

after(async () => {
  for (const s of servers) s.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startServer(
  policy: Partial<Pop3Policy> = {},
  autologoutMs?: number,
  logger: Logger = silentLogger(),
): Promise<number> {
  const services = createPop3Services({
    store,
    locks,
    authenticate: createAuthenticator({
      store,
      now: Date.now,
      sleep: async () => undefined,
      dummyParams: CHEAP,
    }),
  });
  const counting = {
    async openMessage(id: number): Promise<OpenedMessage> {
      const opened = await store.mail.openMessage(id);
      async function* counted(): AsyncGenerator<Buffer> {
        for await (const c of opened.chunks) {
          bytesRead += c.length;
          yield c;
        }
      }
      return { ...opened, chunks: counted() };
    },
  };
  const server = net.createServer((socket) =>
    servePop3Connection(socket, {
      policy: { hostname: 'pop.example.test', tlsAvailable: true, allowLoopbackPlaintext: true, ...policy },
      services,
      store: counting,
      logger,
      secureContext,
      ...(autologoutMs ? { autologoutMs } : {}),
    }),
  );
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as net.AddressInfo).port;
}

/** A small POP3 client: status lines and multi-line answers, over plain or TLS sockets. */
class Client {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(public socket: net.Socket) {
    this.attach(socket);
  }
  static async connect(port: number): Promise<Client> {
    const socket = net.connect(port, '127.0.0.1');
    const c = new Client(socket);
    assert.match(await c.line(), /^\+OK /);
    return c;
  }
  private attach(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  private async until(find: () => number): Promise<Buffer> {
    for (;;) {
      const end = find();
      if (end >= 0) {
        const out = this.buf.subarray(0, end);
        this.buf = this.buf.subarray(end);
        return out;
      }
      if (this.closed) throw new Error(`closed; have ${JSON.stringify(this.buf.toString().slice(0, 200))}`);
      await new Promise<void>((w) => this.waiters.push(w));
    }
  }
  async line(): Promise<string> {
    return (
      await this.until(() => {
        const i = this.buf.indexOf('\r\n');
        return i < 0 ? -1 : i + 2;
      })
    ).toString();
  }
  /** The lines of a multi-line answer after its status line, still dot-stuffed, without the final ".". */
  async multiline(): Promise<Buffer> {
    const data = await this.until(() => {
      if (this.buf.subarray(0, 3).equals(Buffer.from('.\r\n'))) return 3;
      const i = this.buf.indexOf('\r\n.\r\n');
      return i < 0 ? -1 : i + 5;
    });
    return data.subarray(0, data.length - 3);
  }
  send(text: string): void {
    this.socket.write(text);
  }
  async cmd(text: string): Promise<string> {
    this.send(`${text}\r\n`);
    return this.line();
  }
  async login(user = 'alice@example.test', pw = 'alice-pw'): Promise<string> {
    assert.match(await this.cmd(`USER ${user}`), /^\+OK/);
    return this.cmd(`PASS ${pw}`);
  }
  async startTls(): Promise<void> {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((done, fail) => secure.once('secureConnect', done).once('error', fail));
    this.socket = secure;
    this.attach(secure);
  }
  async end(): Promise<void> {
    this.socket.end();
    if (!this.closed) await new Promise<void>((done) => this.socket.once('close', done));
  }
}

/** Undoes dot-stuffing (RFC 1939 3). */
function unstuff(data: Buffer): string {
  return data
    .toString('latin1')
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? l.slice(1) : l))
    .join('\r\n');
}

async function deliver(body: string | Buffer, accountId = alice): Promise<void> {
  await store.deliver(request({ body: memoryBody(body), local: [{ accountId }] }));
}

function inbox(accountId = alice) {
  const mailbox = store.getMailbox(accountId, 'INBOX');
  assert.ok(mailbox);
  return { mailbox, messages: store.listMessages(mailbox.id) };
}

describe('POP3 over sockets', () => {
  test('RETR un-stuffs to the stored bytes; TOP; UIDL stable across sessions; DELE applies only at QUIT', async () => {
    const port = await startServer();
    const tricky =
      'Subject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nafter a lone dot\r\nlast\r\n';
    await deliver(tricky);
    await deliver('Subject: second\r\n\r\nbody 2\r\nmore\r\n');
    const { messages } = inbox();
    const stored = await store.readMessage(messages[0]!.messageId);

    const c = await Client.connect(port);
    assert.match(await c.login(), /^\+OK Logged in; maildrop has 2 messages/);
    assert.equal(await c.cmd('STAT'), `+OK 2 ${messages[0]!.size + messages[1]!.size}\r\n`);
    assert.equal(await c.cmd('RETR 1'), `+OK ${stored.length} octets\r\n`);
    const retr = await c.multiline();
    assert.ok(
      retr.toString().includes('\r\n...two dots\r\n..\r\nafter'),
      'lines starting with "." are stuffed',
    );
    assert.equal(unstuff(retr), stored.toString('latin1'));
    assert.equal(await c.cmd('TOP 2 1'), '+OK Top of message follows\r\n');
    const top = (await c.multiline()).toString();
    assert.ok(top.endsWith('Subject: second\r\n\r\nbody 2\r\n'), top);
    assert.equal(await c.cmd('UIDL'), '+OK Unique-id listing follows\r\n');
    const uidl1 = (await c.multiline()).toString();
    assert.equal(await c.cmd('DELE 1'), '+OK Message 1 deleted\r\n');
    assert.equal(inbox().messages.length, 2, 'not removed before QUIT');
    assert.match(await c.cmd('QUIT'), /^\+OK .*signing off \(1 messages left\)/);
    await c.end();
    assert.deepEqual(
      inbox().messages.map((m) => m.uid),
      [messages[1]!.uid],
    );

    const d = await Client.connect(port);
    await d.login();
    assert.equal(
      await d.cmd('UIDL 1'),
      `+OK 1 ${uidl1.split('\r\n')[1]!.split(' ')[1]}\r\n`,
      'same id, new number',
    );
    assert.equal(
      await d.cmd('QUIT'),
      '+OK pop.example.test Mailroom POP3 server signing off (1 messages left)\r\n',
    );
  });

  test('RETR of a message expunged elsewhere since the listing: -ERR [SYS/TEMP], an info line, the session goes on', async () => {
    const { logger, lines } = captureLogs();
    const port = await startServer({}, undefined, logger);
    const bob = store.getAccount('bob@example.test')!.id;
    await deliver('Subject: one\r\n\r\nfirst\r\n', bob);
    await deliver('Subject: two\r\n\r\nsecond\r\n', bob);
    const { mailbox, messages } = inbox(bob);
    const c = await Client.connect(port);
    assert.match(await c.login('bob@example.test', 'bob-pw'), /^\+OK Logged in; maildrop has 2 messages/);
    // Expunged over IMAP (or JMAP) while this session holds its listing.
    await store.mail.expunge(mailbox.id, [messages[0]!.uid]);
    assert.equal(
      await c.cmd('RETR 1'),
      '-ERR [SYS/TEMP] Message is no longer available (removed by another client)\r\n',
    );
    assert.match(await c.cmd('RETR 2'), /^\+OK \d+ octets\r\n$/);
    assert.match((await c.multiline()).toString(), /second/);
    assert.match(await c.cmd('QUIT'), /^\+OK /);
    await c.end();
    const expunged = lines.filter((l) => l.event === 'message-expunged');
    assert.deepEqual(
      expunged.map((l) => [l.level, l.messageId]),
      [['info', messages[0]!.messageId]],
    );
    assert.deepEqual(
      lines.filter((l) => l.level === 'warn' || l.level === 'error'),
      [],
      'an ordinary race, not a store fault',
    );
  });

  test('AUTH PLAIN with continuation; pipelined commands answered in order', async () => {
    const port = await startServer();
    const c = await Client.connect(port);
    assert.equal(await c.cmd('AUTH PLAIN'), '+ \r\n');
    assert.match(await c.cmd(encodeSaslPlain('alice@example.test', 'alice-pw')), /^\+OK Logged in/);
    c.send('NOOP\r\nSTAT\r\nLIST 99\r\nNOOP\r\n');
    assert.equal(await c.line(), '+OK Nothing to do\r\n');
    assert.match(await c.line(), /^\+OK \d+ \d+\r\n$/);
    assert.equal(await c.line(), '-ERR No such message\r\n');
    assert.equal(await c.line(), '+OK Nothing to do\r\n');
    await c.cmd('QUIT');
  });

  test('STLS: pipelined plaintext after STLS is discarded; plaintext login refused before, allowed after', async () => {
    const port = await startServer({ allowLoopbackPlaintext: false });
    const c = await Client.connect(port);
    assert.match(await c.cmd('USER alice@example.test'), /^-ERR \[AUTH\] Plaintext/);
    c.send('STLS\r\nUSER alice@example.test\r\nPASS alice-pw\r\n');
    assert.equal(await c.line(), '+OK Begin TLS negotiation\r\n');
    await c.startTls();
    assert.equal(
      await c.cmd('STAT'),
      '-ERR Command not valid in this state\r\n',
      'the pipelined login never ran',
    );
    const capa = await c.cmd('CAPA');
    assert.equal(capa, '+OK Capability list follows\r\n');
    const caps = (await c.multiline()).toString();
    assert.ok(caps.includes('USER') && !caps.includes('STLS'), caps);
    assert.equal(await c.cmd('STLS'), '-ERR Command not permitted when TLS active\r\n');
    assert.match(await c.login(), /^\+OK Logged in/);
    await c.cmd('QUIT');
  });

  test('the maildrop lock: a second login gets [IN-USE]; a dropped connection frees it and deletes nothing', async () => {
    const port = await startServer();
    await deliver('Subject: keep me\r\n\r\nx\r\n');
    const before = inbox().messages.length;
    const a = await Client.connect(port);
    await a.login();
    assert.equal(await a.cmd('DELE 1'), '+OK Message 1 deleted\r\n');
    const b = await Client.connect(port);
    assert.equal(await b.login(), '-ERR [IN-USE] Maildrop is locked by another POP3 session\r\n');
    a.socket.destroy(); // drop without QUIT
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(inbox().messages.length, before, 'nothing deleted');
    assert.match(await b.login(), /^\+OK Logged in/);
    await b.cmd('QUIT');
  });

  test('autologout closes an idle session without UPDATE', async () => {
    const port = await startServer({}, 150);
    const c = await Client.connect(port);
    await c.login();
    await c.cmd('DELE 1');
    const count = inbox().messages.length;
    assert.equal(await c.line(), '-ERR Autologout; idle for too long\r\n');
    await new Promise((r) => setTimeout(r, 30));
    assert.ok(c.closed);
    assert.equal(inbox().messages.length, count);
  });

  test('hostile: 1 MiB without a line end, NUL bytes, then QUIT still answered', async () => {
    const port = await startServer();
    const c = await Client.connect(port);
    c.send('A'.repeat(1024 * 1024));
    c.send('\r\nRETR \u0000\r\n');
    assert.equal(await c.line(), '-ERR Line too long\r\n');
    assert.equal(await c.line(), '-ERR Control characters in command\r\n');
    assert.match(await c.cmd('QUIT'), /^\+OK/);
  });

  test('RETR of a 16 MiB message streams with backpressure: a client that does not read stops the reading', async () => {
    const port = await startServer();
    const big = Buffer.alloc(16 * 1024 * 1024, 'x');
    for (let i = 0; i < big.length; i += 1000) big.write(i % 3000 === 0 ? '\r\n.' : '\r\n', i, 'latin1');
    const body = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), big, Buffer.from('\r\n')]);
    await store.deliver(request({ body: memoryBody(body), local: [{ accountId: alice }] }));
    const { messages } = inbox();
    const n = messages.length;
    const c = await Client.connect(port);
    await c.login();
    c.socket.pause();
    bytesRead = 0;
    c.socket.write(`RETR ${n}\r\n`);
    await new Promise((r) => setTimeout(r, 300));
    const whilePaused = bytesRead;
    assert.ok(whilePaused < 8 * 1024 * 1024, `read ${whilePaused} bytes while the client was not reading`);
    // Read raw chunks (no re-concatenation per chunk) so the figure is the server's, not this client's.
    c.socket.removeAllListeners('data');
    const chunks: Buffer[] = [];
    const t0 = process.hrtime.bigint();
    await new Promise<void>((done) => {
      let tail = Buffer.alloc(0);
      c.socket.on('data', (d: Buffer) => {
        chunks.push(d);
        tail = Buffer.concat([tail, d]).subarray(-5);
        if (tail.equals(Buffer.from('\r\n.\r\n'))) done();
      });
      c.socket.resume();
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const all = Buffer.concat(chunks);
    const firstLine = all.indexOf('\r\n') + 2;
    assert.match(all.subarray(0, firstLine).toString(), /^\+OK \d+ octets/);
    const data = all.subarray(firstLine, all.length - 3);
    const stored = await store.readMessage(messages[n - 1]!.messageId);
    assert.equal(unstuff(data), stored.toString('latin1'));
    console.log(
      `# RETR 16 MiB: ${whilePaused} bytes read while the client paused; streamed in ${ms.toFixed(0)} ms`,
    );
    c.socket.destroy();
  });
});
