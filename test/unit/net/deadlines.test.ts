// ConnectionDeadlines (pure, exact times) and its watcher under mocked timers: login, session, line and rate floor.
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConnectionDeadlines,
  deadlineLimits,
  watchDeadlines,
  type DeadlineKind,
  type DeadlineLimits,
} from '../../../src/net/deadlines.js';

const LIMITS: DeadlineLimits = {
  loginMs: 60_000,
  sessionMs: null,
  commandLineMs: 10_000,
  transferGraceMs: 30_000,
  transferMinRate: 1_000, // 1 byte = 1 ms of budget
};

describe('ConnectionDeadlines', () => {
  test('login: a total from connect that activity does not extend; logging in ends it', () => {
    const d = new ConnectionDeadlines(LIMITS, 1_000);
    assert.equal(d.nextCheckAt(), 61_000);
    // A trickle of complete lines (each within the line deadline) does not move the login deadline.
    for (let t = 1_000; t < 61_000; t += 5_000) {
      d.received(1, t);
      d.setPhase('idle', t);
      assert.equal(d.expired(t), null);
    }
    assert.equal(d.expired(61_000), 'login');
    const e = new ConnectionDeadlines(LIMITS, 1_000);
    e.markLoggedIn();
    assert.equal(e.expired(1_000_000), null);
    assert.equal(e.nextCheckAt(), null);
  });

  test('command line: from its first byte to its end, whatever arrives in between', () => {
    const d = new ConnectionDeadlines({ ...LIMITS, loginMs: null }, 0);
    d.setPhase('line', 5_000);
    assert.equal(d.nextCheckAt(), 15_000);
    d.received(1, 9_000);
    d.setPhase('line', 9_000); // still the same line: no restart
    assert.equal(d.expired(14_999), null);
    assert.equal(d.expired(15_000), 'command-line');
    d.setPhase('idle', 14_000); // completed in time: nothing pending
    assert.equal(d.nextCheckAt(), null);
    d.setPhase('line', 20_000); // the next line has its own clock
    assert.equal(d.nextCheckAt(), 30_000);
  });

  test('transfer: a trickle below the floor runs out of budget; the budget never exceeds the grace', () => {
    const d = new ConnectionDeadlines({ ...LIMITS, loginMs: null }, 0);
    d.setPhase('transfer', 0);
    assert.equal(d.nextCheckAt(), 30_000);
    // One byte every 10 s at a 1,000 B/s floor: each adds 1 ms while 10 s pass.
    for (let t = 10_000; t <= 30_000; t += 10_000) {
      assert.equal(d.expired(t), null);
      d.received(1, t);
    }
    assert.equal(d.nextCheckAt(), 30_003);
    assert.equal(d.expired(30_002), null);
    assert.equal(d.expired(30_003), 'transfer-rate');
    d.received(1, 30_003); // too late: an exhausted budget is not refilled
    assert.equal(d.expired(30_003), 'transfer-rate');
    // A burst cannot buy a long stall: 1 MB at once still leaves only the grace in hand.
    const b = new ConnectionDeadlines({ ...LIMITS, loginMs: null }, 0);
    b.setPhase('transfer', 0);
    b.received(1_000_000, 1_000);
    assert.equal(b.nextCheckAt(), 31_000);
  });

  test('transfer: a sender at the floor rate or above never runs out', () => {
    const d = new ConnectionDeadlines({ ...LIMITS, loginMs: null }, 0);
    d.setPhase('transfer', 0);
    // 1,000 bytes every second for ten minutes, after a 25 s stall at the start (within the grace).
    for (let t = 25_000; t <= 625_000; t += 1_000) {
      d.received(1_000, t);
      assert.equal(d.expired(t), null, `at ${t}`);
    }
  });

  test('hold/release: the server busy does not count against the line or transfer, but does against login', () => {
    const d = new ConnectionDeadlines(LIMITS, 0);
    d.setPhase('transfer', 0);
    d.hold(10_000);
    assert.equal(d.nextCheckAt(), 60_000); // only the login deadline is pending while held
    assert.equal(d.expired(45_000), null);
    d.release(50_000); // 40 s held: the transfer budget runs out at 70 s instead of 30 s
    d.markLoggedIn();
    assert.equal(d.nextCheckAt(), 70_000);
    // A phase that starts while held starts its clock then, not when the hold began.
    d.hold(80_000);
    d.setPhase('line', 90_000);
    d.release(95_000);
    assert.equal(d.nextCheckAt(), 105_000);
  });

  test('session (MX): a total, not cut in the middle of a transfer but right after it', () => {
    const d = new ConnectionDeadlines(deadlineLimits(settings(), false), 0);
    assert.equal(d.nextCheckAt(), 1_800_000);
    d.setPhase('transfer', 1_790_000);
    d.received(10_000_000, 1_799_000);
    assert.equal(d.expired(1_800_000), null);
    d.setPhase('idle', 1_820_000);
    assert.equal(d.expired(1_820_000), 'session');
  });
});

function settings() {
  return {
    loginMs: 60_000,
    commandLineMs: 60_000,
    mxSessionMs: 1_800_000,
    transferGraceMs: 180_000,
    transferMinRate: 500,
  };
}

describe('watchDeadlines', () => {
  test('fires once at the deadline, re-checks when woken early, and stop() silences it', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let now = 0;
      const fired: DeadlineKind[] = [];
      const d = new ConnectionDeadlines({ ...LIMITS, loginMs: null }, 0);
      const w = watchDeadlines(
        d,
        () => now,
        (k) => fired.push(k),
      );
      d.setPhase('line', 0);
      w.update();
      now = 9_999;
      mock.timers.tick(9_999);
      assert.deepEqual(fired, []);
      now = 10_000;
      mock.timers.tick(1);
      assert.deepEqual(fired, ['command-line']);
      now = 100_000;
      mock.timers.tick(90_000);
      assert.deepEqual(fired, ['command-line']); // once

      const quiet: DeadlineKind[] = [];
      const e = new ConnectionDeadlines(LIMITS, now);
      const v = watchDeadlines(
        e,
        () => now,
        (k) => quiet.push(k),
      );
      v.update();
      v.stop();
      now += 120_000;
      mock.timers.tick(120_000);
      assert.deepEqual(quiet, []);
    } finally {
      mock.timers.reset();
    }
  });
});
