// The session resource (RFC 8620 2): account ids, the object's fields, relative URLs, a state that follows its content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JMAP_CORE_LIMITS } from '../../../../src/config/limits.js';
import {
  accountIdOf,
  buildSession,
  coreCapability,
  isSupportedCollation,
  sessionStateOf,
  storeIdOf,
  userOfAccount,
  type CapabilitySpec,
} from '../../../../src/jmap/core/session.js';

test('accountIds are derived from the store id and parsed back; anything else is not ours', () => {
  assert.equal(accountIdOf(42), 'A42');
  assert.equal(storeIdOf('A42'), 42);
  for (const bad of ['A0', 'A042', 'a42', '42', 'A', 'A1x', 'A1234567890123456'])
    assert.equal(storeIdOf(bad), null, bad);
});

test('the session object: core limits, the one account, primary accounts of data capabilities, URLs, state', () => {
  const mail: CapabilitySpec = {
    urn: 'urn:ietf:params:jmap:mail',
    session: {},
    account: () => ({ maxMailboxDepth: 10 }),
  };
  const caps = [coreCapability(JMAP_CORE_LIMITS), mail];
  const user = userOfAccount({ id: 3, address: 'bob@example.test' }, caps);
  const session = buildSession(user, caps, '');
  assert.deepEqual(session, {
    capabilities: {
      'urn:ietf:params:jmap:core': {
        ...JMAP_CORE_LIMITS,
        collationAlgorithms: ['i;ascii-numeric', 'i;ascii-casemap', 'i;unicode-casemap'],
      },
      'urn:ietf:params:jmap:mail': {},
    },
    accounts: {
      A3: {
        name: 'bob@example.test',
        isPersonal: true,
        isReadOnly: false,
        accountCapabilities: { 'urn:ietf:params:jmap:mail': { maxMailboxDepth: 10 } },
      },
    },
    primaryAccounts: { 'urn:ietf:params:jmap:mail': 'A3' },
    username: 'bob@example.test',
    apiUrl: '/jmap/api',
    downloadUrl: '/jmap/download/{accountId}/{blobId}/{name}?accept={type}',
    uploadUrl: '/jmap/upload/{accountId}/',
    eventSourceUrl: '/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}',
    state: sessionStateOf(user, caps),
  });
});

test('the state changes when the session does, not with the URL base', () => {
  const core = [coreCapability(JMAP_CORE_LIMITS)];
  const bob = userOfAccount({ id: 3, address: 'bob@example.test' }, core);
  const a = buildSession(bob, core, 'http://127.0.0.1:8080');
  const b = buildSession(bob, core, 'https://mail.example.test');
  assert.equal(a.state, b.state);
  const other = buildSession(userOfAccount({ id: 4, address: 'bob@example.test' }, core), core, '');
  assert.notEqual(a.state, other.state);
  const fewer = buildSession(bob, [coreCapability({ ...JMAP_CORE_LIMITS, maxCallsInRequest: 1 })], '');
  assert.notEqual(a.state, fewer.state);
});

test('collations: the advertised ones are supported, others not', () => {
  assert.ok(isSupportedCollation('i;unicode-casemap'));
  assert.ok(!isSupportedCollation('i;octet'));
});
