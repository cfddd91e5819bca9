// MULTIAPPEND (RFC 3502), CATENATE (RFC 4469) and literal8 APPEND (RFC 3516 4.4) over a socket, with raw commands, imapflow and Python's imaplib.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { hashPassword } from '../../src/auth/password-hash.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DEFAULT_RECEIVER_LIMITS } from '../../src/imap/proto/literal-receiver.js';
import { RawImap } from '../helpers/imap-raw.js';
import { startImapServer } from '../helpers/imap-server.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };

async function setup(): Promise<{ store: SqliteStore; port: number; bob: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-append-'));
  const store = openSqliteStore({ dataDir: dir });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', await hashPassword('secret', { params: PARAMS })).id;
  store.addAccount('eve@example.test', await hashPassword('secret', { params: PARAMS }));
  const server = await startImapServer(store);
  after(async () => {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, port: server.port, bob };
}

async function login(port: number, user = 'bob@example.test'): Promise<RawImap> {
  const c = await RawImap.open(port);
  assert.equal((await c.command(`LOGIN ${user} secret`)).status, 'OK');
  return c;
}

/** Sends one command made of line pieces and literals (all LITERAL+, RFC 7888), returns the tagged reply. */
async function send(c: RawImap, pieces: (string | Buffer)[]): Promise<{ tagged: string; lines: string[] }> {
  const tag = c.nextTag();
  const out: Buffer[] = [Buffer.from(`${tag} `)];
  for (const p of pieces) {
    out.push(
      typeof p === 'string'
        ? Buffer.from(p, 'latin1')
        : Buffer.concat([Buffer.from(`{${p.length}+}\r\n`), p]),
    );
  }
  out.push(Buffer.from('\r\n'));
  c.write(Buffer.concat(out));
  return c.until(tag);
}

function count(store: SqliteStore, bob: number, mailbox = 'INBOX'): { messages: number; uidNext: number } {
  const mb = store.getMailbox(bob, mailbox);
  assert.ok(mb);
  return { messages: mb.messageCount, uidNext: mb.uidNext };
}

const M = (n: number) => Buffer.from(`From: a@remote.example\r\nSubject: m${n}\r\n\r\nbody ${n}\r\n`);

describe('MULTIAPPEND (RFC 3502)', () => {
  test('over the quota at the third message: NO [OVERQUOTA] and none of the three is kept (RFC 3502 6.3.11, RFC 9208 4.3)', async () => {
    const { store, port, bob } = await setup();
    // Room for two messages of the three.
    store.setQuota('bob@example.test', { bytes: null, messages: 2 });
    const c = await login(port);
    const before = count(store, bob);
    const r = await send(c, ['APPEND INBOX ', M(1), ' ', M(2), ' ', M(3)]);
    assert.match(r.tagged, / NO \[OVERQUOTA\]/);
    assert.deepEqual(count(store, bob), before);
    assert.equal(store.accountUsage().find((u) => u.accountId === bob)?.messages ?? 0, 0);
    // Two fit: stored, with consecutive UIDs.
    const ok = await send(c, ['APPEND INBOX ', M(4), ' ', M(5)]);
    assert.match(ok.tagged, /OK \[APPENDUID \d+ 1:2\]/);
  });

  test('RFC 3502 6.3.11 example: two messages, flags and dates each, one APPENDUID for both', async () => {
    const { store, port, bob } = await setup();
    const c = await login(port);
    const m1 = Buffer.from(
      'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example.COM>\r\n' +
        'Subject: afternoon meeting\r\nTo: mooch@owatagu.example.net\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n',
    );
    const m2 = Buffer.from(
      'Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)\r\nFrom: Joe Mooch <mooch@OWaTaGu.example.net>\r\n' +
        'Subject: Re: afternoon meeting\r\nTo: foobar@blurdybloop.example.com\r\n\r\n3:30 is fine with me.\r\n',
    );
    const r = await send(c, [
      'APPEND INBOX (\\Seen) " 7-Feb-1994 21:52:25 -0800" ',
      m1,
      ' (\\Seen) " 7-Feb-1994 22:43:04 -0800" ',
      m2,
    ]);
    const mb = store.getMailbox(bob, 'INBOX')!;
    assert.equal(r.tagged, `${r.tagged.split(' ')[0]} OK [APPENDUID ${mb.uidValidity} 1:2] APPEND completed`);
    assert.equal((await c.command('SELECT INBOX')).status, 'OK');
    const f = await c.command('FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    assert.match(
      f.lines[0] ?? '',
      /FLAGS \(\\Seen \\Recent\) INTERNALDATE " 7-Feb-1994 21:52:25 -0800".*afternoon meeting/s,
    );
    assert.match(f.lines[1] ?? '', /INTERNALDATE " 7-Feb-1994 22:43:04 -0800".*Re: afternoon meeting/s);
    c.close();
  });

  test('all or none: a bad second message (empty, bad flag, bad date) stores nothing, UIDNEXT unchanged', async () => {
    const { store, port, bob } = await setup();
    const c = await login(port);
    const before = count(store, bob);
    for (const [rest, want] of [
      [[' ', Buffer.alloc(0)], / NO Empty message/],
      [[' (\\Bogus) ', M(2)], / BAD Cannot store flag/],
      [[' ', M(2), ' ', M(3), ' ', Buffer.alloc(0)], / NO Empty message/],
    ] as const) {
      const r = await send(c, ['APPEND INBOX ', M(1), ...rest]);
      assert.match(r.tagged, want);
      assert.deepEqual(count(store, bob), before, r.tagged);
    }
    // The next command is read normally, and a good MULTIAPPEND works.
    const ok = await send(c, ['APPEND INBOX ', M(1), ' ', M(2), ' ', M(3)]);
    assert.match(ok.tagged, /OK \[APPENDUID \d+ 1:3\]/);
    assert.deepEqual(count(store, bob), { messages: 3, uidNext: 4 });
    c.close();
  });

  test('hostile: 300 tiny messages in one APPEND get NO [TOOBIG], nothing stored, the session goes on', async () => {
    const { store, port, bob } = await setup();
    const c = await login(port);
    const pieces: (string | Buffer)[] = ['APPEND INBOX'];
    for (let i = 0; i < 300; i++) pieces.push(' ', Buffer.from('x\r\n'));
    const r = await send(c, pieces);
    assert.match(r.tagged, / NO \[TOOBIG\] Too many messages in one APPEND/);
    assert.deepEqual(count(store, bob), { messages: 0, uidNext: 1 });
    assert.equal((await c.command('NOOP')).status, 'OK');
    c.close();
  });

  test('hostile: a synchronising literal past APPENDLIMIT gets NO [TOOBIG] before "+", nothing stored', async () => {
    const { store, port, bob } = await setup();
    const c = await login(port);
    c.write(`T90 APPEND INBOX {5+}\r\nhello {${DEFAULT_RECEIVER_LIMITS.maxAppendSize + 1}}\r\n`);
    const r = await c.until('T90');
    assert.match(r.tagged, /^T90 NO \[TOOBIG\]/);
    assert.ok(!r.lines.some((l) => l.startsWith('+')));
    assert.deepEqual(count(store, bob), { messages: 0, uidNext: 1 });
    c.close();
  });

  test('a connection dropped in the middle of a MULTIAPPEND stores nothing and leaves no spool file', async () => {
    const { store, port, bob } = await setup();
    const c = await login(port);
    const big = Buffer.alloc(300 * 1024, 0x61); // past the in-memory threshold: spooled to a file
    c.write(Buffer.concat([Buffer.from(`T1 APPEND INBOX {${M(1).length}+}\r\n`), M(1)]));
    c.write(Buffer.concat([Buffer.from(` {${big.length + 10}+}\r\n`), big]));
    await new Promise((r) => setTimeout(r, 200));
    c.close();
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(count(store, bob), { messages: 0, uidNext: 1 });
    assert.deepEqual(await readdir(store.spoolDir), []);
  });
});

describe('CATENATE (RFC 4469)', () => {
  const boundary = '------------030308070208000400050907';
  const draft = Buffer.from(
    'From: Bob <bob@example.test>\r\nTo: Carol <carol@remote.example>\r\nSubject: Draft with attachment\r\n' +
      `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
      `--${boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe draft text.\r\n` +
      `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n` +
      `--${boundary}--\r\n`,
  );

  async function withDraft() {
    const s = await setup();
    const c = await login(s.port);
    const r = await send(c, ['APPEND Drafts (\\Draft) ', draft]);
    const m = /APPENDUID (\d+) (\d+)/.exec(r.tagged);
    assert.ok(m, r.tagged);
    return { ...s, c, uidv: Number(m[1]), uid: Number(m[2]) };
  }

  async function body(c: RawImap, mailbox: string, uid: number): Promise<string> {
    assert.equal((await c.command(`EXAMINE ${mailbox}`)).status, 'OK');
    const f = await c.command(`UID FETCH ${uid} BODY.PEEK[]`);
    const line = f.lines.find((l) => l.includes('BODY[]')) ?? '';
    return line.slice(line.indexOf('}\r\n') + 3, line.lastIndexOf(')'));
  }

  test('RFC 4469 5 example: header, TEXT, 1.MIME, 1, TEXT, a whole message URL', async () => {
    const { c, uidv, uid } = await withDraft();
    const fwd = Buffer.from(`\r\n--${boundary}\r\nContent-Type: message/rfc822\r\n\r\n`);
    const r = await send(c, [
      `APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL "/Drafts;UIDVALIDITY=${uidv}/;UID=${uid}/;section=HEADER" TEXT `,
      Buffer.from(`--${boundary}\r\n`),
      ` URL "/Drafts;UIDVALIDITY=${uidv}/;UID=${uid}/;section=1.MIME" URL "/Drafts;UIDVALIDITY=${uidv}/;UID=${uid}/;section=1" TEXT `,
      fwd,
      ` URL "imap://bob%40example.test@mx.example.test/Drafts;UIDVALIDITY=${uidv}/;UID=${uid}" TEXT `,
      Buffer.from(`\r\n--${boundary}--\r\n`),
      ')',
    ]);
    assert.match(r.tagged, /OK \[APPENDUID \d+ 2\]/);
    const text = draft.toString('latin1');
    const header = text.slice(0, text.indexOf('\r\n\r\n') + 4);
    const part1Start = text.indexOf('Content-Type: text/plain');
    const mime1 = text.slice(part1Start, text.indexOf('\r\n\r\n', part1Start) + 4);
    const want =
      header +
      `--${boundary}\r\n` +
      mime1 +
      'The draft text.' +
      fwd.toString('latin1') +
      text +
      `\r\n--${boundary}--\r\n`;
    assert.equal(await body(c, 'Drafts', 2), want);
    c.close();
  });

  test('sections HEADER, TEXT, part numbers and ;PARTIAL; relative to the selected mailbox', async () => {
    const { c, uid } = await withDraft();
    assert.equal((await c.command('SELECT Drafts')).status, 'OK');
    const r = await send(c, [
      `APPEND INBOX CATENATE (TEXT `,
      Buffer.from('Subject: partial\r\n\r\n'),
      ` URL ";UID=${uid}/;section=1/;partial=4.5" URL "/Drafts/;UID=${uid}/;section=2")`,
    ]);
    assert.match(r.tagged, /OK \[APPENDUID \d+ 1\]/);
    assert.equal(await body(c, 'INBOX', 1), 'Subject: partial\r\n\r\ndraftaGVsbG8=');
    c.close();
  });

  test('NO [BADURL url]: wrong UIDVALIDITY, no such UID or section, another user, another host, a message list, garbage', async () => {
    const { c, store, bob, uidv, uid } = await withDraft();
    const before = count(store, bob);
    for (const url of [
      `/Drafts;UIDVALIDITY=${uidv + 1}/;UID=${uid}`,
      `/Drafts/;UID=${uid + 7}`,
      `/Drafts/;UID=${uid}/;section=9`,
      `/Nowhere/;UID=${uid}`,
      `imap://eve%40example.test@mx.example.test/Drafts/;UID=${uid}`,
      `imap://bob%40example.test@other.example/Drafts/;UID=${uid}`,
      `/Drafts?SUBJECT%20x`,
      `http://example.com/`,
    ]) {
      const r = await send(c, [
        'APPEND INBOX CATENATE (TEXT ',
        Buffer.from('A: b\r\n\r\n'),
        ` URL "${url}")`,
      ]);
      assert.match(r.tagged, new RegExp(` NO \\[BADURL [^\\]]+\\] `), url);
      assert.ok(r.tagged.includes(`[BADURL ${url}]`), r.tagged);
    }
    // Another user's message is not readable: eve's own INBOX URL in bob's session names bob's INBOX (none there).
    assert.deepEqual(count(store, bob), before);
    c.close();
  });

  test('CATENATE with MULTIAPPEND: a bad URL in the second message stores neither', async () => {
    const { c, store, bob, uid } = await withDraft();
    const before = count(store, bob, 'Drafts');
    const r = await send(c, [
      `APPEND Drafts CATENATE (URL "/Drafts/;UID=${uid}") CATENATE (URL "/Drafts/;UID=${uid}/;section=HEADER" TEXT `,
      Buffer.from('x\r\n'),
      ` URL "/Drafts/;UID=999")`,
    ]);
    assert.match(r.tagged, / NO \[BADURL \/Drafts\/;UID=999\]/);
    assert.deepEqual(count(store, bob, 'Drafts'), before);
    const ok = await send(c, [
      `APPEND Drafts CATENATE (URL "/Drafts/;UID=${uid}") (\\Flagged) `,
      M(5),
      ` CATENATE (URL "/Drafts/;UID=${uid}/;section=HEADER" TEXT `,
      Buffer.from('new body\r\n'),
      ')',
    ]);
    assert.match(ok.tagged, /OK \[APPENDUID \d+ 2:4\]/);
    assert.equal(await body(c, 'Drafts', 2), draft.toString('latin1'));
    c.close();
  });

  test('hostile: 300 URL parts in one APPEND get NO [TOOBIG] without reading 300 messages', async () => {
    const { c, uid } = await withDraft();
    const r = await send(c, [
      `APPEND INBOX CATENATE (${Array(300).fill(`URL "/Drafts/;UID=${uid}"`).join(' ')})`,
    ]);
    assert.match(r.tagged, / NO \[TOOBIG\] Too many messages in one APPEND/);
    c.close();
  });

  test('a catenated message over APPENDLIMIT gets NO [TOOBIG]', async () => {
    const { c, uid } = await withDraft();
    const big = Buffer.alloc((1 << 20) - 10, 0x61);
    const r = await send(c, ['APPEND INBOX CATENATE (TEXT ', big, ` URL "/Drafts/;UID=${uid}")`]);
    assert.match(r.tagged, / NO \[TOOBIG\]/);
    c.close();
  });
});

