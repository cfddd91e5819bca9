// Real SMTP clients (nodemailer, Python's smtplib) against `mailroom serve`, checked in the store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import nodemailer from 'nodemailer';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { inboxOf, queueOf } from '../helpers/mailbox.js';

let server: MailroomInstance;

before(async () => {
  server = await createMailroom();
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'alice@example.test', '--password', 'alice-secret']);
  server.cli(['user', 'add', 'bob@example.test', '--password', 'bob-secret']);
  server.cli(['user', 'add', 'carol@example.test', '--password-stdin'], 'carol-secret\n');
  await server.start();
});

after(async () => {
  await server.cleanup();
});

function transport(port: number, options: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    name: 'client.example.net',
    tls: { rejectUnauthorized: false },
    ...options,
  });
}

describe('nodemailer', () => {
  test('MX: anyone may send to a local user; the message lands in INBOX with trace headers', async () => {
    const info = await transport(server.ports.smtp).sendMail({
      from: 'sender@remote.example',
      to: 'bob@example.test',
      subject: 'hello over MX',
      text: 'first line\n.\nline after a lone dot\n',
    });
    assert.deepEqual(info.accepted, ['bob@example.test']);
    const queueId = /queued as (\S+)/i.exec(info.response)?.[1];
    assert.ok(queueId, `no queue id in ${info.response}`);
    const messages = await inboxOf(server, 'bob@example.test');
    const message = messages.find((m) => m.includes('hello over MX'));
    assert.ok(message, 'message not in bob INBOX');
    assert.match(message, /^Return-Path: <sender@remote\.example>\r\n/);
    assert.match(message, /\r\nReceived: from client\.example\.net /);
    assert.ok(message.includes(queueId), 'Received header carries the queue id');
    assert.ok(message.includes('\r\n.\r\nline after a lone dot'), 'dot-stuffing undone');
  });

  test('MX: unknown user gets 550 5.1.1 while the others still get the message', async () => {
    const info = await transport(server.ports.smtp).sendMail({
      from: 'sender@remote.example',
      to: ['alice@example.test', 'nobody@example.test', 'carol@example.test'],
      subject: 'partial recipients',
      text: 'x',
    });
    assert.deepEqual(info.accepted.sort(), ['alice@example.test', 'carol@example.test']);
    assert.deepEqual(info.rejected, ['nobody@example.test']);
    const rejection = (info as { rejectedErrors?: { response?: string }[] }).rejectedErrors?.[0];
    assert.match(rejection?.response ?? '', /^550 5\.1\.1/);
    for (const user of ['alice@example.test', 'carol@example.test']) {
      const inbox = await inboxOf(server, user);
      assert.equal(inbox.filter((m) => m.includes('partial recipients')).length, 1, user);
    }
  });

  test('MX: relaying to a remote domain without authentication is refused with 554 5.7.1', async () => {
    await assert.rejects(
      transport(server.ports.smtp).sendMail({
        from: 'sender@remote.example',
        to: 'someone@elsewhere.example',
        subject: 'relay attempt',
        text: 'x',
      }),
      (error: { responseCode?: number; response?: string }) => {
        assert.equal(error.responseCode, 554);
        assert.match(error.response ?? '', /5\.7\.1/);
        return true;
      },
    );
  });

  test('submission: STARTTLS + AUTH PLAIN, local and remote recipients (remote goes to the queue)', async () => {
    const info = await transport(server.ports.submission, {
      requireTLS: true,
      auth: { user: 'alice@example.test', pass: 'alice-secret', method: 'PLAIN' },
    }).sendMail({
      from: 'alice@example.test',
      to: ['bob@example.test', 'dave@remote.example'],
      subject: 'submitted with TLS',
      text: 'héllo wörld, 8-bit body',
    });
    assert.deepEqual(info.accepted.sort(), ['bob@example.test', 'dave@remote.example']);
    const inbox = await inboxOf(server, 'bob@example.test');
    const message = inbox.find((m) => m.includes('submitted with TLS'));
    assert.ok(message);
    assert.match(message, /with ESMTPSA/);
    const queue = await queueOf(server);
    const entry = queue.find((q) => q.recipients.some((r) => r.address === 'dave@remote.example'));
    assert.ok(entry, 'remote recipient queued');
    assert.equal(entry.sender, 'alice@example.test');
    assert.equal(entry.recipients.length, 1);
  });

  test('submission: MAIL before AUTH is refused with 530', async () => {
    await assert.rejects(
      transport(server.ports.submission, { requireTLS: true }).sendMail({
        from: 'alice@example.test',
        to: 'bob@example.test',
        text: 'x',
      }),
      (error: { responseCode?: number }) => error.responseCode === 530,
    );
  });

  test('submissions: implicit TLS + AUTH LOGIN', async () => {
    const info = await transport(server.ports.submissions, {
      secure: true,
      auth: { user: 'carol@example.test', pass: 'carol-secret', method: 'LOGIN' },
    }).sendMail({ from: 'carol@example.test', to: 'alice@example.test', subject: 'implicit tls', text: 'x' });
    assert.deepEqual(info.accepted, ['alice@example.test']);
    const inbox = await inboxOf(server, 'alice@example.test');
    assert.ok(inbox.some((m) => m.includes('implicit tls')));
  });

  test('submission: a wrong password gets 535 5.7.8', async () => {
    await assert.rejects(
      transport(server.ports.submission, {
        requireTLS: true,
        auth: { user: 'bob@example.test', pass: 'wrong' },
      }).sendMail({ from: 'bob@example.test', to: 'alice@example.test', text: 'x' }),
      (error: { responseCode?: number; response?: string }) => {
        assert.equal(error.responseCode, 535);
        assert.match(error.response ?? '', /5\.7\.8/);
        return true;
      },
    );
  });
});

