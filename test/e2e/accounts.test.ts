// Accounts as an admin runs them (issue 11): `user disable` from another process ends the user's IMAP, POP3, SMTP and
// EventSource sessions within seconds while mail still arrives; remove --keep-mail; a loop made by a removal answers 554 5.4.6.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { RawImap } from '../helpers/imap-raw.js';

let server: MailroomInstance;

before(async () => {
  server = await createMailroom({ enable: ['imap', 'pop3', 'http'] });
  server.cli(['domain', 'add', 'example.test']);
  for (const user of ['alice', 'bob', 'carol', 'dave'])
    server.cli(['user', 'add', `${user}@example.test`, '--password', `${user}-secret`]);
  await server.start();
});
after(() => server.cleanup());

/** A line-at-a-time client for POP3 and SMTP (loopback plaintext: allow_loopback_plaintext is on). */
class Lines {
  private buffer = '';
  private waiters: (() => void)[] = [];
  closed = false;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.buffer += c.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }
  static async open(port: number): Promise<Lines> {
    const socket = await new Promise<Socket>((done, fail) => {
      const s = connect({ host: '127.0.0.1', port }, () => done(s));
      s.once('error', fail);
    });
    return new Lines(socket);
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  async line(timeoutMs = 8000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buffer.indexOf('\r\n');
      if (nl >= 0) {
        const text = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 2);
        return text;
      }
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a line');
      await new Promise<void>((done) => {
        const timer = setTimeout(done, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          done();
        });
      });
    }
  }
  /** Reads lines until one matching `last` (SMTP multi-line replies: the line without a dash). */
  async until(last: RegExp): Promise<string> {
    for (;;) {
      const l = await this.line();
      if (last.test(l)) return l;
    }
  }
  async send(text: string, last = /^(\+OK|-ERR|\d{3} )/): Promise<string> {
    this.socket.write(`${text}\r\n`);
    return this.until(last);
  }
  close(): void {
    this.socket.destroy();
  }
  async closedWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }
}

async function imapLogin(user: string): Promise<RawImap> {
  const imap = await RawImap.open(server.ports.imap!);
  const reply = await imap.command(`LOGIN ${user}@example.test ${user}-secret`);
  assert.equal(reply.status, 'OK', reply.tagged);
  return imap;
}

async function pop3Login(user: string): Promise<Lines> {
  const pop = await Lines.open(server.ports.pop3!);
  await pop.line();
  assert.match(await pop.send(`USER ${user}@example.test`), /^\+OK/);
  assert.match(await pop.send(`PASS ${user}-secret`), /^\+OK/);
  return pop;
}

async function submissionLogin(user: string): Promise<Lines> {
  const smtp = await Lines.open(server.ports.submission);
  await smtp.until(/^220 /);
  await smtp.send('EHLO client.example');
  const plain = Buffer.from(`\0${user}@example.test\0${user}-secret`).toString('base64');
  assert.match(await smtp.send(`AUTH PLAIN ${plain}`), /^235 /);
  return smtp;
}

/** An open JMAP EventSource stream (RFC 8620 7.3) with HTTP Basic; resolves once the headers arrived. */
function eventSource(user: string): Promise<{ res: IncomingMessage; ended: Promise<void> }> {
  return new Promise((done, fail) => {
    const req = get(
      {
        host: '127.0.0.1',
        port: server.ports.http,
        path: '/jmap/eventsource/?types=*&closeafter=no&ping=0',
        auth: `${user}@example.test:${user}-secret`,
      },
      (res) => {
        assert.equal(res.statusCode, 200);
        const ended = new Promise<void>((e) => {
          res.on('end', e);
          res.on('close', e);
          res.on('error', () => e());
        });
        res.resume();
        done({ res, ended });
      },
    );
    req.once('error', fail);
  });
}

