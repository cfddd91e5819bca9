// MTA-STS parsing/matching/caching (RFC 8461), DANE matching (RFC 7672) and the peer check: table rows, no network.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';
import { checkDane, usableTlsa } from '../../../../src/smtp/client/tls-policy/dane.js';
import { checkPeer } from '../../../../src/smtp/client/tls-policy/host-policy.js';
import {
  mxMatches,
  parseStsPolicy,
  parseStsTxt,
  stsRefreshDecision,
  type StsPolicy,
} from '../../../../src/smtp/client/tls-policy/mta-sts.js';
import { applyTlsPolicies, currentStsPolicy } from '../../../../src/smtp/client/tls-policy/resolve-policy.js';
import type { TargetHost } from '../../../../src/smtp/client/mx-resolver.js';
import { makeTestCa, type TestCa, type TestCert } from '../../../helpers/test-ca.js';

const der = (pem: string): Buffer => new X509Certificate(pem).raw;
const spkiOf = (pem: string): Buffer =>
  new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
const sha512 = (b: Buffer): Buffer => createHash('sha512').update(b).digest();

void describe('MTA-STS TXT record (RFC 8461 3.1)', () => {
  const rows: [string[], string | null][] = [
    [['v=STSv1; id=20160831085700Z;'], '20160831085700Z'], // the RFC's example
    [['v=STSv1;id=abc'], 'abc'],
    [['v=spf1 -all', 'v=STSv1; id=1'], '1'], // other TXT records are ignored
    [['v=STSv1; id=1', 'v=STSv1; id=2'], null], // two STS records: none
    [['v=STSv1;'], null], // no id
    [['v=STSv1; id=not-alnum!'], null],
    [['v=STSv1; id=' + 'a'.repeat(33)], null], // 1*32
    [['v=STSv2; id=1'], null],
    [[], null],
  ];
  for (const [records, id] of rows)
    void test(JSON.stringify(records), () => assert.equal(parseStsTxt(records), id));
});

void describe('MTA-STS policy file (RFC 8461 3.2)', () => {
  void test("the RFC's example", () => {
    const text =
      'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n';
    const r = parseStsPolicy(text, 'x1', 1000);
    assert.ok(r.ok);
    assert.deepEqual(r.policy, {
      id: 'x1',
      mode: 'enforce',
      mx: ['mail.example.com', '*.example.net', 'backupmx.example.com'],
      maxAgeS: 604800,
      fetchedAt: 1000,
    });
  });
  const bad: [string, RegExp][] = [
    ['mode: enforce\nmx: a.test\nmax_age: 1\n', /version/],
    ['version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n', /mode/],
    ['version: STSv1\nmode: enforce\nmax_age: 1\n', /no mx/],
    ['version: STSv1\nmode: enforce\nmx: a.test\n', /max_age/],
    ['version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -5\n', /max_age/],
    ['version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 5\n', /mx pattern/],
    ['<html>oops</html>\n', /malformed/],
  ];
  for (const [text, reason] of bad)
    void test(`invalid: ${JSON.stringify(text)}`, () => {
      const r = parseStsPolicy(text, 'i', 0);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, reason);
    });
  void test('mode none needs no mx; max_age is capped at 31557600', () => {
    const r = parseStsPolicy('version: STSv1\nmode: none\nmax_age: 9999999999\nunknown: x\n', 'i', 0);
    assert.ok(r.ok);
    assert.equal(r.policy.maxAgeS, 31_557_600);
  });
});

void describe('MX patterns (RFC 8461 4.1)', () => {
  const rows: [string[], string, boolean][] = [
    [['mail.example.com'], 'mail.example.com', true],
    [['mail.example.com'], 'MAIL.example.com.', true],
    [['*.example.net'], 'mx1.example.net', true],
    [['*.example.net'], 'example.net', false], // the wildcard is one label, not zero
    [['*.example.net'], 'a.b.example.net', false], // nor two
    [['mail.example.com'], 'mail.example.com.evil.test', false],
  ];
  for (const [patterns, host, expected] of rows)
    void test(`${patterns.join(',')} ~ ${host}`, () => assert.equal(mxMatches(patterns, host), expected));
});

