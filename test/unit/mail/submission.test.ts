// Submission policy: header presence scanning under every split, the added Message-ID/Date, sender ownership.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HeaderScanner,
  senderOwnedBy,
  submissionHeaders,
  type HeaderPresence,
} from '../../../src/mail/submission.js';
import type { AddressBook } from '../../../src/delivery/aliases.js';
import { SmtpSession } from '../../../src/smtp/server/session.js';
import { fakeServices, testPeer, testPolicy } from '../../helpers/smtp-fakes.js';

function scan(message: string | Buffer, splits: number[] = []): { presence: HeaderPresence; ended: boolean } {
  const buf = typeof message === 'string' ? Buffer.from(message, 'latin1') : message;
  const s = new HeaderScanner();
  let at = 0;
  for (const cut of [...splits, buf.length]) {
    s.write(buf.subarray(at, cut));
    at = cut;
  }
  return { presence: s.presence, ended: s.headerEnded };
}

/** Every way of cutting the message in two, and byte by byte: the same answer (DESIGN habit 2). */
function scanAllSplits(message: string): HeaderPresence {
  const whole = scan(message).presence;
  const buf = Buffer.from(message, 'latin1');
  for (let cut = 0; cut <= buf.length; cut++)
    assert.deepEqual(scan(buf, [cut]).presence, whole, `cut ${cut}`);
  const s = new HeaderScanner();
  for (const byte of buf) s.write(Buffer.from([byte]));
  assert.deepEqual(s.presence, whole, 'byte by byte');
  return whole;
}

describe('HeaderScanner', () => {
  const rows: [string, string, HeaderPresence][] = [
    // RFC 5322 A.1.1: a simple message has both.
    [
      'RFC 5322 A.1.1',
      'From: John Doe <jdoe@machine.example>\r\nTo: Mary Smith <mary@example.net>\r\nSubject: Saying Hello\r\n' +
        'Date: Fri, 21 Nov 1997 09:55:06 -0600\r\nMessage-ID: <1234@local.machine.example>\r\n\r\nThis is a message.\r\n',
      { messageId: true, date: true },
    ],
    ['neither', 'From: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n', { messageId: false, date: false }],
    [
      'case-insensitive names (RFC 5322 1.2.2)',
      'MESSAGE-id: <x@y>\r\ndATE: now\r\n\r\n',
      { messageId: true, date: true },
    ],
    [
      'obsolete space before colon (RFC 5322 4.5)',
      'Date : Fri, 21 Nov 1997\r\n\r\n',
      { messageId: false, date: true },
    ],
    [
      'only in the body',
      'Subject: x\r\n\r\nDate: not a header\r\nMessage-ID: <no@no>\r\n',
      { messageId: false, date: false },
    ],
    [
      'in a folded continuation',
      'Subject: x\r\n Date: folded\r\n\tMessage-ID: <f@f>\r\n\r\n',
      { messageId: false, date: false },
    ],
    ['in a value', 'Subject: Date: x Message-ID: y\r\n\r\n', { messageId: false, date: false }],
    [
      'other fields with the same prefix',
      'Resent-Date: x\r\nDates: y\r\nMessage-IDs: z\r\n\r\n',
      { messageId: false, date: false },
    ],
    ['bare LF line ends', 'Date: x\nMessage-ID: <a@b>\n\nbody\n', { messageId: true, date: true }],
    ['no header at all', '\r\nDate: body\r\n', { messageId: false, date: false }],
    ['empty message', '', { messageId: false, date: false }],
    ['header never ends', 'Date: x\r\nMessage-ID: <a@b>', { messageId: true, date: true }],
    // Hostile rows.
    [
      'NUL and 8-bit bytes in names',
      'Da\x00te: x\r\nMess\xe9age-ID: y\r\n\r\n',
      { messageId: false, date: false },
    ],
    ['CR inside a name', 'Da\rte: x\r\n\r\n', { messageId: false, date: false }],
    [
      'lone CR at line start is not an empty line',
      'Subject: a\r\n\rDate: x\r\nDate: y\r\n\r\n',
      { messageId: false, date: true },
    ],
    [
      'a huge name is not collected',
      `${'X'.repeat(5000)}Date: x\r\nDate: y\r\n\r\n`,
      { messageId: false, date: true },
    ],
  ];
  for (const [name, message, expected] of rows) {
    test(name, () => assert.deepEqual(scanAllSplits(message), expected));
  }

  test('stops at the empty line and reports it', () => {
    assert.equal(scan('A: b\r\n\r\nDate: x').ended, true);
    assert.equal(scan('A: b\r\nDate: x').ended, false);
  });

  test('a large body after the header is not scanned', () => {
    const s = new HeaderScanner();
    s.write(Buffer.from('Subject: x\r\n\r\n'));
    const started = process.hrtime.bigint();
    const body = Buffer.alloc(20 * 1024 * 1024, 'Date: x\r\n');
    for (let i = 0; i < 100; i++) s.write(body);
    assert.equal(s.presence.date, false);
    // 2 GB of body: only possible if each write returns at once.
    assert.ok(process.hrtime.bigint() - started < 1_000_000_000n);
  });
});

