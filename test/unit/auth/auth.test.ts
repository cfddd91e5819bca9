// Password hashing, the authenticator (no enumeration, growing delays) and its cache; the limiter is in failure-limiter.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../../src/auth/password-hash.js';
import { createAuthenticator } from '../../../src/auth/authenticator.js';
import { VerifiedCache } from '../../../src/auth/verified-cache.js';
import type { Account } from '../../../src/store/store.js';

// Cheap parameters so the suite stays fast; the production ones are exercised once below.
const FAST = { N: 1 << 10, r: 8, p: 1, keyLength: 32, saltLength: 16 };

describe('password-hash', () => {
  test('production parameters: self-describing string that verifies', async () => {
    const hash = await hashPassword('correct horse');
    assert.match(hash, /^\$scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('correct horsE', hash), false);
  });

  test('random salt: the same password hashes differently; an injected salt is exact', async () => {
    const a = await hashPassword('pw', { params: FAST });
    const b = await hashPassword('pw', { params: FAST });
    assert.notEqual(a, b);
    const salt = Buffer.alloc(16, 7);
    assert.equal(
      await hashPassword('pw', { params: FAST, salt }),
      await hashPassword('pw', { params: FAST, salt }),
    );
  });

  test('unicode passwords are NFC-normalised (é typed two ways)', async () => {
    const hash = await hashPassword('caf\u00e9', { params: FAST });
    assert.equal(await verifyPassword('cafe\u0301', hash), true);
  });

  const hostile: [string, string][] = [
    ['empty', ''],
    ['other scheme', '$2b$10$abcdefghijklmnopqrstuv'],
    [
      'N not a power of two',
      '$scrypt$N=1000,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    ],
    [
      'N huge',
      '$scrypt$N=67108864,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    ],
    [
      'p zero',
      '$scrypt$N=1024,r=8,p=0$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    ],
    ['short salt', '$scrypt$N=1024,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='],
    [
      'trailing junk',
      '$scrypt$N=1024,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n',
    ],
  ];
  for (const [name, stored] of hostile) {
    test(`refuses a malformed stored hash: ${name}`, async () => {
      assert.equal(parsePasswordHash(stored), null);
      await assert.rejects(verifyPassword('x', stored), { code: 'BAD_PASSWORD_HASH' });
    });
  }
});

describe('authenticator', () => {
  async function setup() {
    const hash = await hashPassword('secret', { params: FAST });
    const accounts = new Map<string, Account>([
      [
        'alice@example.test',
        {
          id: 1,
          address: 'alice@example.test',
          passwordHash: hash,
          createdAt: new Date(0),
          state: 'active',
          lastLoginAt: null,
        },
      ],
    ]);
    let clock = 0;
    const sleeps: number[] = [];
    const authenticate = createAuthenticator({
      store: { getAccount: (a) => accounts.get(a) ?? null },
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      dummyParams: FAST,
    });
    return { authenticate, sleeps, tick: (ms: number) => (clock += ms) };
  }

  test('right password -> ok with the canonical address; case-insensitive username', async () => {
    const { authenticate } = await setup();
    assert.deepEqual(await authenticate('Alice@Example.TEST', 'secret', '127.0.0.1', 'imap'), {
      kind: 'ok',
      account: 'alice@example.test',
    });
  });

  test('wrong password and unknown user get the same answer', async () => {
    const { authenticate } = await setup();
    assert.deepEqual(await authenticate('alice@example.test', 'nope', '10.0.0.1', 'imap'), {
      kind: 'failed',
    });
    assert.deepEqual(await authenticate('nobody@example.test', 'secret', '10.0.0.2', 'imap'), {
      kind: 'failed',
    });
    assert.deepEqual(await authenticate('', '', '10.0.0.3', 'imap'), { kind: 'failed' });
    assert.deepEqual(await authenticate('alice@example.test', 'x'.repeat(10_000), '10.0.0.4', 'imap'), {
      kind: 'failed',
    });
  });

  test('unknown users cost a real scrypt verification (no timing shortcut)', async () => {
    const { authenticate } = await setup();
    const time = async (user: string) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 5; i++) await authenticate(user, 'wrong', `10.1.0.${i}`, 'imap');
      return Number(process.hrtime.bigint() - start);
    };
    await time('warm@example.test');
    const known = await time('alice@example.test');
    const unknown = await time('ghost@example.test');
    assert.ok(unknown > known / 4, `unknown ${unknown}ns vs known ${known}ns`);
  });

  test('repeated failures wait a second longer each time; the right password is never locked out', async () => {
    const { authenticate, sleeps, tick } = await setup();
    const results: string[] = [];
    for (let i = 0; i < 7; i++) {
      results.push((await authenticate('alice@example.test', 'bad', '10.2.0.1', 'imap')).kind);
      tick(10);
    }
    assert.deepEqual(results, ['failed', 'failed', 'failed', 'failed', 'failed', 'failed', 'failed']);
    assert.deepEqual(sleeps, [990, 1990, 2990, 3990, 4990, 5990]);
    const owner = await authenticate('alice@example.test', 'secret', '10.9.9.9', 'imap');
    assert.equal(owner.kind, 'ok', 'the right password from another IP works at once');
    assert.equal(sleeps.length, 6);
  });
});

describe('VerifiedCache', () => {
  test('matches the remembered password for the same stored hash only, until it expires', () => {
    const cache = new VerifiedCache(10, 1000);
    cache.remember('a@x.test', 'hash-1', 'pw', 0);
    assert.equal(cache.matches('a@x.test', 'hash-1', 'pw', 999), true);
    assert.equal(cache.matches('a@x.test', 'hash-1', 'pW', 999), false, 'another password');
    assert.equal(cache.matches('a@x.test', 'hash-2', 'pw', 999), false, 'password changed since');
    assert.equal(cache.matches('b@x.test', 'hash-1', 'pw', 999), false, 'another account');
    assert.equal(cache.matches('a@x.test', 'hash-1', 'pw', 1000 + 999), false, 'expired');
    assert.equal(cache.size, 0, 'an expired entry is dropped');
  });

  test('bounded: the least recently used account goes first', () => {
    const cache = new VerifiedCache(2, 60_000);
    cache.remember('a', 'h', 'p', 0);
    cache.remember('b', 'h', 'p', 0);
    assert.equal(cache.matches('a', 'h', 'p', 1), true); // a is now the most recent
    cache.remember('c', 'h', 'p', 2);
    assert.equal(cache.size, 2);
    assert.equal(cache.matches('b', 'h', 'p', 3), false);
    assert.equal(cache.matches('a', 'h', 'p', 3), true);
    assert.equal(cache.matches('c', 'h', 'p', 3), true);
  });

  test('the authenticator skips scrypt for a recent success, never for a failure or a changed password', async () => {
    const account: Account = {
      id: 1,
      address: 'alice@example.test',
      passwordHash: await hashPassword('secret', { params: FAST }),
      createdAt: new Date(0),
      state: 'active',
      lastLoginAt: null,
    };
    let verifications = 0;
    const authenticate = createAuthenticator({
      store: { getAccount: (a) => (a === account.address ? account : null) },
      now: () => 0,
      sleep: async () => undefined,
      dummyParams: FAST,
      cache: new VerifiedCache(10, 60_000),
      verify: async (password, stored) => {
        verifications++;
        return verifyPassword(password, stored);
      },
    });
    assert.equal((await authenticate('alice@example.test', 'secret', '10.0.0.1', 'imap')).kind, 'ok');
    assert.equal(verifications, 1);
    for (let i = 0; i < 5; i++) {
      assert.equal((await authenticate('ALICE@example.test', 'secret', '10.0.0.1', 'imap')).kind, 'ok');
    }
    assert.equal(verifications, 1, 'reconnecting with the same password costs no scrypt');
    assert.equal((await authenticate('alice@example.test', 'wrong', '10.0.0.1', 'imap')).kind, 'failed');
    assert.equal(verifications, 2, 'a wrong password is always verified');
    account.passwordHash = await hashPassword('changed', { params: FAST });
    assert.equal((await authenticate('alice@example.test', 'secret', '10.0.0.1', 'imap')).kind, 'failed');
    assert.equal(verifications, 3, 'the old password stops matching once the hash changes');
  });
});
