// SMTP session transcripts: RFC 821/5321 examples first, then sequence, AUTH and hostile rows, with no server running.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpSession } from '../../../src/smtp/server/session.js';
import { DATA_LINE_MAX } from '../../../src/config/limits.js';
import { fakeServices, testPeer, testPolicy, type FakeServices } from '../../helpers/smtp-fakes.js';
import type { SmtpPeer, SmtpPolicy } from '../../../src/smtp/server/services.js';

function open(policy: Partial<SmtpPolicy> = {}, peer: Partial<SmtpPeer> = {}, services?: FakeServices) {
  const s = services ?? fakeServices();
  const session = new SmtpSession({ policy: testPolicy(policy), services: s, peer: testPeer(peer) });
  const greeting = session.greet().replies;
  /** Sends text (CRLF added per line unless raw) and returns the reply lines. */
  const send = async (text: string) => {
    const out = await session.feed(Buffer.from(text, 'utf8'));
    return {
      lines: out.replies.split('\r\n').filter((l) => l !== ''),
      action: out.action,
      events: out.events,
    };
  };
  return { session, services: s, greeting, send };
}

const codes = (lines: string[]) => lines.map((l) => l.slice(0, 3));

describe('RFC transcripts', () => {
  test('RFC 821 / RFC 5321 D.1 example: Smith to Jones, Green (unknown), Brown', async () => {
    const { send, services, greeting } = open();
    assert.match(greeting, /^220 mx\.foo\.com /);
    assert.deepEqual(codes((await send('EHLO bar.com\r\n')).lines).at(-1), '250');
    assert.deepEqual((await send('MAIL FROM:<Smith@bar.com>\r\n')).lines, ['250 2.1.0 Sender OK']);
    assert.deepEqual((await send('RCPT TO:<Jones@foo.com>\r\n')).lines, ['250 2.1.5 Recipient OK']);
    const green = await send('RCPT TO:<Green@foo.com>\r\n');
    assert.match(green.lines[0] ?? '', /^550 5\.1\.1 /);
    // The refusal reaches the log with the command it answered (issue 11).
    assert.deepEqual(green.events, [
      {
        kind: 'reply-error',
        command: 'RCPT TO:<Green@foo.com>',
        code: 550,
        enhanced: '5.1.1',
        text: green.lines[0]!.slice(10),
      },
    ]);
    assert.deepEqual(codes((await send('RCPT TO:<Brown@foo.com>\r\n')).lines), ['250']);
    assert.deepEqual((await send('DATA\r\n')).lines, ['354 End data with <CR><LF>.<CR><LF>']);
    const end = await send('Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\n');
    assert.deepEqual(end.lines, ['250 2.0.0 OK queued as Q1']);
    assert.deepEqual(end.events[0], {
      kind: 'accepted',
      queueId: 'Q1',
      size: 37,
      sender: 'Smith@bar.com',
      recipients: ['Jones@foo.com', 'Brown@foo.com'],
      messageId: null, // the body has no header block with one
    });
    assert.deepEqual((await send('QUIT\r\n')).lines, ['221 2.0.0 mx.foo.com closing connection']);
    const req = services.delivered[0];
    assert.ok(req);
    assert.deepEqual(req.local, [{ accountId: 1 }, { accountId: 2 }]); // Jones and Brown only
    assert.deepEqual(req.remote, []);
    assert.equal(req.envelope.sender, 'Smith@bar.com');
    assert.equal(services.bodies[0], 'Blah blah blah...\r\n..etc. etc. etc.\r\n');
    assert.match(
      req.traceHeaders,
      /^Received: from bar\.com \(\[192\.0\.2\.7\]\)\r\n\tby mx\.foo\.com \(Mailroom\) with ESMTP id Q1;\r\n\tTue, 24 Nov 2026 10:00:00 \+0000\r\n$/,
    );
  });

  test('"Do you like ketchup? / How about pickles?" (RFC 5321 D.1) pipelined in one packet', async () => {
    const { send, services } = open();
    await send('EHLO bar.com\r\n');
    const r = await send(
      'MAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\nRCPT TO:<Green@foo.com>\r\nRCPT TO:<Brown@foo.com>\r\nDATA\r\n' +
        'Date: Thu, 21 May 1998 05:33:29 -0700\r\nFrom: John Q. Public <JQP@bar.com>\r\nSubject: The Next Meeting of the Board\r\nTo: Jones@xyz.com\r\n\r\n' +
        'Bill:\r\nThe next meeting of the board of directors will be\r\non Tuesday.\r\n' +
        'Do you like ketchup?\r\nHow about pickles?\r\n.\r\nQUIT\r\n',
    );
    assert.deepEqual(codes(r.lines), ['250', '250', '550', '250', '354', '250', '221']);
    assert.equal(r.action, 'quit');
    assert.equal(services.delivered.length, 1);
    assert.equal(services.delivered[0]?.local.length, 2);
    assert.ok(services.bodies[0]?.endsWith('Do you like ketchup?\r\nHow about pickles?\r\n'));
  });
});

