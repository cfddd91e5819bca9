// imapflow (npm) against `mailroom serve`: STARTTLS and imaps logins, special-use LIST, FETCH of SMTP-delivered mail,
// SEARCH, STORE, COPY/MOVE, EXPUNGE, APPEND, IDLE push within a second (and the same mail over POP3), two clients on
// one mailbox, QRESYNC resync.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { RawImap } from '../helpers/imap-raw.js';

let server: MailroomInstance;
let imap: number;
let imaps: number;
const clients: ImapFlow[] = [];

before(async () => {
  server = await createMailroom({ enable: ['imap', 'imaps', 'pop3'] });
  imap = server.ports.imap as number;
  imaps = server.ports.imaps as number;
  server.cli(['domain', 'add', 'example.test']);
  for (const u of ['alice', 'bob', 'carol', 'dave']) {
    server.cli(['user', 'add', `${u}@example.test`, '--password', `${u}-secret`]);
  }
  await server.start();
});

after(async () => {
  await Promise.all(clients.map((c) => c.logout().catch(() => c.close())));
  await server.cleanup();
});

async function login(user: string, implicitTls = false): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: implicitTls ? imaps : imap,
    secure: implicitTls,
    doSTARTTLS: implicitTls ? undefined : true,
    auth: { user: `${user}@example.test`, pass: `${user}-secret` },
    tls: { rejectUnauthorized: false },
    logger: false,
    // IDLE soon after each command, so pushes are seen without waiting 15 s (imapflow's default).
    autoIdleDelay: 100,
  });
  client.on('error', () => undefined);
  await client.connect();
  clients.push(client);
  return client;
}

async function send(to: string, subject: string, options: { attachment?: boolean } = {}): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    name: 'client.example.net',
    tls: { rejectUnauthorized: false },
  });
  const info = await transport.sendMail({
    from: 'Sender <sender@remote.example>',
    to,
    subject,
    text: `plain text of ${subject}\n`,
    html: options.attachment ? `<p>html of ${subject}</p>` : undefined,
    attachments: options.attachment
      ? [{ filename: 'data.bin', content: Buffer.from([0, 1, 2, 3, 254, 255]) }]
      : undefined,
  });
  assert.deepEqual(info.accepted, [to]);
}

