// Real POP3 clients against `mailroom serve`: Python's poplib (STLS, pop3s, USER/PASS, AUTH PLAIN, UIDL, TOP, RETR,
// DELE+QUIT) and Debian's fetchmail fetching a whole mailbox; the mail is sent over SMTP in the same test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { createMailroom, freePorts, type MailroomInstance } from '../helpers/mailroom-process.js';
import { inboxOf } from '../helpers/mailbox.js';

let server: MailroomInstance;
let pop3: number;
let pop3s: number;

before(async () => {
  server = await createMailroom();
  [pop3, pop3s] = (await freePorts(2)) as [number, number];
  // The helper turns POP3 off; point its two sections at free ports instead.
  const config = readFileSync(server.configPath, 'utf8')
    .replace('[pop3]\nlisten = []', `[pop3]\nlisten = ["127.0.0.1:${pop3}"]`)
    .replace('[pop3s]\nlisten = []', `[pop3s]\nlisten = ["127.0.0.1:${pop3s}"]`);
  writeFileSync(server.configPath, config);
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'alice@example.test', '--password', 'alice-secret']);
  server.cli(['user', 'add', 'bob@example.test', '--password', 'bob-secret']);
  await server.start();
});

after(async () => {
  await server.cleanup();
});

async function sendOverSmtp(to: string, subject: string, text: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    name: 'client.example.net',
    tls: { rejectUnauthorized: false },
  });
  const info = await transport.sendMail({ from: 'sender@remote.example', to, subject, text });
  assert.deepEqual(info.accepted, [to]);
}

