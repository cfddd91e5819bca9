// Inbound policy rows: DMARC alignment (relaxed/strict, subdomains, sp, pct), the local-domain rule, temperror handling.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  aligned,
  decideInbound,
  dmarcResinfo,
  evaluateDmarc,
  type DmarcRecord,
  type InboundFacts,
  type PolicyOptions,
} from '../../../src/inbound/policy.js';
import { orgDomainOf } from '../../../src/inbound/verify.js';

const record = (over: Partial<DmarcRecord> = {}): DmarcRecord => ({
  domain: 'example.com',
  p: 'reject',
  pct: 100,
  adkim: 'r',
  aspf: 'r',
  ...over,
});

const facts = (over: Partial<InboundFacts> = {}): InboundFacts => ({
  spf: { result: 'none', domain: 'example.com' },
  dkim: [],
  fromDomains: ['example.com'],
  senderDomain: 'example.com',
  dmarcRecord: record(),
  ...over,
});

const options = (over: Partial<PolicyOptions> = {}): PolicyOptions => ({
  mode: 'enforce',
  isLocalDomain: (d) => d === 'local.test',
  orgDomainOf,
  random: () => 0.5,
  ...over,
});

describe('aligned (RFC 7489 3.1)', () => {
  const rows: [string, string, boolean, boolean][] = [
    ['example.com', 'example.com', true, true],
    ['EXAMPLE.com.', 'example.com', true, true],
    ['mail.example.com', 'example.com', false, true],
    ['mail.example.com', 'example.com', true, false],
    ['example.com', 'news.example.com', false, true],
    ['a.example.co.uk', 'b.example.co.uk', false, true],
    ['example.co.uk', 'other.co.uk', false, false],
    ['example.net', 'example.com', false, false],
  ];
  for (const [a, b, strict, want] of rows) {
    test(`${a} ~ ${b} ${strict ? 'strict' : 'relaxed'}: ${want}`, () =>
      assert.equal(aligned(a, b, strict, orgDomainOf), want));
  }
});

describe('evaluateDmarc', () => {
  const rows: [string, Partial<InboundFacts>, string][] = [
    ['aligned SPF pass', { spf: { result: 'pass', domain: 'example.com' } }, 'pass'],
    ['relaxed: SPF of a subdomain', { spf: { result: 'pass', domain: 'bounce.example.com' } }, 'pass'],
    [
      'strict aspf: SPF of a subdomain fails',
      { spf: { result: 'pass', domain: 'bounce.example.com' }, dmarcRecord: record({ aspf: 's' }) },
      'fail',
    ],
    ['SPF pass of another domain', { spf: { result: 'pass', domain: 'example.net' } }, 'fail'],
    ['aligned DKIM pass', { dkim: [{ result: 'pass', domain: 'example.com' }] }, 'pass'],
    ['relaxed: DKIM of a subdomain', { dkim: [{ result: 'pass', domain: 'mail.example.com' }] }, 'pass'],
    [
      'strict adkim: DKIM of a subdomain fails',
      { dkim: [{ result: 'pass', domain: 'mail.example.com' }], dmarcRecord: record({ adkim: 's' }) },
      'fail',
    ],
    ['a failing aligned DKIM does not count', { dkim: [{ result: 'fail', domain: 'example.com' }] }, 'fail'],
    [
      'one of two signatures passes aligned',
      {
        dkim: [
          { result: 'pass', domain: 'esp.example' },
          { result: 'pass', domain: 'example.com' },
        ],
      },
      'pass',
    ],
    ['no record', { dmarcRecord: null }, 'none'],
    ['record lookup failed', { dmarcRecord: 'temperror' }, 'temperror'],
    ['two From domains: no evaluation', { fromDomains: ['example.com', 'example.net'] }, 'none'],
  ];
  for (const [name, over, want] of rows) {
    test(`${name}: ${want}`, () => assert.equal(evaluateDmarc(facts(over), orgDomainOf).result, want));
  }

  test('sp applies to a subdomain whose record is the organizational one; p to the domain itself', () => {
    const sub = facts({
      fromDomains: ['news.example.com'],
      dmarcRecord: record({ p: 'reject', sp: 'quarantine' }),
    });
    assert.equal(evaluateDmarc(sub, orgDomainOf).policy, 'quarantine');
    const self = facts({ dmarcRecord: record({ p: 'reject', sp: 'quarantine' }) });
    assert.equal(evaluateDmarc(self, orgDomainOf).policy, 'reject');
    const noSp = facts({ fromDomains: ['news.example.com'], dmarcRecord: record({ p: 'reject' }) });
    assert.equal(evaluateDmarc(noSp, orgDomainOf).policy, 'reject');
  });

  test('the dmarc= resinfo', () => {
    const out = evaluateDmarc(facts({ dmarcRecord: record({ sp: 'none', pct: 50 }) }), orgDomainOf);
    assert.equal(dmarcResinfo(out), 'dmarc=fail (p=reject sp=none pct=50) header.from=example.com');
  });
});

