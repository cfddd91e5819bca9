// `mailroom doctor` checks against the DNS fixture: a complete zone is all ok, an empty one says what to publish, wrong records are named.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMailResolver } from '../../../src/dns/resolver.js';
import {
  type CheckResult,
  formatDoctorReport,
  runDoctor,
  type DoctorInput,
} from '../../../src/doctor/checks.js';
import { type DnsFixture, type FixtureZone, startDnsFixture } from '../../helpers/dns-fixture.js';

const DOMAIN = 'example.test';
const HOST = 'mx.example.test';
const KEY_TXT = 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
const POLICY = `version: STSv1\nmode: enforce\nmx: ${HOST}\nmax_age: 604800\n`;

function goodZone(): FixtureZone {
  return {
    [DOMAIN]: {
      mx: [{ preference: 10, exchange: HOST }],
      txt: ['v=spf1 mx -all', 'google-site-verification=x'],
    },
    [HOST]: { a: ['192.0.2.25'] },
    '25.2.0.192.in-addr.arpa': { ptr: [HOST] },
    [`mr202612._domainkey.${DOMAIN}`]: {
      txt: [['v=DKIM1; k=ed25519; ', 'p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=']],
    },
    [`_dmarc.${DOMAIN}`]: { txt: ['v=DMARC1; p=reject; rua=mailto:postmaster@example.test'] },
    [`_mta-sts.${DOMAIN}`]: { txt: ['v=STSv1; id=20261205T1'] },
    [`_smtp._tls.${DOMAIN}`]: { txt: ['v=TLSRPTv1; rua=mailto:tls@example.test'] },
  };
}

let dns: DnsFixture;
before(async () => {
  dns = await startDnsFixture({});
});
after(() => dns.close());

function input(overrides: Partial<DoctorInput> = {}): DoctorInput {
  return {
    domain: DOMAIN,
    hostname: HOST,
    dkimKeys: [
      { selector: 'mr202612', dnsName: `mr202612._domainkey.${DOMAIN}`, dnsTxt: KEY_TXT, active: true },
    ],
    resolver: createMailResolver({ servers: [dns.address] }),
    fetchPolicy: () => Promise.resolve({ ok: true, text: POLICY }),
    now: () => new Date('2026-12-05T10:00:00Z'),
    ...overrides,
  };
}

const byRecord = (results: CheckResult[], record: string) => results.filter((r) => r.record === record);

