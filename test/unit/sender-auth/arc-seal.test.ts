// ARC sealing of forwarded mail (sender-auth/arc-seal.ts, RFC 8617): i and cv, the AAR copied from our Authentication-Results, mailauth validates the chain.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arc, dkimVerify, type ARCData } from 'mailauth';
import { HeaderMap } from '../../../src/mail/headers.js';
import {
  arcSealFor,
  chainValidation,
  forwardingDomain,
  ourAuthenticationResults,
} from '../../../src/sender-auth/arc-seal.js';
import { createOutboundSigner, signMessage } from '../../../src/sender-auth/dkim-sign.js';
import type { DkimKey } from '../../../src/store/dkim-store.js';
import { makeKey, pythonArcVerify, recordOf, txtResolver } from '../../helpers/dkim.js';

let aKey: DkimKey; // the forwarding alias domain (mx.a.test)
let cKey: DkimKey; // a second forwarder (mx.c.test)
let elseKey: DkimKey; // the original sender's domain
const records: Record<string, string> = {};
before(async () => {
  aKey = await makeKey('a.test', 'mr202612', 'rsa');
  cKey = await makeKey('c.test', 'fwd', 'rsa');
  elseKey = await makeKey('else.test', 'sel', 'ed25519');
  for (const k of [aKey, cKey, elseKey]) records[recordOf(k).name] = recordOf(k).txt;
});

/** What arrived at mx.a.test for the alias: signed by else.test, with our inbound results and a forged one. */
async function arrived(): Promise<Buffer> {
  const original = Buffer.from(
    'From: Carol <carol@else.test>\r\nTo: list@a.test\r\nSubject: minutes\r\n' +
      'Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m1@else.test>\r\n\r\nThe minutes.\r\n',
  );
  const signed = Buffer.concat([Buffer.from((await signMessage(original, elseKey)).header), original]);
  return Buffer.concat([
    Buffer.from(
      'Authentication-Results: mx.a.test;\r\n dkim=pass header.d=else.test header.s=sel;\r\n' +
        ' spf=pass smtp.mailfrom=else.test; dmarc=pass header.from=else.test\r\n' +
        'Authentication-Results: evil.test; dkim=pass header.d=bank.test\r\n' +
        'Received: from mail.else.test by mx.a.test; Sat, 05 Dec 2026 10:00:01 +0000\r\n',
    ),
    signed,
  ]);
}

const headersOf = (m: Buffer) => HeaderMap.parse(m.subarray(0, m.indexOf('\r\n\r\n') + 4));

async function validate(message: Buffer): Promise<{ result: string; i: number | false }> {
  const resolver = txtResolver(records);
  const verified = await dkimVerify(message, { resolver });
  const res = await arc(verified.arc as unknown as ARCData, { resolver });
  return { result: res.status.result, i: res.i };
}

