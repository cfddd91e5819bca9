// The one resolver against the loopback DNS fixture: shapes, node:dns error codes, TTL and negative caching, TCP, AD bit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { spf } from 'mailauth/lib/spf/index.js';
import { createMailResolver, reverseName } from '../../../src/dns/resolver.js';
import { isTemporaryDnsError } from '../../../src/dns/types.js';
import { type DnsFixture, startDnsFixture } from '../../helpers/dns-fixture.js';

let dns: DnsFixture;
before(async () => {
  dns = await startDnsFixture({
    'example.test': {
      a: ['192.0.2.1'],
      aaaa: ['2001:db8::1'],
      mx: [{ preference: 10, exchange: 'mx.example.test' }],
      txt: ['v=spf1 ip4:192.0.2.0/24 -all', ['part one ', 'part two']],
    },
    'alias.example.test': { cname: 'example.test' },
    '1.2.0.192.in-addr.arpa': { ptr: ['mail.example.test'] },
    '_25._tcp.mx.example.test': {
      tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 7) }],
    },
    'big.example.test': { truncate: true, txt: ['x'.repeat(200), 'y'.repeat(200)] },
    'broken.example.test': { fail: 'servfail' },
    'silent.example.test': { fail: 'drop' },
    'short.example.test': { a: ['192.0.2.9'], ttl: 2 },
  });
});
after(() => dns.close());

