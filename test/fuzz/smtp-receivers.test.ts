// Receivers under every split: the same input whole, byte by byte and at random cuts gives the same result (fast-check).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BdatReceiver, DataReceiver, LineReceiver } from '../../src/smtp/server/receivers.js';
import { parseSmtpCommand } from '../../src/smtp/server/command-parser.js';
import { ProtocolError } from '../../src/errors.js';

type DataResult = { body: string; consumed: number; end: string | null };

function runData(pieces: Buffer[], maxSize = 1_000_000): DataResult {
  const rx = new DataReceiver(maxSize);
  const out: Buffer[] = [];
  let consumed = 0;
  for (const piece of pieces) {
    let off = 0;
    while (off < piece.length) {
      const t = rx.take(piece, off);
      off += t.consumed;
      consumed += t.consumed;
      out.push(...t.chunks);
      if (t.end) {
        // On failure the spool is aborted, so what was passed on before the limit tripped does not matter.
        const body = t.end.failure ? '' : Buffer.concat(out).toString('latin1');
        return { body, consumed, end: t.end.failure ?? 'ok' };
      }
    }
  }
  return { body: Buffer.concat(out).toString('latin1'), consumed, end: null };
}

function runLines(pieces: Buffer[], max = 512): string[] {
  const rx = new LineReceiver(max);
  const out: string[] = [];
  for (const piece of pieces) {
    let off = 0;
    while (off < piece.length) {
      const t = rx.take(piece, off);
      off += t.consumed;
      if (t.event) out.push(t.event.kind === 'line' ? t.event.line.toString('latin1') : '<too-long>');
    }
  }
  return out;
}

function splits(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(input.subarray(last, p));
    last = p;
  }
  out.push(input.subarray(last));
  return out;
}

const bytewise = (b: Buffer) => [...b].map((x) => Buffer.from([x]));

