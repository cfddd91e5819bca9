// Password hashing, the failure limiter (exact clock) and the authenticator (no enumeration, throttling).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../../src/auth/password-hash.js';
import { FailureLimiter, type FailureLimits } from '../../../src/auth/failure-limiter.js';
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

const LIMITS: FailureLimits = {
  freeFailures: 2,
  baseDelayMs: 1000,
  maxDelayMs: 4000,
  lockoutAfter: 6,
  lockoutMs: 60_000,
  windowMs: 600_000,
  ipFactor: 2,
  maxTrackedKeys: 100,
};

describe('FailureLimiter', () => {
  test('free failures, then a doubling capped delay, then lockout for a while', () => {
    const limiter = new FailureLimiter(LIMITS);
    const seen: string[] = [];
    for (let i = 0; i < 7; i++) {
      const v = limiter.check('10.0.0.1', 'a@x', 1000 * i);
      seen.push(
        v.kind === 'allow' ? 'allow' : v.kind === 'delay' ? `delay ${v.delayMs}` : `refuse ${v.retryAfterMs}`,
      );
      if (v.kind !== 'refuse') limiter.recordFailure('10.0.0.1', 'a@x', 1000 * i);
    }
    assert.deepEqual(seen, [
      'allow',
      'allow',
      'allow',
      'delay 1000',
      'delay 2000',
      'delay 4000',
      'refuse 59000',
    ]);
    // After the lockout the account may try again.
    assert.deepEqual(limiter.check('10.0.0.9', 'a@x', 5000 + 60_000), { kind: 'allow' });
  });

  test('the account is throttled from any IP; the IP is throttled for any account (looser)', () => {
    const limiter = new FailureLimiter(LIMITS);
    limiter.recordFailure('10.0.0.1', 'a@x', 0);
    limiter.recordFailure('10.0.0.2', 'a@x', 0);
    limiter.recordFailure('10.0.0.3', 'a@x', 0);
    assert.equal(limiter.check('10.0.0.4', 'a@x', 1).kind, 'delay');
    assert.equal(limiter.check('10.0.0.4', 'b@x', 1).kind, 'allow');

    const spray = new FailureLimiter(LIMITS);
    for (let i = 0; i < 4; i++) spray.recordFailure('10.0.0.5', `u${i}@x`, 0);
    assert.equal(
      spray.check('10.0.0.5', 'fresh@x', 1).kind,
      'allow',
      'ipFactor 2: 4 failures are still free',
    );
    spray.recordFailure('10.0.0.5', 'u9@x', 0);
    assert.equal(spray.check('10.0.0.5', 'fresh@x', 1).kind, 'delay');
  });

  test('success resets the account, not the IP; old failures leave the window', () => {
    const limiter = new FailureLimiter(LIMITS);
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', 'a@x', 0);
    limiter.recordSuccess('10.0.0.1', 'a@x');
    assert.equal(limiter.check('10.0.0.2', 'a@x', 1).kind, 'allow');
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', `z${i}@x`, 0);
    assert.equal(limiter.check('10.0.0.1', 'new@x', 1).kind, 'delay');
    assert.equal(limiter.check('10.0.0.1', 'new@x', 600_001).kind, 'allow');
  });

  test('memory is bounded when keys are sprayed', () => {
    const limiter = new FailureLimiter(LIMITS);
    for (let i = 0; i < 1000; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`, `u${i}@x`, i);
    assert.ok(limiter.size <= 100);
  });
});

describe('authenticator', () => {
  async function setup() {
    const hash = await hashPassword('secret', { params: FAST });
    const accounts = new Map<string, Account>([
      [
        'alice@example.test',
        { id: 1, address: 'alice@example.test', passwordHash: hash, createdAt: new Date(0) },
      ],
    ]);
    let clock = 0;
    const sleeps: number[] = [];
    const authenticate = createAuthenticator({
      store: { getAccount: (a) => accounts.get(a) ?? null },
      limiter: new FailureLimiter(LIMITS),
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
    assert.deepEqual(await authenticate('Alice@Example.TEST', 'secret', '127.0.0.1'), {
      kind: 'ok',
      account: 'alice@example.test',
    });
  });

  test('wrong password and unknown user get the same answer', async () => {
    const { authenticate } = await setup();
    assert.deepEqual(await authenticate('alice@example.test', 'nope', '10.0.0.1'), { kind: 'failed' });
    assert.deepEqual(await authenticate('nobody@example.test', 'secret', '10.0.0.2'), { kind: 'failed' });
    assert.deepEqual(await authenticate('', '', '10.0.0.3'), { kind: 'failed' });
    assert.deepEqual(await authenticate('alice@example.test', 'x'.repeat(10_000), '10.0.0.4'), {
      kind: 'failed',
    });
  });

  test('unknown users cost a real scrypt verification (no timing shortcut)', async () => {
    const { authenticate } = await setup();
    const time = async (user: string) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 5; i++) await authenticate(user, 'wrong', `10.1.0.${i}`);
      return Number(process.hrtime.bigint() - start);
    };
    await time('warm@example.test');
    const known = await time('alice@example.test');
    const unknown = await time('ghost@example.test');
    assert.ok(unknown > known / 4, `unknown ${unknown}ns vs known ${known}ns`);
  });

  test('repeated failures are delayed, then throttled; success after lockout expiry works', async () => {
    const { authenticate, sleeps, tick } = await setup();
    const results: string[] = [];
    for (let i = 0; i < 7; i++) {
      results.push((await authenticate('alice@example.test', 'bad', `10.2.0.${i}`)).kind);
      tick(10);
    }
    assert.deepEqual(results, ['failed', 'failed', 'failed', 'failed', 'failed', 'failed', 'throttled']);
    assert.deepEqual(sleeps, [1000, 2000, 4000]);
    const throttled = await authenticate('alice@example.test', 'secret', '10.9.9.9');
    assert.equal(throttled.kind, 'throttled', 'even the right password is refused during lockout');
    tick(60_000);
    assert.equal((await authenticate('alice@example.test', 'secret', '10.9.9.9')).kind, 'ok');
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
    assert.equal((await authenticate('alice@example.test', 'secret', '10.0.0.1')).kind, 'ok');
    assert.equal(verifications, 1);
    for (let i = 0; i < 5; i++) {
      assert.equal((await authenticate('ALICE@example.test', 'secret', '10.0.0.1')).kind, 'ok');
    }
    assert.equal(verifications, 1, 'reconnecting with the same password costs no scrypt');
    assert.equal((await authenticate('alice@example.test', 'wrong', '10.0.0.1')).kind, 'failed');
    assert.equal(verifications, 2, 'a wrong password is always verified');
    account.passwordHash = await hashPassword('changed', { params: FAST });
    assert.equal((await authenticate('alice@example.test', 'secret', '10.0.0.1')).kind, 'failed');
    assert.equal(verifications, 3, 'the old password stops matching once the hash changes');
  });
});