describe('decideInbound', () => {
  const decide = (f: Partial<InboundFacts>, o: Partial<PolicyOptions> = {}) => {
    const all = facts(f);
    return decideInbound(all, evaluateDmarc(all, orgDomainOf), options(o));
  };

  test('enforce: p=reject fail -> reject naming DMARC; pass -> deliver', () => {
    assert.deepEqual(decide({}), { kind: 'reject', reason: 'dmarc', domain: 'example.com' });
    assert.deepEqual(decide({ spf: { result: 'pass', domain: 'example.com' } }), {
      kind: 'deliver',
      junk: false,
    });
  });

  test('enforce: p=quarantine fail -> Junk; p=none -> deliver', () => {
    assert.deepEqual(decide({ dmarcRecord: record({ p: 'quarantine' }) }), { kind: 'deliver', junk: true });
    assert.deepEqual(decide({ dmarcRecord: record({ p: 'none' }) }), { kind: 'deliver', junk: false });
  });

  test('pct (RFC 7489 6.6.4): pct=0 never applies reject (quarantine instead), pct=100 always; sampled by random()', () => {
    assert.deepEqual(decide({ dmarcRecord: record({ pct: 0 }) }, { random: () => 0 }), {
      kind: 'deliver',
      junk: true,
    });
    assert.equal(decide({ dmarcRecord: record({ pct: 100 }) }, { random: () => 0.999 }).kind, 'reject');
    assert.equal(decide({ dmarcRecord: record({ pct: 50 }) }, { random: () => 0.49 }).kind, 'reject');
    assert.deepEqual(decide({ dmarcRecord: record({ pct: 50 }) }, { random: () => 0.5 }), {
      kind: 'deliver',
      junk: true,
    });
    assert.deepEqual(decide({ dmarcRecord: record({ p: 'quarantine', pct: 0 }) }), {
      kind: 'deliver',
      junk: false,
    });
  });

  test('subdomain: sp decides', () => {
    const f = { fromDomains: ['news.example.com'], senderDomain: 'news.example.com' };
    assert.deepEqual(decide({ ...f, dmarcRecord: record({ sp: 'quarantine' }) }), {
      kind: 'deliver',
      junk: true,
    });
    assert.equal(decide({ ...f, dmarcRecord: record({ sp: 'none' }) }).kind, 'deliver');
  });

  test('monitor: never refuses or quarantines for DMARC, nor defers for its temperror', () => {
    assert.deepEqual(decide({}, { mode: 'monitor' }), { kind: 'deliver', junk: false });
    assert.deepEqual(decide({ dmarcRecord: 'temperror' }, { mode: 'monitor' }), {
      kind: 'deliver',
      junk: false,
    });
  });

  test('enforce: a DNS failure that could change the verdict defers (451 4.4.3), never rejects', () => {
    assert.deepEqual(decide({ dmarcRecord: 'temperror' }), {
      kind: 'defer',
      reason: 'dmarc',
      domain: 'example.com',
    });
    assert.equal(decide({ spf: { result: 'temperror', domain: 'example.com' } }).kind, 'defer');
    assert.equal(decide({ dkim: [{ result: 'temperror', domain: 'example.com' }] }).kind, 'defer');
    // ... but not when DMARC passed anyway, or the policy is none
    assert.equal(
      decide({
        spf: { result: 'temperror', domain: 'example.com' },
        dkim: [{ result: 'pass', domain: 'example.com' }],
      }).kind,
      'deliver',
    );
    assert.equal(
      decide({ spf: { result: 'temperror', domain: 'x' }, dmarcRecord: record({ p: 'none' }) }).kind,
      'deliver',
    );
  });

  describe('the local-domain rule (whatever DMARC says, in both modes)', () => {
    const local = { fromDomains: ['local.test'], senderDomain: 'local.test', dmarcRecord: null };
    test('a stranger using our domain in MAIL FROM or From with neither SPF nor aligned DKIM: refused', () => {
      for (const mode of ['enforce', 'monitor'] as const) {
        assert.deepEqual(decide(local, { mode }), {
          kind: 'reject',
          reason: 'local-domain',
          domain: 'local.test',
        });
        assert.equal(decide({ ...local, senderDomain: 'example.net' }, { mode }).kind, 'reject');
        assert.equal(decide({ ...local, fromDomains: ['example.net'] }, { mode }).kind, 'reject');
      }
    });
    test('SPF pass for our domain, or our own DKIM signature (mail relayed back to us): accepted', () => {
      assert.equal(decide({ ...local, spf: { result: 'pass', domain: 'local.test' } }).kind, 'deliver');
      assert.equal(decide({ ...local, dkim: [{ result: 'pass', domain: 'local.test' }] }).kind, 'deliver');
      // SPF passing for someone else's domain does not vouch for our From
      assert.equal(
        decide({ ...local, senderDomain: 'example.net', spf: { result: 'pass', domain: 'example.net' } })
          .kind,
        'reject',
      );
      // a DKIM pass of another domain does not either
      assert.equal(decide({ ...local, dkim: [{ result: 'pass', domain: 'example.net' }] }).kind, 'reject');
    });
    test('null-sender DSNs from outside (From not local) and mail to SRS addresses are not affected', () => {
      assert.equal(
        decide({
          senderDomain: null,
          fromDomains: ['remote.example'],
          spf: { result: 'none', domain: 'mx.remote.example' },
          dmarcRecord: null,
        }).kind,
        'deliver',
      );
    });
    test('a DNS failure defers instead of refusing', () => {
      assert.deepEqual(decide({ ...local, spf: { result: 'temperror', domain: 'local.test' } }), {
        kind: 'defer',
        reason: 'local-domain',
        domain: 'local.test',
      });
    });
  });
});
