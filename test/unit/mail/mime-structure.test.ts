// Tests of the streaming MIME structure parser: real-world fixtures, offsets, limits, and split invariance.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findPart, MimeStructureParser, parseMimeStructure } from '../../../src/mail/mime-structure.js';
import type { MessageStructure, MimePart } from '../../../src/mail/mime-structure.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/mime');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

const slice = (msg: Buffer, a: number, b: number): string => msg.subarray(a, b).toString('latin1');
const body = (msg: Buffer, p: MimePart): string => slice(msg, p.bodyStart, p.bodyEnd);
const header = (msg: Buffer, p: MimePart): string => slice(msg, p.headerStart, p.bodyStart);
const mime = (p: MimePart): string => `${p.contentType.type}/${p.contentType.subtype}`;

function leaves(p: MimePart, out: MimePart[] = []): MimePart[] {
  if (p.children) for (const c of p.children) leaves(c, out);
  else if (p.message) leaves(p.message.root, out);
  else out.push(p);
  return out;
}

function parseChunked(msg: Buffer, sizes: (i: number) => number): MessageStructure {
  const p = new MimeStructureParser();
  let pos = 0;
  for (let i = 0; pos < msg.length; i++) {
    const n = Math.max(1, sizes(i));
    p.write(msg.subarray(pos, pos + n));
    pos += n;
  }
  return p.end();
}

