// Disabled and removed accounts (issue 11): the authenticator refuses them on every protocol, last_login is written at most once a minute, the account watch ends their sessions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createAuthenticator } from '../../../src/auth/authenticator.js';
import { hashPassword } from '../../../src/auth/password-hash.js';
import { LoginRecorder } from '../../../src/auth/login-recorder.js';
import { silentLogger } from '../../../src/observability/logger.js';
import {
  accountCheckOf,
  startAccountWatch,
  type AccountCheck,
  type SessionHandle,
} from '../../../src/server/account-sessions.js';
import type { Account, AccountState } from '../../../src/store/store.js';
import { captureLogs } from '../../helpers/log-capture.js';

const FAST = { N: 1 << 10, r: 8, p: 1, keyLength: 32, saltLength: 16 };

function account(address: string, state: AccountState, passwordHash = ''): Account {
  return { id: 7, address, passwordHash, createdAt: new Date(0), state, lastLoginAt: null };
}

describe('authenticator and account states', () => {
  async function setup() {
    const alice = account('alice@example.test', 'active', await hashPassword('secret-pw', { params: FAST }));
    let current: Account = alice;
    const { logger, lines } = captureLogs();
    const logins: string[] = [];
    const authenticate = createAuthenticator({
      store: { getAccount: (a) => (a === current.address ? current : null) },
      now: () => 0,
      sleep: async () => undefined,
      logger,
      dummyParams: FAST,
      onLogin: (a) => logins.push(a.address),
    });
    const setState = (state: AccountState) => (current = { ...alice, state });
    return { authenticate, lines, logins, setState };
  }

  test('a disabled or removed account gets the answer of a wrong password, even with a cached success', async () => {
    const { authenticate, logins, setState } = await setup();
    assert.equal((await authenticate('alice@example.test', 'secret-pw', '192.0.2.1', 'imap')).kind, 'ok');
    assert.deepEqual(logins, ['alice@example.test']);
    // The verified cache now holds this password: the state must still be checked.
    for (const state of ['disabled', 'removed'] as const) {
      setState(state);
      for (const protocol of ['smtp', 'imap', 'pop3', 'http'] as const) {
        assert.deepEqual(await authenticate('alice@example.test', 'secret-pw', '192.0.2.1', protocol), {
          kind: 'failed',
        });
      }
    }
    assert.deepEqual(logins, ['alice@example.test'], 'no login recorded for a refused account');
    setState('active');
    assert.equal((await authenticate('alice@example.test', 'secret-pw', '192.0.2.1', 'pop3')).kind, 'ok');
  });

  test('logged as auth_refused (not auth_failed: the README fail2ban filter must not ban the user)', async () => {
    const { authenticate, lines, setState } = await setup();
    setState('disabled');
    await authenticate('alice@example.test', 'secret-pw', '192.0.2.9', 'imap');
    const picked = lines.map(({ event, protocol, ip, account: a, reason }) => ({
      event,
      protocol,
      ip,
      account: a,
      reason,
    }));
    assert.deepEqual(picked, [
      {
        event: 'auth_refused',
        protocol: 'imap',
        ip: '192.0.2.9',
        account: 'alice@example.test',
        reason: 'disabled',
      },
    ]);
    const documented = /^failregex = (.*)$/m.exec(
      readFileSync(new URL('../../../README.md', import.meta.url), 'utf8'),
    );
    const failregex = new RegExp(documented![1]!.replace('<HOST>', '[0-9a-fA-F.:]+'));
    assert.ok(lines.every((l) => !failregex.test(JSON.stringify(l))));
  });
});

describe('LoginRecorder', () => {
  test('writes a sign-in at most once a minute per account, counting the stored value', () => {
    let now = 1_000_000;
    const writes: [number, number][] = [];
    const recorder = new LoginRecorder(
      { recordLogin: (id, at) => writes.push([id, at.getTime()]) },
      () => now,
    );
    const a = { id: 1, lastLoginAt: null };
    const b = { id: 2, lastLoginAt: new Date(now - 30_000) }; // written 30 s ago, before a restart
    recorder.record(a);
    recorder.record(b);
    now += 59_999;
    recorder.record(a);
    recorder.record(b);
    now += 1;
    recorder.record(a);
    recorder.record(a);
    assert.deepEqual(writes, [
      [1, 1_000_000],
      [2, 1_059_999],
      [1, 1_060_000],
    ]);
  });

  test('a failing write is reported, never thrown (it is bookkeeping); the map stays bounded', () => {
    const errors: unknown[] = [];
    let now = 0;
    const recorder = new LoginRecorder(
      {
        recordLogin: () => {
          throw new Error('SQLITE_BUSY');
        },
      },
      () => now,
      (err) => errors.push(err),
      60_000,
      3,
    );
    for (let id = 1; id <= 10; id++) {
      now += 1;
      recorder.record({ id, lastLoginAt: null });
    }
    assert.equal(errors.length, 10);
    assert.ok((recorder as unknown as { written: Map<number, number> }).written.size <= 3);
  });
});

describe('account watch', () => {
  /** A session of `address` (or a not-yet-signed-in one) as serve.ts tracks it. */
  function fakeSession(address: string | null) {
    const s = {
      ended: null as string | null,
      checks: 0,
      shutdown: () => undefined,
      revalidate(check: AccountCheck): number {
        if (address === null || s.ended !== null) return 0;
        s.checks++;
        const why = check(address);
        if (why === null) return 0;
        s.ended = why;
        return 1;
      },
    };
    return s;
  }

  test('ends exactly the sessions of disabled and removed accounts, looking each account up once', () => {
    const states = new Map<string, AccountState | null>([
      ['alice@example.test', 'active'],
      ['bob@example.test', 'active'],
      ['carol@example.test', 'active'],
    ]);
    const lookups: string[] = [];
    const store = {
      getAccount: (a: string) => {
        lookups.push(a);
        const state = states.get(a);
        return state ? account(a, state) : null;
      },
    };
    const sessions = [
      fakeSession('alice@example.test'),
      fakeSession('Bob@example.test'),
      fakeSession('bob@example.test'),
      fakeSession('carol@example.test'),
      fakeSession(null),
    ];
    let tick: (() => void) | null = null;
    const watch = startAccountWatch({
      store,
      sessions: () => sessions as SessionHandle[],
      logger: silentLogger(),
      timers: { setInterval: (fn) => (tick = fn), clearInterval: () => (tick = null) },
    });
    assert.equal(watch.check(), 0);
    assert.deepEqual(lookups.sort(), ['alice@example.test', 'bob@example.test', 'carol@example.test']);
    states.set('bob@example.test', 'disabled');
    states.delete('carol@example.test');
    tick!();
    assert.deepEqual(
      sessions.map((s) => s.ended),
      [null, 'Account disabled', 'Account disabled', 'Account removed', null],
    );
    states.set('alice@example.test', 'removed');
    assert.equal(watch.check(), 1);
    assert.equal(sessions[0]!.ended, 'Account removed');
    watch.stop();
    assert.equal(tick, null);
  });

  test('accountCheckOf: active passes, disabled / removed / gone are refused', () => {
    const check = accountCheckOf({
      getAccount: (a) => (a === 'gone@example.test' ? null : account(a, a.split('@')[0] as AccountState)),
    });
    assert.equal(check('active@example.test'), null);
    assert.equal(check('disabled@example.test'), 'Account disabled');
    assert.equal(check('removed@example.test'), 'Account removed');
    assert.equal(check('gone@example.test'), 'Account removed');
  });
});
