// Recipient routing, table-driven over a small in-memory fake of the Store's address tables.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter, type RouterStore } from '../../../src/delivery/router.js';
import { normalizeAddress, splitAddress } from '../../../src/delivery/aliases.js';
import type { Account, AccountState, Alias } from '../../../src/store/store.js';
import type { RouteResult } from '../../../src/smtp/server/services.js';
import { countSetsMade } from '../../helpers/count-sets.js';

function fakeStore(
  domains: string[],
  accounts: string[],
  aliases: Record<string, string[]>,
  states: Record<string, AccountState> = {},
): RouterStore {
  const rows: Account[] = accounts.map((address, i) => ({
    id: i + 1,
    address,
    passwordHash: '',
    createdAt: new Date(0),
    state: states[address] ?? 'active',
    lastLoginAt: null,
  }));
  return {
    isLocalDomain: (d) => domains.includes(d),
    listDomains: () => [...domains],
    getAccount: (a) => rows.find((r) => r.address === a) ?? null,
    listAccounts: () => [...rows],
    getAlias: (source): Alias | null => (aliases[source] ? { source, targets: aliases[source]! } : null),
  };
}

// ids: alice=1, bob=2, carol=3, dave@other.test=4, paused=5 (disabled), kept=6 (removed --keep-mail)
const store = fakeStore(
  ['example.test', 'other.test', 'empty.test', 'mx.example.test', 'loop.test'],
  [
    'alice@example.test',
    'bob@example.test',
    'carol@example.test',
    'dave@other.test',
    'paused@example.test',
    'kept@example.test',
  ],
  {
    'ring-a@example.test': ['ring-b@example.test'],
    'ring-b@example.test': ['ring-a@example.test'],
    'to-kept@example.test': ['kept@example.test'],
    // A catch-all that targets an unknown address of its own domain comes back to itself.
    '@loop.test': ['nobody@loop.test'],
    'team@example.test': ['alice@example.test', 'Bob@EXAMPLE.test', 'alice@example.test'],
    'fwd@example.test': ['someone@remote.example', 'SomeOne@Remote.Example', 'carol@example.test'],
    'nested@example.test': ['team@example.test', 'fwd@example.test'],
    'loop-a@example.test': ['loop-b@example.test', 'carol@example.test'],
    'loop-b@example.test': ['loop-a@example.test', 'bob@example.test'],
    'self@example.test': ['self@example.test'],
    'stale@example.test': ['gone@example.test'],
    'sales@example.test': ['bob@example.test'],
    '@other.test': ['dave@other.test'],
    'postmaster@other.test': ['alice@example.test'],
    ...Object.fromEntries(
      Array.from({ length: 15 }, (_, i) => [`deep${i}@example.test`, [`deep${i + 1}@example.test`]]),
    ),
    'deep15@example.test': ['alice@example.test'],
  },
  { 'paused@example.test': 'disabled', 'kept@example.test': 'removed' },
);
const route = createRouter(store, { hostname: 'mx.example.test' });

const accept = (local: number[], remote: string[] = []): RouteResult => ({
  kind: 'accept',
  local: local.map((accountId) => ({ accountId })),
  remote,
});
const forwarded = (local: number[], remote: string[]): RouteResult => ({
  kind: 'accept',
  local: local.map((accountId) => ({ accountId })),
  remote,
  forwardedBy: 'example.test',
});
const UNKNOWN: RouteResult = { kind: 'unknown-user' };
const loop = (...chain: string[]): RouteResult => ({ kind: 'routing-loop', loop: chain });
const DENIED: RouteResult = { kind: 'relay-denied' };

