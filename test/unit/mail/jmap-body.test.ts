// RFC 8621 4.1.4 body properties from a MIME structure: the RFC's own textBody/htmlBody/attachments example, values, preview.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bodyStructureOf,
  bodyValueOf,
  classifyBody,
  hasAttachment,
  findBodyPart,
  htmlToPlain,
  partContent,
  previewOf,
} from '../../../src/mail/jmap-body.js';
import { parseMimeStructure } from '../../../src/mail/mime-structure.js';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'));

/** The tree of RFC 8621 4.1.4's example, each leaf's body naming its letter. */
const RFC_EXAMPLE = crlf(`From: a@example.com
Subject: tree
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain
Content-Disposition: inline

A
--b1
Content-Type: multipart/mixed; boundary="b2"

--b2
Content-Type: multipart/alternative; boundary="b3"

--b3
Content-Type: multipart/mixed; boundary="b4"

--b4
Content-Type: text/plain
Content-Disposition: inline

B
--b4
Content-Type: image/jpeg
Content-Disposition: inline

C
--b4
Content-Type: text/plain
Content-Disposition: inline

D
--b4--
--b3
Content-Type: multipart/related; boundary="b5"

--b5
Content-Type: text/html

E
--b5
Content-Type: image/jpeg

F
--b5--
--b3--
--b2
Content-Type: image/jpeg
Content-Disposition: attachment

G
--b2
Content-Type: application/x-excel

H
--b2
Content-Type: message/rfc822

Subject: J

J
--b2--
--b1
Content-Type: text/plain
Content-Disposition: inline

K
--b1--
`);

const letters = (message: Buffer, parts: { mime: Parameters<typeof partContent>[1] }[]) =>
  parts.map((p) => {
    const text = partContent(message, p.mime).toString().trim();
    return text.endsWith('J') ? 'J' : text;
  });

describe('textBody, htmlBody, attachments (RFC 8621 4.1.4)', () => {
  test('the RFC example: text A B C D K, html A E K, attachments C F G H J', () => {
    const root = bodyStructureOf(parseMimeStructure(RFC_EXAMPLE));
    const { textBody, htmlBody, attachments } = classifyBody(root);
    assert.deepEqual(letters(RFC_EXAMPLE, textBody), ['A', 'B', 'C', 'D', 'K']);
    assert.deepEqual(letters(RFC_EXAMPLE, htmlBody), ['A', 'E', 'K']);
    assert.deepEqual(letters(RFC_EXAMPLE, attachments), ['C', 'F', 'G', 'H', 'J']);
  });

  test('leaves get part ids in depth-first order, multiparts null; message/rfc822 is a leaf', () => {
    const root = bodyStructureOf(parseMimeStructure(RFC_EXAMPLE));
    assert.equal(root.partId, null);
    assert.equal(root.type, 'multipart/mixed');
    assert.equal(findBodyPart(root, '1')!.type, 'text/plain');
    assert.equal(findBodyPart(root, '9')!.type, 'message/rfc822');
    assert.equal(findBodyPart(root, '9')!.subParts, null);
    assert.equal(findBodyPart(root, '10')!.charset, 'us-ascii');
    assert.equal(findBodyPart(root, '11'), null);
  });

  table([
    ['a single text/plain', 'Content-Type: text/plain\n\nhi\n', ['text/plain'], ['text/plain'], []],
    [
      'a single text/html serves as text too',
      'Content-Type: text/html\n\n<p>hi</p>\n',
      ['text/html'],
      ['text/html'],
      [],
    ],
    [
      'alternative with only html fills textBody with it',
      'Content-Type: multipart/alternative; boundary=x\n\n--x\nContent-Type: text/html\n\n<b>x</b>\n--x--\n',
      ['text/html'],
      ['text/html'],
      [],
    ],
    [
      'a named text part after the first is an attachment',
      'Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nbody\n--x\nContent-Type: text/plain; name="notes.txt"\n\nnotes\n--x--\n',
      ['text/plain'],
      ['text/plain'],
      ['text/plain'],
    ],
    [
      'a pdf is an attachment',
      'Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nbody\n--x\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERg==\n--x--\n',
      ['text/plain'],
      ['text/plain'],
      ['application/pdf'],
    ],
  ]);
});