void describe('MTA-STS cache and refresh (RFC 8461 5.1)', () => {
  const policy: StsPolicy = { id: 'a', mode: 'enforce', mx: ['mx.b.test'], maxAgeS: 100, fetchedAt: 0 };
  void test('same id, fresh: use; new id: fetch with the old as fallback; expired: fetch; no TXT: cached until max_age', () => {
    assert.deepEqual(stsRefreshDecision('a', policy, 50_000), { action: 'use', policy });
    assert.deepEqual(stsRefreshDecision('b', policy, 50_000), { action: 'fetch', fallback: policy });
    assert.deepEqual(stsRefreshDecision('a', policy, 100_000), { action: 'fetch', fallback: null });
    assert.deepEqual(stsRefreshDecision(null, policy, 50_000), { action: 'use', policy });
    assert.deepEqual(stsRefreshDecision(null, policy, 100_001), { action: 'none' });
    assert.deepEqual(stsRefreshDecision(null, null, 0), { action: 'none' });
  });

  void test('a failed refresh keeps the cached policy and reports sts-policy-fetch-error', async () => {
    const cache = new Map<string, StsPolicy>([['b.test', policy]]);
    const events: string[] = [];
    let fetches = 0;
    const deps = {
      resolver: { resolveTxt: () => Promise.resolve([['v=STSv1; id=b']]) },
      fetchSts: () => {
        fetches++;
        return Promise.resolve({ ok: false as const, reason: 'HTTP 500' });
      },
      cache: {
        getStsPolicy: (d: string) => cache.get(d) ?? null,
        putStsPolicy: (d: string, p: StsPolicy) => void cache.set(d, p),
      },
      now: () => new Date(10_000),
      onPolicyEvent: (e: { result: string }) => void events.push(e.result),
    };
    assert.equal(await currentStsPolicy('b.test', deps), policy);
    assert.equal(fetches, 1);
    assert.deepEqual(events, ['sts-policy-fetch-error']);
    // A successful fetch for the new id replaces the cache entry.
    deps.fetchSts = () => {
      fetches++;
      return Promise.resolve({
        ok: true as const,
        text: 'version: STSv1\nmode: testing\nmx: mx.b.test\nmax_age: 10\n',
      } as never);
    };
    const fresh = await currentStsPolicy('b.test', deps);
    assert.equal(fresh?.mode, 'testing');
    assert.equal(cache.get('b.test')?.id, 'b');
    // Now cached under id b: no further fetch.
    await currentStsPolicy('b.test', deps);
    assert.equal(fetches, 2);
  });
});

let ca: TestCa;
let leaf: TestCert;
let stranger: { cert: string; key: string };
before(async () => {
  ca = await makeTestCa();
  leaf = await ca.issue(['mx.d.test']);
  const s = await generate([{ name: 'commonName', value: 'mx.d.test' }], { keyType: 'ec' });
  stranger = { cert: s.cert, key: s.private };
});

void describe('DANE (RFC 7672)', () => {
  const now = new Date();
  void test('usages 0 and 1 are unusable (3.1.3)', () => {
    const rec = (usage: number) => ({ usage, selector: 1, matchingType: 1, data: Buffer.alloc(32) });
    assert.deepEqual(
      usableTlsa([rec(0), rec(1), rec(2), rec(3)]).map((r) => r.usage),
      [2, 3],
    );
    assert.equal(checkDane([rec(0), rec(1)], [der(leaf.cert)], ['mx.d.test'], now), 'no usable TLSA records');
  });
  void test('DANE-EE (3.1.1): SPKI and full-certificate digests match; name and issuer are not checked', () => {
    const chain = [der(leaf.cert)];
    for (const r of [
      { usage: 3, selector: 1, matchingType: 1, data: sha256(spkiOf(leaf.cert)) },
      { usage: 3, selector: 0, matchingType: 1, data: sha256(der(leaf.cert)) },
      { usage: 3, selector: 1, matchingType: 2, data: sha512(spkiOf(leaf.cert)) },
      { usage: 3, selector: 0, matchingType: 0, data: der(leaf.cert) },
    ])
      assert.equal(checkDane([r], chain, ['some.other.name'], now), null);
    const wrong = { usage: 3, selector: 1, matchingType: 1, data: sha256(spkiOf(stranger.cert)) };
    assert.match(checkDane([wrong], chain, ['mx.d.test'], now) ?? '', /matches no TLSA record/);
  });
  void test('DANE-TA (3.1.2): the chain leads to the TA and the leaf names the MX host', () => {
    const ta = { usage: 2, selector: 1, matchingType: 1, data: sha256(spkiOf(ca.cert)) };
    const chain = [der(leaf.cert), der(ca.cert)];
    assert.equal(checkDane([ta], chain, ['mx.d.test'], now), null);
    assert.match(checkDane([ta], chain, ['mx.other.test'], now) ?? '', /does not name mx\.other\.test/);
    // A self-signed certificate presented alongside the CA does not chain to it.
    assert.match(
      checkDane([ta], [der(stranger.cert), der(ca.cert)], ['mx.d.test'], now) ?? '',
      /does not lead/,
    );
    // Without the TA in the chain there is nothing to match.
    assert.match(checkDane([ta], [der(leaf.cert)], ['mx.d.test'], now) ?? '', /matches no TLSA record/);
    // DANE-TA checks dates (unlike DANE-EE).
    const later = new Date(now.getTime() + 365 * 86_400_000);
    assert.match(checkDane([ta], chain, ['mx.d.test'], later) ?? '', /validity dates/);
  });
});

