// Slow clients (issue 8 item 3) over real sockets: SMTP, IMAP and POP3 trickles are cut at their deadlines; slow but honest transfers pass.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator } from '../../src/auth/authenticator.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import type { DeadlineSettings } from '../../src/config/schema.js';
import { serveImapConnection } from '../../src/imap/connection.js';
import { MailboxIndexCache } from '../../src/imap/mailbox-index-cache.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { servePop3Connection } from '../../src/pop3/connection.js';
import { MaildropLocks } from '../../src/pop3/maildrop-lock.js';
import { createPop3Services } from '../../src/pop3/services.js';
import { serveSmtpConnection } from '../../src/smtp/server/connection.js';
import type { SmtpPolicy } from '../../src/smtp/server/services.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { fakeServices, testPolicy } from '../helpers/smtp-fakes.js';

/**
 * Small deadlines so each test takes a second or two. The idle timers keep their long defaults
 * (minutes): every trickle below is cut by a deadline, which the idle timers alone never did.
 */
const DEADLINES: DeadlineSettings = {
  loginMs: 1_500,
  commandLineMs: 800,
  mxSessionMs: 1_500,
  transferGraceMs: 800,
  transferMinRate: 2_000, // bytes/s
};
const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };

let dir: string;
let store: SqliteStore;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
/** Every log line of every server here, parsed. */
const logs: Record<string, unknown>[] = [];