describe("Python's smtplib", () => {
  function python(script: string): { ok: boolean; out: unknown; stderr: string } {
    const result = spawnSync('python3', ['-c', script], { encoding: 'utf8', timeout: 30_000 });
    const last = result.stdout.trim().split('\n').pop() ?? '';
    let out: unknown = null;
    try {
      out = JSON.parse(last);
    } catch {
      out = result.stdout;
    }
    return { ok: result.status === 0, out, stderr: result.stderr };
  }

  test('STARTTLS, AUTH, SMTPUTF8 and 8BITMIME on submission', async () => {
    const script = `
import smtplib, ssl, json
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', ${server.ports.submission}, local_hostname='py.example.net', timeout=10)
s.ehlo()
features = sorted(s.esmtp_features.keys())
s.starttls(context=ctx)
s.ehlo()
after_tls = sorted(s.esmtp_features.keys())
s.login('alice@example.test', 'alice-secret')
msg = 'From: alice@example.test\\r\\nTo: bob@example.test\\r\\nSubject: =?utf-8?q?caf=C3=A9?=\\r\\n\\r\\nsmtputf8 body: caf\\u00e9 \\u2713\\r\\n'
refused = s.sendmail('alice@example.test', ['bob@example.test'], msg.encode('utf-8'), mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
s.quit()
print(json.dumps({'features': features, 'after_tls': after_tls, 'refused': refused}))
`;
    const result = python(script);
    assert.ok(result.ok, result.stderr);
    const out = result.out as { features: string[]; after_tls: string[]; refused: object };
    for (const ext of [
      'pipelining',
      'size',
      '8bitmime',
      'smtputf8',
      'enhancedstatuscodes',
      'starttls',
      'chunking',
      'dsn',
    ]) {
      assert.ok(out.features.includes(ext), `EHLO lacks ${ext}: ${out.features.join(',')}`);
    }
    assert.ok(!out.after_tls.includes('starttls'), 'STARTTLS is not offered again after TLS');
    assert.ok(out.after_tls.includes('auth'));
    assert.deepEqual(out.refused, {});
    const inbox = await inboxOf(server, 'bob@example.test');
    assert.ok(inbox.some((m) => m.includes('smtputf8 body: café ✓')));
  });

  test('a malformed AUTH PLAIN response gets 501', async () => {
    const script = `
import smtplib, json
s = smtplib.SMTP('127.0.0.1', ${server.ports.smtp}, local_hostname='py.example.net', timeout=10)
s.ehlo()
code, text = s.docmd('AUTH', 'PLAIN !!!notbase64')
s.quit()
print(json.dumps({'code': code, 'text': text.decode()}))
`;
    const result = python(script);
    assert.ok(result.ok, result.stderr);
    const out = result.out as { code: number; text: string };
    assert.equal(out.code, 501);
  });

  test('VRFY never reveals whether a user exists', () => {
    const script = `
import smtplib, json
s = smtplib.SMTP('127.0.0.1', ${server.ports.smtp}, local_hostname='py.example.net', timeout=10)
s.ehlo()
a = s.verify('bob@example.test'); b = s.verify('nobody@example.test')
s.quit()
print(json.dumps({'a': [a[0], a[1].decode()], 'b': [b[0], b[1].decode()]}))
`;
    const result = python(script);
    assert.ok(result.ok, result.stderr);
    const out = result.out as { a: [number, string]; b: [number, string] };
    assert.equal(out.a[0], 252);
    assert.deepEqual(out.a, out.b);
  });
});