const rows: [string, string, string | null, RouteResult][] = [
  // RFC 5321 2.4: the domain part is case-insensitive; we fold local parts too.
  ['exact account', 'alice@example.test', null, accept([1])],
  ['domain case folded', 'alice@EXAMPLE.Test', null, accept([1])],
  ['local part case folded', 'ALICE@example.test', null, accept([1])],
  ['unknown local user', 'nobody@example.test', null, UNKNOWN],
  // RFC 5321 3.6.2: no open relay; authenticated users may send anywhere.
  ['remote, unauthenticated', 'x@remote.example', null, DENIED],
  ['remote, authenticated', 'X@Remote.Example', 'alice@example.test', accept([], ['X@remote.example'])],
  ['alias fans out, de-duplicated', 'team@example.test', null, accept([1, 2])],
  // forwardedBy: the alias domain, where SRS rewrites a foreign sender (issue 10).
  ['alias with remote targets', 'fwd@example.test', null, forwarded([3], ['someone@remote.example'])],
  ['alias of aliases', 'nested@example.test', null, forwarded([1, 2, 3], ['someone@remote.example'])],
  ['alias loop delivers each once and stops', 'loop-a@example.test', null, accept([2, 3])],
  // RFC 5321 6.3 / RFC 3463 X.4.6: a loop that reaches nobody is a routing loop (554 5.4.6), not 550 5.1.1.
  [
    'self-loop only: nothing deliverable',
    'self@example.test',
    null,
    loop('self@example.test', 'self@example.test'),
  ],
  [
    'two aliases pointing at each other only',
    'ring-a@example.test',
    null,
    loop('ring-a@example.test', 'ring-b@example.test', 'ring-a@example.test'),
  ],
  ['a loop through the catch-all', 'anyone@loop.test', null, loop('@loop.test', '@loop.test')],
  ['postmaster is accepted even under a looping catch-all', 'postmaster@loop.test', null, accept([1])],
  // user disable: mail is still accepted; user remove --keep-mail: the address is unknown.
  ['disabled account still receives', 'paused@example.test', null, accept([5])],
  ['removed (mail kept) account receives nothing', 'kept@example.test', null, UNKNOWN],
  ['alias to a removed account', 'to-kept@example.test', null, UNKNOWN],
  ['alias to a missing account', 'stale@example.test', null, UNKNOWN],
  ['depth limit drops a too-deep chain', 'deep0@example.test', null, UNKNOWN],
  ['a chain within the depth limit', 'deep8@example.test', null, accept([1])],
  ['plus-addressing to an account', 'alice+lists@example.test', null, accept([1])],
  ['plus-addressing to an alias', 'sales+web@example.test', null, accept([2])],
  ['plus with unknown base', 'zed+x@example.test', null, UNKNOWN],
  ['exact beats plus', 'team+x@example.test', null, accept([1, 2])],
  ['catch-all', 'anything@other.test', null, accept([4])],
  ['account beats catch-all', 'dave@other.test', null, accept([4])],
  // RFC 5321 4.5.1: postmaster always works.
  ['postmaster alias wins', 'postmaster@other.test', null, accept([1])],
  ['postmaster fallback: oldest account of the domain', 'Postmaster@example.test', null, accept([1])],
  [
    'postmaster of a domain without accounts: oldest local account',
    'postmaster@empty.test',
    null,
    accept([1]),
  ],
  ['bare postmaster (hostname is local)', 'Postmaster', null, accept([1])],
  ['bare non-postmaster', 'alice', null, UNKNOWN],
  // Hostile and odd rows.
  ['address literal is never local', 'alice@[127.0.0.1]', null, DENIED],
  [
    'address literal, authenticated',
    'alice@[127.0.0.1]',
    'bob@example.test',
    accept([], ['alice@[127.0.0.1]']),
  ],
  ['empty', '', null, UNKNOWN],
  ['only @', '@', null, UNKNOWN],
  ['empty local part', '@example.test', null, UNKNOWN],
  ['trailing @', 'alice@', null, UNKNOWN],
  ['quoted local part with @', '"a@b"@example.test', null, UNKNOWN],
  ['plus at the start is not plus-addressing', '+alice@example.test', null, UNKNOWN],
];

describe('routeRecipient', () => {
  for (const [name, address, auth, expected] of rows) {
    test(`${name}: ${JSON.stringify(address)}`, () => assert.deepEqual(route(address, auth), expected));
  }

  test('postmaster with no accounts anywhere is unknown (nowhere to put it)', () => {
    const bare = createRouter(fakeStore(['example.test'], [], {}), { hostname: 'mx.example.test' });
    assert.deepEqual(bare('postmaster@example.test', null), UNKNOWN);
    assert.deepEqual(bare('postmaster', null), UNKNOWN);
  });

  test('the store is read per call: a new account is routable at once', () => {
    const accounts: string[] = [];
    const live = fakeStore(['example.test'], accounts, {});
    const r = createRouter(
      {
        ...live,
        getAccount: (a) =>
          accounts.includes(a)
            ? {
                id: 9,
                address: a,
                passwordHash: '',
                createdAt: new Date(0),
                state: 'active',
                lastLoginAt: null,
              }
            : null,
      },
      { hostname: 'mx.example.test' },
    );
    assert.deepEqual(r('new@example.test', null), UNKNOWN);
    accounts.push('new@example.test');
    assert.deepEqual(r('new@example.test', null), accept([9]));
  });
});

describe('address helpers', () => {
  test('splitAddress splits at the last @ and folds the domain', () => {
    assert.deepEqual(splitAddress('"a@b"@Example.TEST'), { local: '"a@b"', domain: 'example.test' });
    assert.equal(splitAddress('nodomain'), null);
  });
  test('normalizeAddress folds both parts', () => {
    assert.equal(normalizeAddress('Alice@Example.Test'), 'alice@example.test');
    assert.equal(normalizeAddress('@x'), null);
  });
});

describe('the per-RCPT cost of an account address', () => {
  test("an account hit (exact or plus-addressed) resolves without building the alias walk's Sets", async () => {
    const route = createRouter(store, { hostname: 'mx.example.test' });
    const { made, result: results } = await countSetsMade(() => [
      route('Alice@Example.TEST', null),
      route('bob+news@example.test', null),
    ]);
    // One RCPT each at load (a); the walk made three Sets per address (seen accounts, seen remotes, the path).
    assert.equal(made, 0);
    assert.deepEqual(results, [
      { kind: 'accept', local: [{ accountId: 1 }], remote: [] },
      { kind: 'accept', local: [{ accountId: 2 }], remote: [] },
    ]);
  });
});
