// A stored Email made ready to send (RFC 8621 7.5): Bcc and Return-Path dropped with their continuation lines, the envelope derived.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveEnvelope, dropFields, outgoingMessage } from '../../../../src/jmap/mail/submission-message.js';

const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'));

describe('outgoingMessage', () => {
  test('Bcc (folded over lines) and Return-Path go; the body and other fields stay byte for byte', () => {
    const m = outgoingMessage(
      crlf(
        'Return-Path: <old@x.test>\nFrom: a@x.test\nBcc: one@x.test,\n two@x.test\nTo: b@x.test\nbcc : three@x.test\n\nBcc: not a header\n',
      ),
    );
    assert.equal(m.bytes.toString(), crlf('From: a@x.test\nTo: b@x.test\n\nBcc: not a header\n').toString());
    assert.equal(m.eightBit, false);
  });

  test('8-bit bytes are noticed (the queue then sends BODY=8BITMIME, RFC 6152)', () => {
    assert.equal(outgoingMessage(crlf('From: a@x.test\n\nGrüße\n')).eightBit, true);
  });

  test('a message without an empty line is all header', () => {
    assert.equal(dropFields(crlf('Bcc: x@y\nTo: z@y'), new Set(['bcc'])).toString(), 'To: z@y');
  });
});

describe('deriveEnvelope (RFC 8621 7.5: Sender else From; To, Cc, Bcc without duplicates)', () => {
  test('From and three recipient fields, a duplicate in another case', () => {
    const m = outgoingMessage(
      crlf('From: "A" <a@x.test>\nTo: b@x.test, C <c@x.test>\nCc: B@X.test\nBcc: d@y.test\n\nx\n'),
    );
    assert.deepEqual(deriveEnvelope(m.headers), {
      mailFrom: { email: 'a@x.test', parameters: null },
      rcptTo: ['b@x.test', 'c@x.test', 'd@y.test'].map((email) => ({ email, parameters: null })),
    });
  });

  test('Sender wins over From; groups are flattened', () => {
    const m = outgoingMessage(crlf('From: a@x.test\nSender: s@x.test\nTo: team: b@x.test, c@x.test;\n\nx\n'));
    const e = deriveEnvelope(m.headers);
    assert.equal(e.mailFrom.email, 's@x.test');
    assert.deepEqual(
      e.rcptTo.map((r) => r.email),
      ['b@x.test', 'c@x.test'],
    );
  });
});
