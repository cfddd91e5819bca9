// processRequest (RFC 8620 3): the 3.7 result-reference example, method-level errors (3.6.2), creation ids, limits, hostile rows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  processRequest,
  type JmapAccount,
  type JmapUser,
  type MethodHandler,
} from '../../../../src/jmap/core/engine.js';
import { MethodError } from '../../../../src/jmap/core/errors.js';
import { coreMethods } from '../../../../src/jmap/core/methods.js';
import { evaluatePointer } from '../../../../src/jmap/core/result-reference.js';
import type { BlobResolver } from '../../../../src/jmap/core/blobs.js';
import type { Invocation, JmapRequest } from '../../../../src/jmap/core/request.js';

const CORE = 'urn:ietf:params:jmap:core';
const MAIL = 'urn:ietf:params:jmap:mail';

function account(id: string, storeId: number, extra: Partial<JmapAccount> = {}): JmapAccount {
  return {
    id,
    storeId,
    name: id,
    isPersonal: true,
    isReadOnly: false,
    capabilities: new Set([MAIL]),
    ...extra,
  };
}

const user: JmapUser = {
  username: 'john@example.com',
  accounts: new Map([
    ['ue150411c', account('ue150411c', 1)],
    ['ro', account('ro', 2, { isReadOnly: true })],
    ['nomail', account('nomail', 3, { capabilities: new Set() })],
  ]),
};

const noBlobs: BlobResolver = { open: async () => null, copy: () => null };

/** Records what each call received, answers what the test says. */
function recording(answers: Record<string, (args: Record<string, unknown>) => Record<string, unknown>>) {
  const seen: [string, Record<string, unknown>][] = [];
  const methods = coreMethods(noBlobs);
  for (const [name, answer] of Object.entries(answers)) {
    methods.set(name, {
      capability: MAIL,
      account: name.endsWith('/set') ? 'write' : 'read',
      handle: (args) => {
        seen.push([name, args]);
        return answer(args);
      },
    });
  }
  return { seen, methods };
}

async function run(
  request: JmapRequest,
  methods: Map<string, MethodHandler>,
  limits = { maxObjectsInGet: 500, maxObjectsInSet: 500 },
  onServerFail?: (e: unknown) => void,
) {
  return processRequest(request, {
    user,
    methods,
    limits,
    sessionState: '75128aab4b1b',
    ...(onServerFail ? { onServerFail } : {}),
  });
}

