// foldLongLines: a message accepted with lines over 998 octets is relayable - only the parts with such lines
// are re-encoded, everything else (8-bit parts and headers too) is kept byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldLongLines, hasLongLine } from '../../../src/mail/eightbit-downgrade.js';
import { parseMimeStructure, type MimePart } from '../../../src/mail/mime-structure.js';
import { decodeTransferEncoding } from '../../../src/mail/transfer-encoding.js';

function leaves(msg: Buffer): Array<{ encoding: string; content: Buffer; raw: Buffer }> {
  const out: Array<{ encoding: string; content: Buffer; raw: Buffer }> = [];
  const walk = (p: MimePart): void => {
    if (p.children) p.children.forEach(walk);
    else if (p.message) walk(p.message.root);
    else {
      const raw = msg.subarray(p.bodyStart, p.bodyEnd);
      out.push({ encoding: p.encoding, content: decodeTransferEncoding(raw, p.encoding), raw });
    }
  };
  walk(parseMimeStructure(msg).root);
  return out;
}

const long = 'x'.repeat(5000);

test('a message without long lines is returned as it is', () => {
  const msg = Buffer.from('Subject: hi\r\n\r\nshort line\r\n' + 'y'.repeat(998) + '\r\n');
  const r = foldLongLines(msg);
  assert.equal(r.changed, false);
  assert.equal(r.message, msg);
});

test('plain RFC 5322 message: becomes MIME quoted-printable, content equal, every line <= 998', () => {
  const msg = Buffer.from(`From: a@example.test\r\nSubject: long\r\n\r\nbefore\r\n${long}\r\nafter\r\n`);
  const r = foldLongLines(msg);
  assert.equal(r.changed, true);
  assert.equal(hasLongLine(r.message), false);
  const text = r.message.toString('latin1');
  assert.match(
    text,
    /^From: a@example\.test\r\nSubject: long\r\nMIME-Version: 1\.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n/,
  );
  const [leaf] = leaves(r.message);
  assert.equal(leaf!.content.toString('latin1'), `before\r\n${long}\r\nafter\r\n`);
});

test('multipart: only the part with the long line is re-encoded; an 8-bit part and 8-bit headers stay', () => {
  const eight = Buffer.from('Grüße aus Köln\r\n', 'utf8');
  const msg = Buffer.concat([
    Buffer.from(
      'Subject: =?utf-8?q?x?= Grüße\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
        '--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n',
      'utf8',
    ),
    eight,
    Buffer.from(
      `--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>${long}</p>\r\n--b--\r\n`,
    ),
  ]);
  const r = foldLongLines(msg);
  assert.equal(r.changed, true);
  assert.equal(hasLongLine(r.message), false);
  // The header block and the 8-bit part are the same bytes as before.
  const headerEnd = msg.indexOf('--b\r\nContent-Type: text/html');
  assert.deepEqual(r.message.subarray(0, headerEnd), msg.subarray(0, headerEnd));
  const parts = leaves(r.message);
  assert.equal(parts[0]!.encoding, '8bit');
  assert.deepEqual(parts[0]!.content, eight.subarray(0, -2)); // the CRLF before a boundary is the boundary's
  assert.equal(parts[1]!.encoding, 'quoted-printable');
  assert.equal(parts[1]!.content.toString('latin1'), `<p>${long}</p>`);
});

test('a non-text part with a long line becomes base64, its content exact', () => {
  const msg = Buffer.from(
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n' +
      `Content-Type: application/json\r\n\r\n{"k":"${long}"}\r\n--b--\r\n`,
  );
  const r = foldLongLines(msg);
  const [leaf] = leaves(r.message);
  assert.equal(leaf!.encoding, 'base64');
  assert.equal(leaf!.content.toString('latin1'), `{"k":"${long}"}`);
  assert.equal(hasLongLine(r.message), false);
});