/** Log lines reach us through a pipe, maybe after the reply they explain: wait a little for them. */
async function logged(...parts: string[]): Promise<boolean> {
  const deadline = Date.now() + 3000;
  for (;;) {
    if (server.output.some((l) => parts.every((p) => l.includes(p)))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function mxRcpt(to: string): Promise<string> {
  const mx = await Lines.open(server.ports.smtp);
  try {
    await mx.until(/^220 /);
    await mx.send('EHLO client.example');
    assert.match(await mx.send('MAIL FROM:<someone@remote.example>'), /^250 /);
    return await mx.send(`RCPT TO:<${to}>`);
  } finally {
    mx.close();
  }
}

describe('user disable / enable', () => {
  test('open IMAP IDLE, POP3, SMTP and EventSource sessions of the user end within seconds; others go on; mail still arrives', async () => {
    const imap = await imapLogin('alice');
    assert.equal((await imap.command('SELECT INBOX')).status, 'OK');
    imap.socket.write('I1 IDLE\r\n');
    assert.match(await imap.line(), /^\+ /);
    const other = await imapLogin('bob');
    const pop = await pop3Login('alice');
    const smtp = await submissionLogin('alice');
    const stream = await eventSource('alice');

    const started = Date.now();
    // Another process, as an admin runs it: the server learns it only through the database.
    assert.match(server.cli(['user', 'disable', 'Alice@example.test']), /alice@example\.test disabled/);
    const [bye, popLast, smtpLast] = await Promise.all([imap.line(8000), pop.line(), smtp.line()]);
    await stream.ended;
    const elapsed = Date.now() - started;
    assert.match(bye, /^\* BYE Account disabled/);
    assert.match(popLast, /^-ERR \[AUTH\] Account disabled/);
    assert.match(smtpLast, /^421 4\.7\.0 mx\.example\.test Account disabled/);
    assert.ok(elapsed < 5000, `ended after ${elapsed} ms`);
    assert.ok(await pop.closedWithin(2000), 'POP3 connection closed');
    assert.ok(await smtp.closedWithin(2000), 'SMTP connection closed');

    // bob's session is untouched; alice cannot sign in again; mail to her is still accepted.
    assert.equal((await other.command('NOOP')).status, 'OK');
    const again = await RawImap.open(server.ports.imap!);
    assert.equal((await again.command('LOGIN alice@example.test alice-secret')).status, 'NO');
    assert.match(await mxRcpt('alice@example.test'), /^250 /);
    assert.ok(await logged('"event":"auth_refused"', 'alice@example.test'), 'auth_refused logged');
    assert.ok(await logged('"event":"session-ended"', '"protocol":"imap"'), 'session-ended logged');

    server.cli(['user', 'enable', 'alice@example.test']);
    assert.equal((await again.command('LOGIN alice@example.test alice-secret')).status, 'OK');
    const list = JSON.parse(server.cli(['user', 'list', '--json'])) as {
      address: string;
      state: string;
      disabled: boolean;
      last_login: string | null;
      quota: null;
      usage: { bytes: number; messages: number };
    }[];
    const alice = list.find((u) => u.address === 'alice@example.test')!;
    assert.equal(alice.state, 'active');
    assert.equal(alice.disabled, false);
    assert.ok(alice.last_login !== null && Math.abs(Date.parse(alice.last_login) - Date.now()) < 60_000);
    assert.equal(list.find((u) => u.address === 'dave@example.test')!.last_login, null);
  });
});

describe('user remove', () => {
  test('--keep-mail: sessions end, the address refuses mail, the mailboxes stay; enable restores it', async () => {
    const imap = await imapLogin('carol');
    await new Promise<void>((done) => setTimeout(done, 50));
    server.cli(['user', 'remove', 'carol@example.test', '--keep-mail']);
    assert.match(await imap.line(8000), /^\* BYE Account removed/);
    assert.match(await mxRcpt('carol@example.test'), /^550 5\.1\.1 /);
    const carol = (
      JSON.parse(server.cli(['user', 'list', '--json'])) as { address: string; state: string }[]
    ).find((u) => u.address === 'carol@example.test');
    assert.equal(carol?.state, 'removed');
    server.cli(['user', 'enable', 'carol@example.test']);
    assert.match(await mxRcpt('carol@example.test'), /^250 /);
    (await imapLogin('carol')).socket.destroy();
  });

  test('an alias loop made by removing an account answers 554 5.4.6 and is logged, not 550 5.1.1', async () => {
    server.cli(['alias', 'add', 'desk@example.test', 'dave@example.test']);
    server.cli(['alias', 'add', '@example.test', 'desk@example.test']);
    assert.match(await mxRcpt('desk@example.test'), /^250 /);
    // dave goes: desk -> dave@ (now unknown) -> the catch-all -> desk: a loop nobody made with alias add.
    server.cli(['user', 'remove', 'dave@example.test', '--force']);
    assert.match(await mxRcpt('desk@example.test'), /^554 5\.4\.6 /);
    assert.ok(await logged('"event":"alias-loop"', 'desk@example.test'), 'alias-loop logged');
    server.cli(['alias', 'remove', '@example.test']);
  });
});
