// Tests for destination resolution: RFC 5321 5.1 MX ordering and implicit MX, RFC 7505 null MX, routes, DNS errors.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  orderByPreference,
  parseAddressLiteral,
  parseHostPort,
  resolveDestination,
  type DnsResolver,
} from '../../../../src/smtp/client/mx-resolver.js';

type Zone = Record<
  string,
  { mx?: [number, string][] | string; a?: string[] | string; aaaa?: string[] | string }
>;

/** A fake resolver shaped like node:dns/promises; a string in place of records is the error code to throw. */
function fakeDns(zone: Zone): DnsResolver & { queries: string[] } {
  const queries: string[] = [];
  const lookup = <T>(name: string, type: 'mx' | 'a' | 'aaaa', map: (v: unknown) => T): Promise<T> => {
    queries.push(`${type} ${name}`);
    const entry = zone[name];
    if (!entry) return Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }));
    const v = entry[type];
    if (v === undefined) return Promise.reject(Object.assign(new Error('nodata'), { code: 'ENODATA' }));
    if (typeof v === 'string') return Promise.reject(Object.assign(new Error(v), { code: v }));
    return Promise.resolve(map(v));
  };
  return {
    queries,
    resolveMx: (n) =>
      lookup(n, 'mx', (v) =>
        (v as [number, string][]).map(([priority, exchange]) => ({ priority, exchange })),
      ),
    resolve4: (n) => lookup(n, 'a', (v) => v as string[]),
    resolve6: (n) => lookup(n, 'aaaa', (v) => v as string[]),
  };
}

const zone: Zone = {
  'example.test': {
    mx: [
      [20, 'mx2.example.test'],
      [10, 'mx1.example.test'],
      [10, 'mx1b.example.test'],
    ],
  },
  'mx1.example.test': { a: ['192.0.2.1'], aaaa: ['2001:db8::1'] },
  'mx1b.example.test': { a: ['192.0.2.11'] },
  'mx2.example.test': { aaaa: ['2001:db8::2'] },
  'implicit.test': { a: ['192.0.2.5'] },
  'nullmx.test': { mx: [[0, '']], a: ['192.0.2.9'] },
  'servfail.test': { mx: 'ESERVFAIL' },
  'timeout.test': { mx: 'ETIMEOUT' },
  'nothing.test': {},
  'badmx.test': { mx: [[10, 'gone.test']] },
  'halfbad.test': {
    mx: [
      [10, 'gone.test'],
      [20, 'mx1.example.test'],
    ],
  },
  'flaky.test': { mx: [[10, 'flakyhost.test']] },
  'flakyhost.test': { a: 'ETIMEOUT', aaaa: 'ENODATA' },
  'smarthost.test': { a: ['192.0.2.99'] },
  'dup.test': {
    mx: [
      [30, 'mx1.example.test.'],
      [10, 'MX1.example.test'],
    ],
  },
};
const base = { port: 25, random: () => 0 };

