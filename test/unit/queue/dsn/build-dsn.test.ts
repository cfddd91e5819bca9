// Builds DSNs and parses them back field by field (RFC 3464, RFC 6522, RFC 6533), plus the NOTIFY rules (RFC 3461).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildDsn,
  headerSection,
  originalRecipientField,
  type DsnInput,
} from '../../../../src/queue/dsn/build-dsn.js';
import { dsnStatus, successDsnAction, wantsDsn } from '../../../../src/queue/dsn/notify.js';

/** Parses "Name: value" fields (with folding) into a lower-cased map; blocks split by blank lines. */
function fields(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) map.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return map;
}

function splitEntity(entity: string): { headers: Map<string, string>; body: string } {
  const i = entity.indexOf('\r\n\r\n');
  return { headers: fields(entity.slice(0, i)), body: entity.slice(i + 4) };
}

function parseDsn(message: Buffer) {
  const top = splitEntity(message.toString('utf8'));
  const ct = top.headers.get('content-type') ?? '';
  const boundary = /boundary="([^"]+)"/.exec(ct)?.[1] ?? '';
  assert.ok(boundary, 'boundary');
  assert.ok(top.body.endsWith(`\r\n--${boundary}--\r\n`), 'closing boundary');
  const parts = top.body
    .split(`\r\n--${boundary}`)
    .slice(1, -1)
    .map((p) => splitEntity(p.replace(/^\r\n/, '')));
  return { headers: top.headers, contentType: ct, parts };
}

const original = Buffer.from(
  'From: alice@a.test\r\nTo: bob@b.test, carol@b.test\r\nSubject: hello\r\nMessage-ID: <m1@a.test>\r\n\r\nHi Bob.\r\n',
);

const base: DsnInput = {
  reportingMta: 'mail.a.test',
  originalSender: 'alice@a.test',
  envelopeId: 'QQ314159',
  arrivalDate: new Date('2026-11-23T10:00:00Z'),
  date: new Date('2026-11-23T10:05:00Z'),
  messageId: '<dsn.1@mail.a.test>',
  boundary: 'B0undary.42',
  original,
  recipients: [
    {
      finalRecipient: 'carol@b.test',
      orcpt: 'rfc822;Carol+2Bx@b.test',
      action: 'failed',
      status: '5.1.1',
      remoteMta: 'mx.b.test',
      smtpDiagnostic: '550 5.1.1 <carol@b.test>: no such user',
      lastAttemptDate: new Date('2026-11-23T10:04:59Z'),
    },
  ],
};

