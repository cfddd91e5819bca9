// Tests of the 8-bit downgrade (RFC 6152 section 3): output is 7-bit, structure is kept, decoded content is equal.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { downgradeTo7Bit, isEightBit } from '../../../src/mail/eightbit-downgrade.js';
import { decodeEncodedWords } from '../../../src/mail/encoded-words.js';
import { parseMimeStructure } from '../../../src/mail/mime-structure.js';
import type { MimePart } from '../../../src/mail/mime-structure.js';
import {
  decodeBase64,
  decodeQuotedPrintable,
  decodeTransferEncoding,
  encodeBase64Lines,
  encodeQuotedPrintable,
} from '../../../src/mail/transfer-encoding.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/mime');

interface Leaf {
  type: string;
  content: Buffer;
}

/** Every leaf of a message (through encapsulated messages) with its decoded content. */
function decodedLeaves(msg: Buffer): Leaf[] {
  const out: Leaf[] = [];
  const walk = (p: MimePart): void => {
    if (p.children) p.children.forEach(walk);
    else if (p.message) walk(p.message.root);
    else
      out.push({
        type: `${p.contentType.type}/${p.contentType.subtype}`,
        content: decodeTransferEncoding(msg.subarray(p.bodyStart, p.bodyEnd), p.encoding),
      });
  };
  walk(parseMimeStructure(msg).root);
  return out;
}

function maxLineLength(msg: Buffer): number {
  return Math.max(
    ...msg
      .toString('latin1')
      .split('\n')
      .map((l) => l.replace(/\r$/, '').length),
  );
}

function assertFaithful(original: Buffer): Buffer {
  const r = downgradeTo7Bit(original);
  if (!r.needsSmtpUtf8) assert.equal(isEightBit(r.message), false, r.message.toString('latin1'));
  assert.ok(maxLineLength(r.message) <= 998);
  assert.deepEqual(decodedLeaves(r.message), decodedLeaves(original));
  // Idempotent: a second pass finds nothing to do.
  if (!r.needsSmtpUtf8) assert.equal(downgradeTo7Bit(r.message).changed, false);
  return r.message;
}

