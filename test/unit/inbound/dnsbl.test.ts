// DNS block lists (RFC 5782): query names for IPv4 and IPv6, listing only on 127.0.0.0/8, the TXT reason, fail-open.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMailResolver } from '../../../src/dns/resolver.js';
import { dnsblQueryName, findListing } from '../../../src/inbound/dnsbl.js';
import { type DnsFixture, startDnsFixture } from '../../helpers/dns-fixture.js';

describe('dnsblQueryName (RFC 5782 2.1, 2.4)', () => {
  test('the RFC examples', () => {
    assert.equal(dnsblQueryName('192.168.42.23', 'bad.example.com'), '23.42.168.192.bad.example.com');
    assert.equal(
      dnsblQueryName('2001:db8:1:2:3:4:567:89ab', 'ugly.example.com'),
      'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com',
    );
  });
  test('a compressed IPv6 address is expanded; an IPv4-mapped one is IPv4; a trailing dot on the zone is dropped', () => {
    assert.equal(
      dnsblQueryName('2001:db8::1', 'bl.test.'),
      '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test',
    );
    assert.equal(dnsblQueryName('::ffff:127.0.0.2', 'bl.test'), '2.0.0.127.bl.test');
  });
});

describe('findListing', () => {
  let dns: DnsFixture;
  before(async () => {
    dns = await startDnsFixture({
      '2.0.0.127.bl.test': { a: ['127.0.0.2'], txt: ['Listed: see https://bl.test/127.0.0.2'] },
      '3.0.0.127.bl.test': { a: ['127.0.0.10'] },
      '4.0.0.127.bl.test': { a: ['192.0.2.1'] }, // not in 127/8: a hijacked or wildcard answer, ignored
      '2.0.0.127.down.test': { fail: 'servfail' },
      '2.0.0.127.other.test': { a: ['127.0.0.4'] },
    });
  });
  after(() => dns.close());
  const resolver = () => createMailResolver({ servers: [dns.address], timeoutMs: 300, tries: 1 });

  test('listed with its reason, listed without TXT, not listed, a public answer ignored', async () => {
    const r = resolver();
    assert.deepEqual(await findListing('127.0.0.2', ['bl.test'], r), {
      zone: 'bl.test',
      reason: 'Listed: see https://bl.test/127.0.0.2',
    });
    assert.deepEqual(await findListing('127.0.0.3', ['bl.test'], r), { zone: 'bl.test' });
    assert.equal(await findListing('127.0.0.5', ['bl.test'], r), null);
    assert.equal(await findListing('127.0.0.4', ['bl.test'], r), null);
  });

  test('a list that fails is skipped (fail open); the first listing zone in config order is named', async () => {
    const r = resolver();
    assert.equal(await findListing('127.0.0.2', ['down.test'], r), null);
    assert.deepEqual(await findListing('127.0.0.2', ['down.test', 'other.test', 'bl.test'], r), {
      zone: 'other.test',
    });
  });
});