describe('postmaster', () => {
  test('RCPT TO:<Postmaster> without a domain is accepted even when hostname is not a local domain (RFC 5321 4.5.1)', async () => {
    // testPolicy's hostname mx.foo.com is not a local domain of fakeServices (foo.com, example.test).
    const { send, services } = open();
    await send('EHLO bar.com\r\n');
    const r = await send('MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\nSubject: hi\r\n\r\nhello\r\n.\r\n');
    assert.deepEqual(codes(r.lines), ['250', '250', '354', '250']);
    assert.deepEqual(services.delivered[0]?.local, [{ accountId: 1 }]);
  });
});

describe('EHLO and sequence', () => {
  test('EHLO advertises the extensions; STARTTLS only when available and not secure; AUTH only when allowed', async () => {
    const plain = open({ tlsAvailable: true });
    const ext = (await plain.send('EHLO c.example\r\n')).lines.map((l) => l.slice(4));
    for (const x of [
      'PIPELINING',
      'SIZE 10000',
      '8BITMIME',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
      'STARTTLS',
      'CHUNKING',
      'DSN',
      'HELP',
    ]) {
      assert.ok(ext.includes(x), x);
    }
    assert.ok(!ext.includes('AUTH PLAIN LOGIN'), 'no AUTH over plaintext non-loopback');
    const secure = open({ tlsAvailable: true }, { secure: true });
    const ext2 = (await secure.send('EHLO c.example\r\n')).lines.map((l) => l.slice(4));
    assert.ok(!ext2.includes('STARTTLS'));
    assert.ok(ext2.includes('AUTH PLAIN LOGIN'));
    const loop = open({}, { loopback: true });
    assert.ok((await loop.send('EHLO c\r\n')).lines.some((l) => l.endsWith('AUTH PLAIN LOGIN')));
  });

  test('HELO has no extensions; bad sequences get 503 5.5.1', async () => {
    const { send } = open();
    assert.deepEqual(codes((await send('MAIL FROM:<a@b.c>\r\n')).lines), ['503']);
    assert.deepEqual((await send('HELO c\r\n')).lines, ['250 mx.foo.com Hello c']);
    assert.deepEqual((await send('RCPT TO:<jones@foo.com>\r\n')).lines, [
      '503 5.5.1 Need MAIL command first',
    ]);
    assert.deepEqual((await send('DATA\r\n')).lines, ['503 5.5.1 Need MAIL command first']);
    await send('MAIL FROM:<a@b.c>\r\n');
    assert.deepEqual((await send('MAIL FROM:<a@b.c>\r\n')).lines, ['503 5.5.1 Sender already specified']);
    assert.deepEqual((await send('DATA\r\n')).lines, ['554 5.5.1 No valid recipients']);
    assert.deepEqual(codes((await send('MAIL FROM:<a@b.c> SIZE=10\r\nRSET\r\n')).lines), ['503', '250']);
  });

  test('VRFY never reveals users, HELP 214, NOOP, RSET', async () => {
    const { send } = open();
    await send('EHLO c\r\n');
    const a = (await send('VRFY jones@foo.com\r\n')).lines;
    const b = (await send('VRFY nobody@foo.com\r\n')).lines;
    assert.deepEqual(a, b);
    assert.match(a[0] ?? '', /^252 2\.5\.0 /);
    assert.deepEqual(codes((await send('HELP\r\nNOOP\r\nRSET\r\n')).lines), ['214', '214', '250', '250']);
  });

  test('relay denied 554 5.7.1, too many recipients 452 4.5.3, SIZE over limit 552 5.3.4', async () => {
    const { send } = open({ maxRecipients: 2 });
    await send('EHLO c\r\n');
    assert.deepEqual(codes((await send('MAIL FROM:<a@b.c> SIZE=10001\r\n')).lines), ['552']);
    await send('MAIL FROM:<a@b.c> SIZE=100\r\n');
    assert.match((await send('RCPT TO:<x@elsewhere.example>\r\n')).lines[0] ?? '', /^554 5\.7\.1/);
    const r = await send(
      'RCPT TO:<jones@foo.com>\r\nRCPT TO:<brown@foo.com>\r\nRCPT TO:<alice@example.test>\r\n',
    );
    assert.deepEqual(
      r.lines.map((l) => l.slice(0, 9)),
      ['250 2.1.5', '250 2.1.5', '452 4.5.3'],
    );
  });

  test('several messages per connection, duplicates de-duplicated, DSN and SMTPUTF8 in the envelope', async () => {
    const { send, services } = open({}, { secure: true });
    await send(
      'EHLO c\r\nAUTH PLAIN ' + Buffer.from('\0alice@example.test\0alice-secret').toString('base64') + '\r\n',
    );
    const r = await send(
      'MAIL FROM:<alice@example.test> RET=HDRS ENVID=QQ+2B1 SMTPUTF8 BODY=8BITMIME\r\n' +
        'RCPT TO:<bob@example.test>\r\nRCPT TO:<BOB@example.test>\r\nRCPT TO:<dave@remote.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;dave+40remote.example\r\n' +
        'RCPT TO:<jürgen@remote.example>\r\nDATA\r\nhi\r\n.\r\n' +
        'MAIL FROM:<>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\nsecond\r\n.\r\n',
    );
    assert.deepEqual(codes(r.lines), [
      '250',
      '250',
      '250',
      '250',
      '250',
      '354',
      '250',
      '250',
      '250',
      '354',
      '250',
    ]);
    const [first, second] = services.delivered;
    assert.deepEqual(first?.envelope, {
      sender: 'alice@example.test',
      dsnRet: 'HDRS',
      dsnEnvid: 'QQ+1',
      smtpUtf8: true,
      body: '8BITMIME',
    });
    assert.deepEqual(first?.local, [{ accountId: 4 }]);
    assert.deepEqual(first?.remote, [
      { address: 'dave@remote.example', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;dave@remote.example' },
      { address: 'jürgen@remote.example' },
    ]);
    assert.match(first?.traceHeaders ?? '', / with UTF8SMTPSA id Q1/);
    assert.equal(second?.envelope.sender, '');
    assert.match(second?.traceHeaders ?? '', / with ESMTPSA id Q2/);
    assert.match(second?.traceHeaders ?? '', /for <jones@foo\.com>;/);
  });

  test('a store error after the dot answers 451 4.3.0, never 250', async () => {
    const services = fakeServices();
    services.failDeliver = true;
    const { send } = open({}, {}, services);
    const r = await send(
      'EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n',
    );
    assert.deepEqual(
      r.lines.slice(-2).map((l) => l.slice(0, 9)),
      ['451 4.3.0', '250 2.0.0'],
    );
  });
});

describe('AUTH', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  test('requireAuth: MAIL before AUTH 530 5.7.0; AUTH over plaintext non-loopback 538 5.7.11', async () => {
    const { send } = open({ role: 'submission', requireAuth: true });
    await send('EHLO c\r\n');
    assert.match((await send('MAIL FROM:<a@b.c>\r\n')).lines[0] ?? '', /^530 5\.7\.0/);
    assert.match((await send('AUTH PLAIN ' + b64('\0a\0b') + '\r\n')).lines[0] ?? '', /^538 5\.7\.11/);
  });

  test('PLAIN with and without initial response, LOGIN, failures, cancel, repeat', async () => {
    const { send } = open({ requireAuth: true }, { secure: true });
    await send('EHLO c\r\n');
    assert.match(
      (await send('AUTH PLAIN ' + b64('\0alice@example.test\0wrong') + '\r\n')).lines[0] ?? '',
      /^535 5\.7\.8/,
    );
    assert.deepEqual((await send('AUTH PLAIN\r\n')).lines, ['334 ']);
    assert.deepEqual((await send('*\r\n')).lines, ['501 5.0.0 Authentication cancelled']);
    assert.deepEqual(
      (await send('AUTH PLAIN !!!notbase64\r\n')).lines.map((l) => l.slice(0, 3)),
      ['501'],
    );
    assert.deepEqual((await send('AUTH LOGIN\r\n')).lines, ['334 VXNlcm5hbWU6']);
    assert.deepEqual((await send(b64('alice@example.test') + '\r\n')).lines, ['334 UGFzc3dvcmQ6']);
    assert.deepEqual((await send(b64('alice-secret') + '\r\n')).lines, [
      '235 2.7.0 Authentication successful',
    ]);
    assert.match((await send('AUTH PLAIN ' + b64('\0a\0b') + '\r\n')).lines[0] ?? '', /^503 5\.5\.1/);
    await send('MAIL FROM:<alice@example.test>\r\n');
    assert.match((await send('AUTH LOGIN\r\n')).lines[0] ?? '', /^503 5\.5\.1/);
  });

  test('throttled 454 4.7.0; unknown mechanism 504', async () => {
    const { send } = open({}, { loopback: true });
    await send('EHLO c\r\n');
    assert.match(
      (await send('AUTH PLAIN ' + b64('\0throttled@example.test\0x') + '\r\n')).lines[0] ?? '',
      /^454 4\.7\.0/,
    );
    assert.match((await send('AUTH CRAM-MD5\r\n')).lines[0] ?? '', /^504 5\.5\.4/);
  });
});

