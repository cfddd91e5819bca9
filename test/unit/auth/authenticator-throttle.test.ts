// The authenticator under attack, on a fake clock: a parallel burst, the owner beside an attacker, the log lines.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createAuthenticator } from '../../../src/auth/authenticator.js';
import { createLogger } from '../../../src/observability/logger.js';
import type { Account } from '../../../src/store/store.js';
import { captureLogs } from '../../helpers/log-capture.js';

const FAST = { N: 1 << 10, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const OWNER: Account = {
  id: 1,
  address: 'owner@example.test',
  passwordHash: 'stored',
  createdAt: new Date(0),
  state: 'active',
  lastLoginAt: null,
};

/** A clock and sleeps that only move when the test advances them. */
class FakeTime {
  now = 0;
  private sleepers: { at: number; done: () => void }[] = [];

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((done) => {
      const sleeper = { at: this.now + ms, done };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        done();
      });
    });

  /** Moves time forward, waking each sleeper in order and letting the promise chains run. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    await settle();
    for (;;) {
      const next = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.now = Math.max(this.now, next.at);
      this.sleepers = this.sleepers.filter((s) => s !== next);
      next.done();
      await settle();
    }
    this.now = target;
    await settle();
  }
}

/** Lets every pending promise continuation run (none of them waits on real I/O here). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((done) => setImmediate(done));
}

function setup() {
  const time = new FakeTime();
  /** Clock readings of every password check (the scrypt the limiter must ration). */
  const checks: { at: number; password: string }[] = [];
  const { logger, lines } = captureLogs();
  const authenticate = createAuthenticator({
    store: { getAccount: (a) => (a === OWNER.address ? OWNER : null) },
    now: () => time.now,
    sleep: time.sleep,
    logger,
    dummyParams: FAST,
    cache: null,
    verify: async (password) => {
      checks.push({ at: time.now, password });
      await Promise.resolve();
      return password === 'right';
    },
  });
  return { time, checks, lines, authenticate };
}

describe('authenticator: parallel guessing (issue 8, finding 4)', () => {
  test('60 parallel attempts from one IP (59 wrong, then the right one): few checks in 10 s, none accepted', async () => {
    const { time, checks, authenticate } = setup();
    const results: string[] = [];
    const attempts = Array.from({ length: 60 }, (_, i) =>
      authenticate('owner@example.test', i === 59 ? 'right' : `guess${i}`, '203.0.113.9', 'imap').then((r) =>
        results.push(`${time.now} ${r.kind}`),
      ),
    );
    await time.advance(10_000);
    // Delays 1 s, 2 s, 3 s, 4 s after each failure: checks at 0, 1, 3, 6 and 10 s.
    assert.ok(checks.length <= 5, `${checks.length} checks in 10 s: ${checks.map((c) => c.at).join(' ')}`);
    assert.ok(!results.some((r) => r.endsWith(' ok')), 'the right password was not accepted in the burst');
    await time.advance(60_000);
    await Promise.all(attempts);
    assert.equal(results.length, 60, 'every attempt got an answer (no connection hangs)');
    assert.ok(checks.length <= 9, `${checks.length} checks in 70 s`);
  });

  test('60 parallel wrong attempts from 60 IPs on one account: the account is rationed as a whole', async () => {
    const { time, checks, authenticate } = setup();
    const attempts = Array.from({ length: 60 }, (_, i) =>
      authenticate('owner@example.test', `guess${i}`, `198.51.100.${i + 1}`, 'smtp'),
    );
    await time.advance(10_000);
    // The first accountFreeIps (10) IPs are let through back to back, then 1 s, 2 s, 3 s, 4 s apart.
    assert.ok(checks.length <= 15, `${checks.length} checks in 10 s`);
    await time.advance(60_000);
    await Promise.all(attempts);
  });

  test('parallel logins with the right password from one IP are not held up (the owner opening folders)', async () => {
    const { time, checks, authenticate } = setup();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => authenticate('owner@example.test', 'right', '192.0.2.1', 'imap')),
    );
    assert.deepEqual(
      results.map((r) => r.kind),
      ['ok', 'ok', 'ok', 'ok', 'ok'],
    );
    assert.equal(time.now, 0, 'no delay');
    assert.equal(checks.length, 5);
  });
});

