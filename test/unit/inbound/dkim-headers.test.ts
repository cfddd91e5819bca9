// The verify pass's header parser (inbound/dkim-headers.ts) against mailauth's own: same rows, same verdicts, no copies.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { finished } from 'node:stream/promises';
import { before, describe, test } from 'node:test';
import { loadCachedMailauth, type DkimVerifierStream } from '../../../src/inbound/dkim-keys.js';
import {
  fastParseHeaders,
  fastRelaxedLine,
  memoAddressParser,
  type ParsedHeaders,
  type RelaxedLineFormatter,
} from '../../../src/inbound/dkim-headers.js';
import type { DkimKey } from '../../../src/store/dkim-store.js';
import { arcSealedForward, breakArcSeal, makeKey, recordOf, txtResolver } from '../../helpers/dkim.js';
import { HEADER_PIECES, randomTexts } from '../../helpers/random-text.js';

const require = createRequire(import.meta.url);
// mailauth is CommonJS without types for its internals: the 4.13 shapes these tests use.
const tools = require('mailauth/lib/tools.js') as {
  parseHeaders(buf: Buffer): ParsedHeaders;
  formatRelaxedLine: RelaxedLineFormatter;
};
type Verifier = DkimVerifierStream & { headers: ParsedHeaders };
const { DkimVerifier } = require('mailauth/lib/dkim/dkim-verifier.js') as {
  DkimVerifier: new (options: object) => Verifier;
};
const { arc } = require('mailauth/lib/arc/index.js') as {
  arc(chain: unknown, options: object): Promise<{ info?: string; status: unknown }>;
};

const fast = fastParseHeaders(tools.parseHeaders);
/** The rows with each field's bytes as a string, for a readable comparison. */
/** `part` lies inside `whole`'s bytes (small Buffers share Node's pool, so the same .buffer alone proves nothing). */
const inside = (part: Buffer, whole: Buffer) =>
  part.buffer === whole.buffer &&
  part.byteOffset >= whole.byteOffset &&
  part.byteOffset + part.length <= whole.byteOffset + whole.length;
const rows = (h: ParsedHeaders) =>
  h.parsed.map((r) => ({ key: r.key, casedKey: r.casedKey, line: r.line.toString('latin1') }));

describe('fastParseHeaders', () => {
  test("gives mailauth's rows on random header blocks (folding, bare CR/LF, 8-bit, whitespace kinds)", () => {
    const pieces = [...HEADER_PIECES, '\r\n ', '\r\n\t', '\xa0', '\v', '\f', 'é', '\x85', '\r\n\r\n', '::'];
    let fastPath = 0;
    for (const text of randomTexts(pieces, 3000, 11)) {
      const buf = Buffer.from(text, 'latin1');
      const ours = fast(buf);
      assert.deepEqual(rows(ours), rows(tools.parseHeaders(buf)), JSON.stringify(text));
      assert.equal(ours.original, buf);
      if (ours.parsed.length > 0 && inside(ours.parsed[0]!.line, buf)) fastPath++;
    }
    // Not every text went to mailauth's parser: the comparison covered the fast path.
    assert.ok(fastPath > 500, `${fastPath} texts on the fast path`);
  });

  test('the fields are views of the header block: no string round trip, no buffer per field', async () => {
    const mailauth = loadCachedMailauth();
    const verifier = mailauth.newDkimVerifier({ resolver: txtResolver({}), sender: '' }) as Verifier;
    const done = finished(verifier);
    verifier.end(Buffer.from('From: a@x.test\r\nSubject: hi\r\n there\r\nTo: b@y.test\r\n\r\nbody\r\n'));
    await done;
    const { parsed, original } = verifier.headers;
    assert.deepEqual(
      parsed.map((r) => r.line.toString()),
      ['From: a@x.test', 'Subject: hi\r\n there', 'To: b@y.test'],
    );
    for (const r of parsed) assert.ok(inside(r.line, original), 'a view of the block');
  });
});

describe('fastRelaxedLine', () => {
  test("writes mailauth's relaxed field on random fields (names, every /\\s/ kind, line breaks, 8-bit case)", () => {
    const relaxed = fastRelaxedLine(tools.formatRelaxedLine);
    const pieces = [
      ...HEADER_PIECES,
      '\r\n ',
      '\xa0',
      '\v',
      '\f',
      'ÀÞ×ßµé',
      'DKIM-Signature',
      'b=abc; ',
      '\x85',
      '::',
    ];
    for (const text of randomTexts(pieces, 3000, 5)) {
      const buf = Buffer.from(text, 'latin1');
      for (const suffix of [undefined, '\r\n']) {
        assert.deepEqual(
          relaxed(buf, suffix).toString('latin1'),
          tools.formatRelaxedLine(buf, suffix).toString('latin1'),
          JSON.stringify([text, suffix]),
        );
      }
      // A string (the ARC sealer's) is mailauth's own business: the same result.
      assert.deepEqual(relaxed(text, '\r\n'), tools.formatRelaxedLine(text, '\r\n'));
    }
  });
});