describe('hostile input', () => {
  test('NUL, 8-bit and over-long command lines', async () => {
    const { send } = open();
    await send('EHLO c\r\n');
    assert.deepEqual((await send('NOOP\0x\r\n')).lines, ['500 5.5.2 Invalid characters in command']);
    assert.deepEqual((await send('NOOP \xff\r\n')).lines, ['500 5.5.2 Invalid characters in command']);
    const long = 'NOOP ' + 'a'.repeat(600) + '\r\n';
    assert.deepEqual((await send(long)).lines, ['500 5.5.6 Line too long']);
    const huge = 'X'.repeat(100_000) + '\r\nNOOP\r\n';
    assert.deepEqual(codes((await send(huge)).lines), ['500', '250']);
  });

  test('smuggling: <LF>.<CRLF>, <LF>.<LF>, <CR>.<CRLF> never end DATA', async () => {
    for (const sep of ['\n.\r\n', '\n.\n', '\r.\r\n', '\r\n.\n', '\r.\r']) {
      const { send, services } = open();
      const r = await send(
        `EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\nhello${sep}MAIL FROM:<evil@x.y>\r\nRCPT TO:<brown@foo.com>\r\nDATA\r\nevil\r\n.\r\n`,
      );
      assert.deepEqual(codes(r.lines).slice(-2), ['354', '250'], JSON.stringify(sep));
      assert.equal(services.delivered.length, 1);
      assert.ok(services.bodies[0]?.includes('MAIL FROM:<evil@x.y>'), JSON.stringify(sep));
    }
  });

  test('data line over DATA_LINE_MAX: 500 5.5.6 after the dot; oversize body: 552 5.3.4 after the dot', async () => {
    const { send, services } = open({ maxMessageSize: 100_000 });
    const r = await send(
      `EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n${'a'.repeat(DATA_LINE_MAX - 1)}\r\nok\r\n.\r\nNOOP\r\n`,
    );
    assert.deepEqual(
      r.lines.slice(-2).map((l) => l.slice(0, 9)),
      ['500 5.5.6', '250 2.0.0'],
    );
    const r2 = await send(
      `MAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n${'abcdefgh\r\n'.repeat(10_001)}.\r\n`,
    );
    assert.deepEqual(
      r2.lines.slice(-1).map((l) => l.slice(0, 9)),
      ['552 5.3.4'],
    );
    assert.equal(services.delivered.length, 0);
    assert.equal(services.aborted, 2);
  });

  test('BDAT: chunks, LAST, huge sizes, refused chunks are consumed', async () => {
    const { send, services } = open();
    await send('EHLO c\r\n');
    // BDAT before MAIL: refused but its 6 octets are eaten, not run as a command.
    assert.deepEqual(codes((await send('BDAT 6\r\nQUIT\r\nNOOP\r\n')).lines), ['503', '250']);
    const r = await send(
      'MAIL FROM:<a@b.c> BODY=BINARYMIME\r\nRCPT TO:<jones@foo.com>\r\nBDAT 6\r\nhello\nBDAT 0 LAST\r\n',
    );
    assert.deepEqual(r.lines, [
      '250 2.1.0 Sender OK',
      '250 2.1.5 Recipient OK',
      '250 2.0.0 6 octets received',
      '250 2.0.0 OK queued as Q1',
    ]);
    assert.equal(services.bodies[0], 'hello\n');
    assert.equal(services.delivered[0]?.envelope.body, 'BINARYMIME');
    const big = await send(
      'MAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nBDAT 99999999999999999999 LAST\r\n',
    );
    assert.deepEqual(big.lines.at(-1)?.slice(0, 9), '552 5.3.4');
    assert.equal(big.action, 'close');
  });

  test('BDAT over maxMessageSize is discarded without buffering and answered 552', async () => {
    const { send, services } = open({ maxMessageSize: 10 });
    const r = await send(
      'EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nBDAT 20 LAST\r\n' +
        'x'.repeat(20) +
        'NOOP\r\n',
    );
    assert.deepEqual(
      r.lines.slice(-2).map((l) => l.slice(0, 9)),
      ['552 5.3.4', '250 2.0.0'],
    );
    assert.equal(services.delivered.length, 0);
  });

  test('STARTTLS: pipelined commands after it are dropped; session resets after TLS', async () => {
    const { send, session } = open({ tlsAvailable: true });
    await send('EHLO c\r\n');
    const r = await send('STARTTLS\r\nRSET\r\nMAIL FROM:<a@b.c>\r\n');
    assert.deepEqual(r.lines, ['220 2.0.0 Ready to start TLS']);
    assert.equal(r.action, 'start-tls');
    session.tlsStarted({ protocol: 'TLSv1.3' });
    assert.equal(session.state.kind, 'connected');
    assert.deepEqual(codes((await send('MAIL FROM:<a@b.c>\r\n')).lines), ['503']);
    assert.deepEqual(codes((await send('STARTTLS\r\n')).lines), ['503']);
  });

  test('RCPT with a UTF-8 address needs SMTPUTF8 on MAIL', async () => {
    const { send } = open();
    await send('EHLO c\r\nMAIL FROM:<a@b.c>\r\n');
    assert.match((await send('RCPT TO:<jürgen@foo.com>\r\n')).lines[0] ?? '', /^553 5\.6\.7/);
  });
});
