// DKIM signing (sender-auth/dkim-sign.ts): our signatures verify with mailauth and python3-dkim, over-signing holds, dkimpy's verify with mailauth.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createOutboundSigner,
  fromDomain,
  OVERSIGNED_FIELDS,
  signingDomains,
  signMessage,
} from '../../../src/sender-auth/dkim-sign.js';
import type { DkimKey } from '../../../src/store/dkim-store.js';
import { mailauthVerdicts, makeKey, pythonSign, pythonVerify, recordOf } from '../../helpers/dkim.js';

const MESSAGE = Buffer.from(
  'Received: from client by mx.example.test; Sat, 05 Dec 2026 10:00:00 +0000\r\n' +
    'From: Alice <alice@example.test>\r\n' +
    'To: bob@b.test\r\n' +
    'Subject: Quarterly figures\r\n' +
    'Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n' +
    'Message-ID: <q4@example.test>\r\n' +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    '\r\n' +
    'The figures are  attached.   \r\n\r\n\r\n',
);

let rsa: DkimKey;
let ed: DkimKey;
const records: Record<string, string> = {};
before(async () => {
  rsa = await makeKey('example.test', 'mr202612', 'rsa');
  ed = await makeKey('example.test', 'ed202612', 'ed25519');
  for (const k of [rsa, ed]) records[recordOf(k).name] = recordOf(k).txt;
});

const signed = async (key: DkimKey, message = MESSAGE) =>
  Buffer.concat([Buffer.from((await signMessage(message, key)).header, 'latin1'), message]);

/** The h= tag of the first DKIM-Signature, as a list of lower-cased names. */
function hTag(message: Buffer): string[] {
  const text = message.toString('latin1').replace(/\r\n[ \t]+/g, ' ');
  const h = /^DKIM-Signature:.*?\bh=([^;]*);/m.exec(text)?.[1] ?? '';
  return h.split(':').map((n) => n.trim().toLowerCase());
}