describe('transfer encodings (RFC 2045 6.7, 6.8)', () => {
  test('RFC 2045 6.7 rules: soft breaks, trailing white space, lower-case hex, bad escapes', () => {
    assert.equal(decodeQuotedPrintable(Buffer.from('a=\r\nb=3D=3d c \r\nd=\ne')).toString(), 'ab== c\r\nde');
    assert.equal(decodeQuotedPrintable(Buffer.from('=ZZ=4')).toString(), '=ZZ=4');
    assert.equal(decodeBase64(Buffer.from('SGVs\r\nbG8=')).toString(), 'Hello');
    assert.equal(decodeBase64(Buffer.from('SGVsbG8')).toString(), 'Hello'); // missing padding
  });

  test('encoders: 7-bit, lines of at most 76, exact round trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const qp = encodeQuotedPrintable(bytes);
        const b64 = encodeBase64Lines(bytes);
        for (const enc of [qp, b64]) {
          assert.match(enc, /^[\x20-\x7e\t\r\n]*$/);
          for (const line of enc.split('\r\n')) assert.ok(line.length <= 76, line);
        }
        assert.deepEqual(decodeQuotedPrintable(Buffer.from(qp)), Buffer.from(bytes));
        assert.deepEqual(decodeBase64(Buffer.from(b64)), Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

describe('downgradeTo7Bit', () => {
  test('isEightBit', () => {
    assert.equal(isEightBit(Buffer.from('plain\r\n')), false);
    assert.equal(isEightBit(Buffer.from([0x41, 0x80])), true);
  });

  test('a 7-bit message is returned unchanged', () => {
    const msg = readFileSync(join(FIXTURES, 'nested-multipart.eml'));
    const r = downgradeTo7Bit(msg);
    assert.equal(r.changed, false);
    assert.equal(r.message, msg);
  });

  test('text, binary and message/rfc822 parts: decoded content equal, structure kept', () => {
    const original = readFileSync(join(FIXTURES, 'eightbit-bodies.eml'));
    const out = assertFaithful(original);
    const s = parseMimeStructure(out);
    const [text, bin, inner] = s.root.children ?? [];
    assert.ok(['quoted-printable', 'base64'].includes(text?.encoding ?? ''));
    assert.equal(bin?.encoding, 'base64');
    assert.equal(inner?.encoding, '7bit');
    assert.ok(inner?.message);
    assert.equal(decodeEncodedWords(inner.message.envelope.subject ?? ''), 'inner é');
    assert.equal(s.root.contentType.params['boundary'], 'e');
  });

  test('8-bit headers: text becomes encoded words, display names and parameters re-encoded', () => {
    const original = Buffer.from(
      'From: Jörg <j@a.test>\r\nTo: "Brûlé, Crème" <c@b.test>, g: Zoë <z@c.test>;\r\nSubject: Grüße aus Köln\r\n' +
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8; name="föö.txt"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
        'Köln ist schön\r\n',
    );
    const out = assertFaithful(original);
    const s = parseMimeStructure(out);
    assert.equal(decodeEncodedWords(s.envelope.subject ?? ''), 'Grüße aus Köln');
    assert.equal(decodeEncodedWords(s.envelope.from?.[0]?.name ?? ''), 'Jörg');
    assert.equal(decodeEncodedWords(s.envelope.to?.[0]?.name ?? ''), 'Brûlé, Crème');
    assert.deepEqual(s.envelope.to?.[1], { name: null, adl: null, mailbox: 'g', host: null });
    assert.equal(s.root.contentType.params['name'], 'föö.txt');
    assert.equal(s.root.encoding, 'quoted-printable');
  });

  test('8-bit addresses need SMTPUTF8 and are reported, not mangled', () => {
    const original = Buffer.from('From: jörg@bücher.example\r\nSubject: x\r\n\r\nbody é\r\n');
    const r = downgradeTo7Bit(original);
    assert.equal(r.needsSmtpUtf8, true);
    assert.ok(r.message.toString('utf8').includes('From: jörg@bücher.example\r\n'));
    assert.deepEqual(decodedLeaves(r.message), decodedLeaves(original));
  });

  test('single-part message, LF-only, no trailing newline, lines over 998 octets', () => {
    assertFaithful(Buffer.from('Subject: x\n\nline é\nnext'));
    assertFaithful(Buffer.from('Subject: x\r\n\r\n' + 'a'.repeat(3000) + '\r\n'));
    assertFaithful(
      Buffer.from(
        'Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nraw é=C3=A9\r\n',
      ),
    );
  });

  test('8-bit bytes in preamble and epilogue become "?"', () => {
    const original = Buffer.from(
      'Content-Type: multipart/mixed; boundary=b\r\n\r\npré\r\n--b\r\n\r\nok\r\n--b--\r\népi\r\n',
    );
    const r = downgradeTo7Bit(original);
    assert.equal(isEightBit(r.message), false);
    assert.ok(r.message.toString().includes('pr??\r\n--b'));
  });

  for (const name of readdirSync(FIXTURES).filter((f) => f.endsWith('.eml'))) {
    test(`fixture ${name}: faithful`, () => {
      assertFaithful(readFileSync(join(FIXTURES, name)));
    });
  }

  test('random 8-bit leaves in random multiparts round-trip', () => {
    const leaf = fc.record({
      type: fc.constantFrom('text/plain; charset=utf-8', 'application/octet-stream', 'text/html'),
      cte: fc.constantFrom('8bit', 'binary', '7bit', ''),
      body: fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 300 }).map((s) => Buffer.from(s.replace(/\r?\n/g, '\r\n'))),
        fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
      ),
    });
    fc.assert(
      fc.property(fc.array(leaf, { minLength: 1, maxLength: 5 }), fc.boolean(), (leaves, nest) => {
        // Bodies must not contain the boundary or bare line-breaks that would end them early.
        const parts = leaves.map(
          (l) =>
            `Content-Type: ${l.type}\r\n${l.cte ? `Content-Transfer-Encoding: ${l.cte}\r\n` : ''}\r\n` +
            l.body.toString('latin1').replace(/--zz/g, '-_zz'),
        );
        let body = parts.map((p) => `--zz\r\n${p}\r\n`).join('') + '--zz--\r\n';
        let head = 'Content-Type: multipart/mixed; boundary=zz\r\n';
        if (nest) {
          body = `--outer\r\n${head}\r\n${body}--outer--\r\n`;
          head = 'Content-Type: multipart/alternative; boundary=outer\r\n';
        }
        assertFaithful(Buffer.from(`Subject: t\r\n${head}\r\n${body}`, 'latin1'));
      }),
      { numRuns: 200 },
    );
  });
});
