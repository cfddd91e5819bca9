// Tests for retry scheduling (queue.retry_intervals / max_age) and the recipient status transitions.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  afterTemporaryFailure,
  baseInterval,
  isExpired,
  type RetrySchedule,
} from '../../../src/queue/retry-policy.js';
import {
  InvalidTransitionError,
  applyAttempt,
  expireIfDue,
  newRecipientStatus,
  toQueueFields,
} from '../../../src/queue/recipient-status.js';

const m = 60_000;
const h = 60 * m;
const schedule: RetrySchedule = {
  retryIntervalsMs: [1 * m, 5 * m, 15 * m, 1 * h, 4 * h],
  maxAgeMs: 5 * 24 * h,
};
const t0 = new Date('2026-11-23T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

void describe('retry policy', () => {
  void test('intervals in order, then the last one repeats', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 50].map((n) => baseInterval(schedule, n)),
      [1 * m, 5 * m, 15 * m, 1 * h, 4 * h, 4 * h, 4 * h],
    );
  });

  void test('jitter adds up to 10%, never subtracts', () => {
    const lo = afterTemporaryFailure(schedule, { createdAt: t0, attempts: 2, now: t0, random: () => 0 });
    const hi = afterTemporaryFailure(schedule, { createdAt: t0, attempts: 2, now: t0, random: () => 0.999 });
    assert.deepEqual(lo, { kind: 'retry', at: at(5 * m) });
    assert.ok(hi.kind === 'retry');
    assert.equal(hi.at.getTime(), t0.getTime() + 5 * m + Math.floor(5 * m * 0.1 * 0.999));
    const nan = afterTemporaryFailure(schedule, { createdAt: t0, attempts: 1, now: t0, random: () => NaN });
    assert.deepEqual(nan, { kind: 'retry', at: at(1 * m) });
  });

  void test('the last retry is clamped to the expiry time, then expire', () => {
    const late = at(5 * 24 * h - 10 * m);
    assert.deepEqual(
      afterTemporaryFailure(schedule, { createdAt: t0, attempts: 9, now: late, random: () => 0 }),
      {
        kind: 'retry',
        at: at(5 * 24 * h),
      },
    );
    assert.deepEqual(
      afterTemporaryFailure(schedule, { createdAt: t0, attempts: 10, now: at(5 * 24 * h), random: () => 0 }),
      { kind: 'expire' },
    );
    assert.equal(isExpired(schedule, t0, at(5 * 24 * h - 1)), false);
    assert.equal(isExpired(schedule, t0, at(5 * 24 * h)), true);
  });

  void test('an empty interval list is a programming error', () => {
    assert.throws(() => baseInterval({ retryIntervalsMs: [], maxAgeMs: 1 }, 1), RangeError);
  });

  void test('a dead peer until max_age: attempts follow the schedule, then the recipient fails as expired', () => {
    let s = newRecipientStatus(t0);
    const times: number[] = [];
    let now = t0;
    for (let i = 0; i < 100 && s.state !== 'failed'; i++) {
      s = applyAttempt(
        s,
        { kind: 'deferred', error: '421 4.4.2 closing' },
        { now, createdAt: t0, schedule, random: () => 0 },
      );
      if (s.state === 'deferred') {
        times.push((s.nextAttemptAt.getTime() - t0.getTime()) / m);
        now = s.nextAttemptAt;
      }
    }
    assert.deepEqual(times.slice(0, 6), [1, 6, 21, 81, 321, 561]);
    assert.equal(times.at(-1), 5 * 24 * 60);
    assert.equal(s.state, 'failed');
    assert.ok(s.state === 'failed');
    assert.equal(s.reason, 'expired');
    assert.equal(s.lastError, '421 4.4.2 closing');
    assert.equal(s.attempts, times.length + 1);
  });
});

void describe('recipient status', () => {
  const ctx = { now: at(1000), createdAt: t0, schedule, random: () => 0 };

  void test('pending -> delivered / failed / deferred', () => {
    const p = newRecipientStatus(t0);
    assert.deepEqual(toQueueFields(p), { state: 'pending', attempts: 0, nextAttemptAt: t0, lastError: null });
    assert.deepEqual(applyAttempt(p, { kind: 'delivered', reply: '250 ok', tls: true }, ctx), {
      state: 'delivered',
      attempts: 1,
      at: at(1000),
      reply: '250 ok',
      tls: true,
    });
    const f = applyAttempt(p, { kind: 'failed', error: '550 5.1.1 no' }, ctx);
    assert.deepEqual(toQueueFields(f), {
      state: 'failed',
      attempts: 1,
      nextAttemptAt: null,
      lastError: '550 5.1.1 no',
    });
    const d = applyAttempt(p, { kind: 'deferred', error: '451 4.3.0 later' }, ctx);
    assert.deepEqual(toQueueFields(d), {
      state: 'deferred',
      attempts: 1,
      nextAttemptAt: at(1000 + m),
      lastError: '451 4.3.0 later',
    });
    const d2 = applyAttempt(d, { kind: 'deferred', error: '451 again' }, { ...ctx, now: at(2 * m) });
    assert.deepEqual(toQueueFields(d2).nextAttemptAt, at(7 * m));
    assert.equal(applyAttempt(d2, { kind: 'delivered', reply: '250', tls: false }, ctx).attempts, 3);
  });

  void test('final states do not change', () => {
    const done = applyAttempt(newRecipientStatus(t0), { kind: 'delivered', reply: '250', tls: false }, ctx);
    assert.throws(() => applyAttempt(done, { kind: 'failed', error: 'x' }, ctx), InvalidTransitionError);
    assert.equal(expireIfDue(done, { ...ctx, now: at(10 * 24 * h) }), null);
  });

  void test('expireIfDue: only waiting recipients, only at max_age', () => {
    const d = applyAttempt(newRecipientStatus(t0), { kind: 'deferred', error: 'conn refused' }, ctx);
    assert.equal(expireIfDue(d, { ...ctx, now: at(5 * 24 * h - 1) }), null);
    assert.deepEqual(expireIfDue(d, { ...ctx, now: at(5 * 24 * h) }), {
      state: 'failed',
      attempts: 1,
      at: at(5 * 24 * h),
      lastError: 'conn refused',
      reason: 'expired',
    });
  });
});
