// Inbound verification against the loopback DNS fixture: SPF (RFC 7208 Appendix A rows), DKIM (RSA, Ed25519), DMARC records, iprev.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { dkimSign, type DKIMSignOptions } from 'mailauth';
import { createMailResolver } from '../../../src/dns/resolver.js';
import type { MailResolver } from '../../../src/dns/types.js';
import {
  checkIprev,
  findDmarcRecord,
  formatAuthenticationResults,
  parseDmarcRecord,
  verifyMessage,
} from '../../../src/inbound/verify.js';
import { type DnsFixture, startDnsFixture } from '../../helpers/dns-fixture.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const pem = (
  k: { export(o: { type: 'pkcs8' | 'spki'; format: 'pem' }): string | Buffer },
  type: 'pkcs8' | 'spki',
) => k.export({ type, format: 'pem' }).toString();
/** The p= of a DKIM key record (RFC 6376 3.6.1; RFC 8463 4.2: an Ed25519 key is its 32 raw bytes). */
const rsaP = pem(rsa.publicKey, 'spki').replace(/-----[^-]+-----|\s/g, '');
const edP = (ed.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(12).toString('base64');

let dns: DnsFixture;
let resolver: MailResolver;

before(async () => {
  // RFC 7208 Appendix A: example.com's records (addresses renumbered into the documentation ranges).
  dns = await startDnsFixture({
    'example.com': {
      a: ['192.0.2.10', '192.0.2.11'],
      mx: [{ preference: 10, exchange: 'mail-a.example.com' }],
      txt: [],
    },
    'amy.example.com': { a: ['192.0.2.65'] },
    'bob.example.com': { a: ['192.0.2.66'] },
    'mail-a.example.com': { a: ['192.0.2.129'] },
    'mail-b.example.com': { a: ['192.0.2.130'] },
    'www.example.com': { cname: 'example.com' },
    'mail.example.org': { a: ['192.0.2.140'] },
    // A.1 simple examples, one domain each
    'all.spf.test': { txt: ['v=spf1 +all'] },
    'a.spf.test': { a: ['192.0.2.10'], txt: ['v=spf1 a -all'] },
    'adomain.spf.test': { txt: ['v=spf1 a:example.com -all'] },
    'mx.spf.test': { mx: [{ preference: 10, exchange: 'mail-a.example.com' }], txt: ['v=spf1 mx -all'] },
    'mxother.spf.test': { txt: ['v=spf1 mx:example.com -all'] },
    'ip4.spf.test': { txt: ['v=spf1 ip4:192.0.2.128/28 -all'] },
    'soft.spf.test': { txt: ['v=spf1 ~all'] },
    'neutral.spf.test': { txt: ['v=spf1 ?all'] },
    'broken.spf.test': { fail: 'servfail' },
    'perm.spf.test': { txt: ['v=spf1 ip4:192.0.2.1/99 -all'] },
    // RFC 7208 4.6.4: more than 10 DNS-querying terms is permerror.
    'loop.spf.test': {
      txt: [`v=spf1 ${Array.from({ length: 11 }, (_, i) => `a:h${i}.spf.test`).join(' ')} -all`],
    },
    // RFC 7208 2.3: HELO identity (used when MAIL FROM is <>).
    'helo.spf.test': { a: ['192.0.2.200'], txt: ['v=spf1 a -all'] },
    // DKIM keys and DMARC records
    // Over 255 octets: several character-strings (RFC 6376 3.6.2.2), joined by the verifier.
    'rsa._domainkey.signer.test': { txt: [`v=DKIM1; k=rsa; p=${rsaP}`.match(/.{1,255}/g)!] },
    'ed._domainkey.signer.test': { txt: [`v=DKIM1; k=ed25519; p=${edP}`] },
    'signer.test': { txt: ['v=spf1 ip4:192.0.2.50 -all'] },
    '_dmarc.signer.test': { txt: ['v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s'] },
    '_dmarc.down.test': { fail: 'servfail' },
    // iprev
    '50.2.0.192.in-addr.arpa': { ptr: ['mail.signer.test'] },
    'mail.signer.test': { a: ['192.0.2.50'] },
    '51.2.0.192.in-addr.arpa': { ptr: ['liar.signer.test'] },
    'liar.signer.test': { a: ['192.0.2.99'] },
    '52.2.0.192.in-addr.arpa': { fail: 'servfail' },
  });
  resolver = createMailResolver({ servers: [dns.address], timeoutMs: 300, tries: 1 });
});
after(() => dns.close());

const plain =
  'From: a@signer.test\r\nTo: b@example.net\r\nSubject: hello\r\nDate: Sat, 5 Dec 2026 10:00:00 +0000\r\n\r\nHello there.\r\n';

async function signed(message: string, selector: string, privateKey: string): Promise<string> {
  // mailauth 4.13 signs from signatureData; its index.d.ts only knows the top-level form (which it ignores).
  // signTime: without it mailauth rounds Date.now() twice and 1 signature in ~300 signs another t= than it writes.
  const options = {
    canonicalization: 'relaxed/relaxed',
    signTime: new Date(),
    signatureData: [{ signingDomain: 'signer.test', selector, privateKey }],
  } as unknown as DKIMSignOptions;
  const res = await dkimSign(message, options);
  assert.equal(res.errors.length, 0, JSON.stringify(res.errors));
  return res.signatures + message;
}

describe('SPF rows (RFC 7208 Appendix A, via mailauth and the one resolver)', () => {
  const rows: [string, string, string][] = [
    // [MAIL FROM domain, client IP, expected]
    ['all.spf.test', '192.0.2.1', 'pass'],
    ['a.spf.test', '192.0.2.10', 'pass'],
    ['a.spf.test', '192.0.2.65', 'fail'],
    ['adomain.spf.test', '192.0.2.11', 'pass'],
    ['adomain.spf.test', '192.0.2.66', 'fail'],
    ['mx.spf.test', '192.0.2.129', 'pass'],
    ['mx.spf.test', '192.0.2.130', 'fail'],
    ['mxother.spf.test', '192.0.2.129', 'pass'],
    ['ip4.spf.test', '192.0.2.130', 'pass'],
    ['ip4.spf.test', '192.0.2.150', 'fail'],
    ['soft.spf.test', '192.0.2.1', 'softfail'],
    ['neutral.spf.test', '192.0.2.1', 'neutral'],
    ['nospf.example.com', '192.0.2.1', 'none'],
    ['broken.spf.test', '192.0.2.1', 'temperror'],
    ['perm.spf.test', '192.0.2.1', 'permerror'],
    ['loop.spf.test', '192.0.2.1', 'permerror'],
  ];
  for (const [domain, ip, expected] of rows) {
    test(`${domain} from ${ip}: ${expected}`, async () => {
      const v = await verifyMessage(
        Buffer.from(plain),
        { remoteAddress: ip, helo: 'client.example', sender: `x@${domain}` },
        'mx.test',
        resolver,
      );
      assert.equal(v.facts.spf.result, expected);
      assert.equal(v.facts.spf.domain, domain);
    });
  }

  test('null MAIL FROM: the HELO identity is checked (RFC 7208 2.3)', async () => {
    const v = await verifyMessage(
      Buffer.from(plain),
      { remoteAddress: '192.0.2.200', helo: 'helo.spf.test', sender: '' },
      'mx.test',
      resolver,
    );
    assert.equal(v.facts.spf.result, 'pass');
    assert.equal(v.facts.spf.domain, 'helo.spf.test');
    assert.equal(v.facts.senderDomain, null);
  });
});

describe('DKIM (every signature, RSA and Ed25519)', () => {
  const ctx = { remoteAddress: '192.0.2.50', helo: 'mail.signer.test', sender: 'a@signer.test' };

  test('an RSA-2048 signature made by mailauth dkimSign verifies; the From domain and AR items are reported', async () => {
    const v = await verifyMessage(
      Buffer.from(await signed(plain, 'rsa', pem(rsa.privateKey, 'pkcs8'))),
      ctx,
      'mx.test',
      resolver,
    );
    assert.deepEqual(v.facts.dkim, [{ result: 'pass', domain: 'signer.test' }]);
    assert.deepEqual(v.facts.fromDomains, ['signer.test']);
    assert.equal(v.facts.spf.result, 'pass');
    assert.match(v.resinfo.join(';'), /dkim=pass header\.i=@signer\.test header\.s=rsa/);
    assert.match(v.resinfo.join(';'), /iprev=pass policy\.iprev=192\.0\.2\.50 \(mail\.signer\.test\)/);
  });

  test('Ed25519 (RFC 8463) verifies too, and both signatures of a doubly signed message are evaluated', async () => {
    const once = await signed(plain, 'ed', pem(ed.privateKey, 'pkcs8'));
    const twice = await signed(once, 'rsa', pem(rsa.privateKey, 'pkcs8'));
    const v = await verifyMessage(Buffer.from(twice), ctx, 'mx.test', resolver);
    assert.deepEqual(
      v.facts.dkim.map((d) => d.result),
      ['pass', 'pass'],
    );
    assert.equal(v.resinfo.filter((r) => r.startsWith('dkim=pass')).length, 2);
  });

  test('a tampered body or header fails', async () => {
    const good = await signed(plain, 'rsa', pem(rsa.privateKey, 'pkcs8'));
    const body = await verifyMessage(
      Buffer.from(good.replace('Hello there.', 'Hello thor.')),
      ctx,
      'mx.test',
      resolver,
    );
    assert.notEqual(body.facts.dkim[0]!.result, 'pass');
    const header = await verifyMessage(
      Buffer.from(good.replace('Subject: hello', 'Subject: HELLO pay now')),
      ctx,
      'mx.test',
      resolver,
    );
    assert.equal(header.facts.dkim[0]!.result, 'fail');
  });

  test('a file stream is read the same as a buffer (the spooled body)', async () => {
    const { Readable } = await import('node:stream');
    const msg = await signed(plain, 'rsa', pem(rsa.privateKey, 'pkcs8'));
    const v = await verifyMessage(
      Readable.from([Buffer.from(msg.slice(0, 100)), Buffer.from(msg.slice(100))]),
      ctx,
      'mx.test',
      resolver,
    );
    assert.deepEqual(v.facts.dkim, [{ result: 'pass', domain: 'signer.test' }]);
  });

  test('an unsigned message: no signatures, dkim=none in the header', async () => {
    const v = await verifyMessage(Buffer.from(plain), ctx, 'mx.test', resolver);
    assert.deepEqual(v.facts.dkim, []);
    assert.match(v.resinfo[0]!, /^dkim=none/);
  });
});

describe('DMARC record, iprev, the header', () => {
  test('the record is read at the From domain, else at its organizational domain (RFC 7489 6.6.3)', async () => {
    assert.deepEqual(await findDmarcRecord('signer.test', resolver), {
      domain: 'signer.test',
      p: 'reject',
      sp: 'quarantine',
      pct: 50,
      adkim: 's',
      aspf: 'r',
    });
    assert.equal(
      ((await findDmarcRecord('news.signer.test', resolver)) as { domain: string }).domain,
      'signer.test',
    );
    assert.equal(await findDmarcRecord('example.com', resolver), null);
    assert.equal(await findDmarcRecord('down.test', resolver), 'temperror');
  });

  test('parseDmarcRecord: defaults, an unknown p means no policy', () => {
    assert.deepEqual(parseDmarcRecord('d.test', 'v=DMARC1; p=none'), {
      domain: 'd.test',
      p: 'none',
      pct: 100,
      adkim: 'r',
      aspf: 'r',
    });
    assert.equal(parseDmarcRecord('d.test', 'v=DMARC1; p=bogus'), null);
    assert.equal(parseDmarcRecord('d.test', 'v=DMARC1; p=reject; pct=0')!.pct, 0);
  });

  test('iprev: forward-confirmed pass, a PTR that does not lead back fails, a DNS failure is temperror', async () => {
    assert.deepEqual(await checkIprev('192.0.2.50', resolver), { result: 'pass', name: 'mail.signer.test' });
    assert.equal((await checkIprev('192.0.2.51', resolver)).result, 'fail');
    assert.equal((await checkIprev('192.0.2.53', resolver)).result, 'fail');
    assert.equal((await checkIprev('192.0.2.52', resolver)).result, 'temperror');
  });

  test('formatAuthenticationResults: our authserv-id, one resinfo a line (RFC 8601 2.2)', () => {
    assert.equal(formatAuthenticationResults('mx.test', []), 'Authentication-Results: mx.test; none\r\n');
    assert.equal(
      formatAuthenticationResults('mx.test', ['spf=pass smtp.mailfrom=a.test', 'dmarc=none']),
      'Authentication-Results: mx.test;\r\n spf=pass smtp.mailfrom=a.test;\r\n dmarc=none\r\n',
    );
  });
});

describe('what the checks load', () => {
  test("SPF comes from mailauth's SPF module alone, not its index (BIMI, the signers: ~300 modules more)", async () => {
    const { execFileSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const verifyModule = fileURLToPath(new URL('../../../src/inbound/verify.ts', import.meta.url));
    // A fresh process: one message's checks (no DKIM pass, a resolver that knows nothing), then mailauth's modules.
    const script = `
      import { createRequire } from 'node:module';
      import { verifyMessage } from ${JSON.stringify(verifyModule)};
      const nothing = () => Promise.reject(Object.assign(new Error('none'), { code: 'ENOTFOUND' }));
      const resolver = { resolve: nothing, resolveTxt: nothing, reverse: nothing, resolve4: nothing, resolve6: nothing };
      const noDkim = async () => ({ rows: [], headerFrom: [], arcInfo: null });
      const v = await verifyMessage(Buffer.from('a'), { remoteAddress: '192.0.2.1', helo: 'h.test', sender: 'a@b.test' }, 'mx.test', resolver, noDkim);
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/mailauth/'));
      process.stdout.write(JSON.stringify({ spf: v.facts.spf.result, loaded: loaded.map((k) => k.split('/mailauth/')[1]) }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const { spf, loaded } = JSON.parse(out) as { spf: string; loaded: string[] };
    assert.equal(spf, 'none');
    assert.ok(loaded.includes('lib/spf/index.js'), loaded.join(' '));
    assert.deepEqual(
      loaded.filter((m) => /^lib\/(bimi|dkim|arc|mailauth)/.test(m)),
      [],
      'no other part of mailauth',
    );
  });
});
