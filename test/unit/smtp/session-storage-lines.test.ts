// SMTP session rows for issue 8 items 6 and 7: the free-space floor (452 4.3.1) and long DATA lines, no server running.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DATA_LINE_MAX } from '../../../src/config/limits.js';
import { SmtpSession } from '../../../src/smtp/server/session.js';
import type { SmtpPolicy } from '../../../src/smtp/server/services.js';
import { fakeServices, testPeer, testPolicy, type FakeServices } from '../../helpers/smtp-fakes.js';

function open(policy: Partial<SmtpPolicy> = {}, services: FakeServices = fakeServices()) {
  const session = new SmtpSession({
    policy: testPolicy({ maxMessageSize: 1_000_000, ...policy }),
    services,
    peer: testPeer({ loopback: true }),
  });
  session.greet();
  const send = async (text: string) => {
    const out = await session.feed(Buffer.from(text, 'latin1'));
    return out.replies.split('\r\n').filter((l) => l !== '');
  };
  /** Feeds one byte at a time (habit 2: any split gives the same result); returns every reply line. */
  const sendBytewise = async (text: string) => {
    let replies = '';
    const bytes = Buffer.from(text, 'latin1');
    for (let i = 0; i < bytes.length; i++) replies += (await session.feed(bytes.subarray(i, i + 1))).replies;
    return replies.split('\r\n').filter((l) => l !== '');
  };
  return { session, services, send, sendBytewise };
}

const codes = (lines: string[]) => lines.map((l) => l.slice(0, 9));
const TX = 'MAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n';

describe('long DATA lines (issue 8 item 7)', () => {
  test('a 999-character line (1001 octets with CRLF) is accepted and kept byte for byte', async () => {
    const { send, services } = open();
    const line = 'x'.repeat(999);
    const r = await send(`EHLO c\r\n${TX}${line}\r\nend\r\n.\r\n`);
    assert.deepEqual(codes(r).slice(-1), ['250 2.0.0']);
    assert.equal(services.bodies[0], `${line}\r\nend\r\n`);
  });

  for (const length of [8 * 1024, 20_000, DATA_LINE_MAX - 2]) {
    test(`a ${length}-octet line (+CRLF) is accepted, delivered whole or byte by byte`, async () => {
      for (const bytewise of [false, true]) {
        const { send, sendBytewise, services } = open();
        await send('EHLO c\r\n');
        const line = 'y'.repeat(length);
        const r = await (bytewise ? sendBytewise : send)(`${TX}${line}\r\n.\r\n`);
        assert.deepEqual(codes(r).slice(-1), ['250 2.0.0'], `bytewise ${bytewise}`);
        assert.equal(services.bodies[0], `${line}\r\n`);
      }
    });
  }

  test('one octet over the limit: 500 after the final dot, nothing stored, the session stays in step', async () => {
    for (const bytewise of [false, true]) {
      const { send, sendBytewise, services } = open();
      await send('EHLO c\r\n');
      // DATA_LINE_MAX - 1 octets + CRLF = the limit + 1. The text after the long line, including a
      // command-looking line, is message data: it must not run as commands.
      const r = await (bytewise ? sendBytewise : send)(
        `${TX}${'z'.repeat(DATA_LINE_MAX - 1)}\r\nRSET\r\nQUIT\r\n.\r\nNOOP\r\n`,
      );
      assert.deepEqual(codes(r), ['250 2.1.0', '250 2.1.5', '354 End d', '500 5.5.6', '250 2.0.0']);
      assert.equal(services.delivered.length, 0);
      // The next transaction works: the session is in sync.
      const next = await send(`${TX}fine\r\n.\r\n`);
      assert.deepEqual(codes(next).slice(-1), ['250 2.0.0']);
      assert.equal(services.bodies[0], 'fine\r\n');
    }
  });

  test('an endless line is not buffered: 10 MiB without LF is refused after the dot', async () => {
    const { send, services } = open({ maxMessageSize: 50 * 1024 * 1024 });
    await send(`EHLO c\r\n${TX}`);
    const chunk = 'q'.repeat(1024 * 1024);
    for (let i = 0; i < 10; i++) assert.deepEqual(await send(chunk), []);
    assert.deepEqual(codes(await send('\r\n.\r\n')), ['500 5.5.6']);
    assert.equal(services.delivered.length, 0);
  });

  test('command lines keep the strict RFC 5321 4.5.3.1.4 limit', async () => {
    const { send } = open();
    await send('EHLO c\r\n');
    assert.deepEqual(codes(await send(`NOOP ${'a'.repeat(600)}\r\n`)), ['500 5.5.6']);
  });
});

