// DKIM keys parsed once per key record (inbound/dkim-keys.ts): fewer parses, same verdicts, a changed record honoured.
import assert from 'node:assert/strict';
import crypto, { generateKeyPairSync } from 'node:crypto';
import type { Writable } from 'node:stream';
import { describe, mock, test } from 'node:test';
import { dkimSign, type DKIMSignOptions } from 'mailauth';
import type { MailResolver } from '../../../src/dns/types.js';
import { cachingGetPublicKey, loadCachedMailauth, withFastScanning } from '../../../src/inbound/dkim-keys.js';
import { verifyMessage } from '../../../src/inbound/verify.js';
import { arcSealedForward, breakArcSeal, makeKey, recordOf } from '../../helpers/dkim.js';

const keyRecord = (publicKey: crypto.KeyObject): string[] => {
  const p = publicKey
    .export({ type: 'spki', format: 'pem' })
    .toString()
    .replace(/-----[^-]+-----|\s/g, '');
  return `v=DKIM1; k=rsa; p=${p}`.match(/.{1,255}/g)!;
};
const first = generateKeyPairSync('rsa', { modulusLength: 2048 });
const second = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** A resolver answering from a table that the test edits (as a DNS cache whose entry expired would). */
function tableResolver(txt: Map<string, string[][]>): MailResolver & { txtLookups: number } {
  const notFound = (name: string) =>
    Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  const r = {
    txtLookups: 0,
    resolve(name: string, type: string) {
      if (type === 'TXT') {
        r.txtLookups++;
        const rows = txt.get(name.toLowerCase());
        return rows ? Promise.resolve(rows) : Promise.reject(notFound(name));
      }
      if (type === 'A') return Promise.resolve(['192.0.2.50']);
      return Promise.reject(notFound(name));
    },
    resolveTxt: (name: string) => r.resolve(name, 'TXT'),
    reverse: () => Promise.resolve(['mail.keys.test']),
    resolve4: () => Promise.resolve(['192.0.2.50']),
    resolve6: () => Promise.reject(notFound('aaaa')),
  };
  return r as unknown as MailResolver & { txtLookups: number };
}

