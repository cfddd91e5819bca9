// Submission extras against `mailroom serve` with nodemailer: Message-ID/Date added when missing (RFC 6409 8.2/8.3), sender ownership (553 5.7.1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { inboxOf } from '../helpers/mailbox.js';

let mr: MailroomInstance;

before(async () => {
  mr = await createMailroom({ hostname: 'mail.example.test' });
  mr.cli(['domain', 'add', 'example.test']);
  mr.cli(['user', 'add', 'alice@example.test', '--password', 'alice-pw']);
  mr.cli(['user', 'add', 'bob@example.test', '--password', 'bob-password']);
  mr.cli(['alias', 'add', 'team@example.test', 'alice@example.test,bob@example.test']);
  await mr.start();
});
after(async () => {
  await mr.cleanup();
});

function transport(port: number, options: { secure?: boolean; auth?: boolean } = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: options.secure ?? false,
    tls: { rejectUnauthorized: false },
    ...(options.auth === false ? {} : { auth: { user: 'alice@example.test', pass: 'alice-pw' } }),
  });
}

const headerOf = (message: string) => message.slice(0, message.indexOf('\r\n\r\n') + 2);
const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

describe('submission extras', () => {
  test('submission (STARTTLS): a raw message without Message-ID and Date gets both, once, with our hostname', async () => {
    const t = transport(mr.ports.submission);
    const info = await t.sendMail({
      envelope: { from: 'alice@example.test', to: ['bob@example.test'] },
      raw: 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bare\r\n\r\nDate: only in the body\r\n',
    });
    t.close();
    const queueId = /queued as (\S+)/.exec(info.response)?.[1] ?? '';
    const stored = (await inboxOf(mr, 'bob@example.test')).at(-1) ?? '';
    const head = headerOf(stored);
    assert.equal(count(head, /^Message-ID:/gim), 1);
    assert.equal(count(head, /^Date:/gim), 1);
    assert.match(head, new RegExp(`^Message-ID: <${queueId}@mail\\.example\\.test>\\r$`, 'm'));
    assert.match(head, /^Date: [A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000\r$/m);
    assert.ok(stored.endsWith('\r\n\r\nDate: only in the body\r\n'), 'the body is untouched');
  });

  test('submissions (implicit TLS): present fields are kept, nothing added', async () => {
    const t = transport(mr.ports.submissions, { secure: true });
    await t.sendMail({
      envelope: { from: 'alice+news@example.test', to: ['bob@example.test'] },
      raw: 'Message-ID: <mine@alice>\r\nDATE: Mon, 23 Nov 2026 10:00:00 +0000\r\nSubject: full\r\n\r\nhi\r\n',
    });
    t.close();
    const head = headerOf((await inboxOf(mr, 'bob@example.test')).at(-1) ?? '');
    assert.equal(count(head, /^Message-ID:/gim), 1);
    assert.equal(count(head, /^Date:/gim), 1);
    assert.match(head, /^Message-ID: <mine@alice>\r$/m);
  });

  test('MX port: a message without them is stored as sent', async () => {
    const t = transport(mr.ports.smtp, { auth: false });
    await t.sendMail({
      envelope: { from: 'someone@elsewhere.test', to: ['bob@example.test'] },
      raw: 'Subject: from outside\r\n\r\nhi\r\n',
    });
    t.close();
    const head = headerOf((await inboxOf(mr, 'bob@example.test')).at(-1) ?? '');
    assert.equal(count(head, /^(Message-ID|Date):/gim), 0);
  });

  test('envelope sender: own, +tag and an alias including the user pass; others and <> get 553 5.7.1', async () => {
    const t = transport(mr.ports.submission);
    const raw = 'Subject: s\r\n\r\nx\r\n';
    for (const from of ['alice@example.test', 'ALICE+x@Example.Test', 'team@example.test']) {
      const info = await t.sendMail({ envelope: { from, to: ['bob@example.test'] }, raw });
      assert.match(info.response, /^250 /, from);
    }
    for (const from of ['bob@example.test', 'alice@elsewhere.test', '']) {
      await assert.rejects(
        t.sendMail({ envelope: { from, to: ['bob@example.test'] }, raw }),
        (error: Error & { response?: string }) => /^553 5\.7\.1 /.test(error.response ?? ''),
        from || '<>',
      );
    }
    t.close();
  });
});