describe('ARC sealing', () => {
  test('first forward: i=1, cv=none, the AAR is our Authentication-Results; mailauth validates the chain', async () => {
    const m = await arrived();
    const set = await arcSealFor(m, aKey, { authservId: 'mx.a.test' });
    assert.ok(set);
    const text = set.toString('latin1').replace(/\r\n[ \t]+/g, ' ');
    assert.match(text, /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none; d=a\.test; s=mr202612;/m);
    assert.match(text, /^ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed\/relaxed; d=a\.test;/m);
    assert.match(
      text,
      /^ARC-Authentication-Results: i=1; mx\.a\.test; dkim=pass header\.d=else\.test header\.s=sel; spf=pass smtp\.mailfrom=else\.test; dmarc=pass header\.from=else\.test$/m,
    );
    assert.doesNotMatch(text, /evil\.test/, "another host's results are not ours to vouch for");
    assert.deepEqual(await validate(Buffer.concat([set, m])), { result: 'pass', i: 1 });
    assert.match(pythonArcVerify(Buffer.concat([set, m]), records), /^pass /, 'python3-dkim agrees');
    const tampered = Buffer.from(
      Buffer.concat([set, m]).toString('latin1').replace('The minutes', 'The money'),
      'latin1',
    );
    assert.notEqual((await validate(tampered)).result, 'pass', 'the AMS covers the body');
  });

  test('second forward: i=2, cv=pass from our own arc=pass; the whole chain validates', async () => {
    const m = await arrived();
    const first = Buffer.concat([(await arcSealFor(m, aKey, { authservId: 'mx.a.test' })) as Buffer, m]);
    const atC = Buffer.concat([
      Buffer.from(
        'Authentication-Results: mx.c.test; arc=pass (i=1) smtp.remote-ip=192.0.2.1; dkim=pass\r\n',
      ),
      first,
    ]);
    const set = await arcSealFor(atC, cKey, { authservId: 'mx.c.test' });
    assert.ok(set);
    assert.match(set.toString('latin1'), /^ARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=pass; d=c\.test;/m);
    assert.deepEqual(await validate(Buffer.concat([set, atC])), { result: 'pass', i: 2 });
    assert.match(pythonArcVerify(Buffer.concat([set, atC]), records), /^pass /, 'python3-dkim agrees');
  });

  test('no seal: a chain we never checked, a chain already failed, an Ed25519-only domain', async () => {
    const m = await arrived();
    const first = Buffer.concat([(await arcSealFor(m, aKey, { authservId: 'mx.a.test' })) as Buffer, m]);
    assert.equal(await arcSealFor(first, cKey, { authservId: 'mx.c.test' }), null, 'no arc= verdict of ours');
    assert.equal(
      chainValidation(headersOf(first), 'mx.c.test; arc=fail'),
      'fail',
      'a broken chain is sealed as fail',
    );
    const dead = Buffer.from(first.toString('latin1').replace('cv=none', 'cv=fail'), 'latin1');
    assert.equal(
      chainValidation(headersOf(dead), 'mx.c.test; arc=pass'),
      null,
      'a chain already failed stays dead',
    );
    assert.equal(await arcSealFor(m, elseKey, { authservId: 'mx.a.test' }), null);
    assert.equal(ourAuthenticationResults(headersOf(m), 'MX.A.TEST')?.startsWith('mx.a.test;'), true);
    assert.equal(ourAuthenticationResults(headersOf(m), 'mx.b.test'), null);
  });

  test('forwarded mail is recognised by its SRS sender; the outbound signer seals it with the alias domain key', async () => {
    assert.equal(forwardingDomain('SRS0=HHH=TT=else.test=carol@a.test'), 'a.test');
    assert.equal(forwardingDomain('srs1+x=y@A.test'), 'a.test');
    assert.equal(forwardingDomain('carol@else.test'), null);
    assert.equal(forwardingDomain(''), null);
    const keys = new Map([['a.test', aKey]]);
    const signer = createOutboundSigner({
      keys: { signingKey: (d) => keys.get(d) ?? null },
      hostname: 'mx.a.test',
    });
    const m = await arrived();
    const out = await signer.sign('Q1', 'SRS0=HHH=TT=else.test=carol@a.test', m);
    assert.match(out.toString('latin1'), /^ARC-Seal: i=1;/);
    assert.doesNotMatch(
      out.toString('latin1'),
      /^DKIM-Signature: [^\r]*d=a\.test/m,
      'From else.test: no DKIM of ours',
    );
    assert.deepEqual(await validate(out), { result: 'pass', i: 1 });
    // The original signature still verifies: sealing adds fields, changes none.
    const resolver = txtResolver(records);
    const dkim = await dkimVerify(out, { resolver });
    assert.deepEqual(
      dkim.results.map((r) => [r.signingDomain, r.status.result]),
      [['else.test', 'pass']],
    );
    assert.deepEqual(await signer.sign('Q1', 'SRS0=HHH=TT=else.test=carol@a.test', m), out, 'cached');
    assert.deepEqual(await signer.sign('Q2', 'carol@else.test', m), m, 'not a forward: unchanged');
  });
});