function logger(): Logger {
  return createLogger({ destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailroom-slow-'));
  store = openSqliteStore({ dataDir: dir });
  store.addDomain('example.test');
  store.addAccount('bob@example.test', await hashPassword('secret', { params: PARAMS }));
});

after(async () => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function listen(serve: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

const authenticate = () =>
  createAuthenticator({ store, now: Date.now, sleep: async () => undefined, dummyParams: PARAMS });

function startSmtp(policy: Partial<SmtpPolicy> = {}) {
  const services = fakeServices();
  const port = listen((socket) =>
    serveSmtpConnection(socket, {
      policy: testPolicy({ tlsAvailable: false, allowLoopbackPlaintext: true, ...policy }),
      services,
      logger: logger(),
      secureContext: null,
      deadlines: DEADLINES,
    }),
  );
  return { port, services };
}

function startImap(): Promise<number> {
  const indexCache = new MailboxIndexCache(store.mail);
  const auth = authenticate();
  return listen((socket) =>
    serveImapConnection(socket, {
      services: { store, authenticate: auth, now: () => new Date(), indexCache },
      policy: {
        hostname: 'mx.example.test',
        tlsAvailable: false,
        allowLoopbackPlaintext: true,
        maxAppendSize: 1 << 20,
      },
      logger: logger(),
      secureContext: null,
      deadlines: DEADLINES,
    }),
  );
}

function startPop3(): Promise<number> {
  const services = createPop3Services({ store, locks: new MaildropLocks(), authenticate: authenticate() });
  return listen((socket) =>
    servePop3Connection(socket, {
      policy: { hostname: 'pop.example.test', tlsAvailable: false, allowLoopbackPlaintext: true },
      services,
      store: store.mail,
      logger: logger(),
      secureContext: null,
      deadlines: DEADLINES,
    }),
  );
}

/** A raw client: everything the server said, when it closed, and a trickle that stops when it does. */
class Raw {
  text = '';
  closedAt: number | null = null;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<unknown>;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = once(socket, 'close').then(() => {
      this.closedAt = performance.now();
      this.wake();
    });
  }

  static async open(port: number | Promise<number>, greeting: RegExp): Promise<Raw> {
    const socket = net.connect(await port, '127.0.0.1');
    sockets.add(socket);
    const raw = new Raw(socket);
    await raw.until(greeting);
    return raw;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(text: string | Buffer): void {
    if (this.closedAt === null) this.socket.write(text);
  }

  async until(pattern: RegExp, timeoutMs = 3_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(this.text)) {
      if (Date.now() > end || this.closedAt !== null) {
        throw new Error(`no ${pattern}; got ${JSON.stringify(this.text.slice(-300))}`);
      }
      await new Promise<void>((w) => {
        this.waiters.push(w);
        setTimeout(w, 50);
      });
    }
  }

  /**
   * Sends `piece` every `everyMs` until the server closes or `maxMs` passes (bounded: a server that
   * keeps the client is a failure, not a hang). Returns how long the server kept it, from the start.
   */
  async trickle(piece: () => string | Buffer, everyMs: number, maxMs = 5_000): Promise<number> {
    const start = performance.now();
    while (this.closedAt === null && performance.now() - start < maxMs) {
      this.send(piece());
      await Promise.race([new Promise((r) => setTimeout(r, everyMs)), this.closed]);
    }
    assert.ok(this.closedAt !== null, `still connected after ${maxMs} ms: ${JSON.stringify(this.text)}`);
    return this.closedAt - start;
  }
}

/** One byte of `text` per call, cycling. */
function bytesOf(text: string): () => string {
  let i = 0;
  return () => text[i++ % text.length] as string;
}

/** The log line of the cut: one event naming protocol, IP and deadline. */
function assertLogged(protocol: string, deadline: string): void {
  const line = logs.find(
    (l) => l['event'] === 'deadline-exceeded' && l['protocol'] === protocol && l['deadline'] === deadline,
  );
  assert.ok(line, `no deadline-exceeded log for ${protocol}/${deadline}`);
  assert.equal(line['ip'], '127.0.0.1');
}

/** Cut at `deadlineMs` after the trickle started: not before, and not much later (scheduling slack). */
function assertCutNear(keptMs: number, deadlineMs: number): void {
  assert.ok(keptMs >= deadlineMs - 100, `cut too early: ${keptMs} ms < ${deadlineMs} ms`);
  assert.ok(keptMs < deadlineMs + 1_000, `cut too late: ${keptMs} ms, deadline ${deadlineMs} ms`);
}

describe('SMTP deadlines', () => {
  test('MX: a command line trickled one byte at a time is cut at command_line_timeout with 421', async () => {
    const c = await Raw.open(startSmtp().port, /^220 /);
    const kept = await c.trickle(bytesOf('EHLO slow.client.example.with.a.name.that.never.ends'), 100);
    assertCutNear(kept, DEADLINES.commandLineMs);
    // Before EHLO, no enhanced status code (RFC 2034 3).
    assert.match(
      c.text,
      /\r\n421 mx\.foo\.com Error: timeout exceeded \(command line not completed in time\)/,
    );
    assertLogged('smtp', 'command-line');
  });

  test('MX: whole NOOP lines keep the idle timer alive but not the session past mx_session_timeout', async () => {
    const c = await Raw.open(startSmtp().port, /^220 /);
    c.send('EHLO c\r\n');
    const kept = await c.trickle(() => 'NOOP\r\n', 200);
    assertCutNear(kept, DEADLINES.mxSessionMs);
    assert.match(c.text, /\r\n421 4\.4\.2 .*\(session lasted too long\)/);
    assertLogged('smtp', 'session');
  });

  test('submission: no AUTH within login_timeout is cut, whatever the client keeps sending', async () => {
    const c = await Raw.open(startSmtp({ role: 'submission', requireAuth: true }).port, /^220 /);
    c.send('EHLO c\r\n');
    const kept = await c.trickle(() => 'NOOP\r\n', 200);
    assertCutNear(kept, DEADLINES.loginMs);
    assert.match(c.text, /\r\n421 4\.4\.2 .*\(no login in time\)/);
    assertLogged('smtp', 'login');
  });

  test('MX: DATA trickled below transfer_min_rate is cut; the partial message is dropped', async () => {
    const { port, services } = startSmtp();
    const c = await Raw.open(port, /^220 /);
    c.send('EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n');
    await c.until(/^354 /m);
    const kept = await c.trickle(bytesOf('Subject: slow\r\n\r\nbody '), 100);
    // 10 B/s against a 2,000 B/s floor: the grace runs out (each byte buys only half a millisecond).
    assertCutNear(kept, DEADLINES.transferGraceMs);
    assert.match(c.text, /\r\n421 4\.4\.2 .*\(data arriving too slowly\)/);
    assert.equal(services.delivered.length, 0);
    assertLogged('smtp', 'transfer-rate');
  });

  test('MX: a slow but steady DATA above the floor rate (and longer than every deadline) is accepted', async () => {
    const { port, services } = startSmtp();
    const c = await Raw.open(port, /^220 /);
    c.send('EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n');
    await c.until(/^354 /m);
    c.send('Subject: slow link\r\n\r\n');
    // 4 KiB/s for 2 s, twice the 2,000 B/s floor, in 400-byte writes every 100 ms.
    const line = `${'x'.repeat(398)}\r\n`;
    for (let i = 0; i < 20; i++) {
      c.send(line);
      await new Promise((r) => setTimeout(r, 100));
    }
    c.send('.\r\n');
    await c.until(/^250 2\.0\.0 OK queued/m);
    assert.equal(services.delivered.length, 1);
    assert.equal(services.bodies[0]?.length, 'Subject: slow link\r\n\r\n'.length + 20 * 400);
    c.send('QUIT\r\n');
    await c.closed;
  });
});

describe('IMAP deadlines', () => {
  test('before login: a command line trickled one byte every 100 ms is cut at command_line_timeout', async () => {
    const c = await Raw.open(startImap(), /^\* OK/);
    const kept = await c.trickle(bytesOf('a LOGIN bob@example.test secret'), 100);
    assertCutNear(kept, DEADLINES.commandLineMs);
    assert.match(c.text, /\r\n\* BYE Timeout: command line not completed in time\r\n/);
    assertLogged('imap', 'command-line');
  });

  test('before login: complete commands do not extend login_timeout (the 60 s idle timer alone did)', async () => {
    const c = await Raw.open(startImap(), /^\* OK/);
    let n = 0;
    const kept = await c.trickle(() => `n${n++} NOOP\r\n`, 200);
    assertCutNear(kept, DEADLINES.loginMs);
    assert.match(c.text, /\* BYE Timeout: no login in time\r\n/);
    assertLogged('imap', 'login');
  });

  test('after login: the login deadline is gone; an APPEND literal trickled below the floor is cut', async () => {
    const c = await Raw.open(startImap(), /^\* OK/);
    c.send('a LOGIN bob@example.test secret\r\n');
    await c.until(/^a OK/m);
    // Idle past the login deadline: a logged-in session is not timed by it.
    await new Promise((r) => setTimeout(r, DEADLINES.loginMs + 200));
    c.send('b NOOP\r\n');
    await c.until(/^b OK/m);
    c.send('c APPEND INBOX {1000}\r\n');
    await c.until(/^\+ /m);
    const kept = await c.trickle(bytesOf('Subject: x\r\n\r\nslow'), 100);
    assertCutNear(kept, DEADLINES.transferGraceMs);
    assert.match(c.text, /\* BYE Timeout: data arriving too slowly\r\n/);
    assertLogged('imap', 'transfer-rate');
  });

  test('after login: a slow but steady APPEND above the floor rate is stored', async () => {
    const c = await Raw.open(startImap(), /^\* OK/);
    c.send('a LOGIN bob@example.test secret\r\n');
    await c.until(/^a OK/m);
    const body = Buffer.from(`Subject: slow append\r\n\r\n${'y'.repeat(6_000 - 24)}`);
    assert.equal(body.length, 6_000);
    c.send(`b APPEND INBOX {${body.length}}\r\n`);
    await c.until(/^\+ /m);
    // 3,000 B/s (above the 2,000 B/s floor) for 2 s: longer than the grace and the line deadline.
    for (let off = 0; off < body.length; off += 300) {
      c.send(body.subarray(off, off + 300));
      await new Promise((r) => setTimeout(r, 100));
    }
    c.send('\r\n');
    await c.until(/^b OK \[APPENDUID/m);
    c.send('z LOGOUT\r\n');
    await c.closed;
  });
});

describe('POP3 deadlines', () => {
  test('a command line trickled one byte at a time is cut at command_line_timeout with -ERR', async () => {
    const c = await Raw.open(startPop3(), /^\+OK /);
    const kept = await c.trickle(bytesOf('USER bob@example.test'), 100);
    assertCutNear(kept, DEADLINES.commandLineMs);
    assert.match(c.text, /\r\n-ERR Timeout: command line not completed in time; closing connection\r\n/);
    assertLogged('pop3', 'command-line');
  });

  test('complete commands without login are cut at login_timeout; after login they are not', async () => {
    const c = await Raw.open(startPop3(), /^\+OK /);
    const kept = await c.trickle(() => 'CAPA\r\n', 200);
    assertCutNear(kept, DEADLINES.loginMs);
    assert.match(c.text, /\r\n-ERR Timeout: no login in time; closing connection\r\n/);
    assertLogged('pop3', 'login');

    const d = await Raw.open(startPop3(), /^\+OK /);
    d.send('USER bob@example.test\r\nPASS secret\r\n');
    await d.until(/\+OK Logged in/);
    for (let i = 0; i < 10; i++) {
      d.send('NOOP\r\n');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(d.closedAt, null);
    d.send('QUIT\r\n');
    await d.closed;
  });
});
