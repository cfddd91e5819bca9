// IMAP over a socket before login (issue 8): no literal invited for a refused command, tight input limits, BYE on overflow.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startImapServer } from '../helpers/imap-server.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import { MAX_PASSWORD_BYTES, SESSION_ERROR_LIMIT } from '../../src/config/limits.js';
import { serveImapConnection } from '../../src/imap/connection.js';
import { MailboxIndexCache } from '../../src/imap/mailbox-index-cache.js';
import { silentLogger } from '../../src/observability/logger.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { RawImap } from '../helpers/imap-raw.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const LONG_PASSWORD = 'p'.repeat(MAX_PASSWORD_BYTES);

let testStore: SqliteStore;

async function setup(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-imap-prelogin-'));
  const store = openSqliteStore({ dataDir: dir });
  testStore = store;
  store.addDomain('example.test');
  store.addAccount('bob@example.test', await hashPassword('secret', { params: PARAMS }));
  store.addAccount('long@example.test', await hashPassword(LONG_PASSWORD, { params: PARAMS }));
  const server = await startImapServer(store);
  after(async () => {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return server.port;
}

const port = await setup();

test('APPEND before login is refused before any "+"; after login the same APPEND is invited', async () => {
  const c = await RawImap.open(port);
  try {
    // Before the fix: "+ Ready for literal data", then the 900 KB were read, then BAD.
    c.write('A1 APPEND INBOX {900000}\r\n');
    const refused = await c.until('A1');
    assert.deepEqual(refused.lines, [], 'no continuation request');
    assert.match(refused.tagged, /^A1 BAD APPEND is not allowed before login/);
    assert.equal((await c.command('LOGIN bob@example.test secret')).status, 'OK');
    c.write('A2 APPEND INBOX {5}\r\n');
    assert.match(await c.line(), /^\+ /);
    c.write('hello\r\n');
    assert.equal((await c.until('A2')).status, 'OK');
    // After login too: a literal of an unknown command is not invited.
    c.write('A3 XYZZY {5}\r\n');
    const unknown = await c.until('A3');
    assert.deepEqual(unknown.lines, []);
    assert.match(unknown.tagged, /^A3 BAD Unknown command/);
  } finally {
    c.close();
  }
});

test('a refused non-synchronising literal within the cap is dropped and the session goes on', async () => {
  const c = await RawImap.open(port);
  try {
    c.write(`A1 APPEND INBOX {200+}\r\n${'x'.repeat(200)}\r\n`);
    assert.match((await c.until('A1')).tagged, /^A1 BAD APPEND is not allowed before login/);
    assert.equal((await c.command('NOOP')).status, 'OK');
  } finally {
    c.close();
  }
});

test('the probe: LOGIN {64000+} with its data gets * BYE and the connection is closed', async () => {
  const c = await RawImap.open(port);
  c.write('a LOGIN {64000+}\r\n');
  c.write(Buffer.alloc(64_000, 0x41));
  assert.match(await c.line(), /^\* BYE Literal too large/);
  await new Promise<void>((done) => (c.closed ? done() : c.socket.once('close', () => done())));
});

test('LOGIN with a password literal as long as passwords may be still works', async () => {
  const c = await RawImap.open(port);
  try {
    c.write(`A1 LOGIN long@example.test {${LONG_PASSWORD.length}}\r\n`);
    assert.match(await c.line(), /^\+ /);
    c.write(`${LONG_PASSWORD}\r\n`);
    assert.equal((await c.until('A1')).status, 'OK');
  } finally {
    c.close();
  }
});

/** A socket stand-in whose peer never reads: whatever the server writes stays in writableLength. */
class NeverReadingPeer extends Duplex {
  remoteAddress = '127.0.0.1';
  constructor() {
    super({ writableHighWaterMark: 16 * 1024 });
  }
  override _read(): void {}
  override _write(_chunk: Buffer, _enc: BufferEncoding, _done: (err?: Error | null) => void): void {
    // Never completes: the peer does not read.
  }
  setNoDelay(): this {
    return this;
  }
}

test('a client pipelining junk without reading its responses cannot pile them up in the server', async () => {
  const peer = new NeverReadingPeer();
  serveImapConnection(peer as unknown as Socket, {
    services: {
      store: testStore,
      authenticate: async () => ({ kind: 'ok', account: 'bob@example.test' }),
      now: () => new Date(),
      indexCache: new MailboxIndexCache(testStore.mail),
    },
    policy: {
      hostname: 'mx.example.test',
      tlsAvailable: false,
      allowLoopbackPlaintext: true,
      maxAppendSize: 1 << 20,
    },
    logger: silentLogger(),
    secureContext: null,
  });
  // After login (before it, 20 invalid commands end the session): 64 KiB of 3-byte junk lines, each
  // answered with a BAD ten times its size (about 900 KB in all).
  peer.push(Buffer.from('a LOGIN bob@example.test secret\r\n' + 'x\r\n'.repeat(21_000)));
  await new Promise((r) => setTimeout(r, 200));
  // Before the fix every response was written at once, whether or not the client read any.
  assert.ok(peer.writableLength < 64 * 1024, `the server holds ${peer.writableLength} bytes of responses`);
  peer.destroy();
});

test('before login, 20 invalid commands end the session with * BYE; after login they do not', async () => {
  const c = await RawImap.open(port);
  try {
    for (let i = 0; i < SESSION_ERROR_LIMIT - 1; i++) assert.equal((await c.command('XYZZY')).status, 'BAD');
    assert.equal((await c.command('LOGIN bob@example.test secret')).status, 'OK');
    for (let i = 0; i < SESSION_ERROR_LIMIT + 5; i++) assert.equal((await c.command('XYZZY')).status, 'BAD');
    assert.equal((await c.command('NOOP')).status, 'OK');
  } finally {
    c.close();
  }
  const d = await RawImap.open(port);
  // Before the fix all 10,000 junk lines were parsed and answered.
  d.write('x\r\n'.repeat(10_000));
  const lines: string[] = [];
  for (;;) {
    const line = await d.line();
    lines.push(line);
    if (line.startsWith('* BYE')) break;
  }
  assert.equal(lines.length, SESSION_ERROR_LIMIT + 1);
  assert.equal(lines.at(-1), '* BYE Too many invalid commands');
  await new Promise<void>((done) => (d.closed ? done() : d.socket.once('close', () => done())));
});

test('after * BYE what the client still sends is dropped, not held by a paused socket', async () => {
  const peer = new NeverReadingPeer();
  serveImapConnection(peer as unknown as Socket, {
    services: {
      store: testStore,
      authenticate: async () => ({ kind: 'failed' }),
      now: () => new Date(),
      indexCache: new MailboxIndexCache(testStore.mail),
    },
    policy: {
      hostname: 'mx.example.test',
      tlsAvailable: false,
      allowLoopbackPlaintext: true,
      maxAppendSize: 1 << 20,
    },
    logger: silentLogger(),
    secureContext: null,
  });
  peer.push(Buffer.concat([Buffer.from('a LOGIN {64000+}\r\n'), Buffer.alloc(64_000, 0x41)]));
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 4; i++) peer.push(Buffer.alloc(64_000, 0x41));
  await new Promise((r) => setTimeout(r, 50));
  // Before the fix the socket stayed paused for its last 5 s, holding all of it (per connection).
  assert.equal(peer.readableLength, 0);
  peer.destroy();
});
