// SIGTERM right after clients hung up in the middle of a command: the commands finish before the store closes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';

const servers: MailroomInstance[] = [];
after(async () => {
  for (const server of servers) await server.cleanup();
});

/** Connects, waits for the greeting, sends `lines` and hangs up at once (the server is still working on them). */
async function sendAndHangUp(port: number, lines: string): Promise<void> {
  const socket: Socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve());
    socket.once('error', reject);
  });
  socket.write(lines);
  await new Promise<void>((resolve) => socket.end(resolve));
  socket.destroy();
}

type LogEvent = { level?: string; event?: string; msg?: string; err?: { message?: string } };

/** SIGTERM, then the server's log lines, parsed, once 'stopped' has been read. */
async function stopAndReadLog(instance: MailroomInstance): Promise<LogEvent[]> {
  assert.equal(await instance.kill('SIGTERM'), 0);
  // 'exit' can come before the last of stdout has been read.
  for (let i = 0; i < 100 && !instance.output.some((l) => l.includes('"msg":"stopped"')); i++)
    await new Promise((resolve) => setTimeout(resolve, 20));
  const lines = instance.output.flatMap((chunk) => chunk.split('\n')).filter(Boolean);
  return lines.map((line) => {
    try {
      return JSON.parse(line) as LogEvent;
    } catch {
      return { msg: line };
    }
  });
}

test('a LOGIN or PASS still hashing when its client hangs up and SIGTERM comes ends before the store closes', async () => {
  const instance = await createMailroom({ enable: ['imap', 'pop3'] });
  servers.push(instance);
  instance.cli(['domain', 'add', 'example.test']);
  instance.cli(['user', 'add', 'bob@example.test', '--password', 'bob-password']);
  await instance.start();
  const { imap, pop3 } = instance.ports as { imap: number; pop3: number };

  // Each sign-in is a password hash in the thread pool: still running when the sockets are gone and the
  // signal arrives a moment later.
  await Promise.all([
    ...Array.from({ length: 4 }, () => sendAndHangUp(imap, 'a LOGIN bob@example.test bob-password\r\n')),
    ...Array.from({ length: 4 }, () => sendAndHangUp(pop3, 'USER bob@example.test\r\nPASS bob-password\r\n')),
  ]);
  const events = await stopAndReadLog(instance);
  const bad = events.filter((e) => e.level === 'error' || e.level === 'warn' || e.level === 'fatal');
  assert.deepEqual(bad, [], 'no warning or error at shutdown');
  // Every session ended (its command done) before the store closed.
  const closedAt = events.findIndex((e) => e.event === 'store-closed');
  assert.ok(closedAt > 0, 'the store closed');
  const ends = events.filter((e) => e.event === 'session-end');
  assert.equal(ends.length, 8, 'eight sessions ended');
  const lastEnd = events.map((e) => e.event).lastIndexOf('session-end');
  assert.ok(lastEnd < closedAt, 'every session ended before the store closed');
  // The sign-ins completed (in-flight work ran to its end rather than failing on a closed store).
  assert.ok(
    events.filter((e) => e.msg === 'login' || e.event === 'login').length >= 1,
    'a sign-in completed',
  );
});

/** Sends one whole HTTP request and hangs up at once (the server is still working on it). */
async function requestAndHangUp(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<void> {
  const socket: Socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const head = Object.entries({
    ...headers,
    Host: `127.0.0.1:${port}`,
    'Content-Length': String(Buffer.byteLength(body)),
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(`${method} ${path} HTTP/1.1\r\n${head}\r\n${body}`);
  await new Promise<void>((resolve) => socket.end(resolve));
  socket.destroy();
}

test('HTTP requests still checking a password when their clients hang up and SIGTERM comes end before the store closes', async () => {
  const instance = await createMailroom({ enable: ['http'] });
  servers.push(instance);
  instance.cli(['domain', 'add', 'example.test']);
  instance.cli(['user', 'add', 'bob@example.test', '--password', 'bob-password']);
  await instance.start();
  const port = instance.ports.http!;
  const origin = `http://127.0.0.1:${port}`;
  const basic = `Basic ${Buffer.from('bob@example.test:bob-password').toString('base64')}`;
  const api = JSON.stringify({
    using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
    methodCalls: [['Mailbox/get', { accountId: null, ids: null }, '0']],
  });

  // Each request waits for a password hash in the thread pool, then reads the store: still running
  // when the sockets are gone and the signal arrives.
  await Promise.all([
    ...Array.from({ length: 4 }, () =>
      requestAndHangUp(
        port,
        'POST',
        '/web/signin',
        { 'Content-Type': 'application/json', Origin: origin },
        JSON.stringify({ email: 'bob@example.test', password: 'bob-password' }),
      ),
    ),
    ...Array.from({ length: 4 }, () =>
      requestAndHangUp(
        port,
        'POST',
        '/jmap/api',
        { 'Content-Type': 'application/json', Authorization: basic },
        api,
      ),
    ),
  ]);
  const events = await stopAndReadLog(instance);
  const bad = events.filter((e) => e.level === 'error' || e.level === 'warn' || e.level === 'fatal');
  assert.deepEqual(bad, [], 'no warning or error at shutdown');
  const closedAt = events.findIndex((e) => e.event === 'store-closed');
  assert.ok(closedAt > 0, 'the store closed');
  // The sign-ins ran to their end (a session made) before the store closed.
  const signIns = events.map((e, i) => (e.event === 'web_signin' ? i : -1)).filter((i) => i >= 0);
  assert.equal(signIns.length, 4, 'four web sign-ins completed');
  assert.ok(
    signIns.every((i) => i < closedAt),
    'before the store closed',
  );
});
