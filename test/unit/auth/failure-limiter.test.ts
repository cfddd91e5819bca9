// The password-guessing throttle, pure with an exact clock: the policy table, in-flight attempts, known IPs, bounded memory.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientKey,
  FailureLimiter,
  type FailureLimits,
  type Ticket,
} from '../../../src/auth/failure-limiter.js';
import { AUTH_FAILURE_LIMITS } from '../../../src/config/limits.js';

const LIMITS: FailureLimits = { ...AUTH_FAILURE_LIMITS, maxDelayMs: 5_000, accountFreeIps: 3 };

/** One whole attempt at `now`: asks for its turn and, if granted, settles it. Returns the verdict text. */
function attempt(
  limiter: FailureLimiter,
  ip: string,
  account: string,
  now: number,
  outcome: 'ok' | 'failed' = 'failed',
): string {
  const v = limiter.begin(ip, account, now);
  if (v.kind === 'wait') return v.until === null ? 'busy' : `wait ${v.until - now}`;
  limiter.settle(v.ticket, outcome, now);
  return 'go';
}

/** Fails as a sequential guesser does: each attempt as soon as it is allowed. Returns the waits. */
function guessAsAllowed(limiter: FailureLimiter, ip: string, account: string, count: number, start = 0) {
  const waits: number[] = [];
  let now = start;
  for (let i = 0; i < count; i++) {
    const v = limiter.begin(ip, account, now);
    let ticket: Ticket;
    if (v.kind === 'wait') {
      assert.notEqual(v.until, null);
      waits.push(v.until! - now);
      now = v.until!;
      const again = limiter.begin(ip, account, now);
      assert.equal(again.kind, 'go');
      ticket = (again as { ticket: Ticket }).ticket;
    } else {
      waits.push(0);
      ticket = v.ticket;
    }
    limiter.settle(ticket, 'failed', now);
  }
  return { waits, now };
}

