// The per-account submission counter: a sliding hour of messages and recipients, 0 = no limit, refusals logged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSubmissionLimits, SubmissionCounter } from '../../../src/abuse/rate-limits.js';

const MIN = 60_000;

describe('SubmissionCounter', () => {
  test('messages: the limit per sliding hour, per account', () => {
    const c = new SubmissionCounter({ messagesPerHour: 2, recipientsPerHour: 0 });
    c.record('a', 1, 0);
    c.record('a', 1, 30 * MIN);
    assert.equal(c.messageAllowed('a', 59 * MIN), false);
    assert.equal(c.messageAllowed('b', 59 * MIN), true);
    // An hour after the first message it leaves the window: one more may go.
    assert.equal(c.messageAllowed('a', 60 * MIN), true);
    c.record('a', 1, 60 * MIN);
    assert.equal(c.messageAllowed('a', 61 * MIN), false);
  });

  test('recipients: what was sent in the hour plus this message', () => {
    const c = new SubmissionCounter({ messagesPerHour: 0, recipientsPerHour: 10 });
    c.record('a', 7, 0);
    assert.equal(c.recipientsAllowed('a', 3, MIN), true);
    assert.equal(c.recipientsAllowed('a', 4, MIN), false);
    assert.equal(c.recipientsAllowed('a', 10, 60 * MIN), true);
  });

  test('0 is no limit', () => {
    const c = new SubmissionCounter({ messagesPerHour: 0, recipientsPerHour: 0 });
    for (let i = 0; i < 1000; i++) c.record('a', 100, i);
    assert.equal(c.messageAllowed('a', 1000), true);
    assert.equal(c.recipientsAllowed('a', 1_000_000, 1000), true);
  });
});

describe('createSubmissionLimits', () => {
  test('a refusal is logged once per refused attempt with the protocol, account and limit', () => {
    let now = 0;
    const logged: unknown[] = [];
    const limits = createSubmissionLimits(
      { messagesPerHour: 1, recipientsPerHour: 2 },
      () => now,
      (f) => logged.push(f),
    );
    assert.equal(limits.messageAllowed('a@x.test', 'smtp'), true);
    limits.record('a@x.test', 2);
    now += MIN;
    assert.equal(limits.messageAllowed('a@x.test', 'jmap'), false);
    assert.equal(limits.recipientsAllowed('a@x.test', 1, 'smtp'), false);
    assert.deepEqual(logged, [
      { protocol: 'jmap', account: 'a@x.test', limit: 'messages', perHour: 1 },
      { protocol: 'smtp', account: 'a@x.test', limit: 'recipients', perHour: 2 },
    ]);
  });
});
