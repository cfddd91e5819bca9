// SIGTERM right after clients hung up in the middle of a command: the commands finish before the store closes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';

let server: MailroomInstance | undefined;
after(async () => server?.cleanup());

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

test('a LOGIN or PASS still hashing when its client hangs up and SIGTERM comes ends before the store closes', async () => {
  server = await createMailroom({ enable: ['imap', 'pop3'] });
  const instance = server;
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
  assert.equal(await instance.kill('SIGTERM'), 0);
  // 'exit' can come before the last of stdout has been read.
  for (let i = 0; i < 100 && !instance.output.some((l) => l.includes('"msg":"stopped"')); i++)
    await new Promise((resolve) => setTimeout(resolve, 20));

  const lines = instance.output.flatMap((chunk) => chunk.split('\n')).filter(Boolean);
  const events = lines.map((line) => {
    try {
      return JSON.parse(line) as { level?: string; event?: string; msg?: string };
    } catch {
      return { msg: line };
    }
  });
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
