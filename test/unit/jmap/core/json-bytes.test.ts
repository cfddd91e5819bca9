// writeJson: byte for byte JSON.stringify's text, the bytes of memoized objects reused, the buffer grown when needed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteSink, isMemoizedJson, memoizeJson, writeJson } from '../../../../src/jmap/core/json-bytes.js';
import { mailBench, type MailBench } from '../../../helpers/jmap-mail.js';

const written = (value: unknown, size = 64 * 1024): { text: string; sink: ByteSink } => {
  const sink = new ByteSink(new ArrayBuffer(size));
  writeJson(value, sink);
  return { text: Buffer.from(sink.view()).toString('utf8'), sink };
};

describe('writeJson', () => {
  const rows: [string, unknown][] = [
    [
      'a JMAP Response',
      {
        methodResponses: [
          ['Email/query', { accountId: 'a1', ids: ['e1', 'e2'], position: 0, total: 2 }, 'q'],
          [
            'Email/get',
            { accountId: 'a1', state: '7', list: [{ id: 'e1', subject: 'é €  😀' }], notFound: [] },
            'g',
          ],
        ],
        sessionState: 's',
      },
    ],
    [
      'undefined, functions and symbols left out of objects, null in arrays',
      {
        a: undefined,
        b: () => 1,
        c: Symbol('x'),
        d: [{ x: 1 }, undefined, () => 2, Symbol('y')],
        e: 1,
      },
    ],
    [
      'a Date and a class instance (toJSON, prototypes)',
      { at: new Date(0), m: new Map([[1, 2]]), s: [new String('x')] },
    ],
    ['non-finite numbers, -0, nested empties', { n: [{ a: NaN }, Infinity, -0], o: {}, l: [] }],
    ['deeper than the walk', [[[[[[[{ x: [{ y: 'z' }] }]]]]]]]],
    [
      'lone surrogates and control characters',
      { s: '\ud800\u0000\u001f"\\\u2028', [`k\ud83d`]: [{ '': 1 }] },
    ],
    ['an object with a null prototype', [Object.assign(Object.create(null) as object, { a: 1 })]],
  ];
  for (const [name, value] of rows) {
    test(name, () => assert.equal(written(value).text, JSON.stringify(value)));
  }

  test('any JSON value, memoized or not, is written as JSON.stringify writes it', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 7 }), fc.boolean(), (value, memoize) => {
        if (memoize && typeof value === 'object' && value !== null) memoizeJson(value);
        assert.equal(written(value).text, JSON.stringify(value));
        // A memoized value a second time: the same text.
        assert.equal(written({ l: [value] }).text, JSON.stringify({ l: [value] }));
      }),
      { numRuns: 300 },
    );
  });

  test("a memoized object's bytes are encoded once and reused (its owner promised never to change it)", () => {
    const email = { id: 'e1', subject: 'first' };
    memoizeJson(email);
    const response = { methodResponses: [['Email/get', { list: [email] }, 'g']], sessionState: 's' };
    assert.equal(written(response).text, JSON.stringify(response));
    email.subject = 'changed';
    assert.match(written(response).text, /"subject":"first"/, 'the bytes of the first write');
    const other = { id: 'e1', subject: 'changed' };
    assert.match(written({ methodResponses: [['Email/get', { list: [other] }, 'g']] }).text, /changed/);
  });

  test('an answer larger than the given buffer grows into a new one; a fitting one stays in it', () => {
    const small = written({ a: 'x'.repeat(10) }, 64);
    assert.equal(small.sink.grown, false);
    assert.equal(small.sink.view().buffer.byteLength, 64);
    const big = { a: 'é'.repeat(100), list: [{ b: '😀'.repeat(50) }, { c: 'y'.repeat(300) }] };
    const grown = written(big, 64);
    assert.equal(grown.sink.grown, true);
    assert.equal(grown.text, JSON.stringify(big));
  });

  test('a cycle or a BigInt throws, as JSON.stringify does', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => written({ methodResponses: [['x', { deep: { deeper: [{ c: cyclic }] } }, 'c']] }));
    assert.throws(() => written({ n: 1n }), TypeError);
  });
});

describe('Email/get memoizes the Emails it keeps by state', () => {
  let bench: MailBench;
  before(async () => {
    bench = await mailBench();
    await bench.add('INBOX', 'Subject: one\n\nbody\n');
  });
  after(() => bench.close());

  test('the listed objects of kept properties are memoized; those of body properties are not', async () => {
    const get = async (properties: string[]) => {
      const [q] = await bench.call([
        ['Email/query', { accountId: bench.accountId, filter: { inMailbox: bench.box('INBOX') } }, 'q'],
      ]);
      const ids = q![1].ids as string[];
      const [g] = await bench.call([['Email/get', { accountId: bench.accountId, ids, properties }, 'g']]);
      return g![1].list as object[];
    };
    const kept = await get(['subject', 'keywords', 'preview', 'receivedAt']);
    assert.equal(kept.length, 1);
    assert.ok(kept.every(isMemoizedJson));
    const body = await get(['subject', 'bodyValues']);
    assert.ok(!body.some(isMemoizedJson), 'body values are computed each time: never memoized');
  });
});