describe('DataReceiver', () => {
  const rows: [string, string, DataResult['end'], string][] = [
    // RFC 5321 4.5.2 transparency
    ['empty message', '.\r\n', 'ok', ''],
    ['simple', 'a\r\nb\r\n.\r\n', 'ok', 'a\r\nb\r\n'],
    ['stuffed dot', '..x\r\n..\r\n.\r\n', 'ok', '.x\r\n.\r\n'],
    // smuggling rows: none of these end the data
    ['LF.CRLF', 'a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n', 'ok', 'a\n.\r\nMAIL FROM:<x@y>\r\n'],
    ['LF.LF', 'a\n.\nMAIL\r\n.\r\n', 'ok', 'a\n.\nMAIL\r\n'],
    ['CR.CRLF', 'a\r.\r\nMAIL\r\n.\r\n', 'ok', 'a\r.\r\nMAIL\r\n'],
    ['CR.CR', 'a\r.\rMAIL\r\n.\r\n', 'ok', 'a\r.\rMAIL\r\n'],
    ['CRLF.CR then data', 'a\r\n.\rb\r\n.\r\n', 'ok', 'a\r\n\rb\r\n'],
    ['no end yet', 'a\r\n.', null, 'a\r\n'],
    ['line 998+CRLF fits', 'x'.repeat(998) + '\r\n.\r\n', 'ok', 'x'.repeat(998) + '\r\n'],
    ['line 999+CRLF too long', 'x'.repeat(999) + '\r\nmore\r\n.\r\n', 'line-too-long', ''],
  ];
  for (const [name, input, end, body] of rows) {
    test(name, () => {
      const buf = Buffer.from(input, 'latin1');
      const whole = runData([buf]);
      assert.equal(whole.end, end);
      if (end === 'ok') assert.equal(whole.body, body);
      if (end !== null) assert.equal(whole.consumed, buf.length);
      assert.deepEqual(runData(bytewise(buf)), whole);
    });
  }

  test('too big: 552 after the dot, the rest is not kept', () => {
    const r = runData([Buffer.from('0123456789\r\n0123456789\r\n.\r\n')], 15);
    assert.equal(r.end, 'too-big');
    assert.ok(r.body.length <= 15);
  });

  test('stops exactly after <CRLF>.<CRLF>: pipelined bytes stay for the next receiver', () => {
    const rx = new DataReceiver(1000);
    const input = Buffer.from('x\r\n.\r\nQUIT\r\n');
    const t = rx.take(input, 0);
    assert.equal(t.consumed, 6);
  });

  test('random splits give identical results', () => {
    const alphabet = fc.constantFrom(
      '\r',
      '\n',
      '.',
      'a',
      '\r\n',
      '\r\n.',
      '.\r\n',
      '\r\n.\r\n',
      'MAIL FROM:<a@b>',
    );
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (parts, cuts) => {
          const input = Buffer.from(parts.join(''), 'latin1');
          const whole = runData([input], 200);
          assert.deepEqual(runData(splits(input, cuts), 200), whole);
          assert.deepEqual(runData(bytewise(input), 200), whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * The DATA rules written as plainly as possible (RFC 5321 4.5.2 / 4.5.3.1.6), to check the receiver's
 * fast path (it jumps from LF to LF) against: the data ends at the first CRLF.CRLF (the DATA command's
 * CRLF counts as the first CRLF), a dot after CRLF is removed, and a line of the unstuffed body (up to
 * and including any LF) over maxLine octets fails the message.
 */
function referenceData(input: string, maxLine: number): { end: string | null; body: string | null } {
  const framed = '\r\n' + input;
  const stop = framed.indexOf('\r\n.\r\n');
  const raw = stop < 0 ? framed : framed.slice(0, stop + 2);
  const unstuffed = raw.split('\r\n.').join('\r\n').slice(2);
  // Without the end the last line may be a held-back '.' or '.\r': only complete lines are judged.
  const lines = unstuffed.split('\n');
  const tooLong = lines.some((l, i) => l.length + (i < lines.length - 1 ? 1 : 0) > maxLine);
  const body = tooLong ? null : unstuffed; // after a failure the receiver stops passing bytes on
  if (stop < 0) return { end: null, body };
  return { end: tooLong ? 'line-too-long' : 'ok', body };
}

describe('DataReceiver against the plain rules', () => {
  test('random input with short lines allowed gives what the rules say', () => {
    const alphabet = fc.constantFrom(
      '\r',
      '\n',
      '.',
      'a',
      'bbbb',
      '\r\n',
      '\r\n.',
      '.\r\n',
      '\r\n.\r\n',
      '\r\r\n',
    );
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 40 }),
        fc.integer({ min: 2, max: 12 }),
        (parts, maxLine) => {
          const text = parts.join('');
          const rx = new DataReceiver(1_000_000, maxLine);
          const input = Buffer.from(text, 'latin1');
          const out: Buffer[] = [];
          let off = 0;
          let end: string | null = null;
          while (off < input.length && end === null) {
            const t = rx.take(input, off);
            off += t.consumed;
            out.push(...t.chunks);
            if (t.end) end = t.end.failure ?? 'ok';
          }
          const want = referenceData(text, maxLine);
          assert.equal(end, want.end, JSON.stringify(text));
          if (want.body !== null && end !== null)
            assert.equal(Buffer.concat(out).toString('latin1'), want.body);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('LineReceiver', () => {
  test('lines, CRLF and LF, over-long discarded up to its end, under every split', () => {
    const input = Buffer.from('EHLO a\r\nNOOP\n' + 'x'.repeat(700) + '\r\nQUIT\r\npart');
    const whole = runLines([input]);
    assert.deepEqual(whole, ['EHLO a', 'NOOP', '<too-long>', 'QUIT']);
    assert.deepEqual(runLines(bytewise(input)), whole);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 8 }), (cuts) => {
        assert.deepEqual(runLines(splits(input, cuts)), whole);
      }),
    );
  });

  test('a 10 MB line without LF is never buffered', () => {
    const rx = new LineReceiver(512);
    const chunk = Buffer.alloc(65536, 0x41);
    for (let i = 0; i < 160; i++) assert.equal(rx.take(chunk, 0).event, undefined);
    const t = rx.take(Buffer.from('\r\nNOOP\r\n'), 0);
    assert.equal(t.event?.kind, 'too-long');
  });
});

describe('BdatReceiver', () => {
  test('exact octet counts under every split, no transparency', () => {
    const input = Buffer.from('.\r\n..\r\nabcQUIT\r\n');
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 8 }), (cuts) => {
        const rx = new BdatReceiver(10);
        const got: Buffer[] = [];
        let rest = '';
        for (const piece of splits(input, cuts)) {
          const t = rx.take(piece, 0);
          if (t.chunk) got.push(t.chunk);
          rest += piece.subarray(t.consumed).toString();
        }
        assert.equal(Buffer.concat(got).toString(), '.\r\n..\r\nabc');
        assert.equal(rest, 'QUIT\r\n');
      }),
    );
  });
});

describe('parser never throws on random bytes', () => {
  test('fuzz', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = parseSmtpCommand(Buffer.from(bytes));
        assert.ok(r instanceof ProtocolError || typeof r.verb === 'string');
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom('MAIL FROM:', 'RCPT TO:', 'BDAT ', 'AUTH '),
        fc.string({ maxLength: 300 }),
        (verb, rest) => {
          const r = parseSmtpCommand(verb + rest);
          assert.ok(r instanceof ProtocolError || typeof r.verb === 'string');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