function python(script: string): unknown {
  const result = spawnSync('python3', ['-c', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, `python failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as unknown;
}

const PY_PRELUDE = `
import json, poplib, ssl, base64
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def text(lines): return [l.decode('latin1') for l in lines]
`;

describe('Python poplib', () => {
  test('STLS, CAPA, USER/PASS, STAT, LIST, UIDL, TOP, RETR, DELE+QUIT: mail sent over SMTP is there', async () => {
    await sendOverSmtp('alice@example.test', 'first over pop3', 'line one\n.dot line\nline three\n');
    await sendOverSmtp('alice@example.test', 'second over pop3', 'hello again\n');
    const out = python(`${PY_PRELUDE}
p = poplib.POP3('127.0.0.1', ${pop3}, timeout=10)
before = p.capa()
p.stls(context=ctx)
after = p.capa()
p.user('alice@example.test')
p.pass_('alice-secret')
stat = p.stat()
lst = text(p.list()[1])
uidl = text(p.uidl()[1])
top = text(p.top(1, 0)[1])
retr = text(p.retr(1)[1])
second = text(p.retr(2)[1])
dele = p.dele(1).decode()
quit = p.quit().decode()
print(json.dumps(dict(before=sorted(before), after=sorted(after), stat=stat, lst=lst, uidl=uidl, top=top, retr=retr, second=second, dele=dele, quit=quit)))
`) as Record<string, unknown> & { retr: string[]; top: string[]; uidl: string[]; stat: number[] };
    assert.ok((out.before as string[]).includes('STLS'));
    assert.ok(!(out.after as string[]).includes('STLS'));
    for (const cap of ['TOP', 'UIDL', 'USER', 'SASL', 'RESP-CODES', 'PIPELINING']) {
      assert.ok((out.after as string[]).includes(cap), cap);
    }
    assert.equal(out.stat[0], 2);
    assert.equal(out.uidl.length, 2);
    assert.ok(out.top.includes('Subject: first over pop3'));
    assert.equal(out.top.at(-1), '', 'TOP 1 0: headers and the blank line only');
    assert.ok(out.retr.includes('.dot line'), 'poplib un-stuffs what we stuffed');
    assert.ok(out.retr.includes('line three'));
    assert.ok(out.retr[0]?.startsWith('Return-Path: <sender@remote.example>'));
    assert.ok((out.second as string[]).includes('hello again'));
    assert.match(out.dele as string, /^\+OK/);
    assert.match(out.quit as string, /^\+OK .*\(1 messages left\)/);
    const left = await inboxOf(server, 'alice@example.test');
    assert.equal(left.length, 1);
    assert.ok(left[0]?.includes('second over pop3'));

    // UIDL stays the same in the next session (message 2 became message 1).
    const again = python(`${PY_PRELUDE}
p = poplib.POP3_SSL('127.0.0.1', ${pop3s}, context=ctx, timeout=10)
p.user('alice@example.test'); p.pass_('alice-secret')
u = text(p.uidl()[1]); p.quit()
print(json.dumps(u))
`) as string[];
    assert.equal(again.length, 1);
    assert.equal(again[0]?.split(' ')[1], out.uidl[1]?.split(' ')[1]);
  });

  test('pop3s with AUTH PLAIN (via _shortcmd), a wrong password, and [IN-USE] for a second session', () => {
    const out = python(`${PY_PRELUDE}
a = poplib.POP3_SSL('127.0.0.1', ${pop3s}, context=ctx, timeout=10)
try:
    a.user('bob@example.test'); a.pass_('wrong')
    bad = 'accepted'
except poplib.error_proto as e:
    bad = e.args[0].decode()
cred = base64.b64encode(b'\\0bob@example.test\\0bob-secret').decode()
ok = a._shortcmd('AUTH PLAIN ' + cred).decode()
b = poplib.POP3_SSL('127.0.0.1', ${pop3s}, context=ctx, timeout=10)
b.user('bob@example.test')
try:
    b.pass_('bob-secret'); inuse = 'accepted'
except poplib.error_proto as e:
    inuse = e.args[0].decode()
a.quit(); b.quit()
print(json.dumps(dict(bad=bad, ok=ok, inuse=inuse)))
`) as Record<string, string>;
    assert.equal(out.bad, '-ERR [AUTH] Authentication failed');
    assert.match(out.ok ?? '', /^\+OK Logged in/);
    assert.match(out.inuse ?? '', /^-ERR \[IN-USE\]/);
  });
});

describe('fetchmail (Debian)', () => {
  test('fetches a whole mailbox over STLS into a folder and deletes it from the server', async () => {
    const subjects = Array.from({ length: 5 }, (_, i) => `fetchmail message ${i + 1}`);
    for (const s of subjects) await sendOverSmtp('bob@example.test', s, `body of ${s}\n.leading dot\n`);
    const home = join(server.dir, 'fetchmail-home');
    const folder = join(server.dir, 'fetched');
    mkdirSync(home, { recursive: true });
    mkdirSync(folder, { recursive: true });
    const mda = join(home, 'mda.sh');
    writeFileSync(mda, `#!/bin/sh\ncat > "${folder}/$(date +%s%N)-$$.eml"\n`);
    chmodSync(mda, 0o755);
    const rc = join(home, 'fetchmailrc');
    writeFileSync(
      rc,
      [
        `poll 127.0.0.1 with proto POP3 service ${pop3} auth password`,
        `  user "bob@example.test" there with password "bob-secret" is "bob" here`,
        `  sslproto 'auto' no sslcertck mda "${mda}" fetchall`,
        '',
      ].join('\n'),
    );
    chmodSync(rc, 0o600);
    const result = spawnSync(
      'fetchmail',
      ['-f', rc, '--nodetach', '--nosyslog', '-v', '--pidfile', join(home, 'pid')],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: home, FETCHMAILHOME: home } },
    );
    const log = `${result.stdout}\n${result.stderr}`;
    assert.equal(result.status, 0, `fetchmail exited ${result.status}:\n${log}`);
    assert.match(log, /STLS/, 'fetchmail upgraded with STLS');
    const fetched = readdirSync(folder).map((f) => readFileSync(join(folder, f), 'utf8'));
    assert.equal(fetched.length, subjects.length, log);
    for (const s of subjects) {
      const m = fetched.find((f) => f.includes(`Subject: ${s}`));
      assert.ok(m, `${s} fetched`);
      assert.ok(m.includes('\n.leading dot'), 'dot-stuffing undone by fetchmail');
    }
    assert.deepEqual(await inboxOf(server, 'bob@example.test'), [], 'fetched messages were deleted at QUIT');
  });
});
