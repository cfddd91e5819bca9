// The relaxed body hash without mailauth's per-byte scan (inbound/dkim-body.ts): mailauth's results on random bodies and chunkings.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { arc, dkimVerify } from 'mailauth';
import { verifyDkim } from '../../../src/inbound/dkim-verify.js';
import { arcSealFor } from '../../../src/sender-auth/arc-seal.js';
import { signMessage } from '../../../src/sender-auth/dkim-sign.js';
import { breakArcSeal, makeKey, recordOf, txtResolver } from '../../helpers/dkim.js';
import {
  fastDkimBody,
  fastRelaxedHash,
  mailauthBodyModules,
  needsNoFix,
} from '../../../src/inbound/dkim-body.js';
import { seededRandom } from '../../helpers/random-text.js';

interface Hasher {
  update(chunk: Buffer | null, final?: boolean): void;
  digest(encoding: string): string;
  setContentType(contentType: { value: string; params: Record<string, string> }): void;
  getMimeStructureStart(): number;
  byteLength: number;
  canonicalizedLength: number;
  bodyHashedBytes: number;
}

const { body, RelaxedHash } = mailauthBodyModules();
const Fast = fastRelaxedHash(RelaxedHash);

/** Everything mailauth's verifier reads of a body hasher after feeding it `chunks`. */
function outcome(hasher: Hasher, chunks: readonly Buffer[], boundary: string | null) {
  if (boundary) hasher.setContentType({ value: 'multipart/mixed', params: { boundary } });
  for (const c of chunks) hasher.update(c);
  const hash = hasher.digest('base64');
  return {
    hash,
    byteLength: hasher.byteLength,
    canonicalizedLength: hasher.canonicalizedLength,
    bodyHashedBytes: hasher.bodyHashedBytes,
    mimeStructureStart: hasher.getMimeStructureStart(),
  };
}

describe('relaxed body hash (dkim-body.ts)', () => {
  test('equals mailauth RelaxedHash on random bodies, chunkings and l= limits', () => {
    const rand = seededRandom(11);
    // Runs of clean text (the fast path) and every byte mailauth's scan reacts to.
    const pieces = ['text', 'a b', ' ', '  ', '\t', '\r\n', '\n', '\r', ' \r\n', '\r\n\r\n', '--b\r\n', '.'];
    let fastPathChunks = 0;
    for (let round = 0; round < 3000; round++) {
      let text = '';
      const length = rand(40);
      for (let i = 0; i < length; i++) text += pieces[rand(pieces.length)];
      // Every third body has no byte that needs fixing, so the fast path takes whole chunks too.
      if (round % 3 === 0) text = text.replace(/[\t ]+/g, ' ').replace(/ ?\r?\n/g, '\r\n');
      const bytes = Buffer.from(text, 'latin1');
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length;) {
        const size = 1 + rand(rand(2) === 0 ? 8 : 200);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      for (const c of chunks) if (c.length > 0 && needsNoFix(c)) fastPathChunks++;
      const limit = rand(4) === 0 ? rand(bytes.length + 4) : undefined;
      const algorithm = rand(2) === 0 ? 'sha256' : 'sha1';
      const boundary = rand(3) === 0 ? 'b' : null;
      const expected = outcome(new RelaxedHash(algorithm, limit) as unknown as Hasher, chunks, boundary);
      const actual = outcome(new Fast(algorithm, limit) as unknown as Hasher, chunks, boundary);
      assert.deepEqual(actual, expected, JSON.stringify({ text, sizes: chunks.map((c) => c.length), limit }));
    }
    assert.ok(fastPathChunks > 1000, `the fast path ran (${fastPathChunks} chunks)`);
  });

  test('a clean 4 KiB body hashes as its bytes (RFC 6376 3.4.4: nothing to change)', () => {
    const text = Buffer.from('Lorem ipsum dolor sit amet, consectetur adipiscing\r\n'.repeat(80));
    const hasher = new Fast('sha256') as unknown as Hasher;
    hasher.update(text);
    assert.equal(hasher.digest('base64'), createHash('sha256').update(text).digest('base64'));
  });

  test('needsNoFix follows the scan: tabs, double spaces, bare LF, space before CRLF', () => {
    assert.equal(needsNoFix(Buffer.from('a b\r\nc\r\n')), true);
    for (const dirty of ['a\tb\r\n', 'a  b\r\n', 'a\nb', '\nab', 'a \r\n', 'a\r\n\n']) {
      assert.equal(needsNoFix(Buffer.from(dirty)), false, JSON.stringify(dirty));
    }
  });

  test('dkimBody: relaxed gets the fast hash, simple mailauth own, unknown still throws', () => {
    const factory = fastDkimBody(body.dkimBody, RelaxedHash);
    // A subclass of mailauth's RelaxedHash, not mailauth's own.
    const isFast = (h: unknown) => h instanceof RelaxedHash && (h as object).constructor !== RelaxedHash;
    assert.ok(isFast(factory('relaxed', 'sha256')));
    assert.ok(isFast(factory('simple/Relaxed ', 'sha256')));
    const simple = factory('simple', 'sha256');
    assert.ok(!(simple instanceof RelaxedHash));
    assert.equal((simple as object).constructor, (body.dkimBody('simple', 'sha256') as object).constructor);
    assert.throws(() => factory('other', 'sha256'), /Unknown body canonicalization/);
  });
});