describe('free-space floor (issue 8 item 6)', () => {
  test('below the floor MAIL gets 452 4.3.1 and no transaction starts; it recovers when space returns', async () => {
    const services = fakeServices();
    const { send } = open({}, services);
    await send('EHLO c\r\n');
    services.lowStorage = true;
    assert.deepEqual(await send('MAIL FROM:<a@b.c>\r\n'), ['452 4.3.1 Insufficient system storage']);
    assert.deepEqual(codes(await send('RCPT TO:<jones@foo.com>\r\n')), ['503 5.5.1']);
    services.lowStorage = false;
    const r = await send(`${TX}hello\r\n.\r\n`);
    assert.deepEqual(codes(r), ['250 2.1.0', '250 2.1.5', '354 End d', '250 2.0.0']);
    assert.equal(services.delivered.length, 1);
  });

  test('the submission role is refused the same way (after AUTH), as a deferral', async () => {
    const services = fakeServices();
    const { send } = open({ role: 'submission', requireAuth: true }, services);
    await send('EHLO c\r\n');
    const plain = Buffer.from('\0alice@example.test\0alice-secret').toString('base64');
    assert.deepEqual(codes(await send(`AUTH PLAIN ${plain}\r\n`)), ['235 2.7.0']);
    services.lowStorage = true;
    assert.deepEqual(codes(await send('MAIL FROM:<alice@example.test>\r\n')), ['452 4.3.1']);
  });

  test('a probe that answers asynchronously is awaited', async () => {
    const services = fakeServices();
    services.storageLow = () => Promise.resolve(true);
    const { send } = open({}, services);
    assert.deepEqual(codes(await send('EHLO c\r\nMAIL FROM:<a@b.c>\r\n')).slice(-1), ['452 4.3.1']);
  });

  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const sqliteFull = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

  test('ENOSPC while the body is spooled: the rest is read, then 452 4.3.1 after the dot, never 250', async () => {
    for (const bdat of [false, true]) {
      const services = fakeServices();
      let aborted = 0;
      services.openSpool = () => ({
        write: () => Promise.reject(enospc()),
        finish: () => Promise.reject(new Error('not reached')),
        abort: () => void aborted++,
      });
      const { send } = open({}, services);
      await send('EHLO c\r\n');
      const r = bdat
        ? await send('MAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nBDAT 9 LAST\r\nbody\r\nxyzNOOP\r\n')
        : await send(`${TX}body\r\nRSET\r\n.\r\nNOOP\r\n`);
      assert.deepEqual(codes(r).slice(-2), ['452 4.3.1', '250 2.0.0'], `bdat ${bdat}`);
      assert.equal(services.delivered.length, 0);
      assert.ok(aborted >= 1);
    }
  });

  test('a full disk at commit (ENOSPC, SQLITE_FULL) gets 452 4.3.1; another store error keeps 451 4.3.0', async () => {
    const rows: [() => Error, string][] = [
      [enospc, '452 4.3.1'],
      [sqliteFull, '452 4.3.1'],
      [() => new Error('disk on fire'), '451 4.3.0'],
    ];
    for (const [error, expected] of rows) {
      const services = fakeServices();
      services.deliver = () => Promise.reject(error());
      const { send } = open({}, services);
      const r = await send(`EHLO c\r\n${TX}hello\r\n.\r\nNOOP\r\n`);
      assert.deepEqual(codes(r).slice(-2), [expected, '250 2.0.0']);
    }
  });
});
