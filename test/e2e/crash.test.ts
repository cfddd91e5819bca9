// Nothing lost: clients send while the server is SIGKILLed at a random moment and restarted;
// every message that got its 250 is in the mailbox exactly once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { inboxOf } from '../helpers/mailbox.js';

const MESSAGES = 500;
const CLIENTS = 10;

let server: MailroomInstance | undefined;
after(async () => server?.cleanup());

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`${signal} during 10 parallel senders loses no acknowledged message and doubles none`, () =>
    interruptedLoad(signal));
}

async function interruptedLoad(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  await server?.cleanup();
  server = await createMailroom();
  const instance = server;
  instance.cli(['domain', 'add', 'example.test']);
  instance.cli(['user', 'add', 'bob@example.test', '--password', 'bob-password']);
  await instance.start();

  const killAfter = 50 + Math.floor(Math.random() * 300);
  let acked = 0;
  let killed = false;
  let restarting: Promise<void> | null = null;
  const ackedAttempts: string[] = [];
  let next = 0;

  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: instance.ports.smtp,
    name: 'crash.example.net',
    ignoreTLS: true,
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 10_000,
  });

  async function sendOne(messageNo: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (restarting) await restarting;
      const attemptId = `m${messageNo}-a${attempt}`;
      try {
        await transport.sendMail({
          from: 'load@remote.example',
          to: 'bob@example.test',
          subject: `crash ${attemptId}`,
          headers: { 'X-Attempt': attemptId },
          text: `message ${messageNo} attempt ${attempt}\n`.repeat(20),
        });
        ackedAttempts.push(attemptId);
        acked++;
        if (!killed && acked >= killAfter) {
          killed = true;
          restarting = (async () => {
            const code = await instance.kill(signal);
            // A clean stop (SIGTERM) exits 0 after finishing or abandoning sessions.
            if (signal === 'SIGTERM') assert.equal(code, 0, instance.output.slice(-5).join('\n'));
            await instance.start();
            restarting = null;
          })();
        }
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(attempt < 200, `message ${messageNo} never accepted`);
    }
  }

  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < MESSAGES) await sendOne(next++);
    }),
  );
  if (restarting) await restarting;
  assert.ok(killed, 'the server was killed during the run');

  const inbox = await inboxOf(instance, 'bob@example.test');
  const counts = new Map<string, number>();
  for (const message of inbox) {
    const id = /\r\nX-Attempt: (\S+)/i.exec(message)?.[1];
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const id of ackedAttempts)
    assert.equal(counts.get(id), 1, `acknowledged ${id} stored ${counts.get(id) ?? 0} times`);
  const delivered = new Set([...counts.keys()].map((id) => id.split('-')[0]));
  assert.equal(delivered.size, MESSAGES, 'every message is in the mailbox');
  // Stored but unacknowledged attempts (killed between commit and 250) are the only allowed extras.
  const extras = [...counts.keys()].filter((id) => !ackedAttempts.includes(id));
  assert.ok(extras.length <= CLIENTS, `at most one unacknowledged copy per client: ${extras.length}`);
}
