// DMARC aggregate report pieces (RFC 7489 7.1, 7.2, Appendix C): rua parsing, the external check, rows and the XML.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildAggregateXml,
  externalReportAuthorized,
  externalReportName,
  reportRowOf,
  ruaMailtos,
  type DmarcReportRow,
} from '../../../src/inbound/dmarc-report.js';
import type { DmarcOutcome, InboundFacts } from '../../../src/inbound/policy.js';
import { parseDmarcRecord } from '../../../src/inbound/verify.js';

void describe('DMARC aggregate reports (pure)', () => {
  void test('rua: mailto only, size limits and query stripped, %-escapes decoded, the domain lower-cased', () => {
    assert.deepEqual(
      ruaMailtos([
        'mailto:Agg@Reports.Example',
        ' mailto:dmarc%2Brua@x.test!10m ',
        'https://reports.test/dmarc',
        'mailto:no-at-sign',
        'mailto:a@b.test?subject=x',
      ]),
      ['Agg@reports.example', 'dmarc+rua@x.test', 'a@b.test'],
    );
    assert.deepEqual(
      parseDmarcRecord('d.test', 'v=DMARC1; p=none; rua=mailto:Agg@d.test, mailto:x@y.test')?.rua,
      ['mailto:Agg@d.test', 'mailto:x@y.test'],
    );
  });

  void test('external destination verification (RFC 7489 7.1)', () => {
    assert.equal(
      externalReportName('sender.test', 'reports.test'),
      'sender.test._report._dmarc.reports.test',
    );
    assert.equal(externalReportAuthorized(['v=DMARC1']), true);
    assert.equal(externalReportAuthorized(['v=DMARC1; rua=mailto:x@y.test']), true);
    assert.equal(externalReportAuthorized(['v=spf1 -all']), false);
    assert.equal(externalReportAuthorized([]), false);
  });

  void test('a row per evaluation: disposition from the action; deferrals and unevaluated mail are not counted', () => {
    const facts: InboundFacts = {
      spf: { result: 'fail', domain: 's.test' },
      dkim: [{ result: 'pass', domain: 's.test' }],
      fromDomains: ['s.test'],
      senderDomain: 's.test',
      dmarcRecord: null,
    };
    const record = {
      domain: 's.test',
      p: 'reject' as const,
      pct: 100,
      adkim: 'r' as const,
      aspf: 'r' as const,
    };
    const dmarc: DmarcOutcome = {
      result: 'pass',
      fromDomain: 's.test',
      policy: 'reject',
      record,
      spfAligned: false,
      dkimAligned: true,
    };
    const row = reportRowOf(facts, dmarc, { kind: 'deliver', junk: true }, '192.0.2.1', '2026-12-01');
    assert.deepEqual(row, {
      day: '2026-12-01',
      policyDomain: 's.test',
      sourceIp: '192.0.2.1',
      headerFrom: 's.test',
      disposition: 'quarantine',
      dkimAligned: 'pass',
      spfAligned: 'fail',
      policy: { p: 'reject', pct: 100, adkim: 'r', aspf: 'r' },
      dkim: [{ domain: 's.test', result: 'pass' }],
      spf: { domain: 's.test', result: 'fail' },
    });
    const reject = { kind: 'reject' as const, reason: 'dmarc' as const, domain: 's.test' };
    assert.equal(reportRowOf(facts, dmarc, reject, 'ip', 'd')?.disposition, 'reject');
    assert.equal(reportRowOf(facts, dmarc, { ...reject, kind: 'defer' }, 'ip', 'd'), null);
    assert.equal(
      reportRowOf(facts, { ...dmarc, record: null }, { kind: 'deliver', junk: false }, 'ip', 'd'),
      null,
    );
    assert.equal(
      reportRowOf(facts, { ...dmarc, result: 'temperror' }, { kind: 'deliver', junk: false }, 'ip', 'd'),
      null,
    );
  });

  void test('the XML escapes what it quotes and lists every DKIM result', () => {
    const row: DmarcReportRow = {
      day: '2026-12-01',
      policyDomain: 's.test',
      sourceIp: '2001:db8::1',
      headerFrom: 's.test',
      disposition: 'none',
      dkimAligned: 'fail',
      spfAligned: 'pass',
      policy: { p: 'none', sp: 'reject', pct: 50, adkim: 's', aspf: 'r' },
      dkim: [
        { domain: 'a.test', result: 'fail' },
        { domain: 'b.test', result: 'pass' },
      ],
      spf: { domain: 's.test', result: 'pass' },
      count: 3,
    };
    const xml = buildAggregateXml(
      { orgName: 'R&D <mx>', email: 'p@a.test', reportId: 'id', day: '2026-12-01' },
      's.test',
      [row],
    );
    assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<feedback>/);
    assert.match(xml, /<org_name>R&amp;D &lt;mx&gt;<\/org_name>/);
    assert.match(
      xml,
      /<adkim>s<\/adkim>\s*<aspf>r<\/aspf>\s*<p>none<\/p>\s*<sp>reject<\/sp>\s*<pct>50<\/pct>/,
    );
    assert.match(
      xml,
      /<dkim><domain>a\.test<\/domain><result>fail<\/result><\/dkim>\s*<dkim><domain>b\.test<\/domain>/,
    );
    assert.match(xml, /<count>3<\/count>/);
  });
});
