// JMAP over WebSocket (RFC 8887), the pure parts: client messages, the objects sent back, pushState tokens.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JmapRequestError } from '../../../../src/jmap/core/errors.js';
import {
  changedSince,
  decodePushState,
  encodePushState,
  parseClientMessage,
  requestErrorMessage,
  responseMessage,
  stateChangeMessage,
} from '../../../../src/jmap/core/websocket.js';

const OPTIONS = { capabilities: new Set(['urn:ietf:params:jmap:core']), maxCallsInRequest: 2 };
const parse = (value: unknown) =>
  parseClientMessage(typeof value === 'string' ? value : JSON.stringify(value), OPTIONS);

describe('client messages (RFC 8887 4.3)', () => {
  test('4.3.3 Request with an id', () => {
    const m = parse({
      '@type': 'Request',
      id: 'R1',
      using: ['urn:ietf:params:jmap:core'],
      methodCalls: [['Core/echo', {}, 'c']],
    });
    assert.deepEqual(m, {
      kind: 'request',
      requestId: 'R1',
      request: { using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', {}, 'c']] },
    });
  });
  test('4.3.5.2 WebSocketPushEnable / Disable', () => {
    const m = parse({ '@type': 'WebSocketPushEnable', dataTypes: ['Email'], pushState: 'abc' });
    assert.equal(m.kind, 'pushEnable');
    assert.deepEqual(m.kind === 'pushEnable' && [...m.dataTypes!], ['Email']);
    assert.equal(m.kind === 'pushEnable' && m.pushState, 'abc');
    assert.deepEqual(parse({ '@type': 'WebSocketPushEnable', dataTypes: null }), {
      kind: 'pushEnable',
      dataTypes: null,
      pushState: null,
    });
    assert.deepEqual(parse({ '@type': 'WebSocketPushDisable' }), { kind: 'pushDisable' });
  });
  const errors: [string, unknown, string, string | undefined][] = [
    ['not JSON', '{', 'notJSON', undefined],
    ['an array', '[]', 'notRequest', undefined],
    ['no @type', { id: 'a' }, 'notRequest', 'a'],
    ['unknown @type', { '@type': 'Response', id: 'a' }, 'notRequest', 'a'],
    ['id not a string', { '@type': 'Request', id: 5, using: [], methodCalls: [] }, 'notRequest', undefined],
    [
      'unknown capability',
      { '@type': 'Request', id: 'b', using: ['urn:x'], methodCalls: [] },
      'unknownCapability',
      'b',
    ],
    [
      'too many calls',
      {
        '@type': 'Request',
        id: 'c',
        using: [],
        methodCalls: [
          ['a', {}, '1'],
          ['a', {}, '2'],
          ['a', {}, '3'],
        ],
      },
      'limit',
      'c',
    ],
    ['dataTypes not a list', { '@type': 'WebSocketPushEnable', dataTypes: 'Email' }, 'notRequest', undefined],
    [
      'pushState not a string',
      { '@type': 'WebSocketPushEnable', dataTypes: null, pushState: 1 },
      'notRequest',
      undefined,
    ],
    ['deeply nested', '['.repeat(5000) + ']'.repeat(5000), 'notRequest', undefined],
  ];
  for (const [name, value, type, requestId] of errors) {
    test(`RequestError: ${name}`, () => {
      const m = parse(value);
      assert.equal(m.kind, 'error');
      assert.equal(m.kind === 'error' && m.error.type, type);
      assert.equal(m.kind === 'error' && m.requestId, requestId);
    });
  }
});

describe('server messages', () => {
  test('Response and RequestError carry @type and requestId (RFC 8887 4.3.3, 4.3.4)', () => {
    assert.deepEqual(JSON.parse(responseMessage({ methodResponses: [], sessionState: 's' }, 'R1')), {
      '@type': 'Response',
      requestId: 'R1',
      methodResponses: [],
      sessionState: 's',
    });
    assert.deepEqual(
      JSON.parse(requestErrorMessage(new JmapRequestError('notJSON', 400, 'bad'), undefined)),
      {
        '@type': 'RequestError',
        type: 'urn:ietf:params:jmap:error:notJSON',
        status: 400,
        detail: 'bad',
      },
    );
    assert.deepEqual(JSON.parse(stateChangeMessage({ A1: { Email: 'e1' } }, 'p')), {
      '@type': 'StateChange',
      changed: { A1: { Email: 'e1' } },
      pushState: 'p',
    });
  });

  test('pushState round-trips; a foreign or hostile token counts as "everything changed"', () => {
    const states = { A1: { Email: 'e1', Mailbox: 'm1' } };
    assert.deepEqual(decodePushState(encodePushState(states)), states);
    for (const bad of [
      '',
      '***',
      'x'.repeat(9000),
      Buffer.from('[1]').toString('base64url'),
      Buffer.from('{"A1":{"Email":1}}').toString('base64url'),
    ]) {
      assert.equal(decodePushState(bad), null, bad.slice(0, 20));
    }
    assert.deepEqual(
      changedSince({ A1: { Email: 'e1', Mailbox: 'm1' } }, { A1: { Email: 'e2', Mailbox: 'm1' } }),
      {
        A1: { Email: 'e2' },
      },
    );
    assert.deepEqual(changedSince(null, states), states);
    assert.deepEqual(changedSince(states, states), {});
  });
});