void describe('buildDsn', () => {
  void test('a failure DSN parses back field by field (RFC 3464 / RFC 6522)', () => {
    const dsn = buildDsn(base);
    assert.equal(dsn.envelopeSender, '');
    assert.equal(dsn.envelopeRecipient, 'alice@a.test');
    assert.equal(dsn.eightBit, false);
    assert.equal(dsn.smtpUtf8, false);
    const p = parseDsn(dsn.message);
    assert.equal(p.headers.get('from'), 'Mail Delivery System <MAILER-DAEMON@mail.a.test>');
    assert.equal(p.headers.get('to'), '<alice@a.test>');
    assert.equal(p.headers.get('subject'), 'Undelivered Mail Returned to Sender');
    assert.equal(p.headers.get('date'), 'Mon, 23 Nov 2026 10:05:00 +0000');
    assert.equal(p.headers.get('message-id'), '<dsn.1@mail.a.test>');
    assert.equal(p.headers.get('auto-submitted'), 'auto-replied');
    assert.match(p.contentType, /^multipart\/report; report-type=delivery-status; boundary="B0undary.42"$/);
    assert.equal(p.parts.length, 3);
    const [human, status, orig] = p.parts;
    assert.equal(human?.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.match(human?.body ?? '', /<carol@b.test>: 5\.1\.1 \(host mx\.b\.test said: 550 5\.1\.1/);
    assert.equal(status?.headers.get('content-type'), 'message/delivery-status');
    const blocks = (status?.body ?? '').trimEnd().split('\r\n\r\n').map(fields);
    assert.equal(blocks.length, 2);
    assert.deepEqual(Object.fromEntries(blocks[0] ?? []), {
      'reporting-mta': 'dns; mail.a.test',
      'original-envelope-id': 'QQ314159',
      'arrival-date': 'Mon, 23 Nov 2026 10:00:00 +0000',
    });
    assert.deepEqual(Object.fromEntries(blocks[1] ?? []), {
      'original-recipient': 'rfc822; Carol+x@b.test',
      'final-recipient': 'rfc822; carol@b.test',
      action: 'failed',
      status: '5.1.1',
      'remote-mta': 'dns; mx.b.test',
      'diagnostic-code': 'smtp; 550 5.1.1 <carol@b.test>: no such user',
      'last-attempt-date': 'Mon, 23 Nov 2026 10:04:59 +0000',
    });
    // No RET: a small original comes back whole.
    assert.equal(orig?.headers.get('content-type'), 'message/rfc822');
    assert.equal(orig?.body, original.toString());
  });

  void test('RET=HDRS and large messages: text/rfc822-headers', () => {
    const hdrs = parseDsn(buildDsn({ ...base, ret: 'HDRS' }).message).parts[2];
    assert.equal(hdrs?.headers.get('content-type'), 'text/rfc822-headers');
    assert.equal(hdrs?.body, headerSection(original).toString());
    const big = parseDsn(buildDsn({ ...base, ret: 'FULL', maxFullSize: 10 }).message).parts[2];
    assert.equal(big?.headers.get('content-type'), 'text/rfc822-headers');
    const full = parseDsn(buildDsn({ ...base, ret: 'FULL' }).message).parts[2];
    assert.equal(full?.headers.get('content-type'), 'message/rfc822');
  });

  void test('a delay warning: Action delayed, Will-Retry-Until, headers only', () => {
    const dsn = buildDsn({
      ...base,
      recipients: [
        {
          finalRecipient: 'bob@b.test',
          action: 'delayed',
          status: '4.4.1',
          localDiagnostic: 'connection refused by mx.b.test[192.0.2.1]:25',
          lastAttemptDate: new Date('2026-11-23T10:04:00Z'),
          willRetryUntil: new Date('2026-11-28T10:00:00Z'),
        },
      ],
    });
    const p = parseDsn(dsn.message);
    assert.equal(p.headers.get('subject'), 'Delayed Mail (still being retried)');
    const r = (p.parts[1]?.body ?? '').trimEnd().split('\r\n\r\n').map(fields)[1];
    assert.equal(r?.get('action'), 'delayed');
    assert.equal(r?.get('will-retry-until'), 'Sat, 28 Nov 2026 10:00:00 +0000');
    assert.equal(r?.get('diagnostic-code'), 'X-Mailroom; connection refused by mx.b.test[192.0.2.1]:25');
    assert.equal(r?.has('remote-mta'), false);
    assert.equal(p.parts[2]?.headers.get('content-type'), 'text/rfc822-headers');
  });

  void test('SMTPUTF8: message/global-delivery-status with utf-8 address types (RFC 6533)', () => {
    const dsn = buildDsn({
      ...base,
      smtpUtf8: true,
      originalSender: 'älice@a.test',
      original: Buffer.from('Subject: grüße\r\n\r\nhi\r\n'),
      recipients: [
        { finalRecipient: 'jörg@b.test', action: 'failed', status: '5.1.1', smtpDiagnostic: '550 5.1.1 nö' },
      ],
    });
    assert.equal(dsn.smtpUtf8, true);
    assert.equal(dsn.eightBit, true);
    const p = parseDsn(dsn.message);
    assert.equal(p.headers.get('to'), '<älice@a.test>');
    assert.equal(p.parts[1]?.headers.get('content-type'), 'message/global-delivery-status');
    const r = (p.parts[1]?.body ?? '').trimEnd().split('\r\n\r\n').map(fields)[1];
    assert.equal(r?.get('final-recipient'), 'utf-8; jörg@b.test');
    assert.equal(r?.get('diagnostic-code'), 'smtp; 550 5.1.1 nö');
    assert.equal(p.parts[2]?.headers.get('content-type'), 'message/global');
    // The human part was base64 because it is not ASCII.
    assert.equal(p.parts[0]?.headers.get('content-transfer-encoding'), 'base64');
    assert.match(Buffer.from(p.parts[0]?.body ?? '', 'base64').toString('utf8'), /jörg@b\.test/);
  });

  void test('hostile values cannot inject header fields or end the report early', () => {
    const dsn = buildDsn({
      ...base,
      recipients: [
        {
          finalRecipient: 'x@b.test',
          action: 'failed',
          status: '5.0.0',
          smtpDiagnostic: '550 evil\r\nAction: delivered\r\n\r\n--B0undary.42--' + 'y'.repeat(2000),
        },
      ],
    });
    const p = parseDsn(dsn.message);
    assert.equal(p.parts.length, 3);
    const blocks = (p.parts[1]?.body ?? '').trimEnd().split('\r\n\r\n').map(fields);
    assert.equal(blocks.length, 2);
    assert.equal(blocks[1]?.get('action'), 'failed');
    assert.ok((blocks[1]?.get('diagnostic-code') ?? '').length < 1000);
    for (const line of dsn.message.toString().split('\r\n')) assert.ok(line.length <= 998);
  });

  void test('never to the null sender', () => {
    assert.throws(() => buildDsn({ ...base, originalSender: '' }), RangeError);
  });
});

void describe('NOTIFY rules (RFC 3461 4.1)', () => {
  const rows: [string, string[] | undefined, 'failed' | 'delayed' | 'delivered' | 'relayed', boolean][] = [
    ['a@x', undefined, 'failed', true],
    ['a@x', undefined, 'delayed', true],
    ['a@x', undefined, 'delivered', false],
    ['a@x', ['NEVER'], 'failed', false],
    ['a@x', ['SUCCESS'], 'delivered', true],
    ['a@x', ['SUCCESS'], 'relayed', true],
    ['a@x', ['SUCCESS'], 'failed', false],
    ['a@x', ['FAILURE'], 'failed', true],
    ['a@x', ['FAILURE'], 'delayed', false],
    ['a@x', ['delay', 'failure'], 'delayed', true],
    ['', undefined, 'failed', false], // never bounce a bounce
    ['', ['FAILURE'], 'failed', false],
  ];
  for (const [sender, notify, action, want] of rows) {
    void test(`sender=${JSON.stringify(sender)} NOTIFY=${notify?.join(',') ?? '-'} ${action} -> ${want}`, () => {
      assert.equal(wantsDsn(sender, notify, action), want);
    });
  }
  void test('delay warnings can be turned off for the default', () => {
    assert.equal(wantsDsn('a@x', undefined, 'delayed', { delayWarnings: false }), false);
    assert.equal(wantsDsn('a@x', ['DELAY'], 'delayed', { delayWarnings: false }), true);
  });
  void test('success DSN action', () => {
    assert.equal(successDsnAction('local'), 'delivered');
    assert.equal(successDsnAction('peer-without-dsn'), 'relayed');
    assert.equal(successDsnAction('peer-with-dsn'), null);
  });
  void test('dsnStatus', () => {
    assert.equal(dsnStatus('failed', 550, '5.1.1'), '5.1.1');
    assert.equal(dsnStatus('failed', 550, '4.1.1'), '5.0.0');
    assert.equal(dsnStatus('failed', 550), '5.0.0');
    assert.equal(dsnStatus('delayed', 451), '4.0.0');
    assert.equal(dsnStatus('delayed'), '4.0.0');
    assert.equal(dsnStatus('failed', undefined, '5.4.7'), '5.4.7');
  });
  void test('originalRecipientField decodes xtext', () => {
    assert.deepEqual(originalRecipientField('rfc822;a+2Bb@x'), { type: 'rfc822', address: 'a+b@x' });
    assert.equal(originalRecipientField('bogus'), null);
    assert.equal(originalRecipientField('rfc822;a+zz'), null);
  });
});
