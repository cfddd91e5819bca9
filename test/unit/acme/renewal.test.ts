// ACME renewal timing (pure): two thirds of the lifetime, new names order again, backoff doubling to its cap, timers within setTimeout's range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planCertificate, renewAt, retryDelayMs, timerDelayMs } from '../../../src/acme/renewal.js';
import { ACME_MAX_TIMER_MS, ACME_RETRY_MAX_MS, ACME_RETRY_MIN_MS } from '../../../src/config/limits.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 1);
/** A 90-day certificate (Let's Encrypt's lifetime) for mail.example.test. */
const cert = { notBefore: T0, notAfter: T0 + 90 * DAY, names: ['mail.example.test'] };

test('renewal is due two thirds into the lifetime: day 60 of 90, second 6 of 9', () => {
  assert.equal(renewAt(cert), T0 + 60 * DAY);
  assert.equal(renewAt({ notBefore: 0, notAfter: 9_000 }), 6_000);
});

test('planCertificate: rows', () => {
  const domains = ['mail.example.test'];
  const rows: [string, Parameters<typeof planCertificate>, ReturnType<typeof planCertificate>][] = [
    ['none stored', [null, domains, T0], { action: 'issue', reason: 'none' }],
    ['fresh: wait for day 60', [cert, domains, T0 + DAY], { action: 'wait', until: T0 + 60 * DAY }],
    ['just before day 60', [cert, domains, T0 + 60 * DAY - 1], { action: 'wait', until: T0 + 60 * DAY }],
    ['day 60', [cert, domains, T0 + 60 * DAY], { action: 'renew' }],
    ['day 89', [cert, domains, T0 + 89 * DAY], { action: 'renew' }],
    ['expired', [cert, domains, T0 + 90 * DAY], { action: 'issue', reason: 'expired' }],
    [
      'a name added to domains',
      [cert, [...domains, 'imap.example.test'], T0],
      { action: 'issue', reason: 'names' },
    ],
    [
      'names compared without case',
      [cert, ['MAIL.example.TEST'], T0],
      { action: 'wait', until: T0 + 60 * DAY },
    ],
    [
      'a name removed: no new order',
      [{ ...cert, names: ['mail.example.test', 'old.example.test'] }, domains, T0],
      {
        action: 'wait',
        until: T0 + 60 * DAY,
      },
    ],
  ];
  for (const [name, args, expected] of rows) assert.deepEqual(planCertificate(...args), expected, name);
});

test('retries double from a minute up to six hours', () => {
  const delays = [1, 2, 3, 4, 5, 9, 10, 50, 1_000].map(retryDelayMs);
  assert.deepEqual(delays.slice(0, 5), [60_000, 120_000, 240_000, 480_000, 960_000]);
  assert.equal(ACME_RETRY_MIN_MS, 60_000);
  assert.equal(delays[5], 256 * 60_000);
  for (const d of delays.slice(6)) assert.equal(d, ACME_RETRY_MAX_MS);
  assert.equal(retryDelayMs(0), ACME_RETRY_MIN_MS, 'a nonsense count is the first retry, not 30 s');
});

test('timer delays never go negative or past what setTimeout holds (a 60-day wait is taken in steps)', () => {
  assert.equal(timerDelayMs(T0 - 5, T0), 0);
  assert.equal(timerDelayMs(T0 + 1_000, T0), 1_000);
  assert.equal(timerDelayMs(T0 + 60 * DAY, T0), ACME_MAX_TIMER_MS);
  assert.ok(ACME_MAX_TIMER_MS <= 2 ** 31 - 1);
});
