// SIGTERM with a big SQLite WAL behind it (issue 12): the exit does not wait to copy it, and nothing is lost.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { WAL_SIZE_LIMIT } from '../../src/config/limits.js';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { inboxOf } from '../helpers/mailbox.js';

let server: MailroomInstance | undefined;
after(async () => server?.cleanup());

const MESSAGES = 5;

test('SIGTERM after a WAL grew past its limit exits in well under 10 s; the mail is intact after restart', async (t) => {
  server = await createMailroom();
  const instance = server;
  instance.cli(['domain', 'add', 'example.test']);
  instance.cli(['user', 'add', 'bob@example.test', '--password', 'bob-password']);
  await instance.start();
  const dbPath = join(instance.dataDir, 'mailroom.db');

  // What a long run leaves when checkpoints cannot keep up: a reader's snapshot stops the server's
  // background checkpointer from copying anything written after it, so the WAL only grows. The bulk
  // is written here (a scratch table, dropped again) to keep the test to a few seconds; the mail
  // that must survive comes through SMTP into the same unchecked WAL.
  const reader = new Database(dbPath, { readonly: true });
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM messages').get();
  const writer = new Database(dbPath, { timeout: 5000 });
  writer.pragma('wal_autocheckpoint = 0');
  const chunk = Buffer.alloc(256 * 1024, 7);
  writer.exec('CREATE TABLE test_ballast (b BLOB)');
  const insert = writer.prepare('INSERT INTO test_ballast VALUES (?)');
  writer.transaction(() => {
    for (let written = 0; written <= WAL_SIZE_LIMIT + 8 * 1024 * 1024; written += chunk.length)
      insert.run(chunk);
  })();
  writer.exec('DROP TABLE test_ballast');
  writer.close();

  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: instance.ports.smtp,
    name: 'wal.example.net',
    ignoreTLS: true,
  });
  for (let i = 0; i < MESSAGES; i++) {
    await transport.sendMail({
      from: 'load@remote.example',
      to: 'bob@example.test',
      subject: `wal ${i}`,
      text: `message ${i}\n`.repeat(50),
    });
  }
  transport.close();
  const walPath = `${dbPath}-wal`;
  const walBefore = statSync(walPath).size;
  assert.ok(walBefore > WAL_SIZE_LIMIT, `the WAL grew past the limit (${walBefore} bytes)`);
  reader.exec('COMMIT');
  reader.close();

  const t0 = performance.now();
  const code = await instance.kill('SIGTERM');
  const exitMs = performance.now() - t0;
  t.diagnostic(
    `exit after SIGTERM: ${Math.round(exitMs)} ms with a ${(walBefore / 1048576).toFixed(1)} MiB WAL`,
  );
  assert.equal(code, 0);
  assert.ok(exitMs < 10_000, `exited in ${Math.round(exitMs)} ms`);
  // The exit did not copy the WAL into the database (that is what made it slow): it is still there,
  // and the shutdown said so.
  assert.ok(
    existsSync(walPath) && statSync(walPath).size > WAL_SIZE_LIMIT,
    'the WAL is left for the next start',
  );
  const closed = instance.output.find((l) => l.includes('"event":"store-closed"'));
  assert.ok(closed, instance.output.join('\n'));
  assert.ok((JSON.parse(closed) as { walLeftBytes: number }).walLeftBytes > WAL_SIZE_LIMIT);

  // Restart: everything acknowledged is there; the background checkpointer then brings the WAL back down.
  const t1 = performance.now();
  await instance.start();
  t.diagnostic(`restart with the WAL left: ${Math.round(performance.now() - t1)} ms to ready`);
  // Once the background checkpointer has copied the WAL, the server's next write starts it over and cuts
  // the file back to the limit (journal_size_limit): one more message until then.
  let sent = MESSAGES;
  const again = nodemailer.createTransport({ host: '127.0.0.1', port: instance.ports.smtp, ignoreTLS: true });
  const deadline = Date.now() + 10_000;
  while (statSync(walPath).size > WAL_SIZE_LIMIT && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 300));
    await again.sendMail({
      from: 'load@remote.example',
      to: 'bob@example.test',
      subject: `wal ${sent}`,
      text: 'x\n',
    });
    sent++;
  }
  again.close();
  assert.ok(statSync(walPath).size <= WAL_SIZE_LIMIT, 'checkpointed after the restart');
  assert.equal(await instance.kill('SIGTERM'), 0);
  const inbox = await inboxOf(instance, 'bob@example.test');
  assert.equal(inbox.length, sent);
  for (let i = 0; i < sent; i++) assert.match(inbox[i] as string, new RegExp(`Subject: wal ${i}\\r?\\n`));
  const check = new Database(dbPath, { readonly: true });
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  check.close();
});
