// MX abuse defence over the real services: greylisting at RCPT (SQLite, fake clock) and the early-talker pause over sockets.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSmtpServices } from '../../src/server/serve.js';
import { SmtpSession } from '../../src/smtp/server/session.js';
import { serveSmtpConnection } from '../../src/smtp/server/connection.js';
import { DEFAULT_GREYLIST_SETTINGS } from '../../src/abuse/greylist.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import { SCRYPT_PARAMS } from '../../src/config/limits.js';
import { silentLogger } from '../../src/observability/logger.js';
import { fakeServices, testPeer, testPolicy } from '../helpers/smtp-fakes.js';
import type { SmtpPeer, SmtpPolicy } from '../../src/smtp/server/services.js';

const MIN = 60_000;
const dirs: string[] = [];
const servers: net.Server[] = [];
after(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  servers.forEach((s) => s.close());
});

function openStore(): SqliteStore {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailroom-mxabuse-'));
  dirs.push(dataDir);
  const store = openSqliteStore({ dataDir });
  store.addDomain('example.test');
  store.addAccount('alice@example.test', 'x');
  return store;
}

describe('greylisting at RCPT (issue 10 item 3)', () => {
  const clock = { now: Date.UTC(2026, 11, 5, 12) };
  const store = openStore();
  after(() => store.close());
  const services = createSmtpServices({
    store,
    hostname: 'mx.example.test',
    now: () => new Date(clock.now),
    greylist: { ...DEFAULT_GREYLIST_SETTINGS, delayMs: 5 * MIN },
  });
  const open = (peer: Partial<SmtpPeer> = {}, policy: Partial<SmtpPolicy> = {}) => {
    const s = new SmtpSession({
      policy: testPolicy({ hostname: 'mx.example.test', ...policy }),
      services,
      peer: testPeer(peer),
    });
    s.greet();
    return async (text: string) => (await s.feed(Buffer.from(text))).replies.trim().split('\r\n');
  };
  const tx = 'EHLO c.test\r\nMAIL FROM:<s@origin.test>\r\nRCPT TO:<alice@example.test>\r\n';

  test('a stranger gets 451 4.7.1 until greylist_delay has passed, then 250; an unknown user still 550', async () => {
    assert.match((await open()(tx)).at(-1)!, /^451 4\.7\.1 /);
    clock.now += 4 * MIN;
    assert.match((await open()(tx)).at(-1)!, /^451 4\.7\.1 /);
    assert.match(
      (await open()('EHLO c\r\nMAIL FROM:<s@origin.test>\r\nRCPT TO:<nobody@example.test>\r\n')).at(-1)!,
      /^550 5\.1\.1 /,
    );
    clock.now += MIN;
    assert.match((await open()(tx)).at(-1)!, /^250 /);
    // The client network now passes at once, for another sender too.
    const other = 'EHLO c\r\nMAIL FROM:<t@else.test>\r\nRCPT TO:<alice@example.test>\r\n';
    assert.match((await open({ remoteAddress: '192.0.2.200' })(other)).at(-1)!, /^250 /);
  });

  test('never for loopback, nor for an authenticated client', async () => {
    const fresh = 'EHLO c\r\nMAIL FROM:<new@fresh.test>\r\nRCPT TO:<alice@example.test>\r\n';
    assert.match((await open({ remoteAddress: '127.0.0.1', loopback: true })(fresh)).at(-1)!, /^250 /);
    // AUTH needs TLS or loopback; a peer that is secure but not loopback: the TLS case.
    store.setPasswordHash(
      'alice@example.test',
      await hashPassword('pw', { params: { ...SCRYPT_PARAMS, N: 1024 } }),
    );
    const secure = open({ remoteAddress: '203.0.113.9', secure: true });
    await secure('EHLO c\r\n');
    const auth = Buffer.from('\0alice@example.test\0pw').toString('base64');
    assert.match((await secure(`AUTH PLAIN ${auth}\r\n`)).at(-1)!, /^235 /);
    assert.match(
      (await secure('MAIL FROM:<new@fresh.test>\r\nRCPT TO:<alice@example.test>\r\n')).at(-1)!,
      /^250 /,
    );
  });
});

describe('early talkers on the MX (issue 10 item 2)', () => {
  async function start(greetPauseMs: number) {
    const server = net.createServer((socket) =>
      serveSmtpConnection(socket, {
        policy: testPolicy(),
        services: fakeServices(),
        logger: silentLogger(),
        secureContext: null,
        greetPauseMs,
      }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    return (server.address() as net.AddressInfo).port;
  }

  async function talk(port: number, first: string | null) {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const started = performance.now();
    let text = '';
    let firstAt = 0;
    socket.on('data', (d) => {
      if (!firstAt) firstAt = performance.now() - started;
      text += d.toString();
    });
    if (first !== null) socket.write(first);
    return {
      socket,
      get text() {
        return text;
      },
      firstAt: () => firstAt,
      closed: once(socket, 'close'),
    };
  }

  test('a client that sends before the greeting gets 554 5.5.0 and is disconnected, nothing run', async () => {
    const port = await start(300);
    const c = await talk(port, 'EHLO spam.test\r\nMAIL FROM:<x@y.test>\r\n');
    await c.closed;
    assert.match(c.text, /^554 5\.5\.0 mx\.foo\.com Protocol error/);
    assert.doesNotMatch(c.text, /220|250/);
  });

  test('a client that waits gets the 220 after the pause and a normal session', async () => {
    const port = await start(200);
    const c = await talk(port, null);
    while (!c.text.includes('\r\n')) await new Promise((r) => setTimeout(r, 10));
    assert.match(c.text, /^220 /);
    assert.ok(c.firstAt() >= 180, `greeting after ${c.firstAt()} ms`);
    c.socket.write('EHLO ok.test\r\n');
    while (!/250 /.test(c.text)) await new Promise((r) => setTimeout(r, 10));
    c.socket.end('QUIT\r\n');
    await c.closed;
  });
});
