// SMTP session: pipelined input cannot make more than SMTP_REPLY_BACKLOG_BYTES of replies at once (issue 8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SESSION_ERROR_LIMIT, SMTP_REPLY_BACKLOG_BYTES } from '../../../src/config/limits.js';
import { SmtpSession } from '../../../src/smtp/server/session.js';
import { fakeServices, testPeer, testPolicy } from '../../helpers/smtp-fakes.js';

function open(): SmtpSession {
  const session = new SmtpSession({ policy: testPolicy(), services: fakeServices(), peer: testPeer() });
  session.greet();
  return session;
}

test('64 KiB of pipelined HELOs: replies come in bounded batches, none is lost, order is kept', async () => {
  const session = open();
  // HELO, not NOOP: 100 NOOPs end the session (SMTP_JUNK_COMMAND_LIMIT), and this is about batching.
  const lines = 4_200;
  let input: Buffer | undefined = Buffer.from('HELO c.example\r\n'.repeat(lines));
  let replies = 0;
  let batches = 0;
  while (input) {
    const out = await session.feed(input);
    // Before the fix one feed answered all of them at once, for a client that may never read.
    assert.ok(out.replies.length < SMTP_REPLY_BACKLOG_BYTES + 512, `batch of ${out.replies.length} bytes`);
    replies += out.replies.split('\r\n').filter((l) => l !== '').length;
    batches++;
    input = out.rest;
  }
  assert.equal(replies, lines);
  assert.ok(batches > 1);
  // The session is still in sync: the next command is answered normally.
  const ehlo = await session.feed(Buffer.from('EHLO client.example\r\n'));
  assert.match(ehlo.replies, /^250[- ]/);
});

test('an ordinary pipeline (EHLO, MAIL, 100 RCPT, DATA) is answered in one batch', async () => {
  const session = open();
  await session.feed(Buffer.from('EHLO client.example\r\n'));
  const rcpts = Array.from({ length: 100 }, (_, i) => `RCPT TO:<u${i}@example.test>\r\n`).join('');
  const out = await session.feed(Buffer.from(`MAIL FROM:<a@remote.example>\r\n${rcpts}DATA\r\n`));
  assert.equal(out.rest, undefined);
  // MAIL, 100 RCPT (unknown users get 550: the longest reply an honest pipeline gets) and DATA.
  assert.equal(out.replies.split('\r\n').filter((l) => l !== '').length, 102);
});

test('junk lines: each gets its error, and at the limit 421 4.7.0 and close (Postfix smtpd_hard_error_limit)', async () => {
  const session = open();
  const almost = await session.feed(Buffer.from('\r\n'.repeat(SESSION_ERROR_LIMIT - 1)));
  assert.equal(almost.action, undefined);
  assert.match((await session.feed(Buffer.from('NOOP\r\n'))).replies, /^250 /);
  // Before the fix 32,768 empty lines got 32,768 replies (917 KB), and the session went on.
  const out = await session.feed(Buffer.from('\r\n'.repeat(32 * 1024)));
  assert.equal(out.action, 'close');
  const lines = out.replies.split('\r\n').filter((l) => l !== '');
  assert.equal(lines.length, 2);
  assert.match(lines[1] ?? '', /^421 .*too many errors/);
});