void describe('peer check under MTA-STS (RFC 8461 4.2)', () => {
  const policy = {
    kind: 'mta-sts' as const,
    policyDomain: 'b.test',
    enforce: true,
    names: ['mx.b.test'],
    policy: [],
  };
  void test('untrusted, expired, wrong name, right', async () => {
    const good = await ca.issue(['mx.b.test']);
    const facts = (pem: string, authorized: boolean, error: string | null) => ({
      chainDer: [der(pem)],
      pkixAuthorized: authorized,
      pkixError: error,
    });
    const now = new Date();
    assert.deepEqual(checkPeer(policy, facts(good.cert, true, null), now), { ok: true });
    const untrusted = checkPeer(policy, facts(stranger.cert, false, 'DEPTH_ZERO_SELF_SIGNED_CERT'), now);
    assert.equal(untrusted.ok ? '' : untrusted.type, 'certificate-not-trusted');
    const expired = checkPeer(policy, facts(good.cert, false, 'CERT_HAS_EXPIRED'), now);
    assert.equal(expired.ok ? '' : expired.type, 'certificate-expired');
    const wrongName = checkPeer(policy, facts(leaf.cert, false, 'ERR_TLS_CERT_ALTNAME_INVALID'), now);
    assert.equal(wrongName.ok ? '' : wrongName.type, 'certificate-host-mismatch');
  });
});