describe('createMailResolver', () => {
  test('answers A, AAAA, MX, TXT (character-strings kept apart), PTR and TLSA in node:dns shapes', async () => {
    const r = createMailResolver({ servers: [dns.address] });
    assert.deepEqual(await r.resolve4('example.test'), ['192.0.2.1']);
    assert.deepEqual(await r.resolve6('example.test'), ['2001:db8::1']);
    assert.deepEqual(await r.resolveMx('Example.TEST.'), [{ exchange: 'mx.example.test', priority: 10 }]);
    assert.deepEqual(await r.resolveTxt('example.test'), [
      ['v=spf1 ip4:192.0.2.0/24 -all'],
      ['part one ', 'part two'],
    ]);
    assert.deepEqual(await r.reverse('192.0.2.1'), ['mail.example.test']);
    const tlsa = await r.resolveTlsa('_25._tcp.mx.example.test');
    assert.equal(tlsa.authenticated, false);
    assert.deepEqual(tlsa.records, [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 7) }]);
  });

  test('follows a CNAME to its target', async () => {
    const r = createMailResolver({ servers: [dns.address] });
    assert.deepEqual(await r.resolve4('alias.example.test'), ['192.0.2.1']);
  });

  test('NXDOMAIN is ENOTFOUND, no record of the type is ENODATA; both are permanent, not temporary', async () => {
    const r = createMailResolver({ servers: [dns.address] });
    const nx = await r.resolveTxt('nowhere.example.test').catch((e: unknown) => e);
    assert.equal((nx as { code?: string }).code, 'ENOTFOUND');
    const nodata = await r.resolvePtr('example.test').catch((e: unknown) => e);
    assert.equal((nodata as { code?: string }).code, 'ENODATA');
    assert.equal(isTemporaryDnsError(nx), false);
    assert.equal(isTemporaryDnsError(nodata), false);
  });

  test('SERVFAIL and silence are temporary failures (ESERVFAIL, ETIMEOUT), never "no record"', async () => {
    const r = createMailResolver({ servers: [dns.address], timeoutMs: 150, tries: 1 });
    const fail = await r.resolveMx('broken.example.test').catch((e: unknown) => e);
    assert.equal((fail as { code?: string }).code, 'ESERVFAIL');
    const silent = await r.resolveMx('silent.example.test').catch((e: unknown) => e);
    assert.equal((silent as { code?: string }).code, 'ETIMEOUT');
    assert.equal(isTemporaryDnsError(fail), true);
    assert.equal(isTemporaryDnsError(silent), true);
  });

  test('a dead first server is skipped for the next one', async () => {
    const r = createMailResolver({ servers: ['127.0.0.1:9', dns.address], timeoutMs: 300, tries: 1 });
    assert.deepEqual(await r.resolve4('example.test'), ['192.0.2.1']);
  });

  test('a truncated UDP answer is asked again over TCP', async () => {
    const r = createMailResolver({ servers: [dns.address] });
    const before = dns.queries.filter((q) => q.name === 'big.example.test' && q.tcp).length;
    assert.deepEqual(await r.resolveTxt('big.example.test'), [['x'.repeat(200)], ['y'.repeat(200)]]);
    assert.equal(dns.queries.filter((q) => q.name === 'big.example.test' && q.tcp).length, before + 1);
  });

  test('a flood of the same question costs one lookup; answers expire with their TTL', async () => {
    let now = 1_000_000;
    const r = createMailResolver({ servers: [dns.address], now: () => now });
    const asked = dns.count('short.example.test', 'A');
    const answers = await Promise.all(Array.from({ length: 50 }, () => r.resolve4('short.example.test')));
    assert.ok(answers.every((a) => a[0] === '192.0.2.9'));
    await r.resolve4('short.example.test');
    assert.equal(dns.count('short.example.test', 'A'), asked + 1);
    assert.equal(r.stats().misses, 1);
    assert.equal(r.stats().hits, 50);
    now += 2_500; // past the 2 s TTL
    await r.resolve4('short.example.test');
    assert.equal(dns.count('short.example.test', 'A'), asked + 2);
  });

  test('negative answers are cached for the SOA negative TTL (RFC 2308)', async () => {
    let now = 5_000_000;
    const r = createMailResolver({ servers: [dns.address], now: () => now });
    const asked = dns.count('missing.example.test', 'TXT');
    for (let i = 0; i < 3; i++) await r.resolveTxt('missing.example.test').catch(() => undefined);
    assert.equal(dns.count('missing.example.test', 'TXT'), asked + 1);
    assert.equal(r.stats().negativeHits, 2);
    now += 61_000; // the fixture's negative TTL is 60 s
    await r.resolveTxt('missing.example.test').catch(() => undefined);
    assert.equal(dns.count('missing.example.test', 'TXT'), asked + 2);
  });

  test('temporary failures are not cached', async () => {
    const r = createMailResolver({ servers: [dns.address], tries: 1 });
    const asked = dns.count('broken.example.test', 'TXT');
    await r.resolveTxt('broken.example.test').catch(() => undefined);
    await r.resolveTxt('broken.example.test').catch(() => undefined);
    assert.equal(dns.count('broken.example.test', 'TXT'), asked + 2);
  });

  test('the AD bit of a validating resolver is reported for MX, addresses and TLSA', async () => {
    const secure = await startDnsFixture(dns.zone, { authenticated: true });
    try {
      const r = createMailResolver({ servers: [secure.address] });
      assert.equal((await r.resolveMxAuthenticated('example.test')).authenticated, true);
      const addresses = await r.resolveAddressesAuthenticated('example.test');
      assert.deepEqual(addresses, {
        records: ['192.0.2.1', '2001:db8::1'],
        authenticated: true,
        canonicalName: 'example.test',
      });
      assert.equal((await r.resolveTlsa('_25._tcp.mx.example.test')).authenticated, true);
    } finally {
      await secure.close();
    }
    const plain = createMailResolver({ servers: [dns.address] });
    assert.equal((await plain.resolveMxAuthenticated('example.test')).authenticated, false);
  });

  test('address records name their CNAME-expanded owner, and an insecure zone on the way clears the AD bit (RFC 7672 2.2.2)', async () => {
    const secure = await startDnsFixture(
      {
        'mx.alias.test': { cname: 'host.target.test' },
        'host.target.test': { a: ['192.0.2.5'] },
        'mx.unsigned.test': { cname: 'host.target.test', insecure: true },
      },
      { authenticated: true },
    );
    try {
      const r = createMailResolver({ servers: [secure.address] });
      assert.deepEqual(await r.resolveAddressesAuthenticated('MX.alias.test.'), {
        records: ['192.0.2.5'],
        authenticated: true,
        canonicalName: 'host.target.test',
      });
      const unsigned = await r.resolveAddressesAuthenticated('mx.unsigned.test');
      assert.equal(unsigned.authenticated, false);
      assert.equal(unsigned.canonicalName, 'host.target.test');
    } finally {
      await secure.close();
    }
  });

  test("mailauth's SPF check runs on it through resolve(name, rrtype)", async () => {
    const r = createMailResolver({ servers: [dns.address] });
    const pass = await spf({
      sender: 'someone@example.test',
      ip: '192.0.2.77',
      helo: 'client.example.test',
      mta: 'mx.local.test',
      resolver: r.resolve.bind(r),
    });
    assert.equal(pass.status.result, 'pass');
    const fail = await spf({
      sender: 'someone@example.test',
      ip: '198.51.100.1',
      helo: 'client.example.test',
      mta: 'mx.local.test',
      resolver: r.resolve.bind(r),
    });
    assert.equal(fail.status.result, 'fail');
  });

  test('reverse names for IPv4 and IPv6 (RFC 3596 2.5)', () => {
    assert.equal(reverseName('192.0.2.1'), '1.2.0.192.in-addr.arpa');
    assert.equal(
      reverseName('2001:db8::1'),
      '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    );
  });
});