async function signed(n: number, privateKey: crypto.KeyObject): Promise<Buffer> {
  const message =
    `From: a@keys.test\r\nTo: b@example.net\r\nSubject: message ${n}\r\n` +
    `Date: Sat, 5 Dec 2026 10:00:00 +0000\r\n\r\nHello ${n}.\r\n`;
  const res = await dkimSign(message, {
    canonicalization: 'relaxed/relaxed',
    signTime: new Date(), // else mailauth may sign another t= than it writes (1 in ~300)
    signatureData: [
      {
        signingDomain: 'keys.test',
        selector: 'sel',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    ],
  } as unknown as DKIMSignOptions); // mailauth 4.13 reads signatureData; its .d.ts only has the top-level form
  return Buffer.from(res.signatures + message);
}

const ctx = { remoteAddress: '192.0.2.50', helo: 'mail.keys.test', sender: 'a@keys.test' };

describe('DKIM key cache', () => {
  test('verifyMessage parses a key record once for many messages, and still asks DNS for it every time', async () => {
    const txt = new Map([
      ['sel._domainkey.keys.test', [keyRecord(first.publicKey)]],
      ['keys.test', [['v=spf1 ip4:192.0.2.50 -all']]],
    ]);
    const resolver = tableResolver(txt);
    const messages = await Promise.all([1, 2, 3, 4].map((n) => signed(n, first.privateKey)));
    const parse = mock.method(crypto, 'createPublicKey');
    try {
      for (const m of messages) {
        const v = await verifyMessage(m, ctx, 'mx.test', resolver);
        assert.deepEqual(v.facts.dkim, [{ result: 'pass', domain: 'keys.test' }]);
      }
      // mailauth alone parses the record for every message (and crypto.verify parses its PEM once more).
      assert.ok(parse.mock.callCount() <= 2, `createPublicKey called ${parse.mock.callCount()} times`);
    } finally {
      parse.mock.restore();
    }
    // The DNS cache's TTL decides when the record is fetched again: every signature asks the resolver.
    const keyLookups = resolver.txtLookups;
    assert.ok(keyLookups >= 4, `${keyLookups} TXT lookups`);
  });

  test('a changed key record is used at once: the old key no longer verifies, the new one does', async () => {
    const txt = new Map([['sel._domainkey.keys.test', [keyRecord(first.publicKey)]]]);
    const resolver = tableResolver(txt);
    assert.equal(
      (await verifyMessage(await signed(5, first.privateKey), ctx, 'mx.test', resolver)).facts.dkim[0]!
        .result,
      'pass',
    );
    txt.set('sel._domainkey.keys.test', [keyRecord(second.publicKey)]);
    assert.equal(
      (await verifyMessage(await signed(6, first.privateKey), ctx, 'mx.test', resolver)).facts.dkim[0]!
        .result,
      'fail',
    );
    assert.equal(
      (await verifyMessage(await signed(7, second.privateKey), ctx, 'mx.test', resolver)).facts.dkim[0]!
        .result,
      'pass',
    );
    txt.delete('sel._domainkey.keys.test'); // revoked: no key
    const gone = await verifyMessage(await signed(8, second.privateKey), ctx, 'mx.test', resolver);
    assert.notEqual(gone.facts.dkim[0]!.result, 'pass');
    assert.match(gone.resinfo[0]!, /no key/);
  });

  test('ARC (RFC 8617 5.2): a sealed message verifies through the cached keys, a broken seal fails', async () => {
    const forwarder = await makeKey('fwd.test', 'arc', 'rsa');
    const author = await makeKey('keys.test', 'sel', 'rsa');
    const txt = new Map([forwarder, author].map((k) => [recordOf(k).name, [[recordOf(k).txt]]]));
    const resolver = tableResolver(txt);
    const original = Buffer.from(
      'From: a@keys.test\r\nTo: list@fwd.test\r\nSubject: minutes\r\n' +
        'Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n\r\nThe minutes.\r\n',
    );
    const { sealed } = await arcSealedForward(original, author, forwarder);
    for (let i = 0; i < 2; i++) {
      const v = await verifyMessage(sealed, ctx, 'mx.test', resolver);
      assert.ok(
        v.resinfo.some((r) => /^arc=pass/.test(r)),
        v.resinfo.join('; '),
      );
    }
    const broken = breakArcSeal(sealed);
    const v = await verifyMessage(broken, ctx, 'mx.test', resolver);
    assert.ok(
      v.resinfo.some((r) => /^arc=fail/.test(r)),
      v.resinfo.join('; '),
    );
  });

  test("cachingGetPublicKey: mailauth's parse runs once per record text; failures are not kept; bounded", async () => {
    let parses = 0;
    const pemOf = (k: crypto.KeyObject) => k.export({ type: 'pkcs1', format: 'pem' }).toString();
    const parse = async (
      _t: string,
      _n: string,
      _m: number | undefined,
      r: (n: string, t: string) => Promise<unknown>,
    ) => {
      parses++;
      const rows = (await r('x', 'TXT')) as string[][];
      const text = rows[0]!.join('');
      if (text === 'broken') throw Object.assign(new Error('Missing key value'), { code: 'EINVALIDVAL' });
      return {
        publicKey: pemOf(text === 'one' ? first.publicKey : second.publicKey),
        rr: text,
        modulusLength: 2048,
      };
    };
    const cache = cachingGetPublicKey(parse, 2);
    const answer = (text: string) => () => Promise.resolve([[text]]);
    const a = await cache.getPublicKey('DKIM', 'a', 1024, answer('one'));
    const b = await cache.getPublicKey('DKIM', 'b', 1024, answer('one'));
    assert.equal(parses, 1);
    assert.ok(a.publicKey instanceof crypto.KeyObject);
    assert.equal(b.publicKey.toString(), pemOf(first.publicKey), 'toString gives the PEM mailauth reports');
    await cache.getPublicKey('AS', 'a', 1024, answer('one')); // another type: mailauth's checks differ
    assert.equal(parses, 2);
    await assert.rejects(cache.getPublicKey('DKIM', 'c', 1024, answer('broken')), { code: 'EINVALIDVAL' });
    await assert.rejects(cache.getPublicKey('DKIM', 'c', 1024, answer('broken')), { code: 'EINVALIDVAL' });
    assert.equal(parses, 4);
    await cache.getPublicKey('DKIM', 'd', 1024, answer('two')); // evicts the oldest (DKIM one)
    await cache.getPublicKey('DKIM', 'a', 1024, answer('one'));
    assert.equal(parses, 6);
    assert.deepEqual(cache.stats(), { hits: 1, misses: 6 });
  });

  test("the private verifier leaves mailauth's own modules as they were", async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const tools = require('mailauth/lib/tools.js') as { getPublicKey: unknown };
    const before = tools.getPublicKey;
    const verifier = require('mailauth/lib/dkim/dkim-verifier.js') as unknown;
    const loaded = loadCachedMailauth();
    assert.equal(tools.getPublicKey, before);
    assert.equal(require('mailauth/lib/dkim/dkim-verifier.js'), verifier);
    assert.equal(typeof loaded.newDkimVerifier, 'function');
  });

  test("the header/body split and LF repair equal mailauth's own MessageParser on random input", async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    type Parser = new () => Writable & {
      headers: { original: Buffer } | false;
      byteLength: number;
    };
    const { MessageParser } = require('mailauth/lib/dkim/message-parser.js') as { MessageParser: Parser };
    class Recording extends MessageParser {
      body: Buffer[] = [];
      async nextChunk(chunk: Buffer): Promise<void> {
        this.body.push(Buffer.from(chunk));
      }
    }
    const Fast = withFastScanning(Recording as never) as unknown as typeof Recording;
    const run = async (P: typeof Recording, chunks: Buffer[]) => {
      const p = new P();
      const { finished } = await import('node:stream/promises');
      const done = finished(p);
      for (const c of chunks) p.write(c);
      p.end();
      await done;
      return {
        header: p.headers ? p.headers.original.toString('latin1') : null,
        body: Buffer.concat(p.body).toString('latin1'),
        bytes: p.byteLength,
      };
    };
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = ['a', 'b', ':', ' ', '\r', '\n', '\r\n', '\n\n', '\r\n\r\n'];
    for (let round = 0; round < 400; round++) {
      let text = '';
      const length = 1 + random(40);
      for (let i = 0; i < length; i++) text += alphabet[random(alphabet.length)];
      const bytes = Buffer.from(text, 'latin1');
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length;) {
        const size = 1 + random(6);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      assert.deepEqual(await run(Fast, chunks), await run(Recording, chunks), JSON.stringify(text));
    }
  });
});