function table(rows: [string, string, string[], string[], string[]][]): void {
  for (const [name, message, text, html, attachments] of rows) {
    test(name, () => {
      const c = classifyBody(bodyStructureOf(parseMimeStructure(crlf(message))));
      assert.deepEqual(
        [c.textBody.map((p) => p.type), c.htmlBody.map((p) => p.type), c.attachments.map((p) => p.type)],
        [text, html, attachments],
      );
    });
  }
}

describe('values, names and preview', () => {
  test('quoted-printable latin-1 is decoded; an unknown charset is an encoding problem; truncation at a character', () => {
    const m = crlf(
      'Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9 cr=E8me\n',
    );
    const root = bodyStructureOf(parseMimeStructure(m));
    assert.deepEqual(bodyValueOf(m, root, 1000), {
      value: 'café crème\n',
      isEncodingProblem: false,
      isTruncated: false,
    });
    assert.deepEqual(bodyValueOf(m, root, 4), { value: 'caf', isEncodingProblem: false, isTruncated: true });
    // RFC 8621 4.1.4: "with any CRLF replaced with a single LF".
    const lines = crlf('Content-Type: text/plain\n\nShall we?\n\nBob\n');
    assert.equal(
      bodyValueOf(lines, bodyStructureOf(parseMimeStructure(lines)), 1000).value,
      'Shall we?\n\nBob\n',
    );
    const bad = crlf('Content-Type: text/plain; charset=x-nonsense\n\nhello\n');
    assert.equal(bodyValueOf(bad, bodyStructureOf(parseMimeStructure(bad)), 100).isEncodingProblem, true);
    const broken = Buffer.concat([
      crlf('Content-Type: text/plain; charset=utf-8\n\n'),
      Buffer.from([0x66, 0xff, 0x0d, 0x0a]),
    ]);
    assert.equal(
      bodyValueOf(broken, bodyStructureOf(parseMimeStructure(broken)), 100).isEncodingProblem,
      true,
    );
  });

  test('names from RFC 2231 and encoded words; cid without brackets', () => {
    const m = crlf(
      'Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nb\n--x\nContent-Type: image/png; name="=?utf-8?q?caf=C3=A9.png?="\nContent-ID: <img1@x>\n\nP\n--x\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=utf-8\'\'r%C3%A9sum%C3%A9.pdf\n\nQ\n--x--\n',
    );
    const root = bodyStructureOf(parseMimeStructure(m));
    assert.equal(findBodyPart(root, '2')!.name, 'café.png');
    assert.equal(findBodyPart(root, '2')!.cid, 'img1@x');
    assert.equal(findBodyPart(root, '3')!.name, 'résumé.pdf');
    assert.equal(findBodyPart(root, '3')!.disposition, 'attachment');
  });

  test('preview: white space collapsed, 256 characters at most, HTML made plain', () => {
    const long = crlf(`Content-Type: text/plain\n\n${'word  \n'.repeat(200)}`);
    const root = bodyStructureOf(parseMimeStructure(long));
    const p = previewOf(long, classifyBody(root).textBody, 256);
    assert.equal([...p].length, 256);
    assert.ok(!/\s\s/.test(p));
    const html = crlf(
      'Content-Type: text/html\n\n<html><head><style>p{}</style></head><body><p>Hi &amp; bye</p><script>x()</script></body></html>\n',
    );
    const hroot = bodyStructureOf(parseMimeStructure(html));
    assert.equal(previewOf(html, classifyBody(hroot).textBody, 256), 'Hi & bye');
    assert.equal(htmlToPlain('a<!-- c -->b&#233;'), 'a b\u00e9');
  });
});

test('hasAttachment (RFC 8621 4.1.1): an inline image alone is no attachment; one that is not inline is', () => {
  const message = (disposition: string) =>
    crlf(`Subject: pic
MIME-Version: 1.0
Content-Type: multipart/related; boundary="r"

--r
Content-Type: text/html

<p><img src="cid:pic@x"></p>
--r
Content-Type: image/png
Content-ID: <pic@x>
Content-Disposition: ${disposition}; filename="pic.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--r--
`);
  const inline = message('inline');
  const inlineParts = classifyBody(bodyStructureOf(parseMimeStructure(inline)));
  assert.equal(inlineParts.attachments.length, 1, 'the image is listed among attachments (for download)');
  assert.equal(hasAttachment(inlineParts.attachments), false);
  const attached = message('attachment');
  assert.equal(hasAttachment(classifyBody(bodyStructureOf(parseMimeStructure(attached))).attachments), true);
});