describe('our signatures', () => {
  test('fields and bodies with tabs, runs of spaces, folds and trailing blanks verify with mailauth', async () => {
    // The signer canonicalizes with the verifier's fast steps (inbound/dkim-body.ts, dkim-headers.ts); where a
    // field or a body line needs fixing they hand over to mailauth's own. Every kind of line here must verify.
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const bits = ['word', ' ', '  ', '\t', 'Z', '\r\n ', '\r\n\t', ';', ':', 'é', '.'];
    const text = (n: number) =>
      Array.from({ length: n }, () => bits[Math.floor(next() * bits.length)]).join('');
    for (let i = 0; i < 12; i++) {
      const m = Buffer.from(
        `From: Alice <alice@example.test>\r\nTo:  bob@b.test ${text(6)}\r\nSubject:${text(12)}x\r\n` +
          `Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <r${i}@example.test>\r\n\r\n` +
          Array.from({ length: 1 + Math.floor(next() * 8) }, () => text(10).replace(/\r\n[ \t]/g, ' ')).join(
            '\r\n',
          ) +
          (i % 2 ? '\r\n\r\n\r\n' : ''),
        'latin1',
      );
      const key = i % 2 ? rsa : ed;
      assert.deepEqual(
        await mailauthVerdicts(await signed(key, m), records),
        [`pass d=example.test s=${key.selector}`],
        `message ${i}`,
      );
    }
  });

  for (const which of ['rsa', 'ed25519'] as const) {
    test(`${which}: relaxed/relaxed, verified by mailauth and by python3-dkim`, async () => {
      const key = which === 'rsa' ? rsa : ed;
      const m = await signed(key);
      const text = m.toString('latin1').replace(/\r\n[ \t]+/g, ' ');
      assert.match(text, new RegExp(`a=${which === 'rsa' ? 'rsa' : 'ed25519'}-sha256;`));
      assert.match(text, /c=relaxed\/relaxed;/);
      assert.doesNotMatch(text.split('\r\n')[0] ?? '', /\bl=/, 'no body length limit (RFC 6376 8.2)');
      assert.deepEqual(await mailauthVerdicts(m, records), [`pass d=example.test s=${key.selector}`]);
      assert.equal(pythonVerify(m, recordOf(key)), 'pass');
      // A changed body fails both (bh=).
      const tampered = Buffer.from(m.toString('latin1').replace('attached', 'deleted'), 'latin1');
      assert.deepEqual(await mailauthVerdicts(tampered, records), [
        `neutral d=example.test s=${key.selector}`,
      ]);
      assert.equal(pythonVerify(tampered, recordOf(key)), 'fail');
    });
  }

  test('h= over-signs From, Subject, Date, To, Cc, Message-ID, Reply-To, MIME-Version, Content-Type (RFC 6376 8.15)', async () => {
    const h = hTag(await signed(rsa));
    for (const name of OVERSIGNED_FIELDS) {
      const present = MESSAGE.toString('latin1').split('\r\n\r\n')[0]!.toLowerCase().split('\r\n');
      const occurs = present.filter((l) => l.startsWith(`${name.toLowerCase()}:`)).length;
      assert.equal(h.filter((n) => n === name.toLowerCase()).length, occurs + 1, name);
    }
    assert.ok(!h.includes('received'), 'trace fields are not signed');
  });

  test('a second From, Subject or a Cc added above the signed message breaks the signature (both verifiers)', async () => {
    const m = await signed(rsa);
    const sig = m.subarray(0, m.indexOf('Received:')).toString('latin1');
    const rest = m.subarray(sig.length).toString('latin1');
    for (const added of [
      'From: Mallory <ceo@example.test>',
      'Subject: Urgent wire transfer',
      'Cc: eve@evil.test',
    ]) {
      const forged = Buffer.from(`${sig}${added}\r\n${rest}`, 'latin1');
      const [verdict] = await mailauthVerdicts(forged, records);
      assert.notEqual(verdict?.split(' ')[0], 'pass', added);
      assert.equal(pythonVerify(forged, recordOf(rsa)), 'fail', added);
    }
  });

  test('8-bit, folded and LF-only-free bodies: what is signed is what is sent, byte for byte', async () => {
    const body = Buffer.from(
      'From: =?utf-8?q?J=C3=B6rg?= <jorg@example.test>\r\nSubject: Gr\u00fc\u00dfe\r\n' +
        'To: a@b.test,\r\n  c@d.test\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        'Content-Transfer-Encoding: 8bit\r\n\r\nSch\u00f6ne Gr\u00fc\u00dfe\r\n',
      'utf8',
    );
    for (const key of [rsa, ed]) {
      const m = await signed(key, body);
      assert.deepEqual(await mailauthVerdicts(m, records), [`pass d=example.test s=${key.selector}`]);
      assert.equal(pythonVerify(m, recordOf(key)), 'pass');
    }
  });
});

describe('signatures made by python3-dkim verify with mailauth (our verifier)', () => {
  for (const which of ['rsa', 'ed25519'] as const) {
    test(which, async () => {
      const key = which === 'rsa' ? rsa : ed;
      const m = Buffer.concat([Buffer.from(pythonSign(MESSAGE, key), 'latin1'), MESSAGE]);
      assert.deepEqual(await mailauthVerdicts(m, records), [`pass d=example.test s=${key.selector}`]);
      const tampered = Buffer.from(m.toString('latin1').replace('Quarterly', 'Monthly'), 'latin1');
      assert.notEqual((await mailauthVerdicts(tampered, records))[0]?.split(' ')[0], 'pass');
    });
  }
});

