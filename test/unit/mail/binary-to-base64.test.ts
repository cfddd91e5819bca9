// convertBinaryParts (RFC 3516 4.4 literal8 APPEND): binary leaf parts become base64, every other byte stays.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { convertBinaryParts } from '../../../src/mail/binary-to-base64.js';
import { findPart, parseMimeStructure } from '../../../src/mail/mime-structure.js';
import { binaryBytes } from '../../../src/imap/message-sections.js';

const bin = Buffer.from([0x00, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a, 0xff]);

describe('convertBinaryParts', () => {
  test('imaptest append-binary: a single-part binary message', () => {
    const head =
      'From: user@domain.org\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n';
    const out = convertBinaryParts(Buffer.concat([Buffer.from(head), bin]));
    assert.ok(out);
    assert.equal(out.toString('latin1'), head.replace('binary', 'base64') + bin.toString('base64') + '\r\n');
    const s = parseMimeStructure(out);
    assert.deepEqual(binaryBytes(out, s, [1]), bin);
  });

  test('multipart: only the binary part changes (folded CTE field too); boundaries, text parts and epilogue keep their bytes', () => {
    const big = Buffer.alloc(100, 0x00);
    const msg = Buffer.concat([
      Buffer.from(
        'Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n' +
          '--b\r\nContent-Type: application/x-bin\r\nContent-Transfer-Encoding:\r\n  BINARY\r\nX-After: 1\r\n\r\n',
      ),
      big,
      Buffer.from('\r\n--b--\r\nepilogue\r\n'),
    ]);
    const out = convertBinaryParts(msg);
    assert.ok(out);
    const text = out.toString('latin1');
    assert.ok(
      text.startsWith(
        'Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n',
      ),
    );
    assert.ok(
      text.includes(
        'Content-Type: application/x-bin\r\nContent-Transfer-Encoding: base64\r\nX-After: 1\r\n\r\n',
      ),
    );
    assert.ok(text.endsWith('\r\n--b--\r\nepilogue\r\n'));
    assert.ok(!text.includes('\x00'));
    const s = parseMimeStructure(out);
    assert.equal(findPart(s, [2])?.encoding, 'base64');
    assert.deepEqual(binaryBytes(out, s, [2]), big);
    assert.equal(binaryBytes(out, s, [1])?.toString(), 'hello');
  });

  test('no binary part (7bit, 8bit, base64): null, the message is stored as sent', () => {
    assert.equal(convertBinaryParts(Buffer.from('Subject: a\r\n\r\nplain \xe4 8bit\r\n', 'latin1')), null);
    assert.equal(
      convertBinaryParts(Buffer.from('Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n')),
      null,
    );
  });
});