describe('RFC 8620 3.7: result references, the specification example', () => {
  test('Email/query -> Email/get #ids -> Thread/get /list/*/threadId -> Email/get /list/*/emailIds (flattened)', async () => {
    const { seen, methods } = recording({
      'Email/query': () => ({
        accountId: 'ue150411c',
        queryState: '09aa9a075588-780599:0',
        canCalculateChanges: true,
        position: 0,
        total: 115,
        ids: ['Ma783e5cdf5f2deffbc97930a', 'M9bd17497e2a99cb345fc1d0a'],
      }),
      'Email/get': (args) => ({
        accountId: 'ue150411c',
        state: '780599',
        list: (args.ids as string[]).map((id) => ({
          id,
          threadId: id === 'Ma783e5cdf5f2deffbc97930a' ? 'T36703c2cfe9bd5ed' : 'T0a22ad76e9c097a1',
        })),
        notFound: [],
      }),
      'Thread/get': () => ({
        accountId: 'ue150411c',
        state: '22a8728b',
        list: [
          { id: 'T36703c2cfe9bd5ed', emailIds: ['Ma783e5cdf5f2deffbc97930a'] },
          { id: 'T0a22ad76e9c097a1', emailIds: ['M3b568670a63e5d100f518fa5', 'M9bd17497e2a99cb345fc1d0a'] },
        ],
        notFound: [],
      }),
    });
    const response = await run(
      {
        using: [CORE, MAIL],
        methodCalls: [
          [
            'Email/query',
            {
              accountId: 'ue150411c',
              filter: { inMailbox: 'fb666a55' },
              sort: [{ isAscending: false, property: 'receivedAt' }],
              collapseThreads: true,
              position: 0,
              limit: 10,
              calculateTotal: true,
            },
            't0',
          ],
          [
            'Email/get',
            {
              accountId: 'ue150411c',
              '#ids': { resultOf: 't0', name: 'Email/query', path: '/ids' },
              properties: ['threadId'],
            },
            't1',
          ],
          [
            'Thread/get',
            {
              accountId: 'ue150411c',
              '#ids': { resultOf: 't1', name: 'Email/get', path: '/list/*/threadId' },
            },
            't2',
          ],
          [
            'Email/get',
            {
              accountId: 'ue150411c',
              '#ids': { resultOf: 't2', name: 'Thread/get', path: '/list/*/emailIds' },
              properties: ['from', 'receivedAt', 'subject'],
            },
            't3',
          ],
        ],
      },
      methods,
    );
    assert.deepEqual(
      response.methodResponses.map((r) => [r[0], r[2]]),
      [
        ['Email/query', 't0'],
        ['Email/get', 't1'],
        ['Thread/get', 't2'],
        ['Email/get', 't3'],
      ],
    );
    assert.deepEqual(seen[1]![1], {
      accountId: 'ue150411c',
      ids: ['Ma783e5cdf5f2deffbc97930a', 'M9bd17497e2a99cb345fc1d0a'],
      properties: ['threadId'],
    });
    assert.deepEqual(seen[2]![1].ids, ['T36703c2cfe9bd5ed', 'T0a22ad76e9c097a1']);
    // The arrays of each thread's emailIds are concatenated, not nested (3.7 "*").
    assert.deepEqual(seen[3]![1].ids, [
      'Ma783e5cdf5f2deffbc97930a',
      'M3b568670a63e5d100f518fa5',
      'M9bd17497e2a99cb345fc1d0a',
    ]);
    assert.equal(response.sessionState, '75128aab4b1b');
    assert.equal(response.createdIds, undefined); // not in the request, not in the response (3.4)
  });
});