void describe('which policy each MX host gets', () => {
  const host = (name: string): TargetHost => ({
    host: name,
    port: 25,
    addresses: ['127.0.0.1'],
    preference: 10,
    source: 'mx',
  });
  const tlsa = [{ usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32) }];
  void test('DANE takes precedence over MTA-STS; unauthenticated MX means no DANE; TLSA SERVFAIL drops the host', async () => {
    const deps = (mxSecure: boolean, tlsaFails = false) => ({
      resolver: {
        resolveMxAuthenticated: () => Promise.resolve({ records: [], authenticated: mxSecure }),
        resolveAddressesAuthenticated: (name: string) =>
          Promise.resolve({ records: ['127.0.0.1'], authenticated: true, canonicalName: name }),
        resolveTlsa: (name: string) =>
          tlsaFails
            ? Promise.reject(Object.assign(new Error('x'), { code: 'ESERVFAIL' }))
            : Promise.resolve({ records: name.includes('mx1') ? tlsa : [], authenticated: true }),
        resolveTxt: () => Promise.resolve([['v=STSv1; id=1']]),
      },
      fetchSts: () =>
        Promise.resolve({
          ok: true as const,
          text: 'version: STSv1\nmode: enforce\nmx: *.b.test\nmax_age: 60\n',
        }),
      now: () => new Date(0),
    });
    const secure = await applyTlsPolicies('b.test', [host('mx1.b.test'), host('mx2.b.test')], deps(true));
    assert.equal(secure.kind, 'hosts');
    if (secure.kind === 'hosts')
      assert.deepEqual(
        secure.hosts.map((h) => h.tlsPolicy?.kind),
        ['dane', 'mta-sts'],
      );
    const insecure = await applyTlsPolicies('b.test', [host('mx1.b.test')], deps(false));
    if (insecure.kind === 'hosts') assert.equal(insecure.hosts[0]?.tlsPolicy?.kind, 'mta-sts');
    const failing = await applyTlsPolicies('x.test', [host('mx1.x.test')], {
      ...deps(true, true),
      fetchSts: undefined,
    } as never);
    assert.deepEqual(failing, { kind: 'defer', reason: 'DANE: TLSA lookup for mx1.x.test failed' });
  });

  /** A resolver fake: MX secure or not, per-name address answers (secure, CNAME target), TLSA per name. */
  const fake = (o: {
    mxSecure?: boolean;
    addresses: Record<string, { secure: boolean; canonical?: string }>;
    tlsa: Record<string, boolean>;
  }) => {
    const asked: string[] = [];
    return {
      asked,
      deps: {
        resolver: {
          resolveMxAuthenticated: () => Promise.resolve({ records: [], authenticated: o.mxSecure ?? true }),
          resolveAddressesAuthenticated: (name: string) => {
            const a = o.addresses[name];
            if (!a) return Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' }));
            return Promise.resolve({
              records: ['127.0.0.1'],
              authenticated: a.secure,
              canonicalName: a.canonical ?? name,
            });
          },
          resolveTlsa: (name: string) => {
            asked.push(name);
            const secure = o.tlsa[name];
            if (secure === undefined)
              return Promise.reject(Object.assign(new Error('x'), { code: 'ENODATA' }));
            return Promise.resolve({ records: tlsa, authenticated: secure });
          },
        },
        now: () => new Date(0),
      },
    };
  };
  const implicit = (name: string): TargetHost => ({ ...host(name), preference: 0, source: 'implicit' });
  const policyOf = (d: Awaited<ReturnType<typeof applyTlsPolicies>>) =>
    d.kind === 'hosts' ? d.hosts.map((h) => h.tlsPolicy) : d.reason;

  void test('no MX (implicit MX, RFC 7672 2.2.1): secure address records of the domain bring TLSA at _25._tcp.<domain>', async () => {
    const secure = fake({ addresses: { 'n.test': { secure: true } }, tlsa: { '_25._tcp.n.test': true } });
    assert.deepEqual(await applyTlsPolicies('n.test', [implicit('n.test')], secure.deps), {
      kind: 'hosts',
      hosts: [
        {
          ...implicit('n.test'),
          tlsPolicy: { kind: 'dane', policyDomain: 'n.test', tlsa, names: ['n.test'] },
        },
      ],
    });
    // Insecure address records: the implicit MX "RRset" is insecure, TLSA is not even asked.
    const insecure = fake({ addresses: { 'n.test': { secure: false } }, tlsa: { '_25._tcp.n.test': true } });
    assert.deepEqual(policyOf(await applyTlsPolicies('n.test', [implicit('n.test')], insecure.deps)), [
      undefined,
    ]);
    assert.deepEqual(insecure.asked, []);
  });

  void test('RFC 7672 2.2.2: an MX host whose address records are insecure gets no DANE, even with secure MX and TLSA', async () => {
    const f = fake({
      addresses: { 'mx1.s.test': { secure: false }, 'mx2.s.test': { secure: true } },
      tlsa: { '_25._tcp.mx1.s.test': true, '_25._tcp.mx2.s.test': true },
    });
    const d = await applyTlsPolicies('s.test', [host('mx1.s.test'), host('mx2.s.test')], f.deps);
    assert.deepEqual(d.kind === 'hosts' ? d.hosts.map((h) => h.tlsPolicy?.kind) : d, [undefined, 'dane']);
    assert.deepEqual(f.asked, ['_25._tcp.mx2.s.test']);
    // A failing address lookup (SERVFAIL: bogus or unreachable) makes the host unusable, as a TLSA failure does.
    const broken = fake({ addresses: {}, tlsa: {} });
    broken.deps.resolver.resolveAddressesAuthenticated = () =>
      Promise.reject(Object.assign(new Error('x'), { code: 'ESERVFAIL' }));
    assert.deepEqual(await applyTlsPolicies('s.test', [host('mx1.s.test')], broken.deps), {
      kind: 'defer',
      reason: 'DANE: address lookup for mx1.s.test failed',
    });
  });

  void test('RFC 7672 2.2.2: a CNAME-expanded MX host: TLSA at the expanded name first, then the original; both names accepted', async () => {
    const addresses = { 'mx.c.test': { secure: true, canonical: 'real.host.test' } };
    const atExpanded = fake({
      addresses,
      tlsa: { '_25._tcp.real.host.test': true, '_25._tcp.mx.c.test': true },
    });
    const d1 = await applyTlsPolicies('c.test', [host('mx.c.test')], atExpanded.deps);
    assert.deepEqual(policyOf(d1), [
      { kind: 'dane', policyDomain: 'c.test', tlsa, names: ['mx.c.test', 'real.host.test'] },
    ]);
    assert.deepEqual(atExpanded.asked, ['_25._tcp.real.host.test']);
    // None at the expanded name (or not validated there): the original name's records apply.
    const atOriginal = fake({
      addresses,
      tlsa: { '_25._tcp.real.host.test': false, '_25._tcp.mx.c.test': true },
    });
    const d2 = await applyTlsPolicies('c.test', [host('mx.c.test')], atOriginal.deps);
    assert.deepEqual(policyOf(d2), [{ kind: 'dane', policyDomain: 'c.test', tlsa, names: ['mx.c.test'] }]);
    assert.deepEqual(atOriginal.asked, ['_25._tcp.real.host.test', '_25._tcp.mx.c.test']);
  });
});
