// Wrong passwords over real sockets (startServer, default limits): the delay grows across IMAP, POP3 and SMTP; the owner is never locked out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { RawImap } from '../helpers/imap-raw.js';

let dir: string;
let server: RunningServer;
const logLines: Record<string, unknown>[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-auth-throttle-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      '[smtp]\nlisten = []',
      '[submission]\nlisten = ["127.0.0.1:0"]',
      '[submissions]\nlisten = []',
      '[pop3]\nlisten = ["127.0.0.1:0"]',
      '[pop3s]\nlisten = []',
      '[imap]\nlisten = ["127.0.0.1:0"]',
      '[imaps]\nlisten = []',
      '[http]\nlisten = []',
      '[https]\nlisten = []',
      '[metrics]\nlisten = []',
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  const logger = createLogger({
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n'))
          if (l) logLines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
  });
  server = await startServer({ config, logger, shutdownGraceMs: 200 });
  server.store.addDomain('example.test');
  server.store.addAccount('owner@example.test', await hashPassword('right password'));
});

after(async () => {
  await server.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** A line-at-a-time POP3/SMTP client: sends a line, reads one reply line (SMTP: up to the last line). */
async function lineClient(port: number): Promise<{ send(line: string): Promise<string>; close(): void }> {
  const socket: Socket = connect(port, '127.0.0.1');
  let buffer = '';
  let wake: (() => void) | null = null;
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('latin1');
    wake?.();
  });
  const read = async (): Promise<string> => {
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*(?:\d{3} |[+-])[^\r\n]*\r\n/.exec(buffer);
      if (m) {
        buffer = buffer.slice(m[0].length);
        return m[0];
      }
      await new Promise<void>((done) => (wake = done));
    }
  };
  await read(); // greeting
  return {
    async send(line) {
      socket.write(line + '\r\n');
      return read();
    },
    close: () => socket.destroy(),
  };
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

describe('auth throttling over real sockets (issue 8, findings 4 and 5)', () => {
  test('each wrong password waits about a second longer than the one before, across IMAP, POP3 and SMTP', async () => {
    const imap = await RawImap.open(server.addresses.imap![0]!.port);
    const [first, t1] = await timed(() => imap.command('LOGIN owner@example.test wrong1', 10_000));
    const [second, t2] = await timed(() => imap.command('LOGIN owner@example.test wrong2', 10_000));
    assert.match(first.tagged, /NO \[AUTHENTICATIONFAILED\]/);
    assert.match(second.tagged, /NO \[AUTHENTICATIONFAILED\]/);
    imap.close();
    // The same limiter counts the POP3 attempt from the same IP: a third failure waits ~2 s.
    const pop3 = await lineClient(server.addresses.pop3![0]!.port);
    await pop3.send('USER owner@example.test');
    const [third, t3] = await timed(() => pop3.send('PASS wrong3'));
    assert.match(third, /^-ERR/);
    pop3.close();
    // ... and the SMTP one: ~3 s.
    const smtp = await lineClient(server.addresses.submission![0]!.port);
    await smtp.send('EHLO client.test');
    const token = Buffer.from('\0owner@example.test\0wrong4').toString('base64');
    const [fourth, t4] = await timed(() => smtp.send(`AUTH PLAIN ${token}`));
    assert.match(fourth, /^535 /);
    smtp.close();
    // Lower bounds are the policy; the upper ones only catch a runaway delay, with room for a busy
    // 2-core machine running the parallel suite (a production scrypt check can take most of a second).
    assert.ok(t1 < 2500, `first failure answered at once (${t1} ms)`);
    assert.ok(t2 >= 950 && t2 < 3500, `second after ~1 s (${t2} ms)`);
    assert.ok(t3 >= 1950 && t3 < 4500, `third after ~2 s (${t3} ms)`);
    assert.ok(t4 >= 2950 && t4 < 5500, `fourth after ~3 s (${t4} ms)`);
    const events = logLines
      .filter((l) => typeof l.event === 'string' && (l.event as string).startsWith('auth_'))
      .map((l) => `${l.event as string} ${l.protocol as string} ${l.ip as string} ${l.account as string}`);
    assert.deepEqual(events, [
      'auth_failed imap 127.0.0.1 owner@example.test',
      'auth_throttled imap 127.0.0.1 owner@example.test',
      'auth_failed imap 127.0.0.1 owner@example.test',
      'auth_throttled pop3 127.0.0.1 owner@example.test',
      'auth_failed pop3 127.0.0.1 owner@example.test',
      'auth_throttled smtp 127.0.0.1 owner@example.test',
      'auth_failed smtp 127.0.0.1 owner@example.test',
    ]);
  });

  test('ten parallel IMAP LOGINs with wrong passwords from one IP: checked one at a time, a second apart and more', async () => {
    const port = server.addresses.imap![0]!.port;
    const clients = await Promise.all(Array.from({ length: 10 }, () => RawImap.open(port)));
    const start = performance.now();
    let answered = 0;
    const replies = clients.map((c, i) =>
      c.command(`LOGIN someone@example.test guess${i}`, 60_000).then((r) => {
        answered++;
        return r;
      }),
    );
    await new Promise((done) => setTimeout(done, 2_500));
    // Each answer needs a check (or the wait cap, 30 s): with the IP's failures above, at most 2 in
    // 2.5 s, where every one of them was checked at once before.
    assert.ok(answered <= 2, `${answered} answers within ${Math.round(performance.now() - start)} ms`);
    for (const c of clients) c.close();
    await Promise.allSettled(replies);
  });
});