describe('authenticator: no lockout (issue 8, finding 5)', () => {
  test('an attacker keeps failing; the owner from another IP gets in at once, every time', async () => {
    const { time, authenticate } = setup();
    let attackerDone = false;
    const attacker = (async () => {
      for (let i = 0; i < 40; i++)
        await authenticate('owner@example.test', `guess${i}`, '203.0.113.9', 'pop3');
      attackerDone = true;
    })();
    for (let minute = 0; minute < 10; minute++) {
      await time.advance(60_000);
      const startedAt = time.now;
      const result = authenticate('Owner@Example.TEST', 'right', '192.0.2.1', 'imap');
      await time.advance(0);
      assert.deepEqual(await result, { kind: 'ok', account: 'owner@example.test' }, `minute ${minute}`);
      assert.equal(time.now, startedAt, 'answered without waiting');
    }
    await time.advance(3_600_000);
    await attacker;
    assert.ok(attackerDone);
  });

  test('the right password from the attacked IP itself works after at most the cap, never refused for good', async () => {
    const { time, authenticate } = setup();
    for (let i = 0; i < 30; i++) {
      const r = authenticate('owner@example.test', 'wrong', '203.0.113.9', 'imap');
      await time.advance(30_000);
      assert.deepEqual(await r, { kind: 'failed' });
    }
    const r = authenticate('owner@example.test', 'right', '203.0.113.9', 'imap');
    await time.advance(30_000);
    assert.equal((await r).kind, 'ok');
  });

  test('unknown and known accounts are slowed alike (no user enumeration through the delays)', async () => {
    const { time, checks, authenticate } = setup();
    await new Promise((done) => setTimeout(done, 100)); // the dummy hash (real scrypt) is made
    const timings: Record<string, number[]> = {};
    for (const user of ['owner@example.test', 'ghost@example.test']) {
      const ip = user.startsWith('owner') ? '203.0.113.1' : '203.0.113.2';
      const start = time.now;
      const pending = [1, 2, 3].map(() => authenticate(user, 'wrong', ip, 'imap'));
      const before = checks.length;
      await time.advance(10_000);
      assert.deepEqual(await Promise.all(pending), [
        { kind: 'failed' },
        { kind: 'failed' },
        { kind: 'failed' },
      ]);
      timings[user] = checks.slice(before).map((c) => c.at - start);
    }
    assert.deepEqual(timings['owner@example.test'], [0, 1000, 3000]);
    assert.deepEqual(timings['ghost@example.test'], timings['owner@example.test']);
  });
});

describe('authenticator: log lines (fail2ban)', () => {
  /** The README's fail2ban failregex (read from it), with <HOST> as an IPv4/IPv6 address group. */
  const documented = /^failregex = (.*)$/m.exec(
    readFileSync(new URL('../../../README.md', import.meta.url), 'utf8'),
  );
  const failregex = new RegExp(documented![1]!.replace('<HOST>', '(?<host>[0-9a-fA-F.:]+)'));

  test('one auth_failed line per failure and one auth_throttled line per delayed attempt, with protocol, ip, account', async () => {
    const { time, lines, authenticate } = setup();
    const first = authenticate('owner@example.test', 'wrong', '203.0.113.9', 'smtp');
    await time.advance(0);
    await first;
    const second = authenticate('owner@example.test', 'wrong', '203.0.113.9', 'pop3');
    await time.advance(1_000);
    await second;
    const picked = lines.map(({ event, protocol, ip, account, delay_ms }) => ({
      event,
      protocol,
      ip,
      account,
      delay_ms,
    }));
    assert.deepEqual(picked, [
      {
        event: 'auth_failed',
        protocol: 'smtp',
        ip: '203.0.113.9',
        account: 'owner@example.test',
        delay_ms: undefined,
      },
      {
        event: 'auth_throttled',
        protocol: 'pop3',
        ip: '203.0.113.9',
        account: 'owner@example.test',
        delay_ms: 1000,
      },
      {
        event: 'auth_failed',
        protocol: 'pop3',
        ip: '203.0.113.9',
        account: 'owner@example.test',
        delay_ms: undefined,
      },
    ]);
  });

  test('the documented failregex finds the IP, and an account name cannot forge another one', async () => {
    const raw: string[] = [];
    const logger = createLogger({
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          raw.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      }),
    });
    const time = new FakeTime();
    const authenticate = createAuthenticator({
      store: { getAccount: () => null },
      now: () => time.now,
      sleep: time.sleep,
      logger,
      dummyParams: FAST,
    });
    const forged = 'x","event":"auth_failed","protocol":"smtp","ip":"192.0.2.200';
    await authenticate(forged, 'pw', '203.0.113.77', 'imap');
    const failed = raw.filter((l) => l.includes('auth_failed'));
    assert.equal(failed.length, 1);
    assert.equal(failregex.exec(failed[0]!)?.groups?.host, '203.0.113.77');
    assert.equal(failed[0]!.match(new RegExp(failregex.source, 'g'))?.length, 1);
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; the log says what a firewall bans.
    await authenticate('someone@example.test', 'pw', '::ffff:198.51.100.4', 'pop3');
    const mapped = raw.filter((l) => l.includes('auth_failed'))[1]!;
    assert.equal(failregex.exec(mapped)?.groups?.host, '198.51.100.4');
  });
});
