// The aggregate reports' message framing (mail/report-message.ts), shared by DMARC and TLS-RPT.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildAggregateReportMessage } from '../../../src/mail/report-message.js';

const INPUT = {
  from: 'postmaster@a.test',
  to: 'rua@b.test',
  submitter: 'mx.a.test',
  policyDomain: 'b.test',
  reportId: 'r1@mx.a.test',
  day: '2026-12-05',
  gzipped: Buffer.alloc(200, 0xab),
  date: 'Sun, 6 Dec 2026 10:00:00 +0000',
  messageId: '<q1.x@mx.a.test>',
  boundary: '=_b',
};

const FRAMING = {
  extraFields: ['X-Extra: 1'],
  contentType: ['Content-Type: multipart/mixed; boundary="=_b"'],
  preamble: [],
  text: 'A report.',
  attachmentType: 'application/gzip',
  filename: 'f.gz',
};

test('CRLF only, the Subject both RFCs give, the fields in order, the attachment in 76-character base64 lines', () => {
  const text = buildAggregateReportMessage(INPUT, FRAMING).toString('ascii');
  assert.doesNotMatch(text.replace(/\r\n/g, ''), /[\r\n]/);
  const blank = text.indexOf('\r\n\r\n');
  const head = text.slice(0, blank);
  const body = text.slice(blank + 4);
  assert.deepEqual(
    head.split('\r\n').map((l) => l.split(':')[0]),
    [
      'From',
      'To',
      'Subject',
      'Date',
      'Message-ID',
      'X-Extra',
      'Auto-Submitted',
      'MIME-Version',
      'Content-Type',
    ],
  );
  assert.match(head, /^Subject: Report Domain: b\.test Submitter: mx\.a\.test Report-ID: <r1@mx\.a\.test>$/m);
  assert.ok(body.startsWith('--=_b\r\n'), 'no preamble when none is given');
  const b64 = body.split('\tfilename="f.gz"\r\n\r\n')[1]!.split('\r\n\r\n--=_b--')[0]!;
  const lines = b64.split('\r\n');
  assert.ok(lines.every((l) => l.length <= 76));
  assert.deepEqual(Buffer.from(lines.join(''), 'base64'), INPUT.gzipped);
  assert.ok(text.endsWith('--=_b--\r\n'));
});

test('a preamble goes before the first boundary, after a blank line', () => {
  const text = buildAggregateReportMessage(INPUT, { ...FRAMING, preamble: ['Preamble.'] }).toString('ascii');
  assert.match(text, /\r\n\r\nPreamble\.\r\n\r\n--=_b\r\n/);
});