describe('verdicts with the fast body hash equal mailauth dkimVerify + arc', () => {
  test('clean and unclean bodies, simple/simple, a tampered body, an ARC set and a broken seal', async () => {
    const author = await makeKey('keys.test', 'sel', 'rsa');
    const forwarder = await makeKey('fwd.test', 'arc', 'rsa');
    const records = Object.fromEntries([author, forwarder].map((k) => [recordOf(k).name, recordOf(k).txt]));
    const resolver = txtResolver(records);
    const head =
      'From: a@keys.test\r\nTo: b@fwd.test\r\nSubject: s\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n\r\n';
    const clean = 'Lorem ipsum dolor sit amet\r\n'.repeat(40);
    const signed = async (body: string) => {
      const m = Buffer.from(head + body, 'latin1');
      return Buffer.concat([Buffer.from((await signMessage(m, author)).header), m]);
    };
    const cleanSigned = await signed(clean);
    const arrived = Buffer.concat([
      Buffer.from('Authentication-Results: fwd.test; dkim=pass\r\n'),
      cleanSigned,
    ]);
    const sealed = Buffer.concat([
      (await arcSealFor(arrived, forwarder, { authservId: 'fwd.test' }))!,
      arrived,
    ]);
    const flip = (m: Buffer, from: RegExp, to: string) =>
      Buffer.from(m.toString('latin1').replace(from, to), 'latin1');
    const messages: Record<string, Buffer> = {
      clean: cleanSigned,
      // Tabs, runs of spaces, trailing spaces, a bare LF and trailing empty lines: mailauth's own scan.
      unclean: await signed('a\tb  c \r\nd\ne\r\n\r\n\r\n' + clean),
      // Whitespace changed where relaxed canonicalization ignores it: still passes.
      rewrapped: flip(await signed(clean), /ipsum dolor/, 'ipsum \t dolor'),
      tampered: flip(cleanSigned, /dolor/, 'dolar'),
      sealed,
      brokenSeal: breakArcSeal(sealed),
      unsigned: Buffer.from(head + clean, 'latin1'),
    };
    const results: Record<string, string> = {};
    for (const [name, message] of Object.entries(messages)) {
      const ours = await verifyDkim(message, 'a@keys.test', resolver);
      const theirs = await dkimVerify(message, { resolver, sender: 'a@keys.test' });
      const theirArc = await arc((theirs as unknown as { arc: unknown }).arc as never, { resolver } as never);
      assert.deepEqual(
        ours.rows.map((r) => r.info),
        theirs.results.map((r) => (r as { info: string }).info),
        name,
      );
      assert.equal(ours.arcInfo, (theirArc as { info?: string }).info ?? null, name);
      assert.deepEqual(ours.headerFrom, theirs.headerFrom, name);
      results[name] = [...ours.rows.map((r) => r.result), ours.arcInfo?.split(' ')[0] ?? '-'].join(' ');
    }
    assert.deepEqual(results, {
      clean: 'pass -',
      unclean: 'pass -',
      rewrapped: 'pass -',
      tampered: 'neutral -',
      sealed: 'pass arc=pass',
      brokenSeal: 'pass arc=fail',
      unsigned: 'none -',
    });
  });
});