describe('FailureLimiter policy', () => {
  test('from the first failure on, each check waits a step longer than the one before, up to the cap', () => {
    const limiter = new FailureLimiter(LIMITS);
    const { waits } = guessAsAllowed(limiter, '10.0.0.1', 'a@x', 8);
    assert.deepEqual(waits, [0, 1000, 2000, 3000, 4000, 5000, 5000, 5000]);
  });

  test('no lockout: the right password after many failures from the same IP waits at most the cap, then works', () => {
    const limiter = new FailureLimiter(LIMITS);
    const { now } = guessAsAllowed(limiter, '10.0.0.1', 'a@x', 50);
    assert.equal(attempt(limiter, '10.0.0.1', 'a@x', now + 4_999, 'ok'), 'wait 1');
    assert.equal(attempt(limiter, '10.0.0.1', 'a@x', now + 5_000, 'ok'), 'go');
    assert.equal(attempt(limiter, '10.0.0.1', 'a@x', now + 5_001, 'ok'), 'go', 'and again');
  });

  test('per IP over all accounts: one step per ipFactor (3) failures', () => {
    // Failures 1-3 cost 1 s each, 4-6 cost 2 s: the waits before attempts 2..7.
    const gaps: number[] = [];
    const l2 = new FailureLimiter(LIMITS);
    let t = 0;
    for (let i = 0; i < 7; i++) {
      let v = l2.begin('10.0.0.5', `u${i}@x`, t);
      gaps.push(v.kind === 'wait' ? v.until! - t : 0);
      if (v.kind === 'wait') {
        t = v.until!;
        v = l2.begin('10.0.0.5', `u${i}@x`, t);
      }
      assert.equal(v.kind, 'go');
      if (v.kind === 'go') l2.settle(v.ticket, 'failed', t);
    }
    assert.deepEqual(gaps, [0, 1000, 1000, 1000, 2000, 2000, 2000]);
    // Another IP is not slowed at all.
    assert.equal(attempt(l2, '10.0.0.6', 'u0@x', t, 'ok'), 'go');
  });

  test('a check in flight counts: a second attempt on the same key waits until it settles', () => {
    const limiter = new FailureLimiter(LIMITS);
    const first = limiter.begin('10.0.0.1', 'a@x', 0);
    assert.equal(first.kind, 'go');
    assert.deepEqual(limiter.begin('10.0.0.1', 'a@x', 0), { kind: 'wait', until: null, busy: true });
    assert.deepEqual(
      limiter.begin('10.0.0.1', 'b@x', 0),
      { kind: 'wait', until: null, busy: true },
      'same IP',
    );
    assert.deepEqual(
      limiter.begin('10.0.0.2', 'a@x', 0),
      { kind: 'wait', until: null, busy: true },
      'same account',
    );
    limiter.settle((first as { ticket: Ticket }).ticket, 'failed', 50);
    assert.deepEqual(limiter.begin('10.0.0.1', 'a@x', 60), { kind: 'wait', until: 1050, busy: false });
    // A success releases at once: parallel logins of the owner's clients do not wait on each other.
    const ok = limiter.begin('10.0.0.3', 'c@x', 0) as { kind: 'go'; ticket: Ticket };
    assert.equal(limiter.begin('10.0.0.3', 'c@x', 0).kind, 'wait');
    limiter.settle(ok.ticket, 'ok', 40);
    assert.equal(limiter.begin('10.0.0.3', 'c@x', 40).kind, 'go');
  });

  test('one IP hammering an account does not slow the owner on other IPs', () => {
    const limiter = new FailureLimiter(LIMITS);
    const { now } = guessAsAllowed(limiter, '10.0.0.66', 'owner@x', 40);
    assert.equal(attempt(limiter, '192.0.2.7', 'owner@x', now, 'ok'), 'go');
  });

  test('an account failed from many IPs is slowed for new IPs, not for IPs that signed in before', () => {
    const limiter = new FailureLimiter(LIMITS);
    assert.equal(attempt(limiter, '192.0.2.1', 'owner@x', 0, 'ok'), 'go'); // the owner's usual IP
    let now = 100;
    // accountFreeIps (3) IPs fail: not yet an attack.
    for (let i = 1; i <= 3; i++) assert.equal(attempt(limiter, `10.1.0.${i}`, 'owner@x', now++), 'go');
    assert.equal(attempt(limiter, '10.1.0.4', 'owner@x', now++), 'go', 'the 4th IP is still let through');
    // Now more than 3 IPs failed: new IPs wait 1 s after the last failure, growing per IP.
    assert.equal(attempt(limiter, '10.1.0.5', 'owner@x', now), `wait ${1000 - 1}`);
    now += 1000;
    assert.equal(attempt(limiter, '10.1.0.5', 'owner@x', now), 'go');
    assert.equal(attempt(limiter, '10.1.0.6', 'owner@x', now + 1), `wait ${2000 - 1}`);
    assert.equal(
      attempt(limiter, '198.51.100.9', 'owner@x', now + 1, 'ok'),
      `wait ${2000 - 1}`,
      'a new IP, even the owner',
    );
    assert.equal(attempt(limiter, '192.0.2.1', 'owner@x', now + 1, 'ok'), 'go', 'a known IP gets in at once');
    assert.equal(
      attempt(limiter, '10.1.0.6', 'other@x', now + 1, 'ok'),
      'go',
      'other accounts are not slowed',
    );
  });

  test('behind a NAT where someone sprays accounts, an owner who signed in from there before is not slowed', () => {
    const limiter = new FailureLimiter(LIMITS);
    assert.equal(attempt(limiter, '192.0.2.50', 'owner@x', 0, 'ok'), 'go');
    let now = 10;
    for (let i = 0; i < 12; i++) now = guessAsAllowed(limiter, '192.0.2.50', `victim${i}@x`, 1, now).now;
    assert.equal(attempt(limiter, '192.0.2.50', 'newcomer@x', now, 'ok'), `wait ${4000}`, 'the IP is slowed');
    assert.equal(attempt(limiter, '192.0.2.50', 'owner@x', now, 'ok'), 'go', 'its known owner is not');
    // ... but the owner's own pair still counts, so the known IP cannot guess that account fast.
    assert.equal(attempt(limiter, '192.0.2.50', 'owner@x', now + 1), 'go');
    assert.equal(attempt(limiter, '192.0.2.50', 'owner@x', now + 2), 'wait 999');
  });

  test('failures are forgotten a window after the last one', () => {
    const limiter = new FailureLimiter(LIMITS);
    const { now } = guessAsAllowed(limiter, '10.0.0.1', 'a@x', 5);
    assert.equal(attempt(limiter, '10.0.0.1', 'a@x', now + LIMITS.windowMs - 1, 'ok'), 'go');
    const l2 = new FailureLimiter(LIMITS);
    const r = guessAsAllowed(l2, '10.0.0.1', 'a@x', 5);
    assert.equal(l2.begin('10.0.0.1', 'b@x', r.now + LIMITS.windowMs).kind, 'go');
  });
});

describe('FailureLimiter memory', () => {
  test('keys are capped when an attacker sprays addresses and accounts', () => {
    const limiter = new FailureLimiter({ ...LIMITS, maxTrackedKeys: 100 });
    for (let i = 0; i < 1000; i++) attempt(limiter, `10.0.${i >> 8}.${i & 255}`, `u${i}@x`, i);
    assert.ok(limiter.size <= 100, `size ${limiter.size}`);
  });

  test('expired keys go away by themselves; clean successes leave only the known IP', () => {
    const limiter = new FailureLimiter(LIMITS);
    for (let i = 0; i < 50; i++) attempt(limiter, `10.0.0.${i}`, `u${i}@x`, 0);
    assert.ok(limiter.size >= 50);
    // Later activity sweeps the old end of the map.
    for (let i = 0; i < 20; i++) attempt(limiter, '192.0.2.1', 'me@x', LIMITS.windowMs + i, 'ok');
    assert.equal(limiter.size, 1, 'only the known IP of me@x');
  });

  test('known IPs are bounded per account and in accounts', () => {
    const limiter = new FailureLimiter({ ...LIMITS, knownIpsPerAccount: 4, maxKnownAccounts: 10 });
    for (let i = 0; i < 100; i++) attempt(limiter, `10.0.0.${i}`, 'roamer@x', i, 'ok');
    assert.equal(limiter.size, 4);
    for (let i = 0; i < 100; i++) attempt(limiter, '10.9.9.9', `user${i}@x`, 1000 + i, 'ok');
    assert.equal(limiter.size, 10);
  });
});

describe('clientKey', () => {
  const rows: [string, string][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
  ];
  for (const [ip, key] of rows) test(`${ip} -> ${key}`, () => assert.equal(clientKey(ip), key));
});