void describe('resolveDestination', () => {
  void test('RFC 5321 5.1: MX by preference, equal preferences shuffled, addresses resolved', async () => {
    const dns = fakeDns(zone);
    const r = await resolveDestination('Example.TEST', { ...base, resolver: dns });
    assert.equal(r.kind, 'hosts');
    assert.ok(r.kind === 'hosts');
    assert.deepEqual(
      r.hosts.map((h) => [h.host, h.preference, h.addresses]),
      [
        ['mx1b.example.test', 10, ['192.0.2.11']],
        ['mx1.example.test', 10, ['192.0.2.1', '2001:db8::1']],
        ['mx2.example.test', 20, ['2001:db8::2']],
      ],
    );
    const r2 = await resolveDestination('example.test', { ...base, resolver: dns, random: () => 0.99 });
    assert.ok(r2.kind === 'hosts');
    assert.deepEqual(
      r2.hosts.map((h) => h.host),
      ['mx1.example.test', 'mx1b.example.test', 'mx2.example.test'],
    );
  });

  void test('implicit MX: no MX records, the domain A record', async () => {
    const r = await resolveDestination('implicit.test', { ...base, resolver: fakeDns(zone) });
    assert.deepEqual(r, {
      kind: 'hosts',
      hosts: [
        { host: 'implicit.test', port: 25, addresses: ['192.0.2.5'], preference: 0, source: 'implicit' },
      ],
      route: null,
      unresolved: [],
    });
  });

  const rows: [string, string, string][] = [
    ['nullmx.test', 'permanent', '5.1.10'], // RFC 7505 3: even though it has an A record
    ['nx.test', 'permanent', '5.1.2'], // NXDOMAIN
    ['nothing.test', 'permanent', '5.1.2'], // exists, no MX, no A/AAAA
    ['servfail.test', 'temporary', '4.4.3'],
    ['timeout.test', 'temporary', '4.4.3'],
    ['badmx.test', 'temporary', '4.4.4'], // the only MX host does not resolve
    ['flaky.test', 'temporary', '4.4.3'],
    ['[300.1.1.1]', 'permanent', '5.1.2'],
  ];
  for (const [domain, kind, enhanced] of rows) {
    void test(`${domain} -> ${kind} ${enhanced}`, async () => {
      const r = await resolveDestination(domain, { ...base, resolver: fakeDns(zone) });
      assert.equal(r.kind, kind);
      assert.ok(r.kind !== 'hosts');
      assert.equal(r.enhanced, enhanced);
    });
  }

  void test('null MX fails without looking up addresses', async () => {
    const dns = fakeDns(zone);
    await resolveDestination('nullmx.test', { ...base, resolver: dns });
    assert.deepEqual(dns.queries, ['mx nullmx.test']);
  });

  void test('an unresolvable MX host is skipped and noted', async () => {
    const r = await resolveDestination('halfbad.test', { ...base, resolver: fakeDns(zone) });
    assert.ok(r.kind === 'hosts');
    assert.deepEqual(
      r.hosts.map((h) => h.host),
      ['mx1.example.test'],
    );
    assert.deepEqual(r.unresolved, ['gone.test (ENOTFOUND)']);
  });

  void test('duplicate MX hosts count once at their best preference', async () => {
    const r = await resolveDestination('dup.test', { ...base, resolver: fakeDns(zone) });
    assert.ok(r.kind === 'hosts');
    assert.deepEqual(
      r.hosts.map((h) => [h.host, h.preference]),
      [['mx1.example.test', 10]],
    );
  });

  void test('static routes win over MX; "*" is the smarthost; no MX query', async () => {
    const dns = fakeDns(zone);
    const routes = { 'example.test': '127.0.0.1:2526', '*': 'smarthost.test:587' };
    const r = await resolveDestination('example.test', { ...base, resolver: dns, routes });
    assert.deepEqual(r, {
      kind: 'hosts',
      hosts: [{ host: '127.0.0.1', port: 2526, addresses: ['127.0.0.1'], preference: 0, source: 'route' }],
      route: 'example.test',
      unresolved: [],
    });
    const s = await resolveDestination('other.test', { ...base, resolver: dns, routes });
    assert.ok(s.kind === 'hosts');
    assert.deepEqual(
      [s.route, s.hosts[0]?.host, s.hosts[0]?.port, s.hosts[0]?.addresses],
      ['*', 'smarthost.test', 587, ['192.0.2.99']],
    );
    assert.ok(!dns.queries.some((q) => q.startsWith('mx')));
    const bad = await resolveDestination('x.test', { ...base, resolver: dns, routes: { '*': 'bad host:x' } });
    assert.equal(bad.kind, 'temporary');
  });

  void test('address literals go direct (RFC 5321 4.1.3)', async () => {
    const dns = fakeDns(zone);
    const r = await resolveDestination('[192.0.2.7]', { ...base, resolver: dns });
    assert.ok(r.kind === 'hosts');
    assert.deepEqual(r.hosts[0]?.addresses, ['192.0.2.7']);
    const r6 = await resolveDestination('[IPv6:2001:db8::7]', { ...base, resolver: dns });
    assert.ok(r6.kind === 'hosts');
    assert.deepEqual(r6.hosts[0]?.addresses, ['2001:db8::7']);
    assert.deepEqual(dns.queries, []);
  });
});

void describe('helpers', () => {
  void test('parseHostPort', () => {
    assert.deepEqual(parseHostPort('mx.test:2525', 25), { host: 'mx.test', port: 2525 });
    assert.deepEqual(parseHostPort('mx.test', 25), { host: 'mx.test', port: 25 });
    assert.deepEqual(parseHostPort('[::1]:2525', 25), { host: '::1', port: 2525 });
    assert.deepEqual(parseHostPort('::1', 25), { host: '::1', port: 25 });
    for (const bad of ['', 'mx.test:0', 'mx.test:70000', 'mx.test:x', 'a b:25', 'a:b:c']) {
      assert.equal(parseHostPort(bad, 25), null, bad);
    }
  });

  void test('parseAddressLiteral', () => {
    assert.equal(parseAddressLiteral('[1.2.3.4]'), '1.2.3.4');
    assert.equal(parseAddressLiteral('[IPv6:::1]'), '::1');
    assert.equal(parseAddressLiteral('[::1]'), null); // RFC 5321 4.1.3 requires the IPv6: tag
    assert.equal(parseAddressLiteral('[IPv6:1.2.3.4]'), null);
    assert.equal(parseAddressLiteral('example.test'), null);
  });

  void test('orderByPreference keeps every record exactly once for any random', () => {
    const recs = Array.from({ length: 12 }, (_, i) => ({ priority: i % 3, exchange: `h${i}` }));
    for (const rv of [0, 0.3, 0.999999, 1]) {
      const out = orderByPreference(recs, () => rv);
      assert.equal(new Set(out.map((r) => r.exchange)).size, 12);
      assert.deepEqual(
        out.map((r) => r.priority),
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2],
      );
    }
  });
});