describe('APPEND with literal8 (RFC 3516 4.4)', () => {
  test('a binary part is stored base64: BODY[1] is text, BINARY[1] and BINARY.SIZE[1] are the bytes sent', async () => {
    const { port } = await setup();
    const c = await login(port);
    const payload = Buffer.from([0, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a]);
    const msg = Buffer.concat([
      Buffer.from(
        'From: user@domain.org\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\n' +
          'Content-Transfer-Encoding: binary\r\n\r\n',
      ),
      payload,
    ]);
    c.write(Buffer.concat([Buffer.from(`T50 APPEND INBOX ~{${msg.length}+}\r\n`), msg, Buffer.from('\r\n')]));
    assert.match((await c.until('T50')).tagged, /^T50 OK \[APPENDUID/);
    assert.equal((await c.command('SELECT INBOX')).status, 'OK');
    const f = await c.command('FETCH 1 (BODY.PEEK[1] BINARY.SIZE[1] BODY.PEEK[1.MIME])');
    assert.match(f.lines[0] ?? '', /BODY\[1\] \{14\}\r\nAC3kCg0KCg==\r\n BINARY.SIZE\[1\] 7 /);
    assert.match(f.lines[0] ?? '', /Content-Transfer-Encoding: base64\r\n/);
    c.socket.write('T51 FETCH 1 BINARY.PEEK[1]\r\n');
    const raw = await new Promise<Buffer>((done) => {
      let got = Buffer.alloc(0);
      const on = (b: Buffer) => {
        got = Buffer.concat([got, b]);
        if (got.includes('T51 OK')) {
          c.socket.off('data', on);
          done(got);
        }
      };
      c.socket.on('data', on);
    });
    assert.ok(
      raw.includes(Buffer.concat([Buffer.from('BINARY[1] ~{7}\r\n'), payload])),
      raw.toString('latin1'),
    );
    c.close();
  });
});

describe('real clients', () => {
  test('imapflow appends; Python imaplib sends a MULTIAPPEND and a CATENATE', async () => {
    const { store, port, bob } = await setup();
    const flow = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: 'bob@example.test', pass: 'secret' },
      logger: false,
    });
    await flow.connect();
    assert.ok(flow.capabilities.has('MULTIAPPEND') && flow.capabilities.has('CATENATE'));
    const a = await flow.append('INBOX', M(1).toString(), ['\\Seen']);
    assert.equal(a && a.uid, 1);
    await flow.logout();
    // imaplib has no MULTIAPPEND helper: the command goes out raw with LITERAL+ literals, and
    // imaplib reads the tagged reply as for any command.
    const script = `
import imaplib, json
M = imaplib.IMAP4('127.0.0.1', ${port})
M.login('bob@example.test', 'secret')
m2 = b'Subject: two\\r\\n\\r\\nsecond\\r\\n'
m3 = b'Subject: three\\r\\n\\r\\nthird\\r\\n'
tag = M._new_tag()
M.tagged_commands[tag] = None
M.send(tag + b' APPEND INBOX {%d+}\\r\\n' % len(m2) + m2 + b' (\\\\Flagged) {%d+}\\r\\n' % len(m3) + m3 + b'\\r\\n')
typ, data = M._command_complete('APPEND', tag)
out = {'multi': [typ, data[0].decode()]}
typ, data = M._simple_command('APPEND', 'INBOX', 'CATENATE', '(URL "/INBOX/;UID=2/;section=HEADER" URL "/INBOX/;UID=3/;section=TEXT")')
out['catenate'] = [typ, data[0].decode()]
M.select('INBOX')
typ, data = M.fetch('4', '(BODY.PEEK[])')
out['body'] = data[0][1].decode()
print(json.dumps(out))
`;
    // Not spawnSync: the server runs in this process and must keep answering meanwhile.
    const r = await promisify(execFile)('python3', ['-c', script], { encoding: 'utf8', timeout: 20_000 });
    const out = JSON.parse(r.stdout) as { multi: [string, string]; catenate: [string, string]; body: string };
    assert.equal(out.multi[0], 'OK');
    assert.match(out.multi[1], /\[APPENDUID \d+ 2:3\]/);
    assert.equal(out.catenate[0], 'OK');
    assert.match(out.catenate[1], /APPEND completed/);
    assert.equal(out.body, 'Subject: two\r\n\r\nthird\r\n');
    assert.deepEqual(count(store, bob), { messages: 4, uidNext: 5 });
  });
});