describe('runDoctor', () => {
  test('a complete, correct zone: every record ok, nothing to publish', async () => {
    dns.zone = goodZone();
    const results = await runDoctor(input());
    assert.deepEqual(
      results.filter((r) => r.status !== 'ok').map((r) => `${r.record} ${r.detail}`),
      [],
    );
    assert.deepEqual(
      results.map((r) => r.record),
      ['MX', 'SPF', 'DKIM', 'DMARC', 'MTA-STS', 'MTA-STS', 'TLS-RPT', 'PTR'],
    );
    assert.ok(results.every((r) => r.publish.length === 0));
    assert.match(formatDoctorReport(DOMAIN, results), /everything is in place/);
  });

  test('an empty zone: every record missing, with the exact record to publish', async () => {
    dns.zone = { [HOST]: { a: ['192.0.2.25'] } };
    const results = await runDoctor(
      input({
        fetchPolicy: () => Promise.resolve({ ok: false, reason: 'no address for mta-sts.example.test' }),
      }),
    );
    const publish = Object.fromEntries(
      results.map((r) => [`${r.record} ${r.name}`, [r.status, ...r.publish]]),
    );
    assert.deepEqual(publish[`MX ${DOMAIN}`], ['missing', `${DOMAIN}. IN MX 10 ${HOST}.`]);
    assert.deepEqual(publish[`SPF ${DOMAIN}`], ['missing', `${DOMAIN}. IN TXT "v=spf1 mx -all"`]);
    assert.deepEqual(publish[`DKIM mr202612._domainkey.${DOMAIN}`], [
      'missing',
      `mr202612._domainkey.${DOMAIN}. IN TXT "${KEY_TXT}"`,
    ]);
    assert.deepEqual(publish[`DMARC _dmarc.${DOMAIN}`], [
      'missing',
      `_dmarc.${DOMAIN}. IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@${DOMAIN}"`,
    ]);
    assert.deepEqual(publish[`MTA-STS _mta-sts.${DOMAIN}`], [
      'missing',
      `_mta-sts.${DOMAIN}. IN TXT "v=STSv1; id=20261205100000"`,
    ]);
    assert.equal(publish[`MTA-STS https://mta-sts.${DOMAIN}/.well-known/mta-sts.txt`]?.[0], 'missing');
    assert.deepEqual(publish[`TLS-RPT _smtp._tls.${DOMAIN}`], [
      'missing',
      `_smtp._tls.${DOMAIN}. IN TXT "v=TLSRPTv1; rua=mailto:postmaster@${DOMAIN}"`,
    ]);
    assert.equal(publish['PTR 25.2.0.192.in-addr.arpa']?.[0], 'missing');
    assert.match(
      formatDoctorReport(DOMAIN, results),
      /publish: example\.test\. IN MX 10 mx\.example\.test\./,
    );
  });

  test('wrong records are named: MX elsewhere, SPF failing our address, two DMARC, another DKIM key, PTR elsewhere', async () => {
    const zone = goodZone();
    zone[DOMAIN] = {
      mx: [{ preference: 10, exchange: 'mx.other.test' }],
      txt: ['v=spf1 ip4:198.51.100.0/24 -all'],
    };
    zone[`_dmarc.${DOMAIN}`] = { txt: ['v=DMARC1; p=none', 'v=DMARC1; p=reject'] };
    zone[`mr202612._domainkey.${DOMAIN}`] = { txt: ['v=DKIM1; k=rsa; p=MIIBIjANBgkq'] };
    zone['25.2.0.192.in-addr.arpa'] = { ptr: ['host-192-0-2-25.isp.test'] };
    dns.zone = zone;
    const results = await runDoctor(
      input({
        fetchPolicy: () =>
          Promise.resolve({ ok: true, text: POLICY.replace('mx: mx.example.test', 'mx: other.test') }),
      }),
    );
    assert.equal(byRecord(results, 'MX')[0]?.status, 'wrong');
    assert.match(byRecord(results, 'SPF')[0]?.detail ?? '', /spf=fail/);
    assert.equal(byRecord(results, 'DMARC')[0]?.status, 'wrong');
    assert.equal(byRecord(results, 'DKIM')[0]?.status, 'wrong');
    assert.match(byRecord(results, 'MTA-STS')[1]?.detail ?? '', /no mx: line matches mx\.example\.test/);
    assert.equal(byRecord(results, 'PTR')[0]?.status, 'wrong');
  });

  test('outbound.source_address: SPF and PTR are checked for the address mail leaves from, not the MX address', async () => {
    dns.zone = goodZone();
    const results = await runDoctor(input({ sourceAddress: '192.0.2.26' }));
    const [spfResult] = byRecord(results, 'SPF');
    assert.equal(spfResult?.status, 'wrong');
    assert.match(spfResult?.detail ?? '', /192\.0\.2\.26/);
    assert.deepEqual(spfResult?.publish, ['example.test. IN TXT "v=spf1 mx ip4:192.0.2.26 -all"']);
    assert.deepEqual(
      byRecord(results, 'PTR').map((r) => [r.name, r.status]),
      [['26.2.0.192.in-addr.arpa', 'missing']],
    );
    dns.zone['example.test']!.txt = ['v=spf1 mx ip4:192.0.2.26 -all'];
    dns.zone['26.2.0.192.in-addr.arpa'] = { ptr: [HOST] };
    const fixed = await runDoctor(input({ sourceAddress: '192.0.2.26' }));
    assert.deepEqual(
      fixed.filter((r) => r.status !== 'ok').map((r) => `${r.record} ${r.detail}`),
      [],
    );
  });

  test('a DNS server that does not answer gives "error", never "missing"', async () => {
    dns.zone = { ...goodZone(), [`_dmarc.${DOMAIN}`]: { fail: 'servfail' } };
    const results = await runDoctor(
      input({ resolver: createMailResolver({ servers: [dns.address], tries: 1 }) }),
    );
    const dmarc = byRecord(results, 'DMARC')[0];
    assert.equal(dmarc?.status, 'error');
    assert.match(dmarc?.detail ?? '', /ESERVFAIL/);
  });

  test('no DKIM key: says how to make one', async () => {
    dns.zone = goodZone();
    const results = await runDoctor(input({ dkimKeys: [] }));
    assert.match(byRecord(results, 'DKIM')[0]?.detail ?? '', /mailroom dkim generate example\.test/);
  });
});
