// ConnectionDeadlines (pure, exact times), its watcher under mocked timers, and each protocol's read phase that drives it.
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConnectionDeadlines,
  deadlineLimits,
  watchDeadlines,
  type DeadlineKind,
  type DeadlineLimits,
} from '../../../src/net/deadlines.js';
import { ImapCommandReceiver } from '../../../src/imap/proto/literal-receiver.js';
import { LineReceiver as Pop3LineReceiver } from '../../../src/pop3/command-parser.js';
import { SmtpSession } from '../../../src/smtp/server/session.js';
import { fakeServices, testPeer, testPolicy } from '../../helpers/smtp-fakes.js';

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

      // A transfer whose budget grows: the first timer fires early, finds nothing, re-arms for the new end.
      const grown: DeadlineKind[] = [];
      const g = new ConnectionDeadlines({ ...LIMITS, loginMs: null }, now);
      const u = watchDeadlines(
        g,
        () => now,
        (k) => grown.push(k),
      );
      g.setPhase('transfer', now);
      u.update(); // budget ends at now + 30 s
      now += 10_000;
      mock.timers.tick(10_000);
      g.received(5_000, now); // + 5 s: ends at +35 s
      u.update();
      now += 20_000;
      mock.timers.tick(20_000); // +30 s: the old timer
      assert.deepEqual(grown, []);
      now += 4_999;
      mock.timers.tick(4_999);
      assert.deepEqual(grown, []);
      now += 1;
      mock.timers.tick(1);
      assert.deepEqual(grown, ['transfer-rate']);

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

/** Feeds `text` to the IMAP receiver and pulls every event; returns their kinds. */
function imapFeed(r: ImapCommandReceiver, text: string): string[] {
  r.push(Buffer.from(text));
  const kinds: string[] = [];
  for (let ev = r.next(); ev; ev = r.next()) kinds.push(ev.kind);
  return kinds;
}

describe('read phases (what the next bytes continue)', () => {
  test('IMAP receiver: a started line, a literal (transfer), the rest of the line after it, then idle', () => {
    const r = new ImapCommandReceiver();
    assert.equal(r.readPhase(), 'idle');
    imapFeed(r, 'a NO');
    assert.equal(r.readPhase(), 'line');
    assert.deepEqual(imapFeed(r, 'OP\r\n'), ['command']);
    assert.equal(r.readPhase(), 'idle');
    assert.deepEqual(imapFeed(r, 'b APPEND INBOX {5}\r\n'), ['continue', 'literal-start']);
    assert.equal(r.readPhase(), 'transfer');
    assert.deepEqual(imapFeed(r, 'hel'), ['literal-chunk']);
    assert.equal(r.readPhase(), 'transfer');
    imapFeed(r, 'lo');
    assert.equal(r.readPhase(), 'line'); // the command line still has to end
    assert.deepEqual(imapFeed(r, '\r\n'), ['command']);
    assert.equal(r.readPhase(), 'idle');
  });

  test('SMTP session: a partial command line, then DATA and BDAT bodies (with the commands between chunks)', async () => {
    const session = new SmtpSession({ policy: testPolicy(), services: fakeServices(), peer: testPeer() });
    session.greet();
    await session.feed(Buffer.from('EHLO c'));
    assert.equal(session.readPhase(), 'line');
    await session.feed(Buffer.from('\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\n'));
    assert.equal(session.readPhase(), 'idle');
    await session.feed(Buffer.from('DATA\r\n'));
    assert.equal(session.readPhase(), 'transfer');
    await session.feed(Buffer.from('Subject: x\r\n\r\nbody\r\n.\r\n'));
    assert.equal(session.readPhase(), 'idle');
    await session.feed(Buffer.from('MAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nBDAT 3\r\nabc'));
    assert.equal(session.readPhase(), 'transfer'); // between chunks: still the same message
    await session.feed(Buffer.from('BDAT 0 LAST\r\n'));
    assert.equal(session.readPhase(), 'idle');
  });

  test('POP3 line receiver: partial while a line has started, and while an over-long one is skipped', () => {
    const r = new Pop3LineReceiver();
    assert.equal(r.partial, false);
    r.feed(Buffer.from('US'));
    assert.equal(r.next(), null);
    assert.equal(r.partial, true);
    r.feed(Buffer.from('ER bob\r\n'));
    assert.notEqual(r.next(), null);
    assert.equal(r.partial, false);
    r.feed(Buffer.alloc(1_000, 0x41));
    assert.equal(r.next(), null);
    assert.equal(r.partial, true);
  });
});