describe('HeaderScanner.messageId (for the message-accepted log line)', () => {
  const rows: [string, string, string | null][] = [
    [
      'RFC 5322 A.1.1 form',
      'From: a@b\r\nMessage-ID: <1234@local.machine.example>\r\n\r\nbody',
      '<1234@local.machine.example>',
    ],
    ['folded (RFC 5322 2.2.3)', 'Message-Id:\r\n  <folded@x.test>\r\nSubject: s\r\n\r\n', '<folded@x.test>'],
    ['the first of two', 'Message-ID: <one@x>\r\nMessage-ID: <two@x>\r\n\r\n', '<one@x>'],
    ['none', 'Subject: s\r\n\r\nMessage-ID: <in-body@x>\r\n', null],
    ['the next field ends it', 'Message-ID: <a@x>\r\nX-Other: y\r\n\r\n', '<a@x>'],
    // 256 characters kept with the leading space, then trimmed.
    ['cut for the log', `Message-ID: <${'x'.repeat(400)}@x>\r\n\r\n`, `<${'x'.repeat(254)}`],
  ];
  for (const [name, message, expected] of rows) {
    test(name, () => {
      const buf = Buffer.from(message, 'latin1');
      for (let cut = 0; cut <= buf.length; cut += 3) {
        const s = new HeaderScanner();
        s.write(buf.subarray(0, cut));
        s.write(buf.subarray(cut));
        assert.equal(s.messageId, expected, `cut ${cut}`);
      }
    });
  }
});

describe('submissionHeaders (RFC 6409 8.2, 8.3)', () => {
  const facts = {
    queueId: '01ABCDEFGH0123456789',
    hostname: 'Mail.Example.Test',
    date: new Date(Date.UTC(2026, 10, 24, 10, 5, 9)),
  };
  test('both missing', () => {
    assert.equal(
      submissionHeaders({ messageId: false, date: false }, facts),
      'Message-ID: <01ABCDEFGH0123456789@mail.example.test>\r\nDate: Tue, 24 Nov 2026 10:05:09 +0000\r\n',
    );
  });
  test('only what is missing', () => {
    assert.equal(
      submissionHeaders({ messageId: true, date: false }, facts),
      'Date: Tue, 24 Nov 2026 10:05:09 +0000\r\n',
    );
    assert.equal(
      submissionHeaders({ messageId: false, date: true }, facts),
      'Message-ID: <01ABCDEFGH0123456789@mail.example.test>\r\n',
    );
    assert.equal(submissionHeaders({ messageId: true, date: true }, facts), '');
  });
  test('a hostile hostname or id cannot break the header', () => {
    const h = submissionHeaders(
      { messageId: false, date: true },
      { ...facts, hostname: 'a b>\r\nX: 1', queueId: 'Q<1>\r\n' },
    );
    assert.equal(h, 'Message-ID: <Q1@abx1>\r\n');
    assert.equal(
      submissionHeaders({ messageId: false, date: true }, { ...facts, hostname: '...', queueId: '' }),
      'Message-ID: <id@localhost>\r\n',
    );
  });
});

describe('senderOwnedBy (RFC 6409 4.3, RFC 5321 4.2.2)', () => {
  const accounts = new Map([
    ['alice@a.test', 1],
    ['bob@a.test', 2],
  ]);
  const aliases = new Map<string, string[]>([
    ['sales@a.test', ['alice@a.test']],
    ['team@a.test', ['sales@a.test', 'bob@a.test']],
    ['fwd@a.test', ['someone@remote.test']],
    ['@c.test', ['alice@a.test']],
    ['alice@b.test', ['alice@a.test']],
    ['bob-old@a.test', ['bob@a.test']],
  ]);
  const book: AddressBook = {
    isLocalDomain: (d) => ['a.test', 'b.test', 'c.test'].includes(d),
    accountId: (a) => accounts.get(a) ?? null,
    aliasTargets: (s) => aliases.get(s) ?? null,
  };
  const rows: [string, string, boolean][] = [
    ['alice@a.test', 'alice@a.test', true],
    ['Alice@A.TEST', 'alice@a.test', true],
    ['alice+lists@a.test', 'alice@a.test', true],
    ['sales@a.test', 'alice@a.test', true],
    ['sales+x@a.test', 'alice@a.test', true],
    ['team@a.test', 'alice@a.test', true],
    ['team@a.test', 'bob@a.test', true],
    ['alice@b.test', 'alice@a.test', true],
    ['anything@c.test', 'alice@a.test', true], // the catch-all's owner receives it, so may send as it
    // Refused.
    ['', 'alice@a.test', false],
    ['bob@a.test', 'alice@a.test', false],
    ['bob+x@a.test', 'alice@a.test', false],
    ['bob-old@a.test', 'alice@a.test', false],
    ['sales@a.test', 'bob@a.test', false],
    ['fwd@a.test', 'alice@a.test', false],
    ['nobody@a.test', 'alice@a.test', false],
    ['alice@remote.test', 'alice@a.test', false],
    ['alice@[127.0.0.1]', 'alice@a.test', false],
    ['not-an-address', 'alice@a.test', false],
    ['@a.test', 'alice@a.test', false],
    ['alice@a.test', 'ghost@a.test', false],
  ];
  for (const [sender, account, expected] of rows) {
    test(`${sender || '<>'} as ${account}: ${expected ? 'allowed' : 'refused'}`, () =>
      assert.equal(senderOwnedBy(book, sender, account), expected));
  }
});

