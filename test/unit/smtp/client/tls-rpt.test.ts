// TLS-RPT (RFC 8460), pure: the _smtp._tls record, the JSON aggregate report (4.4) and its message (5.1, 5.3).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildReportMessage,
  buildTlsReport,
  mailtoAddresses,
  parseTlsRptTxt,
} from '../../../../src/smtp/client/tls-policy/tls-rpt.js';
import type { TlsResultRow } from '../../../../src/store/tls-policy-store.js';

describe('_smtp._tls TXT (RFC 8460 3)', () => {
  const rows: [string[], string[] | null][] = [
    [['v=TLSRPTv1;rua=mailto:reports@example.com'], ['mailto:reports@example.com']], // 3.1 example
    [
      ['v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt'],
      ['https://reporting.example.com/v1/tlsrpt'],
    ],
    [['v=TLSRPTv1; rua=mailto:a@x.test,mailto:b@x.test'], ['mailto:a@x.test', 'mailto:b@x.test']],
    [['v=spf1 -all', 'v=TLSRPTv1; rua=mailto:a@x.test'], ['mailto:a@x.test']],
    [['v=TLSRPTv1; rua=mailto:a@x.test', 'v=TLSRPTv1; rua=mailto:b@x.test'], null], // two records: none
    [['v=TLSRPTv1;'], null], // no rua
    [['v=TLSRPTv2; rua=mailto:a@x.test'], null],
  ];
  for (const [records, rua] of rows)
    test(JSON.stringify(records), () => assert.deepEqual(parseTlsRptTxt(records), rua));

  test('mailto addresses are used; https and malformed ones are skipped', () => {
    assert.deepEqual(
      mailtoAddresses(['mailto:a@x.test', 'https://r.test/x', 'mailto:nope', 'MAILTO:b%40c@x.test']),
      {
        mailto: ['a@x.test'],
        skipped: ['https://r.test/x', 'mailto:nope', 'MAILTO:b%40c@x.test'],
      },
    );
  });
});

describe('aggregate report (RFC 8460 4.4)', () => {
  const row = (o: Partial<TlsResultRow>): TlsResultRow => ({
    day: '2026-12-04',
    policyDomain: 'b.test',
    policyType: 'sts',
    policyStrings: ['version: STSv1', 'mode: enforce', 'mx: *.b.test', 'max_age: 86400'],
    mxHost: 'mx1.b.test',
    result: 'success',
    receivingIp: '',
    reason: '',
    count: 1,
    ...o,
  });
  test('one policy entry per policy, successes and failures summed, failure details per result', () => {
    const report = buildTlsReport(
      { organizationName: 'mx.a.test', contactInfo: 'postmaster@a.test', reportId: 'r1', day: '2026-12-04' },
      'b.test',
      [
        row({ count: 5 }),
        row({ mxHost: 'mx2.b.test', count: 2 }),
        row({ result: 'certificate-expired', receivingIp: '192.0.2.1', reason: 'expired', count: 3 }),
        row({ policyDomain: 'other.test', count: 9 }), // another domain's rows are not in this report
        row({ policyType: 'no-policy-found', policyStrings: [], count: 1 }),
      ],
    );
    assert.deepEqual(report, {
      'organization-name': 'mx.a.test',
      'date-range': { 'start-datetime': '2026-12-04T00:00:00Z', 'end-datetime': '2026-12-04T23:59:59Z' },
      'contact-info': 'postmaster@a.test',
      'report-id': 'r1',
      policies: [
        {
          policy: {
            'policy-type': 'sts',
            'policy-string': ['version: STSv1', 'mode: enforce', 'mx: *.b.test', 'max_age: 86400'],
            'policy-domain': 'b.test',
            'mx-host': ['*.b.test'],
          },
          summary: { 'total-successful-session-count': 7, 'total-failure-session-count': 3 },
          'failure-details': [
            {
              'result-type': 'certificate-expired',
              'receiving-mx-hostname': 'mx1.b.test',
              'receiving-ip': '192.0.2.1',
              'failed-session-count': 3,
              'failure-reason-code': 'expired',
            },
          ],
        },
        {
          policy: { 'policy-type': 'no-policy-found', 'policy-domain': 'b.test' },
          summary: { 'total-successful-session-count': 1, 'total-failure-session-count': 0 },
        },
      ],
    });
  });

  test('the message: 5.3 headers, multipart/report tlsrpt, 5.1 file name, base64 gzip', () => {
    const msg = buildReportMessage({
      from: 'postmaster@a.test',
      to: 'tlsrpt@b.test',
      submitter: 'mx.a.test',
      policyDomain: 'b.test',
      reportId: 'r1',
      day: '2026-12-04',
      gzipped: Buffer.from('gz'),
      date: 'Sat, 05 Dec 2026 00:00:00 +0000',
      messageId: '<q@mx.a.test>',
      boundary: 'BOUND',
    }).toString('ascii');
    assert.match(msg, /^Subject: Report Domain: b\.test Submitter: mx\.a\.test Report-ID: <r1>\r$/m);
    assert.match(msg, /^TLS-Report-Domain: b\.test\r$/m);
    assert.match(msg, /^TLS-Report-Submitter: mx\.a\.test\r$/m);
    assert.match(msg, /^Content-Type: multipart\/report; report-type="tlsrpt";\r\n\tboundary="BOUND"\r$/m);
    assert.match(msg, /^Content-Type: application\/tlsrpt\+gzip\r$/m);
    // 2026-12-04T00:00:00Z = 1796342400
    assert.match(msg, /filename="mx\.a\.test!b\.test!1796342400!1796428799!r1\.json\.gz"/);
    assert.match(msg, /\r\n\r\nZ3o=\r\n\r\n--BOUND--\r\n$/);
  });
});
