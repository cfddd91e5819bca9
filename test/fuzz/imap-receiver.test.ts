// Fuzz: the IMAP receiver gives identical events under random chunk splits; random bytes never crash receiver or parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { run } from '../unit/imap/proto/receiver-harness.js';
import { ImapCommandReceiver } from '../../src/imap/proto/literal-receiver.js';
import { parseImapCommand } from '../../src/imap/proto/command-parser.js';
import type { ReceiverLimits } from '../../src/imap/proto/literal-receiver.js';

const transcript = Buffer.from(
  'a1 LOGIN {3}\r\nbob {4+}\r\npass\r\n' +
    'a2 APPEND "Sent Items" (\\Seen) "17-Jul-1996 02:44:25 -0700" {20+}\r\nFrom: a\r\n\r\nbody\r\nxxxx\r\n' +
    'a3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM)]<0.100>)\r\n' +
    `a4 NOOP ${'x'.repeat(80)} {3+}\r\nabc\r\n` +
    'a5 LOGIN {50}\r\n' +
    'a6 SEARCH CHARSET UTF-8 SUBJECT {4+}\r\n\u00e4\u00e4\u00e4\u00e4\r\n',
  'latin1',
);
const limits: ReceiverLimits = {
  maxLineLength: 100,
  maxLiteralSize: 10,
  maxAppendSize: 100,
  maxLiterals: 4,
  maxBufferedLiteralBytes: 20,
};

test('random split points give the same events as the whole input', () => {
  const expected = run(transcript, [], limits);
  assert.ok(expected.length >= 8);
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: transcript.length - 1 }), { maxLength: 40 }),
      (cuts) => {
        cuts.sort((a, b) => a - b);
        assert.deepEqual(run(transcript, cuts, limits), expected);
      },
    ),
    { numRuns: 300 },
  );
});

test('random bytes never throw from the receiver or the parser, and memory stays bounded', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.constantFrom(
            ...[
              '{5}\r\n',
              '{3+}\r\n',
              '~{2}\r\n',
              '(',
              ')',
              '[',
              ']',
              '"',
              '\\',
              ' ',
              '\r\n',
              'BODY[',
              'a FETCH 1 ',
              'UID SEARCH OR NOT ',
            ].map((s) => Buffer.from(s)),
          ),
        ),
        { maxLength: 60 },
      ),
      (pieces) => {
        const r = new ImapCommandReceiver(limits);
        for (const p of pieces) {
          r.push(p);
          for (let ev = r.next(); ev; ev = r.next()) {
            if (ev.kind === 'command') {
              const res = parseImapCommand(ev.command);
              assert.ok('name' in res || res.kind === 'parse-error');
            }
          }
          assert.ok(r.bufferedBytes() < 10_000);
        }
      },
    ),
    { numRuns: 500 },
  );
});
