// Table tests for the SMTP reply parser: RFC rows first, hostile rows after, every split point.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ReplyParser,
  ReplyParseError,
  formatReply,
  type SmtpReply,
} from '../../../../src/smtp/client/reply-parser.js';

function parseAll(input: string, split: number[] = []): { replies: SmtpReply[]; error?: ReplyParseError } {
  const parser = new ReplyParser();
  const bytes = Buffer.from(input, 'utf8');
  const cuts = [0, ...split, bytes.length];
  const replies: SmtpReply[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const r = parser.push(bytes.subarray(cuts[i], cuts[i + 1]));
    replies.push(...r.replies);
    if (r.error) return { replies, error: r.error };
  }
  return { replies };
}

const rows: { name: string; input: string; expect: Omit<SmtpReply, never>[] }[] = [
  // RFC 5321 4.2.1: the multi-line example, including a line whose text begins with digits.
  {
    name: 'RFC 5321 4.2.1 multi-line',
    input:
      '250-First line\r\n250-Second line\r\n250-234 Text beginning with numbers\r\n250 The last line\r\n',
    expect: [
      {
        code: 250,
        enhanced: undefined,
        lines: ['First line', 'Second line', '234 Text beginning with numbers', 'The last line'],
      },
    ],
  },
  // RFC 5321 D.1 greeting and EHLO reply.
  {
    name: 'RFC 5321 D.1 greeting + EHLO',
    input:
      '220 foo.com Simple Mail Transfer Service Ready\r\n250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n',
    expect: [
      { code: 220, enhanced: undefined, lines: ['foo.com Simple Mail Transfer Service Ready'] },
      {
        code: 250,
        enhanced: undefined,
        lines: ['foo.com greets bar.com', '8BITMIME', 'SIZE', 'DSN', 'HELP'],
      },
    ],
  },
  // RFC 5321 4.2: a bare code is a complete reply line.
  { name: 'bare code', input: '250\r\n', expect: [{ code: 250, enhanced: undefined, lines: [''] }] },
  // RFC 3463 / RFC 2034: enhanced codes on every line.
  {
    name: 'enhanced code multi-line',
    input: '550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Try again.\r\n',
    expect: [
      {
        code: 550,
        enhanced: '5.1.1',
        lines: ['The email account that you tried to reach does not exist.', 'Try again.'],
      },
    ],
  },
  {
    name: 'enhanced 4.x',
    input: '451 4.3.0 try later\r\n',
    expect: [{ code: 451, enhanced: '4.3.0', lines: ['try later'] }],
  },
  {
    name: 'enhanced class mismatching the code is just text',
    input: '250 5.1.1 odd\r\n',
    expect: [{ code: 250, enhanced: undefined, lines: ['5.1.1 odd'] }],
  },
  {
    name: 'not an enhanced code',
    input: '250 2.0 ok\r\n',
    expect: [{ code: 250, enhanced: undefined, lines: ['2.0 ok'] }],
  },
  {
    name: 'bare LF tolerated',
    input: '220 hi\n',
    expect: [{ code: 220, enhanced: undefined, lines: ['hi'] }],
  },
  {
    name: 'UTF-8 text',
    input: '250 Grüße\r\n',
    expect: [{ code: 250, enhanced: undefined, lines: ['Grüße'] }],
  },
  {
    name: 'TAB allowed',
    input: '250 a\tb\r\n',
    expect: [{ code: 250, enhanced: undefined, lines: ['a\tb'] }],
  },
];

void describe('ReplyParser: RFC rows, under every split', () => {
  for (const row of rows) {
    void test(row.name, () => {
      assert.deepEqual(parseAll(row.input), { replies: row.expect });
      const len = Buffer.byteLength(row.input);
      for (let cut = 1; cut < len; cut++)
        assert.deepEqual(parseAll(row.input, [cut]), { replies: row.expect });
      const bytewise = Array.from({ length: len - 1 }, (_, i) => i + 1);
      assert.deepEqual(parseAll(row.input, bytewise), { replies: row.expect });
    });
  }
});

const hostile: { name: string; input: string; reason: ReplyParseError['reason'] }[] = [
  { name: 'no code', input: 'hello\r\n', reason: 'bad-code' },
  { name: 'code out of range 6xx', input: '600 x\r\n', reason: 'bad-code' },
  { name: 'code second digit 6', input: '260 x\r\n', reason: 'bad-code' },
  { name: 'two-digit code', input: '25 x\r\n', reason: 'bad-code' },
  { name: 'bad separator', input: '250_x\r\n', reason: 'bad-separator' },
  { name: 'four digits', input: '2500 x\r\n', reason: 'bad-separator' },
  { name: 'code changes mid-reply', input: '250-a\r\n251 b\r\n', reason: 'code-mismatch' },
  { name: 'NUL in text', input: '250 a\x00b\r\n', reason: 'bad-text' },
  { name: 'bare CR in text', input: '250 a\rb\r\n', reason: 'bad-text' },
  { name: 'over-long line', input: '250 ' + 'x'.repeat(5000) + '\r\n', reason: 'line-too-long' },
  { name: 'over-long without newline', input: '250 ' + 'x'.repeat(5000), reason: 'line-too-long' },
  { name: 'endless continuation', input: '250-x\r\n'.repeat(300), reason: 'too-many-lines' },
  { name: 'empty line', input: '\r\n', reason: 'bad-code' },
];

void describe('ReplyParser: hostile rows', () => {
  for (const row of hostile) {
    void test(row.name, () => {
      const r = parseAll(row.input);
      assert.ok(r.error instanceof ReplyParseError, 'expected an error');
      assert.equal(r.error.reason, row.reason);
      // Byte by byte gives the same error.
      const len = Buffer.byteLength(row.input);
      const r2 = parseAll(
        row.input,
        Array.from({ length: Math.min(len - 1, 400) }, (_, i) => i + 1),
      );
      assert.equal(r2.error?.reason, row.reason);
    });
  }

  void test('stays failed after an error', () => {
    const p = new ReplyParser();
    assert.ok(p.push(Buffer.from('xyz\r\n')).error);
    const again = p.push(Buffer.from('250 ok\r\n'));
    assert.deepEqual(again.replies, []);
    assert.ok(again.error);
  });

  void test('replies before the error are still returned', () => {
    const r = parseAll('250 ok\r\nbroken\r\n');
    assert.equal(r.replies.length, 1);
    assert.equal(r.error?.reason, 'bad-code');
  });

  void test('midReply tells a truncated reply apart', () => {
    const p = new ReplyParser();
    p.push(Buffer.from('250-a\r\n25'));
    assert.equal(p.midReply, true);
    p.push(Buffer.from('0 b\r\n'));
    assert.equal(p.midReply, false);
  });

  void test('does not keep a reference to the caller buffer', () => {
    const p = new ReplyParser();
    const buf = Buffer.from('250 abc');
    p.push(buf);
    buf.fill(0x41);
    assert.deepEqual(p.push(Buffer.from('\r\n')).replies[0]?.lines, ['abc']);
  });
});

void test('formatReply renders one line', () => {
  assert.equal(
    formatReply({ code: 550, enhanced: '5.1.1', lines: ['no such user', 'bye'] }),
    '550 5.1.1 no such user; bye',
  );
  assert.equal(formatReply({ code: 250, enhanced: undefined, lines: [''] }), '250');
});