/** One POP3 session (RFC 1939): USER/PASS, then RETR 1; returns the message without the dot-stuffing. */
async function pop3Retr(user: string): Promise<string> {
  const socket = connect(server.ports.pop3 as number, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const until = async (pattern: RegExp) => {
    const deadline = Date.now() + 5000;
    while (!pattern.test(text)) {
      if (Date.now() > deadline) throw new Error(`POP3: no ${pattern} in ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until(/^\+OK .*\r\n/);
  socket.write(`USER ${user}@example.test\r\nPASS ${user}-secret\r\nRETR 1\r\nQUIT\r\n`);
  await until(/\r\n\.\r\n\+OK [^\r]*\r\n$/);
  socket.destroy();
  const start = /\+OK \d+ octets\r\n/.exec(text);
  assert.ok(start, text);
  const body = text.slice(start.index + start[0].length);
  return body.slice(0, body.indexOf('\r\n.\r\n') + 2).replace(/^\.\./gm, '.');
}

describe('imapflow', () => {
  test('LOGIN over STARTTLS and over imaps; LIST shows the special-use folders of a new account', async () => {
    const viaStarttls = await login('alice');
    assert.ok(viaStarttls.secureConnection || viaStarttls.capabilities.has('IMAP4REV1'));
    const viaImaps = await login('alice', true);
    const boxes = await viaImaps.list();
    const byName = Object.fromEntries(boxes.map((b) => [b.path, b.specialUse ?? null]));
    assert.deepEqual(byName, {
      INBOX: '\\Inbox',
      Sent: '\\Sent',
      Drafts: '\\Drafts',
      Trash: '\\Trash',
      Junk: '\\Junk',
      Archive: '\\Archive',
    });
    await assert.rejects(
      (async () => {
        const bad = new ImapFlow({
          host: '127.0.0.1',
          port: imaps,
          secure: true,
          auth: { user: 'alice@example.test', pass: 'wrong' },
          tls: { rejectUnauthorized: false },
          logger: false,
        });
        bad.on('error', () => undefined);
        await bad.connect();
      })(),
    );
  });

  test('multipart over SMTP: FETCH envelope, bodystructure, parts; SEARCH; STORE; COPY; MOVE; EXPUNGE; APPEND', async () => {
    await send('bob@example.test', 'multi part', { attachment: true });
    await send('bob@example.test', 'second one');
    const c = await login('bob');
    const box = await c.mailboxOpen('INBOX');
    assert.equal(box.exists, 2);
    const msg = await c.fetchOne('1', {
      envelope: true,
      bodyStructure: true,
      flags: true,
      size: true,
      uid: true,
    });
    assert.ok(msg);
    assert.equal(msg.envelope?.subject, 'multi part');
    assert.equal(msg.envelope?.from?.[0]?.address, 'sender@remote.example');
    assert.equal(msg.bodyStructure?.type, 'multipart/mixed');
    const leaves: Array<{ part?: string; type: string }> = [];
    const walk = (n: { part?: string; type: string; childNodes?: unknown[] }): void => {
      if (n.childNodes) for (const k of n.childNodes) walk(k as typeof n);
      else leaves.push({ part: n.part, type: n.type });
    };
    walk(msg.bodyStructure as unknown as { type: string });
    const attachment = leaves.find((l) => l.type === 'application/octet-stream');
    const plain = leaves.find((l) => l.type === 'text/plain');
    assert.ok(attachment?.part && plain?.part, JSON.stringify(leaves));
    const dl = await c.download('1', attachment.part);
    const bytes: Buffer[] = [];
    for await (const chunk of dl.content) bytes.push(chunk as Buffer);
    assert.deepEqual([...Buffer.concat(bytes)], [0, 1, 2, 3, 254, 255], 'decoded attachment');
    const text = await c.download('1', plain.part);
    let plainText = '';
    for await (const chunk of text.content) plainText += (chunk as Buffer).toString();
    assert.match(plainText, /plain text of multi part/);
    assert.deepEqual(await c.search({ subject: 'second' }), [2]);
    assert.deepEqual(await c.search({ seen: false }), [1, 2]);
    await c.messageFlagsAdd('2', ['\\Flagged', '$Label']);
    assert.deepEqual(await c.search({ flagged: true }), [2]);
    const two = await c.fetchOne('2', { flags: true });
    assert.ok(two);
    const flags = two.flags;
    assert.ok(flags?.has('\\Flagged') && flags.has('$Label'));
    const copied = await c.messageCopy('1:2', 'Archive');
    assert.equal(copied && copied.uidMap?.size, 2);
    const moved = await c.messageMove('1', 'Trash');
    assert.ok(moved);
    assert.equal(c.mailbox && c.mailbox.exists, 1);
    await c.messageFlagsAdd('1', ['\\Deleted']);
    await c.mailboxClose();
    const status = await c.status('INBOX', { messages: true });
    assert.equal(status.messages, 0, 'CLOSE expunges \\Deleted messages (RFC 9051 6.4.1)');
    const raw = 'From: me@example.test\r\nSubject: appended\r\n\r\nappended body\r\n';
    const appended = await c.append('Drafts', raw, ['\\Draft'], new Date('2024-01-02T03:04:05Z'));
    assert.ok(appended && appended.uid === 1);
    await c.mailboxOpen('Drafts');
    const back = await c.fetchOne('1', { source: true, internalDate: true, flags: true });
    assert.ok(back);
    assert.equal(back?.source?.toString(), raw);
    assert.equal((back?.internalDate as Date).toISOString(), '2024-01-02T03:04:05.000Z');
    assert.ok(back?.flags?.has('\\Draft'));
    assert.equal((await c.status('Archive', { messages: true })).messages, 2);
    assert.equal((await c.status('Trash', { messages: true })).messages, 1);
    await c.mailboxOpen('Archive');
    await c.messageDelete('1'); // STORE \Deleted + UID EXPUNGE (UIDPLUS)
    assert.equal(c.mailbox && c.mailbox.exists, 1);
    assert.deepEqual(await c.search({ all: true }, { uid: true }), [2]);
  });

  test('IDLE: a message sent over SMTP reaches an idling client within a second', async () => {
    const c = await login('carol');
    await c.mailboxOpen('INBOX');
    const arrived = new Promise<number>((done) => c.on('exists', (e: { count: number }) => done(e.count)));
    await new Promise((r) => setTimeout(r, 300)); // imapflow enters IDLE on its own once quiet
    const started = Date.now();
    await send('carol@example.test', 'push me');
    const count = await Promise.race([
      arrived,
      new Promise<number>((_, fail) => setTimeout(() => fail(new Error('no EXISTS within 1s')), 1000)),
    ]);
    assert.equal(count, 1);
    assert.ok(Date.now() - started < 1000);
    // The same message, over POP3, byte for byte what IMAP serves.
    const overImap = await c.fetchOne('1', { source: true });
    assert.ok(overImap && overImap.source);
    const overPop3 = await pop3Retr('carol');
    assert.match(overPop3, /Subject: push me/);
    assert.equal(overPop3, overImap.source.toString('utf8'));
  });

  test('two clients on one mailbox see each other’s flag changes and expunges; QRESYNC resync', async () => {
    for (const n of [1, 2, 3]) await send('dave@example.test', `shared ${n}`);
    const a = await login('dave');
    const b = await login('dave', true);
    await a.mailboxOpen('INBOX');
    await b.mailboxOpen('INBOX');
    const raw = await RawImap.open(imaps, true);
    assert.equal((await raw.command('LOGIN dave@example.test dave-secret')).status, 'OK');
    assert.equal((await raw.command('ENABLE QRESYNC')).status, 'OK');
    const sel = await raw.command('SELECT INBOX');
    const validity = /UIDVALIDITY (\d+)/.exec(sel.lines.join('\n'))?.[1];
    const modseq = /HIGHESTMODSEQ (\d+)/.exec(sel.lines.join('\n'))?.[1];
    assert.ok(validity && modseq, sel.lines.join('\n'));
    await raw.command('CLOSE');

    const flagSeen = new Promise<{ uid?: number; flags: Set<string> }>((done) =>
      b.on('flags', (e: { uid?: number; flags: Set<string> }) => done(e)),
    );
    await a.messageFlagsAdd('2', ['\\Answered']);
    const f = await Promise.race([
      flagSeen,
      new Promise<never>((_, fail) => setTimeout(() => fail(new Error('no FETCH FLAGS for b')), 2000)),
    ]);
    assert.ok(f.flags.has('\\Answered'));
    const expungeSeen = new Promise<unknown>((done) => b.on('expunge', done));
    await a.messageDelete('1');
    await Promise.race([
      expungeSeen,
      new Promise<never>((_, fail) => setTimeout(() => fail(new Error('no EXPUNGE for b')), 2000)),
    ]);
    assert.equal(b.mailbox && b.mailbox.exists, 2);

    // RFC 7162 3.2.5.1: SELECT with QRESYNC after changes gives VANISHED (EARLIER) and the changed FETCHes.
    const resync = await raw.command(`SELECT INBOX (QRESYNC (${validity} ${modseq}))`);
    assert.equal(resync.status, 'OK', resync.tagged);
    const text = resync.lines.join('\n');
    assert.match(text, /\* VANISHED \(EARLIER\) 1\b/);
    assert.match(text, /\* 1 FETCH \(.*UID 2.*\\Answered.*\)|\* 1 FETCH \(.*\\Answered.*UID 2.*\)/);
    assert.doesNotMatch(text, /UID 3/, 'unchanged message 3 is not sent');
    raw.close();
  });
});