describe('memoAddressParser', () => {
  const addressparser = createRequire(require.resolve('mailauth/lib/dkim/dkim-verifier.js'))(
    'nodemailer/lib/addressparser',
  ) as (text: string) => unknown[];

  test('parses a text once, gives what addressparser gives, frozen; bounded; long texts not kept', () => {
    let calls = 0;
    const counting = (text: string) => (calls++, addressparser(text));
    const memo = memoAddressParser(counting, 2, 40);
    const from = '"Ann, Sales" <ann@a.test>, bob@b.test';
    assert.deepEqual(memo(from), addressparser(from));
    assert.equal(memo(from), memo(from), 'the kept result');
    assert.equal(calls, 1);
    assert.ok(Object.isFrozen(memo(from)) && Object.isFrozen(memo(from)[0]));
    memo('c@c.test');
    memo('d@d.test'); // the third text: the oldest (from) goes
    memo(from);
    assert.equal(calls, 4);
    const long = `${'x'.repeat(50)}@e.test`;
    memo(long);
    memo(long);
    assert.equal(calls, 6, 'over maxLength: parsed every time');
  });

  test("the private verifier leaves addressparser, formatRelaxedLine and mailauth's header modules as they were", () => {
    const before = addressparser;
    const relaxedBefore = tools.formatRelaxedLine;
    const headerModules = () =>
      ['index.js', 'relaxed.js'].map((f) => require(`mailauth/lib/dkim/header/${f}`) as unknown);
    const modulesBefore = headerModules();
    loadCachedMailauth();
    const after = createRequire(require.resolve('mailauth/lib/dkim/dkim-verifier.js'))(
      'nodemailer/lib/addressparser',
    );
    assert.equal(after, before);
    assert.equal(tools.formatRelaxedLine, relaxedBefore);
    assert.deepEqual(headerModules(), modulesBefore);
    assert.equal(headerModules()[1], modulesBefore[1]);
  });
});

describe("verdicts with the fast header parser equal mailauth's own verifier", () => {
  let author: DkimKey;
  let forwarder: DkimKey;
  const records: Record<string, string> = {};
  before(async () => {
    author = await makeKey('keys.test', 'sel', 'rsa');
    forwarder = await makeKey('fwd.test', 'arc', 'rsa');
    for (const k of [author, forwarder]) records[recordOf(k).name] = recordOf(k).txt;
  });

  /** Everything of the outcome that depends on the header rows: verdicts, resinfo, canonical headers, From, ARC. */
  async function outcome(make: () => Verifier, check: typeof arc, message: Buffer) {
    const resolver = txtResolver(records);
    const v = make();
    const done = finished(v);
    v.end(message);
    await done;
    const chain = await check(v.arc, { resolver });
    const results = v.results as unknown as {
      status: unknown;
      info: string;
      signingDomain?: string;
      signingHeaders?: unknown;
    }[];
    return {
      results: results.map((r) => ({
        status: r.status,
        info: r.info,
        signingDomain: r.signingDomain,
        signingHeaders: r.signingHeaders,
      })),
      headerFrom: v.headerFrom,
      arc: { info: chain.info, status: chain.status },
    };
  }

  const messages = async (): Promise<[string, Buffer][]> => {
    const original = Buffer.from(
      'From: Ann <a@keys.test>\r\nTo: list@fwd.test\r\nSubject: the\r\n  minutes\r\n' +
        'Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n\r\nThe minutes.\r\n',
    );
    const { signed, sealed } = await arcSealedForward(original, author, forwarder);
    const brokenSeal = breakArcSeal(sealed);
    const forgedFrom = Buffer.from(
      signed.toString('latin1').replace('a@keys.test', 'boss@keys.test'),
      'latin1',
    );
    return [
      ['signed', signed],
      ['ARC-sealed', sealed],
      ['ARC seal broken', brokenSeal],
      ['From forged after signing', forgedFrom],
      ['unsigned', original],
      ['bare LF line ends', Buffer.from(signed.toString('latin1').replace(/\r\n/g, '\n'), 'latin1')],
    ];
  };

  test('pass, ARC pass, ARC fail, a forged From, unsigned, bare LFs: the same results and resinfo', async () => {
    const mailauth = loadCachedMailauth();
    const seen: string[] = [];
    // Twice each: the second time the From and MAIL FROM parses are the kept ones (memoAddressParser).
    for (const [name, message] of [...(await messages()), ...(await messages())]) {
      const ours = await outcome(
        () => mailauth.newDkimVerifier({ resolver: txtResolver(records), sender: 'a@keys.test' }) as Verifier,
        mailauth.arc as typeof arc,
        message,
      );
      const theirs = await outcome(
        () => new DkimVerifier({ resolver: txtResolver(records), sender: 'a@keys.test' }),
        arc,
        message,
      );
      assert.deepEqual(ours, theirs, name);
      seen.push(`${name}: ${ours.results.map((r) => r.info.split(' ')[0]).join(',')} ${ours.arc.info ?? ''}`);
    }
    // The set covers what it says: a pass, an ARC pass and fail, a failing signature.
    const all = seen.join('\n');
    assert.match(all, /^signed: dkim=pass/m);
    assert.match(all, /^ARC-sealed: dkim=pass arc=pass/m);
    assert.match(all, /^ARC seal broken: .* arc=fail/m);
    assert.match(all, /^From forged after signing: dkim=(fail|neutral)/m);
    assert.match(all, /^unsigned: dkim=none/m);
  });
});
