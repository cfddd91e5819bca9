// serve.ts: sortable queue ids (exact with injected clock/randomness) and an in-process server started and stopped.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createQueueIdGenerator, startServer } from '../../../src/server/serve.js';
import { pooledRandomBytes, RANDOM_POOL_BYTES } from '../../../src/queue/queue-id.js';

describe('createQueueIdGenerator', () => {
  test('time prefix, then randomness; strictly increasing within one millisecond and across a clock step back', () => {
    let t = 1_700_000_000_000;
    const next = createQueueIdGenerator(
      () => t,
      () => Buffer.alloc(7, 0),
    );
    const a = next();
    const b = next();
    t -= 5000; // the clock steps back
    const c = next();
    t += 10_000;
    const d = next();
    assert.match(a, /^[0-9A-HJKMNP-TV-Z]{20}$/);
    assert.equal(a, '01HF7YAT000000000000'); // 1.7e12 ms in Crockford base32 (as in ULID), then zero randomness
    assert.equal(b, a.slice(0, 10) + '0000000001');
    assert.equal(c, a.slice(0, 10) + '0000000002');
    assert.ok(a < b && b < c && c < d, [a, b, c, d].join(' '));
  });

  test('the same ids as the BigInt reference (ULID-style base32 of 50-bit time and randomness)', () => {
    const reference = (time: number, bytes: Buffer): string => {
      const b32 = (v: bigint): string => {
        let out = '';
        for (let i = 0; i < 10; i++, v >>= 5n)
          out = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[Number(v & 31n)]! + out;
        return out;
      };
      return b32(BigInt(time)) + b32(BigInt(`0x${bytes.toString('hex')}`) & ((1n << 50n) - 1n));
    };
    for (let i = 0; i < 200; i++) {
      const time = Math.floor(Math.random() * 2 ** 45) + (i === 0 ? 0 : 1);
      const bytes = i === 1 ? Buffer.alloc(7, 0xff) : randomBytes(7);
      const next = createQueueIdGenerator(
        () => time,
        () => bytes,
      );
      assert.equal(next(), reference(time, bytes));
    }
  });

  test('randomness is drawn from the system a pool at a time, each byte handed out once', () => {
    const drawn: Buffer[] = [];
    const source = (n: number): Buffer => {
      const b = randomBytes(n);
      drawn.push(Buffer.from(b));
      return b;
    };
    let t = 0;
    const next = createQueueIdGenerator(() => ++t, pooledRandomBytes(source));
    const ids = Array.from({ length: 1_000 }, () => next());
    // 7 bytes per id at a new millisecond: 1,000 ids take 7,000 bytes, i.e. 7 pools of 1,022, not 1,000 calls.
    assert.equal(drawn.length, Math.ceil(1_000 / Math.floor(RANDOM_POOL_BYTES / 7)));
    assert.equal(new Set(ids).size, 1_000);
    // Each id's random part comes from its own 7 bytes of the pool, in order.
    const take = pooledRandomBytes(() => Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 10);
    assert.deepEqual([...take(4)], [1, 2, 3, 4]);
    assert.deepEqual([...take(4)], [5, 6, 7, 8]);
    assert.deepEqual([...take(4)], [1, 2, 3, 4], 'a new pool once the rest is too short');
  });

  test('real randomness: unique over many ids in one millisecond', () => {
    const next = createQueueIdGenerator(() => 0);
    const ids = new Set(Array.from({ length: 10_000 }, () => next()));
    assert.equal(ids.size, 10_000);
  });
});

