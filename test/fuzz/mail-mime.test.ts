// Fuzz tests (fast-check) of the MIME structure parser and the 8-bit downgrade: random bytes never throw, run
// long, or give different results when split differently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MimeStructureParser, parseMimeStructure } from '../../src/mail/mime-structure.js';
import { downgradeTo7Bit } from '../../src/mail/eightbit-downgrade.js';
import { parseAddressList } from '../../src/mail/envelope.js';
import { decodeEncodedWords } from '../../src/mail/encoded-words.js';
import { parseRfc5322Date } from '../../src/mail/headers.js';

// Pieces that steer random input towards the interesting paths: boundaries, headers, encoded words.
const TOKENS = [
  '--b',
  '--b--',
  '--c',
  '\r\n',
  '\n',
  '\r',
  ': ',
  ' ',
  'Content-Type: multipart/mixed; boundary=b\r\n',
  'Content-Type: multipart/alternative; boundary="c"\r\n',
  'Content-Type: message/rfc822\r\n',
  'Content-Transfer-Encoding: 8bit\r\n',
  'Subject: =?utf-8?q?x=C3=A9?=\r\n',
  'From: "a" <b@c>, g: d@e;\r\n',
  '=?',
  '?=',
  '\u00e9',
  '\0',
  '"',
  '(',
  '<',
];

const mimeish = fc
  .array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 8 })), { maxLength: 80 })
  .map((parts) => Buffer.from(parts.join(''), 'utf8'));
const input = fc.oneof(
  mimeish,
  fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)),
);

test('random input: parser never throws, ranges are sane, chunking does not matter', () => {
  fc.assert(
    fc.property(
      input,
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
      (msg, cuts) => {
        const whole = parseMimeStructure(msg, { maxDepth: 6, maxParts: 30 });
        assert.equal(whole.size, msg.length);
        const p = new MimeStructureParser({ maxDepth: 6, maxParts: 30 });
        let pos = 0;
        for (let i = 0; pos < msg.length; i++) {
          const n = cuts[i % cuts.length] as number;
          p.write(msg.subarray(pos, pos + n));
          pos += n;
        }
        assert.deepEqual(p.end(), whole);
        assert.deepEqual(JSON.parse(JSON.stringify(whole)), whole);
      },
    ),
    { numRuns: 500 },
  );
});

test('random input: downgrade never throws and its output is 7-bit unless SMTPUTF8 is needed', () => {
  fc.assert(
    fc.property(input, (msg) => {
      const r = downgradeTo7Bit(msg);
      if (!r.needsSmtpUtf8) assert.ok(!r.message.some((c) => c >= 0x80));
    }),
    { numRuns: 300 },
  );
});

test('random strings: address, encoded-word and date parsers never throw', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      parseAddressList(s);
      decodeEncodedWords(s);
      parseRfc5322Date(s);
    }),
    { numRuns: 1000 },
  );
});

test('hostile shapes run in linear time', () => {
  const cases = [
    Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n' + '--b\r\n'.repeat(100_000)),
    Buffer.from(
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n' +
        '--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n'.repeat(5_000),
    ),
    Buffer.from('X: ' + 'a'.repeat(1_000_000)),
    Buffer.from('Subject: x\r\n\r\n' + '--'.repeat(500_000)),
    Buffer.from('\n'.repeat(1_000_000)),
  ];
  for (const msg of cases) {
    const start = performance.now();
    parseMimeStructure(msg);
    assert.ok(performance.now() - start < 3000, `took ${performance.now() - start} ms`);
  }
});
