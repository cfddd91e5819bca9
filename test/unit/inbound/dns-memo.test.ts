// SPF verdicts, DMARC records and iprev kept while their DNS answers last (inbound/dns-memo.ts): same header, TTL honoured.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMailResolver } from '../../../src/dns/resolver.js';
import type { MailResolver } from '../../../src/dns/types.js';
import { DnsMemo } from '../../../src/inbound/dns-memo.js';
import {
  formatAuthenticationResults,
  newVerifyMemos,
  verifyMessage,
  type VerifyMemos,
} from '../../../src/inbound/verify.js';
import { type DnsFixture, startDnsFixture } from '../../helpers/dns-fixture.js';

let dns: DnsFixture;

before(async () => {
  dns = await startDnsFixture({
    // The SPF record lives 2 s; everything else the fixture's default 300 s.
    'memo.test': { txt: ['v=spf1 ip4:192.0.2.50 -all'], ttl: 2 },
    '_dmarc.memo.test': { txt: ['v=DMARC1; p=reject'], ttl: 3 },
    '50.2.0.192.in-addr.arpa': { ptr: ['mail.memo.test'], ttl: 4 },
    'mail.memo.test': { a: ['192.0.2.50'] },
    'broken.test': { fail: 'servfail' },
    'long.test': { txt: ['long'], ttl: 100 },
    'brief.test': { txt: ['brief'], ttl: 1 },
  });
});
after(() => dns.close());

const message = Buffer.from(
  'From: a@memo.test\r\nTo: b@example.net\r\nSubject: hi\r\nDate: Sat, 5 Dec 2026 10:00:00 +0000\r\n\r\nHi.\r\n',
);
const ctx = { remoteAddress: '192.0.2.50', helo: 'mail.memo.test', sender: 'a@memo.test' };

/** The Authentication-Results field and the facts the policy reads, as one string to compare. */
async function header(resolver: MailResolver, memos?: VerifyMemos): Promise<string> {
  const v = await verifyMessage(message, ctx, 'mx.test', resolver, undefined, memos);
  return formatAuthenticationResults('mx.test', v.resinfo) + JSON.stringify(v.facts);
}

describe('DnsMemo', () => {
  test('kept until the shortest TTL among the answers read, then computed again', async () => {
    let now = 1_000_000;
    const resolver = createMailResolver({ servers: [dns.address], now: () => now });
    const memo = new DnsMemo<string>(resolver);
    let computed = 0;
    const both = (r: MailResolver) => {
      computed++;
      return Promise.all([r.resolveTxt('long.test'), r.resolveTxt('brief.test')]).then((a) =>
        a.flat(2).join(),
      );
    };
    assert.equal(await memo.get('k', both), 'long,brief');
    assert.equal(await memo.get('k', both), 'long,brief');
    assert.equal(computed, 1);
    now += 1_500; // brief.test's 1 s TTL is over, long.test's 100 s is not
    assert.equal(await memo.get('k', both), 'long,brief');
    assert.equal(computed, 2);
    assert.deepEqual(memo.stats(), { hits: 1, misses: 2 });
  });

  test('a result that met a temporary failure is not kept; a negative answer is, for its own TTL', async () => {
    const resolver = createMailResolver({ servers: [dns.address], timeoutMs: 300, tries: 1 });
    const memo = new DnsMemo<string>(resolver);
    let computed = 0;
    const failing = (r: MailResolver) => {
      computed++;
      return r.resolveTxt('broken.test').then(
        () => 'ok',
        (e: { code?: string }) => String(e.code),
      );
    };
    assert.equal(await memo.get('f', failing), 'ESERVFAIL');
    assert.equal(await memo.get('f', failing), 'ESERVFAIL');
    assert.equal(computed, 2);
    const missing = (r: MailResolver) => {
      computed++;
      return r.resolveTxt('nowhere.test').then(
        () => 'ok',
        (e: { code?: string }) => String(e.code),
      );
    };
    assert.equal(await memo.get('n', missing), 'ENOTFOUND');
    assert.equal(await memo.get('n', missing), 'ENOTFOUND');
    assert.equal(computed, 3);
  });

  test('a resolver without tracking (a test double) computes every time', async () => {
    const plain = { resolveTxt: () => Promise.resolve([['x']]) } as unknown as MailResolver;
    const memo = new DnsMemo<string>(plain);
    let computed = 0;
    const f = (r: MailResolver) => (computed++, r.resolveTxt('x').then((a) => a.flat().join()));
    await memo.get('k', f);
    await memo.get('k', f);
    assert.equal(computed, 2);
  });
});

describe('verifyMessage with memos', () => {
  test('the verdicts and the Authentication-Results field are those computed without memos', async () => {
    const resolver = createMailResolver({ servers: [dns.address] });
    const memos = newVerifyMemos(resolver);
    const fresh = await header(createMailResolver({ servers: [dns.address] }));
    assert.match(fresh, /spf=pass/);
    assert.match(fresh, /iprev=pass/);
    assert.match(fresh, /"p":"reject"/);
    assert.equal(await header(resolver, memos), fresh);
    assert.equal(await header(resolver, memos), fresh);
    for (const kind of ['spf', 'dmarc', 'iprev'] as const) {
      assert.deepEqual(memos[kind].stats(), { hits: 1, misses: 1 }, kind);
    }
  });

  test('each is looked up again once a record it read has expired, and a changed record changes the verdict', async () => {
    let now = 2_000_000;
    const resolver = createMailResolver({ servers: [dns.address], now: () => now });
    const memos = newVerifyMemos(resolver);
    const spfAsked = dns.count('memo.test', 'TXT');
    const dmarcAsked = dns.count('_dmarc.memo.test', 'TXT');
    const ptrAsked = dns.count('50.2.0.192.in-addr.arpa', 'PTR');
    assert.match(await header(resolver, memos), /spf=pass/);
    assert.match(await header(resolver, memos), /spf=pass/);
    assert.equal(dns.count('memo.test', 'TXT'), spfAsked + 1);
    dns.zone['memo.test']!.txt = ['v=spf1 -all'];
    dns.zone['_dmarc.memo.test']!.txt = ['v=DMARC1; p=none'];
    try {
      now += 4_500; // past every TTL of the zone's short records (2, 3 and 4 s)
      const after = await header(resolver, memos);
      assert.match(after, /spf=fail/);
      assert.match(after, /"p":"none"/);
      assert.equal(dns.count('memo.test', 'TXT'), spfAsked + 2);
      assert.equal(dns.count('_dmarc.memo.test', 'TXT'), dmarcAsked + 2);
      assert.equal(dns.count('50.2.0.192.in-addr.arpa', 'PTR'), ptrAsked + 2);
      for (const kind of ['spf', 'dmarc', 'iprev'] as const) {
        assert.deepEqual(memos[kind].stats(), { hits: 1, misses: 2 }, kind);
      }
    } finally {
      dns.zone['memo.test']!.txt = ['v=spf1 ip4:192.0.2.50 -all'];
      dns.zone['_dmarc.memo.test']!.txt = ['v=DMARC1; p=reject'];
    }
  });
});
