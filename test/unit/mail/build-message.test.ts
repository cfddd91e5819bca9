// mail/build-message.ts: what it writes parses back (mime-structure.ts) to the same parts, texts, names and headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMessage, formatAddress, type BuildPart } from '../../../src/mail/build-message.js';
import { parseMimeStructure, type MimePart } from '../../../src/mail/mime-structure.js';
import { HeaderMap } from '../../../src/mail/headers.js';
import { decodeEncodedWords } from '../../../src/mail/encoded-words.js';
import { parseAddresses } from '../../../src/mail/envelope.js';
import { partText } from '../../../src/jmap/mail/email-content.js';
import { decodeTransferEncoding } from '../../../src/mail/transfer-encoding.js';

const opts = { boundary: (n: number) => `b${n}` };
const leaves = (p: MimePart): MimePart[] => (p.children ? p.children.flatMap(leaves) : [p]);
const headerOf = (m: Buffer): HeaderMap => HeaderMap.parse(m.subarray(0, m.indexOf('\r\n\r\n') + 2));

test('a text/plain message: 7bit when it can be, quoted-printable for UTF-8 and long lines; text round-trips', () => {
  for (const text of ['Hello\nworld', 'Grüße, 日本 ☃\r\nline 2', 'x'.repeat(2000), 'a\rb\n.\r\n..dot']) {
    const m = buildMessage([{ name: 'Subject', text: 'hi' }], { type: 'text/plain', content: text }, opts);
    const s = parseMimeStructure(m);
    assert.equal(s.root.contentType.subtype, 'plain');
    assert.equal(s.root.contentType.params.charset, 'utf-8');
    const back = partText(m, s.root).replace(/\r\n$/, '');
    assert.equal(back, text.replace(/\r\n|\r|\n/g, '\r\n'));
    assert.ok(
      m
        .toString('latin1')
        .split('\r\n')
        .every((l) => l.length <= 998),
    );
    assert.ok(!/[^\x00-\x7f]/.test(m.toString('latin1')), 'the message is 7-bit');
  }
});

test('headers: non-ASCII subject and names become encoded words and decode back; no header injection', () => {
  const m = buildMessage(
    [
      { name: 'From', raw: formatAddress({ name: 'Jöran Ü', email: 'j@a.test' }) },
      {
        name: 'To',
        raw: [
          formatAddress({ name: 'Smith, John', email: 'js@b.test' }),
          formatAddress({ email: 'x@c.test' }),
        ].join(', '),
      },
      { name: 'Subject', text: 'Café\r\nBcc: victim@evil.test' },
    ],
    { type: 'text/plain', content: 'x' },
    opts,
  );
  const h = headerOf(m);
  assert.equal(decodeEncodedWords(h.get('subject')!), 'Café Bcc: victim@evil.test');
  assert.equal(h.has('bcc'), false);
  assert.deepEqual(
    parseAddresses(h.get('to')!).map((a) => [a.name, a.address]),
    [
      ['Smith, John', 'js@b.test'],
      ['', 'x@c.test'],
    ],
  );
  assert.equal(decodeEncodedWords(parseAddresses(h.get('from')!)[0]!.name), 'Jöran Ü');
  assert.equal(h.get('mime-version'), '1.0');
});

test('multipart/mixed(alternative(text, related(html, cid image)), attachment): the tree, names, cid and bytes round-trip', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
  const pdf = Buffer.alloc(5000, 7);
  const root: BuildPart = {
    type: 'multipart/mixed',
    subParts: [
      {
        type: 'multipart/alternative',
        subParts: [
          { type: 'text/plain', content: 'plain body' },
          {
            type: 'multipart/related',
            subParts: [
              { type: 'text/html', content: '<p>html <img src="cid:img1@x"></p>' },
              { type: 'image/png', content: png, cid: 'img1@x', disposition: 'inline', name: 'dot.png' },
            ],
          },
        ],
      },
      { type: 'application/pdf', content: pdf, disposition: 'attachment', name: 'Rechnung März.pdf' },
    ],
  };
  const m = buildMessage([{ name: 'Subject', text: 's' }], root, opts);
  const s = parseMimeStructure(m);
  const types = leaves(s.root).map((p) => `${p.contentType.type}/${p.contentType.subtype}`);
  assert.deepEqual(types, ['text/plain', 'text/html', 'image/png', 'application/pdf']);
  assert.equal(s.root.children![0]!.contentType.subtype, 'alternative');
  assert.equal(s.root.children![0]!.children![1]!.contentType.subtype, 'related');
  const [text, html, image, attachment] = leaves(s.root) as [MimePart, MimePart, MimePart, MimePart];
  assert.equal(partText(m, text), 'plain body');
  assert.equal(partText(m, html).trim(), 'html');
  assert.equal(image.id, '<img1@x>');
  assert.equal(image.disposition?.value, 'inline');
  assert.deepEqual(decodeTransferEncoding(m.subarray(image.bodyStart, image.bodyEnd), image.encoding), png);
  assert.deepEqual(
    decodeTransferEncoding(m.subarray(attachment.bodyStart, attachment.bodyEnd), attachment.encoding),
    pdf,
  );
  assert.equal(attachment.disposition?.params.filename, 'Rechnung März.pdf');
  assert.equal(attachment.contentType.params.name, 'Rechnung März.pdf');
  assert.equal(s.root.defects, undefined);
});

test('message/rfc822 is written as it is (never base64, RFC 2046 5.2.1)', () => {
  const inner = Buffer.from('Subject: inner\r\n\r\nhi\r\n');
  const m = buildMessage(
    [],
    { type: 'multipart/mixed', subParts: [{ type: 'message/rfc822', content: inner }] },
    opts,
  );
  const part = parseMimeStructure(m).root.children![0]!;
  assert.equal(part.encoding, '7bit');
  assert.equal(part.message?.envelope.subject, 'inner');
});