describe('JSON Pointer with "*" (RFC 6901, RFC 8620 3.7)', () => {
  const doc = { a: [{ b: 1 }, { b: 2 }], 'x/y': { '~': 'tilde' }, n: [[1, 2], [3]], '': 'empty' };
  const rows: [string, unknown][] = [
    ['', doc],
    ['/a/0/b', 1],
    ['/a/1', { b: 2 }],
    ['/a/*/b', [1, 2]],
    ['/x~1y/~0', 'tilde'],
    ['/n/*', [1, 2, 3]],
    ['/', 'empty'],
    ['/a/2', undefined],
    ['/a/01', undefined], // leading zero: not an index (RFC 6901 4)
    ['/a/-1', undefined],
    ['/a/*/c', undefined],
    ['a', undefined], // not a pointer
    ['/missing', undefined],
    ['/a/0/b/c', undefined], // through a number
    ['/constructor', undefined], // own properties only
    ['/__proto__', undefined],
  ];
  for (const [path, expected] of rows) {
    test(`${JSON.stringify(path)} -> ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(evaluatePointer(doc, path), expected);
    });
  }
});

describe('method-level errors (RFC 8620 3.6.2)', () => {
  const { methods } = recording({
    'Foo/get': (args) => ({ accountId: args.accountId, list: [], notFound: args.ids ?? [] }),
    'Foo/set': () => ({ created: {} }),
  });
  methods.set('Foo/fail', {
    capability: MAIL,
    handle: () => {
      throw new Error('database on fire');
    },
  });
  methods.set('Foo/refuse', {
    capability: MAIL,
    handle: () => {
      throw new MethodError('forbidden', 'not yours');
    },
  });
  const rows: [string, Invocation, string[], Record<string, unknown>][] = [
    // [what, call, using, expected error arguments]
    [
      'RFC 8620 3.6.2 example: unknownMethod',
      ['Nope/get', {}, 'c1'],
      [CORE, MAIL],
      { type: 'unknownMethod' },
    ],
    [
      'capability not in using',
      ['Foo/get', { accountId: 'ue150411c' }, 'c1'],
      [CORE],
      { type: 'unknownMethod' },
    ],
    ['accountId missing', ['Foo/get', {}, 'c1'], [CORE, MAIL], { type: 'invalidArguments' }],
    ['accountId a number', ['Foo/get', { accountId: 1 }, 'c1'], [CORE, MAIL], { type: 'invalidArguments' }],
    [
      "someone else's account",
      ['Foo/get', { accountId: 'A999' }, 'c1'],
      [CORE, MAIL],
      { type: 'accountNotFound' },
    ],
    [
      'account without the capability',
      ['Foo/get', { accountId: 'nomail' }, 'c1'],
      [CORE, MAIL],
      { type: 'accountNotSupportedByMethod' },
    ],
    [
      'write to a read-only account',
      ['Foo/set', { accountId: 'ro' }, 'c1'],
      [CORE, MAIL],
      { type: 'accountReadOnly' },
    ],
    [
      'both ids and #ids',
      ['Foo/get', { accountId: 'ue150411c', ids: [], '#ids': { resultOf: 'x', name: 'y', path: '' } }, 'c1'],
      [CORE, MAIL],
      { type: 'invalidArguments' },
    ],
    [
      '#ids not a ResultReference',
      ['Foo/get', { accountId: 'ue150411c', '#ids': 'c0' }, 'c1'],
      [CORE, MAIL],
      { type: 'invalidArguments' },
    ],
    [
      'reference to a call that never ran',
      [
        'Foo/get',
        { accountId: 'ue150411c', '#ids': { resultOf: 'c9', name: 'Foo/get', path: '/ids' } },
        'c1',
      ],
      [CORE, MAIL],
      { type: 'invalidResultReference' },
    ],
    [
      'reference to itself (no loops: only earlier responses count)',
      [
        'Foo/get',
        { accountId: 'ue150411c', '#ids': { resultOf: 'c1', name: 'Foo/get', path: '/ids' } },
        'c1',
      ],
      [CORE, MAIL],
      { type: 'invalidResultReference' },
    ],
    [
      '501 ids: requestTooLarge (maxObjectsInGet)',
      ['Foo/get', { accountId: 'ue150411c', ids: Array.from({ length: 501 }, (_, i) => `i${i}`) }, 'c1'],
      [CORE, MAIL],
      { type: 'requestTooLarge' },
    ],
    [
      '10,000 ids in one get',
      ['Foo/get', { accountId: 'ue150411c', ids: Array.from({ length: 10_000 }, (_, i) => `i${i}`) }, 'c1'],
      [CORE, MAIL],
      { type: 'requestTooLarge' },
    ],
    [
      '300 creates + 201 destroys: requestTooLarge (maxObjectsInSet)',
      [
        'Foo/set',
        {
          accountId: 'ue150411c',
          create: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, {}])),
          destroy: Array.from({ length: 201 }, (_, i) => `d${i}`),
        },
        'c1',
      ],
      [CORE, MAIL],
      { type: 'requestTooLarge' },
    ],
    ['a handler that throws: serverFail', ['Foo/fail', {}, 'c1'], [CORE, MAIL], { type: 'serverFail' }],
    ['a handler MethodError', ['Foo/refuse', {}, 'c1'], [CORE, MAIL], { type: 'forbidden' }],
  ];
  for (const [what, call, using, expected] of rows) {
    test(what, async () => {
      const failures: unknown[] = [];
      const response = await run({ using, methodCalls: [call] }, methods, undefined, (e) => failures.push(e));
      assert.equal(response.methodResponses.length, 1);
      const [name, args, id] = response.methodResponses[0]!;
      assert.equal(name, 'error');
      assert.equal(id, 'c1');
      assert.equal(args.type, expected.type, JSON.stringify(args));
      assert.equal(failures.length, expected.type === 'serverFail' ? 1 : 0);
    });
  }

  test('an error in one call does not stop the next; a reference to an error response is invalidResultReference', async () => {
    const response = await run(
      {
        using: [CORE, MAIL],
        methodCalls: [
          ['Nope/get', {}, 'a'],
          ['Core/echo', { ok: 1 }, 'b'],
          ['Core/echo', { '#x': { resultOf: 'a', name: 'Nope/get', path: '' } }, 'c'],
        ],
      },
      methods,
    );
    assert.deepEqual(
      response.methodResponses.map((r) => [r[0], r[1].type ?? null]),
      [
        ['error', 'unknownMethod'],
        ['Core/echo', null],
        ['error', 'invalidResultReference'],
      ],
    );
  });
});

describe('creation ids (RFC 8620 3.3, 5.3)', () => {
  test('#creationId resolves to the id created earlier in the request or given in createdIds; createdIds come back', async () => {
    const methods = coreMethods(noBlobs);
    methods.set('Foo/set', {
      capability: MAIL,
      account: 'write',
      handle: (args, ctx) => {
        const created: Record<string, unknown> = {};
        for (const key of Object.keys((args.create as object) ?? {})) {
          ctx.addCreatedId(key, `id-${key}`);
          created[key] = { id: `id-${key}` };
        }
        return { created };
      },
    });
    methods.set('Foo/resolve', {
      capability: MAIL,
      handle: (args, ctx) => ({ resolved: (args.ids as string[]).map((id) => ctx.resolveId(id)) }),
    });
    const response = await run(
      {
        using: [CORE, MAIL],
        createdIds: { old: 'id-old' },
        methodCalls: [
          ['Foo/set', { accountId: 'ue150411c', create: { k1: {} } }, '0'],
          ['Foo/resolve', { ids: ['#k1', '#old', '#nope', 'plain'] }, '1'],
        ],
      },
      methods,
    );
    assert.deepEqual(response.methodResponses[1], [
      'Foo/resolve',
      { resolved: ['id-k1', 'id-old', null, 'plain'] },
      '1',
    ]);
    assert.deepEqual(response.createdIds, { old: 'id-old', k1: 'id-k1' });
  });

  test('follow-up responses share the call id and come right after it (implicit calls)', async () => {
    const methods = coreMethods(noBlobs);
    methods.set('Foo/submit', {
      capability: MAIL,
      handle: (_args, ctx) => {
        ctx.followUp('Foo/set', { updated: {} });
        return { created: {} };
      },
    });
    const response = await run(
      {
        using: [CORE, MAIL],
        methodCalls: [
          ['Foo/submit', {}, 's'],
          ['Core/echo', {}, 'e'],
        ],
      },
      methods,
    );
    assert.deepEqual(
      response.methodResponses.map((r) => [r[0], r[2]]),
      [
        ['Foo/submit', 's'],
        ['Foo/set', 's'],
        ['Core/echo', 'e'],
      ],
    );
  });
});

describe('hostile references', () => {
  test('references that double the data every call hit the budget instead of memory', async () => {
    const methods = coreMethods(noBlobs);
    const calls: Invocation[] = [['Core/echo', { seed: 'x'.repeat(1000) }, 'c0']];
    for (let i = 1; i < 32; i++) {
      const ref = { resultOf: `c${i - 1}`, name: 'Core/echo', path: '' };
      calls.push(['Core/echo', { '#a': ref, '#b': ref }, `c${i}`]);
    }
    const response = await run({ using: [CORE], methodCalls: calls }, methods);
    const errors = response.methodResponses.filter((r) => r[0] === 'error');
    assert.ok(errors.length > 0);
    assert.equal(errors[0]![1].type, 'invalidResultReference');
    assert.ok(JSON.stringify(response).length < 100 * 1024 * 1024);
  });

  test('Core/echo returns its arguments (RFC 8620 4, the example)', async () => {
    const response = await run(
      { using: [CORE], methodCalls: [['Core/echo', { hello: true, high: 5 }, 'b3ff']] },
      coreMethods(noBlobs),
    );
    assert.deepEqual(response.methodResponses, [['Core/echo', { hello: true, high: 5 }, 'b3ff']]);
  });
});