describe('RFC 2046 structures', () => {
  test('RFC 2046 5.1.1 example: preamble, two parts, epilogue; CRLF before a boundary belongs to it', () => {
    const msg = Buffer.from(
      'From: Nathaniel Borenstein <nsb@bellcore.com>\r\nTo: Ned Freed <ned@innosoft.com>\r\n' +
        'Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)\r\nSubject: Sample message\r\nMIME-Version: 1.0\r\n' +
        'Content-type: multipart/mixed; boundary="simple boundary"\r\n\r\n' +
        'This is the preamble.  It is to be ignored, though it\r\nis a handy place for composition agents to include an\r\n' +
        'explanatory note to non-MIME conformant readers.\r\n\r\n--simple boundary\r\n\r\n' +
        'This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak.\r\n' +
        '--simple boundary\r\nContent-type: text/plain; charset=us-ascii\r\n\r\n' +
        'This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n\r\n' +
        '--simple boundary--\r\n\r\nThis is the epilogue.  It is also to be ignored.\r\n',
    );
    const s = parseMimeStructure(msg);
    assert.equal(s.size, msg.length);
    assert.equal(mime(s.root), 'multipart/mixed');
    assert.equal(s.root.contentType.params['boundary'], 'simple boundary');
    const [a, b] = s.root.children ?? [];
    assert.ok(a && b);
    assert.equal(
      body(msg, a),
      'This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak.',
    );
    assert.equal(a.lines, 2);
    assert.equal(a.size, body(msg, a).length);
    assert.deepEqual(a.contentType, { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' } });
    assert.equal(header(msg, a), '\r\n');
    assert.equal(
      body(msg, b),
      'This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n',
    );
    assert.equal(b.lines, 2);
    assert.equal(header(msg, b), 'Content-type: text/plain; charset=us-ascii\r\n\r\n');
    assert.equal(s.envelope.subject, 'Sample message');
    assert.equal(s.root.defects, undefined);
  });

  test('nested multiparts and every MIME field', () => {
    const msg = fixture('nested-multipart.eml');
    const s = parseMimeStructure(msg);
    assert.equal(mime(s.root), 'multipart/mixed');
    const [alt, img] = s.root.children ?? [];
    assert.ok(alt && img);
    assert.equal(mime(alt), 'multipart/alternative');
    assert.deepEqual(alt.children?.map(mime), ['text/plain', 'text/html']);
    const plain = alt.children?.[0] as MimePart;
    assert.equal(body(msg, plain), 'Hello Bob,=20\r\ncaf=C3=A9 at noon?');
    assert.equal(plain.encoding, 'quoted-printable');
    assert.equal(plain.lines, 2);
    assert.equal(mime(img), 'image/png');
    assert.deepEqual(img.disposition, { value: 'attachment', params: { filename: 'dot.png' } });
    assert.equal(img.id, '<dot@a.test>');
    assert.equal(img.description, 'A dot');
    assert.deepEqual(img.language, ['en', 'de']);
    assert.equal(img.location, 'http://example.test/dot.png');
    assert.equal(img.md5, 'Q2hlY2sgSW50ZWdyaXR5IQ==');
    assert.equal(img.encoding, 'base64');
    assert.equal(img.lines, 2);
    assert.ok(header(msg, img).startsWith('Content-Type: image/png'));
    assert.ok(header(msg, img).endsWith('\r\n\r\n'));
    assert.equal(s.envelope.messageId, '<nested.1@a.test>');
    assert.equal(s.envelope.inReplyTo, '<parent@b.test>');
    assert.deepEqual(s.envelope.cc, [
      { name: null, adl: null, mailbox: 'team', host: null },
      { name: null, adl: null, mailbox: 'dave', host: 'd.test' },
      { name: null, adl: null, mailbox: 'eve', host: 'e.test' },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
  });

  test('message/rfc822: envelope and structure of the encapsulated message, IMAP part numbers', () => {
    const msg = fixture('message-rfc822.eml');
    const s = parseMimeStructure(msg);
    const fwd = s.root.children?.[1] as MimePart;
    assert.equal(mime(fwd), 'message/rfc822');
    assert.ok(fwd.message);
    assert.equal(fwd.message.envelope.subject, 'original');
    assert.deepEqual(fwd.message.envelope.from, [
      { name: 'Original Sender', adl: null, mailbox: 'orig', host: 'x.test' },
    ]);
    assert.deepEqual(fwd.message.envelope.to, [
      { name: null, adl: null, mailbox: 'undisclosed-recipients', host: null },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
    assert.equal(mime(fwd.message.root), 'multipart/alternative');
    assert.equal(fwd.message.size, fwd.size);
    assert.equal(fwd.message.root.headerStart, fwd.bodyStart);
    assert.ok(body(msg, fwd).startsWith('From: Original Sender'));
    assert.ok(body(msg, fwd).endsWith('--alt--'));
    assert.equal(fwd.lines, body(msg, fwd).split('\r\n').length);
    // RFC 9051 6.4.5: 2 is the message/rfc822 part, 2.1 and 2.2 the parts of the message inside it.
    assert.equal(findPart(s, [2]), fwd);
    assert.equal(body(msg, findPart(s, [2, 1]) as MimePart), 'plain body');
    assert.equal(body(msg, findPart(s, [2, 2]) as MimePart), '<b>html body</b>');
    assert.equal(body(msg, findPart(s, [1]) as MimePart), 'See the attached message.');
    assert.equal(findPart(s, [3]), null);
    assert.equal(findPart(s, [1, 1]), null);
    assert.equal(findPart(s, [2, 3]), null);
  });

  test('a message that is not multipart has one part, 1, its body', () => {
    const msg = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    const s = parseMimeStructure(msg);
    assert.equal(findPart(s, [1]), s.root);
    assert.equal(findPart(s, [2]), null);
    assert.equal(body(msg, s.root), 'body\r\n');
    assert.equal(s.root.lines, 1);
    assert.equal(s.root.size, 6);
  });

  test('multipart/digest children default to message/rfc822 (RFC 2046 5.1.5)', () => {
    const s = parseMimeStructure(fixture('digest.eml'));
    const [first, second] = s.root.children ?? [];
    assert.equal(mime(first as MimePart), 'message/rfc822');
    assert.equal(first?.message?.envelope.subject, 'first');
    assert.equal(mime(second as MimePart), 'text/plain');
  });

  test('RFC 2231 continuations in Content-Type', () => {
    const s = parseMimeStructure(fixture('rfc2231-params.eml'));
    assert.deepEqual(s.root.contentType, {
      type: 'message',
      subtype: 'external-body',
      params: { 'access-type': 'URL', url: 'ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar' },
    });
  });
});

describe('real-world tolerance', () => {
  test('LF-only message', () => {
    const msg = fixture('lf-only.eml');
    const s = parseMimeStructure(msg);
    const part = s.root.children?.[0] as MimePart;
    assert.equal(body(msg, part), 'line one\nline two');
    assert.equal(part.lines, 2);
    assert.equal(header(msg, part), 'Content-Type: text/plain\n\n');
  });

  test('multipart without boundary parameter is one text part', () => {
    const s = parseMimeStructure(fixture('missing-boundary.eml'));
    assert.equal(mime(s.root), 'text/plain');
    assert.equal(s.root.children, undefined);
    assert.deepEqual(s.root.defects, ['multipart-without-boundary']);
    assert.equal(s.root.lines, 3);
  });

  test('boundary never found: one text part', () => {
    const s = parseMimeStructure(fixture('boundary-never-found.eml'));
    assert.equal(mime(s.root), 'text/plain');
    assert.deepEqual(s.root.defects, ['multipart-without-parts']);
  });

  test('boundary never closed: parts run to the end', () => {
    const msg = fixture('unclosed-boundary.eml');
    const s = parseMimeStructure(msg);
    assert.deepEqual(s.root.defects, ['unterminated-multipart']);
    const [a, b] = s.root.children ?? [];
    assert.equal(body(msg, a as MimePart), 'first');
    assert.equal(body(msg, b as MimePart), 'second part without header\r\nand no close');
    assert.equal(b?.lines, 2);
    assert.equal(b?.bodyEnd, msg.length);
  });

  test('8-bit headers, duplicate Content-Type, garbage parameters', () => {
    const s = parseMimeStructure(fixture('eightbit-headers.eml'));
    assert.equal(s.envelope.subject, 'Grüße (latin1)'); // not UTF-8: read as latin1
    assert.deepEqual(s.envelope.from, [{ name: 'Jörg', adl: null, mailbox: 'joerg', host: 'a.test' }]);
    assert.deepEqual(s.root.contentType, {
      type: 'text',
      subtype: 'plain',
      params: { charset: 'iso-8859-1', format: 'flowed' },
    });
    assert.deepEqual(s.root.defects, ['duplicate-content-type']);
    assert.equal(s.root.encoding, '8bit');
  });

  test('odd line endings: bare CR is not a line break', () => {
    const msg = fixture('odd-line-endings.eml');
    const s = parseMimeStructure(msg);
    const part = s.root.children?.[0] as MimePart;
    assert.equal(body(msg, part), 'crlf line\r\nlf line\nbare\rcr');
    assert.equal(part.lines, 3);
    assert.equal(s.envelope.subject, 'mixed endings'); // a stray CR in a header reads as a space
  });

  test('message without header: everything is body', () => {
    const msg = fixture('no-header.eml');
    const s = parseMimeStructure(msg);
    assert.equal(s.root.bodyStart, 0);
    assert.equal(s.root.size, msg.length);
    assert.equal(s.envelope.subject, null);
  });

  test('part without a blank line after its header, and a header without body', () => {
    const msg = Buffer.from(
      'Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\nno blank line\r\n--x\r\nContent-Type: text/html\r\n--x--\r\n',
    );
    const s = parseMimeStructure(msg);
    const [a, b] = s.root.children ?? [];
    assert.equal(body(msg, a as MimePart), 'no blank line');
    assert.deepEqual(a?.defects, ['missing-header-separator']);
    assert.equal(mime(b as MimePart), 'text/html');
    assert.equal(b?.size, 0);
  });

  test('transport padding after a boundary; a longer line starting with the boundary is body', () => {
    const msg = Buffer.from(
      'Content-Type: multipart/mixed; boundary=x\r\n\r\n--x  \r\n\r\n--xy\r\n--x--\t\r\n',
    );
    const s = parseMimeStructure(msg);
    assert.equal(s.root.children?.length, 1);
    // "--xy" only starts with "--x": RFC 2046 5.1.1 allows nothing but white space after a delimiter.
    assert.equal(s.root.defects, undefined);
  });

  test('an outer boundary closes inner parts', () => {
    const msg = Buffer.from(
      'Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\ninner\r\n--o\r\n\r\nsecond\r\n--o--\r\n',
    );
    const s = parseMimeStructure(msg);
    const [a, b] = s.root.children ?? [];
    assert.equal(body(msg, a?.children?.[0] as MimePart), 'inner');
    assert.deepEqual(a?.defects, ['unterminated-multipart']);
    assert.equal(body(msg, b as MimePart), 'second');
  });

  test('empty message and header-only message', () => {
    const e = parseMimeStructure(Buffer.alloc(0));
    assert.equal(e.size, 0);
    assert.equal(e.root.size, 0);
    const h = parseMimeStructure(Buffer.from('Subject: only\r\n'));
    assert.equal(h.envelope.subject, 'only');
    assert.equal(h.root.size, 0);
    assert.equal(h.root.bodyStart, 15);
  });
});

describe('limits', () => {
  test('deep nesting stops at maxDepth and reads the rest as a text leaf', () => {
    const msg = fixture('deep-nesting.eml');
    const s = parseMimeStructure(msg, { maxDepth: 10 });
    let depth = 0;
    let p: MimePart = s.root;
    while (p.children) {
      p = p.children[0] as MimePart;
      depth++;
    }
    assert.equal(depth, 9);
    assert.deepEqual(p.defects, ['depth-limit']);
    assert.equal(mime(p), 'text/plain');
    assert.ok(body(msg, p).includes('the bottom'));
    // With the default limit (32) the 60 levels are cut the same way; the stored structure stays small.
    const d = parseMimeStructure(msg);
    assert.ok(JSON.stringify(d).length < 100_000);
  });

  test('part limit: the rest is body of the open part', () => {
    let text = 'Content-Type: multipart/mixed; boundary=p\r\n\r\n';
    for (let i = 0; i < 50; i++) text += `--p\r\n\r\npart ${i}\r\n`;
    text += '--p--\r\n';
    const msg = Buffer.from(text);
    const s = parseMimeStructure(msg, { maxParts: 10 });
    assert.equal(s.root.children?.length, 9);
    assert.ok(s.root.defects?.includes('part-limit'));
    const last = s.root.children?.[8] as MimePart;
    assert.ok(body(msg, last).includes('part 49'));
  });

  test('header block over the limit is cut, not kept whole', () => {
    const big = 'X-Big: ' + 'a'.repeat(5000) + '\r\n';
    const msg = Buffer.from('Subject: first\r\n' + big.repeat(20) + 'Subject: late\r\n\r\nbody');
    const s = parseMimeStructure(msg, { maxHeaderBytes: 8192 });
    assert.equal(s.envelope.subject, 'first');
    assert.ok(s.root.defects?.includes('header-too-long'));
    assert.equal(body(msg, s.root), 'body');
  });

  test('a huge single line costs bounded memory and keeps offsets right', () => {
    const msg = Buffer.concat([
      Buffer.from('Subject: x\r\n\r\n'),
      Buffer.alloc(2_000_000, 0x61),
      Buffer.from('\r\n'),
    ]);
    const s = parseMimeStructure(msg);
    assert.equal(s.root.size, 2_000_002);
    assert.equal(s.root.lines, 1);
  });
});

describe('streaming', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.eml'));
  for (const name of files) {
    test(`${name}: same result whole, byte by byte and in random chunks; JSON round trip`, () => {
      const msg = fixture(name);
      const whole = parseMimeStructure(msg);
      assert.deepEqual(
        parseChunked(msg, () => 1),
        whole,
      );
      let seed = 7;
      const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % 97;
      assert.deepEqual(parseChunked(msg, rnd), whole);
      assert.deepEqual(JSON.parse(JSON.stringify(whole)), whole);
      // Every leaf's range lies inside the message and ranges are ordered.
      for (const p of leaves(whole.root)) {
        assert.ok(p.headerStart <= p.bodyStart && p.bodyStart <= p.bodyEnd && p.bodyEnd <= msg.length);
        assert.equal(p.size, p.bodyEnd - p.bodyStart);
      }
    });
  }

  test('write after end is ignored; end twice returns the same', () => {
    const p = new MimeStructureParser();
    p.write(Buffer.from('Subject: a\r\n\r\nb'));
    const s = p.end();
    p.write(Buffer.from('more'));
    assert.equal(p.end(), s);
    assert.equal(s.size, 15);
  });
});
