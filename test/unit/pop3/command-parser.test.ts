// Table tests of the POP3 line receiver and command parser: RFC 1939 / 2449 / 5034 rows first, hostile rows after.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LineReceiver,
  MAX_COMMAND_LINE,
  parsePop3Command,
  type Pop3Command,
  type Pop3ParseError,
} from '../../../src/pop3/command-parser.js';

const rows: Array<[string, Pop3Command | Pop3ParseError['error']]> = [
  // RFC 1939 examples (sections 5-7)
  ['USER mrose', { verb: 'USER', name: 'mrose' }],
  ['PASS secret', { verb: 'PASS', password: 'secret' }],
  ['STAT', { verb: 'STAT' }],
  ['LIST', { verb: 'LIST', msg: null }],
  ['LIST 2', { verb: 'LIST', msg: 2 }],
  ['RETR 1', { verb: 'RETR', msg: 1 }],
  ['DELE 1', { verb: 'DELE', msg: 1 }],
  ['NOOP', { verb: 'NOOP' }],
  ['RSET', { verb: 'RSET' }],
  ['QUIT', { verb: 'QUIT' }],
  ['TOP 1 10', { verb: 'TOP', msg: 1, lines: 10 }],
  ['TOP 100 3', { verb: 'TOP', msg: 100, lines: 3 }],
  ['UIDL', { verb: 'UIDL', msg: null }],
  ['UIDL 2', { verb: 'UIDL', msg: 2 }],
  // RFC 2449 5, RFC 2595 4, RFC 5034 4
  ['CAPA', { verb: 'CAPA' }],
  ['STLS', { verb: 'STLS' }],
  ['AUTH PLAIN', { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: null }],
  [
    'AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=',
    { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: 'dGVzdAB0ZXN0AHRlc3Q=' },
  ],
  ['AUTH', { verb: 'AUTH', mechanism: null, initialResponse: null }],
  // keywords are case-insensitive (RFC 1939 3); passwords keep spaces (RFC 1939 7)
  ['retr 3', { verb: 'RETR', msg: 3 }],
  ['uSeR Alice@Example.Test', { verb: 'USER', name: 'Alice@Example.Test' }],
  ['PASS two words ', { verb: 'PASS', password: 'two words ' }],
  ['auth plain', { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: null }],
  // hostile and malformed
  ['', 'unknown-command'],
  ['APOP mrose c4c9334bac560ecc979e58001b3e22fb', 'unknown-command'],
  ['XTND XMIT', 'unknown-command'],
  ['RETR', 'syntax'],
  ['RETR -1', 'syntax'],
  ['RETR +1', 'syntax'],
  ['RETR 1.5', 'syntax'],
  ['RETR 0x10', 'syntax'],
  ['RETR 99999999999999999999', 'syntax'],
  ['RETR 1 2', 'syntax'],
  ['TOP 1', 'syntax'],
  ['TOP 1 -2', 'syntax'],
  ['DELE x', 'syntax'],
  ['STAT 1', 'syntax'],
  ['QUIT now', 'syntax'],
  ['USER', 'syntax'],
  ['USER a b', 'syntax'],
  ['PASS', 'syntax'],
  ['AUTH PLAIN a b', 'syntax'],
  ['RETR\u00001', 'bad-bytes'],
  ['USER a\u001bb', 'bad-bytes'],
  [`USER ${'a'.repeat(300)}`, 'syntax'],
];

describe('parsePop3Command', () => {
  for (const [line, expected] of rows) {
    test(JSON.stringify(line).slice(0, 60), () => {
      const got = parsePop3Command(Buffer.from(line, 'utf8'));
      if (typeof expected === 'string') assert.equal('error' in got ? got.error : got, expected);
      else assert.deepEqual(got, expected);
    });
  }
  test('bytes that are not UTF-8 are refused, not decoded loosely', () => {
    const got = parsePop3Command(Buffer.from([0x55, 0x53, 0x45, 0x52, 0x20, 0xff, 0xfe]));
    assert.ok('error' in got && got.error === 'bad-bytes');
  });
});

function lines(receiver: LineReceiver, input: Buffer): string[] {
  return receiver.push(input).map((l) => (l.kind === 'line' ? l.text.toString('latin1') : '<too-long>'));
}

describe('LineReceiver', () => {
  const input = Buffer.from('USER a\r\nPASS b c\r\nSTAT\nLIST\r\n');
  const expected = ['USER a', 'PASS b c', 'STAT', 'LIST'];

  test('whole, byte by byte and at every split point give the same lines', () => {
    assert.deepEqual(lines(new LineReceiver(), input), expected);
    const r = new LineReceiver();
    const got: string[] = [];
    for (const b of input) got.push(...lines(r, Buffer.from([b])));
    assert.deepEqual(got, expected);
    for (let cut = 1; cut < input.length; cut++) {
      const r2 = new LineReceiver();
      assert.deepEqual([...lines(r2, input.subarray(0, cut)), ...lines(r2, input.subarray(cut))], expected);
    }
  });

  test('a line over the limit is reported once and dropped; the next line is read normally', () => {
    const r = new LineReceiver();
    const long = Buffer.from(`USER ${'x'.repeat(MAX_COMMAND_LINE)}\r\nNOOP\r\n`);
    assert.deepEqual(lines(r, long), ['<too-long>', 'NOOP']);
    // exactly at the limit (255 octets with CRLF) is fine
    const exact = Buffer.from(`USER ${'y'.repeat(MAX_COMMAND_LINE - 7)}\r\n`);
    assert.equal(exact.length, MAX_COMMAND_LINE);
    assert.equal(lines(r, exact)[0]?.length, MAX_COMMAND_LINE - 2);
  });

  test('megabytes without a line end never grow what is held beyond the limit', () => {
    const r = new LineReceiver();
    for (let i = 0; i < 64; i++) {
      assert.deepEqual(lines(r, Buffer.alloc(64 * 1024, 0x41)), []);
      assert.ok(r.buffered <= MAX_COMMAND_LINE);
    }
    assert.deepEqual(lines(r, Buffer.from('\r\nQUIT\r\n')), ['<too-long>', 'QUIT']);
  });

  test('next() applies the limit in force when each line is taken (SASL responses may be longer)', () => {
    const r = new LineReceiver();
    r.feed(Buffer.from(`AUTH PLAIN\r\n${'A'.repeat(1000)}\r\n`));
    assert.equal(r.next()?.kind, 'line');
    r.limit = 4096;
    const second = r.next();
    assert.ok(second?.kind === 'line' && second.text.length === 1000);
  });

  test('reset() drops pipelined input (RFC 2595 4: nothing after STLS is run)', () => {
    const r = new LineReceiver();
    r.feed(Buffer.from('STLS\r\nUSER evil\r\nPASS x\r\n'));
    assert.equal(r.next()?.kind, 'line');
    r.reset();
    assert.equal(r.next(), null);
    assert.equal(r.hasPending, false);
  });
});
