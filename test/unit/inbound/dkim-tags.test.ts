// The fast DKIM/ARC tag-list parser gives exactly what mailauth's own parser gives: real signatures and random lines.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { dkimSign, type DKIMSignOptions } from 'mailauth';
import { fastTagParser, type TagParser } from '../../../src/inbound/dkim-tags.js';

const require = createRequire(import.meta.url);
const mailauthParser = require('mailauth/lib/parse-dkim-headers.js') as TagParser;
let slowCalls = 0;
const fast = fastTagParser((buf) => (slowCalls++, mailauthParser(buf)));

/** Both results as JSON-comparable values (undefined `header` kept visible). */
const same = (line: string | Buffer) =>
  assert.deepStrictEqual(fast(line), mailauthParser(line), JSON.stringify(line.toString()));

describe('fastTagParser', () => {
  test('signatures made by mailauth (RSA and Ed25519, folded) and key records parse as mailauth parses them', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;
    const message = 'From: a@signer.test\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n';
    for (const privateKey of [rsa, ed]) {
      const options = {
        canonicalization: 'relaxed/relaxed',
        signTime: new Date(),
        signatureData: [
          {
            signingDomain: 'signer.test',
            selector: 's1',
            privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
          },
        ],
      } as unknown as DKIMSignOptions;
      const signature = (await dkimSign(message, options)).signatures;
      const before = slowCalls;
      same(Buffer.from(signature.trimEnd()));
      assert.equal(slowCalls, before, 'a signature takes the fast path');
    }
    same('DNS: TXT;v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA');
    same('ARC-Seal: i=1; a=rsa-sha256; t=1765000000; cv=none; d=fwd.test; s=arc; b=abc\r\n def');
    same('ARC-Message-Signature: i=2; a=rsa-sha256; c=relaxed/relaxed; d=fwd.test; s=arc; l=; x=12a; v=1');
    same('DKIM-Signature: __proto__=x; constructor=y; d=a.test');
    same(
      'DKIM-Signature: v=1; a=rsa-sha256; d=x.test; s=a; h=From : To; bh=a b\tc; b=;; ;=; novalue; z=a=b=c',
    );
  });

  test('random tag lists, special characters included, parse as mailauth parses them', () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const names = [
      'DKIM-Signature',
      'ARC-Seal',
      'arc-message-signature',
      'DNS',
      'Authentication-Results',
      'X',
    ];
    const alphabet = [
      'a',
      'b',
      'i',
      'l',
      't',
      'v',
      'x',
      'bh',
      '=',
      ';',
      ' ',
      '\t',
      '\r\n ',
      '1',
      '0x1',
      '\\',
      '(',
      ')',
      '"',
      "'",
      ':',
      'A+/',
      'constructor',
      '__proto__',
    ];
    let fastPaths = 0;
    for (let n = 0; n < 3000; n++) {
      let line = random(8) === 0 ? '' : `${names[random(names.length)]}:`;
      // Half the lines without escapes, comments or quotes: the fast path's own ground.
      const plain = random(2) === 0;
      const length = random(30);
      for (let i = 0; i < length; i++) {
        const token = alphabet[random(alphabet.length)]!;
        line += plain && /[\\("']/.test(token) ? 'c' : token;
      }
      const before = slowCalls;
      same(random(2) === 0 ? line : Buffer.from(line));
      if (slowCalls === before) fastPaths++;
    }
    assert.ok(fastPaths > 500, `${fastPaths} lines took the fast path`);
  });
});
