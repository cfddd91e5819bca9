// parseRequest (RFC 8620 3.3, 3.6.1): the RFC's request first, then every request-level error and hostile bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JMAP_MAX_JSON_DEPTH } from '../../../../src/config/limits.js';
import { JmapRequestError } from '../../../../src/jmap/core/errors.js';
import { parseRequest, type JmapRequest } from '../../../../src/jmap/core/request.js';

const CAPS = new Set(['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail']);
const options = { capabilities: CAPS, maxCallsInRequest: 32 };
const JSON_TYPE = 'application/json';

function parse(body: string | Uint8Array, type: string | undefined): JmapRequest | JmapRequestError {
  try {
    return parseRequest(typeof body === 'string' ? Buffer.from(body) : body, type, options);
  } catch (error) {
    if (error instanceof JmapRequestError) return error;
    throw error;
  }
}

test('RFC 8620 3.3.1: the example request parses as written', () => {
  const body = JSON.stringify({
    using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
    methodCalls: [
      ['method1', { arg1: 'arg1data', arg2: 'arg2data' }, 'c1'],
      ['method2', { arg1: 'arg1data' }, 'c2'],
      ['method3', {}, 'c3'],
    ],
  });
  assert.deepEqual(parse(body, JSON_TYPE), {
    using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
    methodCalls: [
      ['method1', { arg1: 'arg1data', arg2: 'arg2data' }, 'c1'],
      ['method2', { arg1: 'arg1data' }, 'c2'],
      ['method3', {}, 'c3'],
    ],
  });
});

test('createdIds is kept when given (RFC 8620 3.3), and application/json may carry parameters', () => {
  const r = parse(
    '{"using":[],"methodCalls":[],"createdIds":{"k1":"M1"}}',
    'Application/JSON; charset=utf-8',
  );
  assert.deepEqual(r, { using: [], methodCalls: [], createdIds: { k1: 'M1' } });
});

const errorRows: [string, string | Uint8Array, string | undefined, string, number, string?][] = [
  // [what, body, content type, type, status, limit]
  ['not application/json', '{"using":[],"methodCalls":[]}', 'text/plain', 'notJSON', 400],
  ['no content type', '{"using":[],"methodCalls":[]}', undefined, 'notJSON', 400],
  ['truncated JSON', '{"using": [', JSON_TYPE, 'notJSON', 400],
  ['empty body', '', JSON_TYPE, 'notJSON', 400],
  [
    'invalid UTF-8 (I-JSON, RFC 7493 2.1)',
    new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    JSON_TYPE,
    'notJSON',
    400,
  ],
  ['an array', '[]', JSON_TYPE, 'notRequest', 400],
  ['null', 'null', JSON_TYPE, 'notRequest', 400],
  ['no using', '{"methodCalls":[]}', JSON_TYPE, 'notRequest', 400],
  ['using not strings', '{"using":[1],"methodCalls":[]}', JSON_TYPE, 'notRequest', 400],
  ['no methodCalls', '{"using":[]}', JSON_TYPE, 'notRequest', 400],
  ['a call with two parts', '{"using":[],"methodCalls":[["Core/echo",{}]]}', JSON_TYPE, 'notRequest', 400],
  ['arguments an array', '{"using":[],"methodCalls":[["Core/echo",[],"c"]]}', JSON_TYPE, 'notRequest', 400],
  ['call id a number', '{"using":[],"methodCalls":[["Core/echo",{},1]]}', JSON_TYPE, 'notRequest', 400],
  [
    'createdIds with a number',
    '{"using":[],"methodCalls":[],"createdIds":{"a":1}}',
    JSON_TYPE,
    'notRequest',
    400,
  ],
  [
    'RFC 8620 3.6.1: an unknown capability',
    '{"using":["urn:ietf:params:jmap:core","https://example.com/apis/foobar"],"methodCalls":[]}',
    JSON_TYPE,
    'unknownCapability',
    400,
  ],
  [
    '10,000 method calls',
    JSON.stringify({
      using: [],
      methodCalls: Array.from({ length: 10_000 }, (_, i) => ['Core/echo', {}, `${i}`]),
    }),
    JSON_TYPE,
    'limit',
    400,
    'maxCallsInRequest',
  ],
  [
    '33 calls of garbage are refused by count before their shape is looked at',
    JSON.stringify({ using: [], methodCalls: Array.from({ length: 33 }, () => 7) }),
    JSON_TYPE,
    'limit',
    400,
    'maxCallsInRequest',
  ],
  [
    `nested deeper than ${JMAP_MAX_JSON_DEPTH}`,
    `{"using":[],"methodCalls":[["Core/echo",{"a":${'['.repeat(JMAP_MAX_JSON_DEPTH)}${']'.repeat(JMAP_MAX_JSON_DEPTH)}},"c"]]}`,
    JSON_TYPE,
    'notRequest',
    400,
  ],
  [
    'a million nested arrays (no stack overflow)',
    '['.repeat(1_000_000) + ']'.repeat(1_000_000),
    JSON_TYPE,
    'notRequest',
    400,
  ],
];

for (const [what, body, type, errorType, status, limit] of errorRows) {
  test(`request-level error: ${what} -> ${errorType}`, () => {
    const r = parse(body, type);
    assert.ok(r instanceof JmapRequestError, `expected an error, got ${JSON.stringify(r).slice(0, 80)}`);
    const problem = r.toProblem();
    assert.equal(problem.type, `urn:ietf:params:jmap:error:${errorType}`);
    assert.equal(problem.status, status);
    assert.equal(problem.limit, limit);
  });
}

test('nesting exactly at the limit is accepted', () => {
  const depth = JMAP_MAX_JSON_DEPTH - 4; // request object, methodCalls array, call array, args object
  const body = `{"using":[],"methodCalls":[["Core/echo",{"a":${'['.repeat(depth)}${']'.repeat(depth)}},"c"]]}`;
  assert.ok(!(parse(body, JSON_TYPE) instanceof JmapRequestError));
});