describe('SMTP session on submission roles (fake services)', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  async function session(role: 'mx' | 'submission' | 'submissions', auth = true) {
    const services = fakeServices();
    const s = new SmtpSession({
      policy: testPolicy({ role, requireAuth: role !== 'mx' }),
      services,
      peer: testPeer({ loopback: true }),
    });
    s.greet();
    const send = async (text: string) =>
      (await s.feed(Buffer.from(text, 'utf8'))).replies.split('\r\n').filter((l) => l !== '');
    await send('EHLO c\r\n');
    if (auth)
      assert.match(
        (await send(`AUTH PLAIN ${b64('\0alice@example.test\0alice-secret')}\r\n`))[0] ?? '',
        /^235/,
      );
    return { services, send };
  }

  test('Message-ID and Date added after the Received header when missing (DATA)', async () => {
    const { services, send } = await session('submission');
    await send('MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
    assert.deepEqual(await send('Subject: hi\r\n\r\nDate: in the body\r\n.\r\n'), [
      '250 2.0.0 OK queued as Q1',
    ]);
    const trace = services.delivered[0]?.traceHeaders ?? '';
    assert.match(
      trace,
      /^Received: [^]*\r\nMessage-ID: <Q1@mx\.foo\.com>\r\nDate: Tue, 24 Nov 2026 10:00:00 \+0000\r\n$/,
    );
    assert.equal(services.bodies[0], 'Subject: hi\r\n\r\nDate: in the body\r\n');
  });

  test('nothing added when both are present; only Date when only it is missing (BDAT, split header)', async () => {
    const { services, send } = await session('submissions');
    await send('MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n');
    await send('DATA\r\nMessage-ID: <a@b>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nx\r\n.\r\n');
    assert.doesNotMatch(services.delivered[0]?.traceHeaders ?? '', /Message-ID|Date:/);
    await send('MAIL FROM:<alice+tag@example.test>\r\nRCPT TO:<bob@example.test>\r\n');
    assert.deepEqual(await send('BDAT 9\r\nMessage-I'), ['250 2.0.0 9 octets received']);
    assert.deepEqual(await send('BDAT 13 LAST\r\nD: <c@d>\r\n\r\nx'), ['250 2.0.0 OK queued as Q2']);
    assert.match(services.delivered[1]?.traceHeaders ?? '', /\r\nDate: [^\r]+\r\n$/);
    assert.doesNotMatch(services.delivered[1]?.traceHeaders ?? '', /Message-ID/);
  });

  test('MX role: nothing added, any sender', async () => {
    const { services, send } = await session('mx', false);
    await send('MAIL FROM:<someone@else.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n');
    assert.deepEqual(await send('Subject: x\r\n\r\n.\r\n'), ['250 2.0.0 OK queued as Q1']);
    assert.doesNotMatch(services.delivered[0]?.traceHeaders ?? '', /Message-ID|Date:/);
  });

  test('submission: a sender the user does not own, and the null sender, get 553 5.7.1', async () => {
    const { services, send } = await session('submission');
    assert.deepEqual(await send('MAIL FROM:<bob@example.test>\r\n'), [
      '553 5.7.1 Sender address not owned by the authenticated user',
    ]);
    assert.match((await send('MAIL FROM:<>\r\n'))[0] ?? '', /^553 5\.7\.1 /);
    // The refused MAIL started no transaction.
    assert.match((await send('RCPT TO:<bob@example.test>\r\n'))[0] ?? '', /^503 /);
    assert.deepEqual(await send('MAIL FROM:<Alice@example.test>\r\n'), ['250 2.1.0 Sender OK']);
    services.senderAllowed = () => {
      throw new Error('store gone');
    };
    await send('RSET\r\n');
    assert.match((await send('MAIL FROM:<alice@example.test>\r\n'))[0] ?? '', /^451 4\.3\.0/);
  });
});