describe('which domain signs', () => {
  test('the From domain; for our DSNs (null sender, From our host name) also the parents of the host name', () => {
    assert.equal(fromDomain(MESSAGE), 'example.test');
    assert.equal(
      fromDomain(Buffer.from('From: "a@x.test" <B@Sub.Example.TEST>\r\n\r\n')),
      'sub.example.test',
    );
    assert.equal(fromDomain(Buffer.from('Subject: none\r\n\r\n')), null);
    assert.deepEqual(signingDomains('sub.example.test', 'a@sub.example.test', 'mx.example.test'), [
      'sub.example.test',
    ]);
    assert.deepEqual(signingDomains('mx.example.test', '', 'mx.example.test'), [
      'mx.example.test',
      'example.test',
    ]);
    assert.deepEqual(signingDomains(null, '', 'mx.example.test'), ['mx.example.test', 'example.test']);
    assert.deepEqual(signingDomains('else.test', '', 'mx.example.test'), ['else.test']);
  });

  test('outbound signer: local key signs once per variant (cache); subdomains and strangers pass unsigned', async () => {
    const keys = new Map([['example.test', rsa]]);
    const signer = createOutboundSigner({
      keys: { signingKey: (d) => keys.get(d) ?? null },
      hostname: 'mx.example.test',
    });
    const a = await signer.sign('Q1', 'alice@example.test', MESSAGE);
    const b = await signer.sign('Q1', 'alice@example.test', MESSAGE);
    assert.deepEqual(a, b, 'the second batch of Q1 reuses the signature');
    assert.equal(signer.signed, 1);
    const variant = Buffer.concat([MESSAGE, Buffer.from('more\r\n')]);
    await signer.sign('Q1', 'alice@example.test', variant);
    assert.equal(signer.signed, 2, 'another variant of Q1 (e.g. downgraded to 7 bit) is signed anew');
    const sub = Buffer.from(
      MESSAGE.toString('latin1').replace('alice@example.test', 'alice@sub.example.test'),
    );
    assert.deepEqual(
      await signer.sign('Q2', 'alice@sub.example.test', sub),
      sub,
      'no key of its own: unsigned',
    );
    const dsn = Buffer.from(
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\nTo: x@y.test\r\nSubject: failed\r\n\r\nx\r\n',
    );
    const signedDsn = await signer.sign('Q3', '', dsn);
    assert.deepEqual(await mailauthVerdicts(signedDsn, records), ['pass d=example.test s=mr202612']);
    const stranger = Buffer.from(MESSAGE.toString('latin1').replace('alice@example.test', 'alice@else.test'));
    assert.deepEqual(await signer.sign('Q4', '', stranger), stranger);
  });
});

test('a bare-LF message is hashed as CRLF, as mailauth and SMTP see it', async () => {
  const lf = Buffer.from('From: alice@example.test\nSubject: lf\n\nline one\nline two\n');
  const crlf = Buffer.from(lf.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
  const t = new Date('2026-12-05T10:00:00Z');
  assert.equal((await signMessage(lf, rsa, t)).header, (await signMessage(crlf, rsa, t)).header);
  const m = Buffer.concat([Buffer.from((await signMessage(lf, rsa)).header, 'latin1'), lf]);
  assert.deepEqual(await mailauthVerdicts(m, records), ['pass d=example.test s=mr202612']);
});

test('a large body is hashed in slices: other work runs while a 2 MiB message is signed', async () => {
  const line = `${'x'.repeat(76)}\r\n`;
  const big = Buffer.from(
    `From: alice@example.test\r\nSubject: big\r\n\r\n${line.repeat((2 * 1024 * 1024) / line.length)}`,
  );
  let turns = 0;
  let signing = true;
  const tick = (): void => {
    turns++;
    if (signing) setImmediate(tick);
  };
  setImmediate(tick);
  const sig = await signMessage(big, ed);
  signing = false;
  assert.ok(turns >= 4, `only ${turns} event-loop turns while signing`);
  const m = Buffer.concat([Buffer.from(sig.header, 'latin1'), big]);
  assert.deepEqual(await mailauthVerdicts(m, records), ['pass d=example.test s=ed202612']);
});
