// Tests for the IMAP command receiver: literals (RFC 9051 4.3 / 7.5, RFC 7888), limits, streaming, any chunk split.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ImapCommandReceiver } from '../../../../src/imap/proto/literal-receiver.js';
import type { ReceiverLimits } from '../../../../src/imap/proto/literal-receiver.js';
import { run } from './receiver-harness.js';

const whole = (s: string | Buffer, limits?: ReceiverLimits): string[] =>
  run(Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'), [], limits);
const byteByByte = (s: string | Buffer, limits?: ReceiverLimits): string[] => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1');
  return run(
    b,
    Array.from({ length: b.length }, (_, i) => i),
    limits,
  );
};

const small: ReceiverLimits = {
  maxLineLength: 40,
  maxLiteralSize: 10,
  maxAppendSize: 20,
  maxLiterals: 3,
  maxBufferedLiteralBytes: 15,
};

describe('ImapCommandReceiver', () => {
  const rows: Array<{ name: string; input: string; want: string[]; limits?: ReceiverLimits }> = [
    {
      name: 'simple commands, CRLF and bare LF',
      input: 'a1 NOOP\r\na2 CAPABILITY\n\r\n',
      want: ['command a1 ["a1 NOOP"] []', 'command a2 ["a2 CAPABILITY"] []'],
    },
    {
      // RFC 9051 7.5: C: A003 APPEND saved-messages (\Seen) {310} / S: + Ready for literal data
      name: 'synchronising literal argument (RFC 9051 6.2.3 LOGIN example)',
      input: 'a001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n',
      want: [
        'continue a001 11',
        'continue a001 7',
        'command a001 ["a001 LOGIN {11}"," {7}",""] ["FRED FOOBAR","fat man"]',
      ],
    },
    {
      name: 'non-synchronising literal (RFC 7888 3) needs no continuation',
      input: 'a LOGIN {3+}\r\nbob {3+}\r\npw!\r\n',
      want: ['command a ["a LOGIN {3+}"," {3+}",""] ["bob","pw!"]'],
    },
    {
      name: 'APPEND message literal is streamed',
      input: 'A003 APPEND saved (\\Seen) {12}\r\nHello\r\nWorld\r\n',
      want: [
        'continue A003 12',
        'literal-start A003 12',
        'streamed "Hello\\r\\nWorld"',
        'command A003 ["A003 APPEND saved (\\\\Seen) {12}",""] ["<streamed 12>"]',
      ],
    },
    {
      name: 'APPEND with a literal mailbox name: that literal is buffered, the message streamed',
      input: 'A APPEND {3+}\r\nbox {5+}\r\nhello\r\n',
      want: [
        'literal-start A 5',
        'streamed "hello"',
        'command A ["A APPEND {3+}"," {5+}",""] ["box","<streamed 5>"]',
      ],
    },
    {
      name: 'literal8 and zero-length literals',
      input: 'b APPEND x ~{3+}\r\n\u0000\u0001\u0002\r\nc LOGIN {0+}\r\n {0+}\r\n\r\n',
      want: [
        'literal-start b 3 binary',
        'streamed "\\u0000\\u0001\\u0002"',
        'command b ["b APPEND x ~{3+}",""] ["<streamed 3>"]',
        'command c ["c LOGIN {0+}"," {0+}",""] ["",""]',
      ],
    },
    {
      name: 'literal bytes may contain CRLF and command-looking text (no injection)',
      input: 'a LOGIN {13+}\r\nx\r\nb LOGOUT\r\n {1+}\r\ny\r\n',
      want: ['command a ["a LOGIN {13+}"," {1+}",""] ["x\\r\\nb LOGOUT\\r\\n","y"]'],
    },
    {
      name: 'sync literal over the limit: BAD before the bytes, next line is a new command',
      input: 'a LOGIN {11}\r\nb NOOP\r\n',
      limits: small,
      want: ['reject a BAD [TOOBIG] Literal too large', 'command b ["b NOOP"] []'],
    },
    {
      name: 'APPEND over the limit: NO [TOOBIG] before the client sends it (RFC 7889)',
      input: 'a APPEND box {21}\r\nb NOOP\r\n',
      limits: small,
      want: ['reject a NO [TOOBIG] Message too large', 'command b ["b NOOP"] []'],
    },
    {
      name: 'non-sync literal over the limit: rejected, its bytes and the rest of the command skipped',
      input: 'a LOGIN {11+}\r\nb NOOP\r\nxxx {2+}\r\nzz\r\nc NOOP\r\n',
      limits: small,
      want: ['reject a BAD [TOOBIG] Literal too large', 'command c ["c NOOP"] []'],
    },
    {
      name: 'too many literals',
      input: 'a X {1+}\r\n1 {1+}\r\n2 {1+}\r\n3 {1+}\r\n4\r\nb NOOP\r\n',
      limits: small,
      want: ['reject a BAD Too many literals', 'command b ["b NOOP"] []'],
    },
    {
      name: 'buffered literal bytes summed per command',
      input: 'a X {8+}\r\n12345678 {8+}\r\n12345678\r\nb NOOP\r\n',
      limits: small,
      want: ['reject a BAD [TOOBIG] Literal too large', 'command b ["b NOOP"] []'],
    },
    {
      name: 'line too long: one BAD, the rest of the line discarded',
      input: `a NOOP ${'x'.repeat(100)}\r\nb NOOP\r\n`,
      limits: small,
      want: ['reject a BAD [TOOBIG] Command line too long', 'command b ["b NOOP"] []'],
    },
    {
      name: 'line too long ending in a non-sync literal: the literal is skipped too',
      input: `a NOOP ${'x'.repeat(100)} {4+}\r\nb NO\r\nc NOOP\r\n`,
      limits: small,
      want: ['reject a BAD [TOOBIG] Command line too long', 'command c ["c NOOP"] []'],
    },
    {
      name: 'line limit counts all segments of a command',
      input: `a LOGIN {1+}\r\nx ${'y'.repeat(30)}\r\nb NOOP\r\n`,
      limits: small,
      want: ['reject a BAD [TOOBIG] Command line too long', 'command b ["b NOOP"] []'],
    },
    {
      name: 'untagged reject when the line has no valid tag',
      input: `${'x'.repeat(100)}\r\n`,
      limits: small,
      want: ['reject null BAD [TOOBIG] Command line too long'],
    },
  ];
  for (const row of rows) {
    test(`${row.name} (whole)`, () => assert.deepEqual(whole(row.input, row.limits), row.want));
    test(`${row.name} (byte by byte)`, () => assert.deepEqual(byteByByte(row.input, row.limits), row.want));
  }

  test('raw line mode for IDLE DONE / SASL', () => {
    const r = new ImapCommandReceiver();
    r.push(Buffer.from('a IDLE\r\nDONE {5}\r\nb NOOP\r\n'));
    assert.equal(r.next()?.kind, 'command');
    r.expectRawLine();
    assert.deepEqual(r.next(), { kind: 'line', line: Buffer.from('DONE {5}') });
    const ev = r.next();
    assert.equal(ev?.kind, 'command');
    assert.equal(r.next(), null);
    assert.equal(r.isIdle(), true);
  });

  test('STARTTLS: pipelined plaintext can be seen and discarded', () => {
    const r = new ImapCommandReceiver();
    r.push(Buffer.from('a STARTTLS\r\nb LOGIN x y\r\n'));
    const ev = r.next();
    assert.equal(ev?.kind, 'command');
    assert.equal(r.bufferedBytes(), 'b LOGIN x y\r\n'.length);
    assert.equal(r.discardBuffered(), 13);
    assert.equal(r.next(), null);
  });

  test('a declared huge sync literal is refused without buffering', () => {
    const r = new ImapCommandReceiver();
    r.push(Buffer.from('a LOGIN {99999999999999999999}\r\n'));
    assert.deepEqual(r.next(), {
      kind: 'reject',
      tag: 'a',
      status: 'BAD',
      code: 'TOOBIG',
      text: 'Literal too large',
    });
    assert.equal(r.next(), null);
    assert.equal(r.isIdle(), true);
  });

  test('a streamed APPEND is passed through in chunks without being held', () => {
    const r = new ImapCommandReceiver();
    r.push(Buffer.from('a APPEND box {1000000+}\r\n'));
    assert.equal(r.next()?.kind, 'literal-start');
    let got = 0;
    for (let i = 0; i < 100; i++) {
      r.push(Buffer.alloc(10_000, 0x61));
      const ev = r.next();
      assert.equal(ev?.kind, 'literal-chunk');
      if (ev?.kind === 'literal-chunk') got += ev.bytes.length;
      assert.equal(r.bufferedBytes(), 0);
    }
    assert.equal(got, 1_000_000);
    assert.equal(r.next()?.kind, 'literal-end');
  });
});
