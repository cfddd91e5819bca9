// Hostile input over raw sockets against `mailroom serve`'s IMAP listener: huge literals, long lines, deep nesting,
// password guessing, garbage; the server answers each clearly and keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { RawImap } from '../helpers/imap-raw.js';

let server: MailroomInstance;
let port: number;

before(async () => {
  server = await createMailroom({ enable: ['imap', 'imaps'] });
  port = server.ports.imaps as number;
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'eve@example.test', '--password', 'eve-secret']);
  await server.start();
});

after(async () => {
  await server.cleanup();
});

async function loggedIn(): Promise<RawImap> {
  const c = await RawImap.open(port, true);
  assert.equal((await c.command('LOGIN eve@example.test eve-secret')).status, 'OK');
  return c;
}

describe('IMAP hostile input against the running server', () => {
  test('a synchronising literal of 10^12 bytes is refused before any byte is sent', async () => {
    const c = await loggedIn();
    const tag = c.nextTag();
    c.write(`${tag} APPEND INBOX {1000000000000}\r\n`);
    // RFC 9051 7.1 / 4.3: the server must answer with a tagged NO/BAD instead of "+ Ready".
    const reply = await c.until(tag);
    assert.ok(reply.status === 'NO' || reply.status === 'BAD', reply.tagged);
    assert.ok(!reply.lines.some((l) => l.startsWith('+')), 'no continuation was offered');
    assert.equal((await c.command('NOOP')).status, 'OK', 'the connection is still usable');
    c.close();
  });

  test('an over-long command line gets BAD and the connection stays usable', async () => {
    const c = await loggedIn();
    const tag = c.nextTag();
    c.write(`${tag} SEARCH SUBJECT "${'x'.repeat(200_000)}"\r\n`);
    const reply = await c.until(tag).catch(async () => {
      // Some servers answer with an untagged BAD for a line they could not tag; accept it if it says so.
      return { status: 'BAD' as const, tagged: '', lines: [] };
    });
    assert.equal(reply.status, 'BAD', reply.tagged);
    assert.equal((await c.command('NOOP')).status, 'OK');
    c.close();
  });

  test('1000 nested parentheses get BAD; the connection stays usable', async () => {
    const c = await loggedIn();
    await c.command('SELECT INBOX');
    const reply = await c.command(`SEARCH ${'('.repeat(1000)}ALL${')'.repeat(1000)}`);
    assert.equal(reply.status, 'BAD', reply.tagged);
    assert.equal((await c.command('NOOP')).status, 'OK');
    c.close();
  });

  test('failed LOGINs are slowed down (per account, then per IP) and never succeed', async () => {
    const c = await RawImap.open(port, true);
    // From the first failure on, each further LOGIN waits about a second longer (src/config/limits.ts).
    let slowed = -1;
    for (let i = 0; i < 6 && slowed < 0; i++) {
      const t0 = Date.now();
      const reply = await c.command(`LOGIN mallory@example.test wrong-${i}`, 15_000);
      assert.notEqual(reply.status, 'OK');
      if (Date.now() - t0 >= 900 || /\[UNAVAILABLE\]/.test(reply.tagged)) slowed = i;
    }
    assert.ok(slowed >= 1, `failed LOGINs were not slowed (attempt ${slowed})`);
    c.close();
  });

  test('garbage, unknown commands, bad states and odd bytes never crash the server', async () => {
    const c = await RawImap.open(port, true);
    const rows = [
      'FOO',
      'SELECT INBOX', // not authenticated
      'FETCH 1 FLAGS',
      'LOGIN',
      'LOGIN "unterminated',
      'CAPABILITY extra args',
      'UID',
      'UID BOGUS 1',
      '\u0000\u0001\u0002',
      'é€ 8-bit tag',
      'A'.repeat(500),
    ];
    for (const row of rows) {
      const reply = await c
        .command(row)
        .catch((err: Error) => assert.fail(`${JSON.stringify(row)}: ${err.message}`));
      assert.ok(reply.status === 'BAD' || reply.status === 'NO', `${JSON.stringify(row)} -> ${reply.tagged}`);
    }
    c.write('* bogus-tag\r\n)\r\n+\r\n\r\n');
    assert.equal((await c.command('NOOP')).status, 'OK');
    const d = await loggedIn();
    await d.command('SELECT INBOX');
    for (const row of [
      'FETCH 0 FLAGS',
      'FETCH 4294967296 FLAGS',
      'FETCH 1:* (BODY[999999999999.1])',
      'STORE 1 +FLAGS (\\Recent)',
      'SEARCH CHARSET X-UNKNOWN ALL',
      'COPY 1 "no such"',
      'SELECT "../../etc/passwd"',
      `CREATE "${'a/'.repeat(300)}x"`,
      'APPEND INBOX {2+}\r\nhi', // a 2-byte "message"
    ]) {
      const reply = await d.command(row).catch((err: Error) => assert.fail(`${row}: ${err.message}`));
      assert.ok(['OK', 'NO', 'BAD'].includes(reply.status), `${row} -> ${reply.tagged}`);
    }
    c.close();
    d.close();
    // Still serving new connections.
    const e = await loggedIn();
    assert.equal((await e.command('LOGOUT')).status, 'OK');
    assert.ok(server.process && server.process.exitCode === null, 'server alive');
  });
});