describe('startServer', () => {
  test('binds the SMTP roles, POP3 and IMAP on port 0, greets, refuses past the per-IP limit, shuts down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-serve-'));
    try {
      const config = parseConfigText(
        [
          'hostname = "mx.test"',
          `data_dir = "${dir}"`,
          '[smtp]\nlisten = ["127.0.0.1:0"]',
          '[submission]\nlisten = ["127.0.0.1:0"]',
          '[submissions]\nlisten = []',
          '[pop3]\nlisten = ["127.0.0.1:0"]',
          '[pop3s]\nlisten = []',
          '[imap]\nlisten = ["127.0.0.1:0"]',
          '[imaps]\nlisten = []',
          '[http]\nlisten = []',
          '[https]\nlisten = []',
          '[metrics]\nlisten = []',
          '[limits]\nmax_connections_per_ip = 1',
        ].join('\n'),
        { configPath: null, baseDir: dir, defaultHostname: 'x' },
      );
      const server = await startServer({ config, logger: silentLogger(), shutdownGraceMs: 200 });
      assert.equal(server.addresses.submissions, undefined);
      const pop3 = connect(server.addresses.pop3![0]!.port, '127.0.0.1');
      const pop3Greeting = await new Promise<string>((done) => pop3.once('data', (d) => done(d.toString())));
      assert.match(pop3Greeting, /^\+OK mx\.test Mailroom POP3 server ready\r\n$/);
      /** What a connection past the per-IP limit is told before it is closed. */
      const refusalAt = (p: number) =>
        new Promise<string>((done) => {
          const extra = connect(p, '127.0.0.1');
          let text = '';
          extra.on('data', (d) => (text += d.toString()));
          extra.on('close', () => done(text));
        });
      // RFC 3206 4: [SYS/TEMP] tells a POP3 client to try again later.
      assert.equal(
        await refusalAt(server.addresses.pop3![0]!.port),
        '-ERR [SYS/TEMP] Too many connections, try later\r\n',
      );
      pop3.destroy();
      const imap = connect(server.addresses.imap![0]!.port, '127.0.0.1');
      const imapGreeting = await new Promise<string>((done) => imap.once('data', (d) => done(d.toString())));
      assert.match(imapGreeting, /^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 /);
      // RFC 9051 7.1.5: BYE with [UNAVAILABLE] on a refused connection.
      assert.equal(
        await refusalAt(server.addresses.imap![0]!.port),
        '* BYE [UNAVAILABLE] Too many connections, try later\r\n',
      );
      imap.destroy();
      const port = server.addresses.smtp![0]!.port;
      const first = connect(port, '127.0.0.1');
      const greeting = await new Promise<string>((done) => first.once('data', (d) => done(d.toString())));
      assert.match(greeting, /^220 mx\.test /);
      const second = connect(port, '127.0.0.1');
      const refusal = await new Promise<string>((done) => {
        let text = '';
        second.on('data', (d) => (text += d.toString()));
        second.on('close', () => done(text));
      });
      assert.equal(refusal, '421 4.7.0 mx.test Too many connections, try later\r\n');
      first.write('EHLO client.test\r\n');
      await new Promise<void>((done) => {
        let ehlo = '';
        const onData = (d: Buffer) => {
          ehlo += d.toString();
          if (/^250 /m.test(ehlo)) {
            first.off('data', onData);
            done();
          }
        };
        first.on('data', onData);
      });
      let last = '';
      first.on('data', (d) => (last += d.toString()));
      const closed = new Promise((done) => first.once('close', done));
      first.on('error', () => undefined);
      await server.shutdown();
      await closed;
      // RFC 5321 3.8: an open session is told the service is going away, not just cut off.
      assert.equal(last, '421 4.3.2 mx.test service shutting down, try again later\r\n');
      await server.shutdown(); // idempotent
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('[limits] command_line_timeout reaches every listener: a trickled line is cut on SMTP, submission, POP3, IMAP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-serve-'));
    try {
      const config = parseConfigText(
        [
          'hostname = "mx.test"',
          `data_dir = "${dir}"`,
          ...['smtp', 'submission', 'pop3', 'imap'].map((l) => `[${l}]\nlisten = ["127.0.0.1:0"]`),
          ...['submissions', 'pop3s', 'imaps', 'http', 'https', 'metrics'].map((l) => `[${l}]\nlisten = []`),
          '[limits]\ncommand_line_timeout = "1s"',
        ].join('\n'),
        { configPath: null, baseDir: dir, defaultHostname: 'x' },
      );
      const server = await startServer({ config, logger: silentLogger(), shutdownGraceMs: 200 });
      after(() => server.shutdown()); // also when an assertion fails: a listening server keeps the run alive
      /** Connects, then sends one byte of a never-ending line every 100 ms; resolves with what was said. */
      const trickle = (port: number) =>
        new Promise<{ text: string; ms: number }>((done) => {
          const socket = connect(port, '127.0.0.1');
          const start = Date.now();
          let text = '';
          socket.on('data', (d) => (text += d.toString()));
          socket.on('error', () => undefined);
          const timer = setInterval(() => socket.write('x'), 100);
          // Bounded: the default idle timers (minutes) would keep it; 4 s means the deadline did not work.
          const giveUp = setTimeout(() => socket.destroy(), 4_000);
          socket.on('close', () => {
            clearInterval(timer);
            clearTimeout(giveUp);
            done({ text, ms: Date.now() - start });
          });
        });
      const [smtp, submission, pop3, imap] = await Promise.all(
        (['smtp', 'submission', 'pop3', 'imap'] as const).map((l) => trickle(server.addresses[l]![0]!.port)),
      );
      assert.match(
        smtp!.text,
        /\r\n421 mx\.test Error: timeout exceeded \(command line not completed in time\)/,
      );
      assert.match(submission!.text, /\r\n421 mx\.test Error: timeout exceeded/);
      assert.match(pop3!.text, /\r\n-ERR Timeout: command line not completed in time/);
      assert.match(imap!.text, /\r\n\* BYE Timeout: command line not completed in time/);
      for (const r of [smtp, submission, pop3, imap]) assert.ok(r!.ms < 3_000, `kept ${r!.ms} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
