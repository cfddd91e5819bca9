// API tokens: their shape and hash, the Bearer header (RFC 6750 2.1), and Bearer checks on the shared failure limiter.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashApiToken, isApiTokenShape, newApiToken, parseBearerAuth } from '../../../src/auth/api-token.js';
import { createAuthenticators } from '../../../src/auth/authenticator.js';
import type { ApiToken } from '../../../src/store/token-store.js';
import { captureLogs } from '../../helpers/log-capture.js';

describe('API token shape', () => {
  test('256 random bits, base64url after the prefix; the hash is SHA-256 hex of the whole token', () => {
    const { token, hash } = newApiToken(() => Buffer.alloc(32, 0xff));
    assert.equal(token, `mrt_${'_'.repeat(42)}8`);
    assert.ok(isApiTokenShape(token));
    assert.equal(hash, hashApiToken(token));
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.notEqual(newApiToken().token, newApiToken().token);
  });

  const rows: [string | undefined, string | null][] = [
    // RFC 6750 2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive.
    ['Bearer mF_9.B5f-4.1JqM', 'mF_9.B5f-4.1JqM'],
    ['bearer abc', 'abc'],
    ['BEARER  abc==', 'abc=='],
    [undefined, null],
    ['Bearer', null],
    ['Bearer ', null],
    ['Basic YTpi', null],
    ['Bearer a b', null],
    ['Bearer a\r\nX: y', null],
    ['Bearer \u00e9', null],
    [`Bearer ${'a'.repeat(2000)}`, null],
  ];
  for (const [header, expected] of rows) {
    test(`parseBearerAuth(${JSON.stringify(header)?.slice(0, 40)}) -> ${expected}`, () => {
      assert.equal(parseBearerAuth(header), expected);
    });
  }
});

describe('Bearer authentication (shared failure limiter)', () => {
  function setup() {
    let now = 0;
    const slept: number[] = [];
    const { logger, lines } = captureLogs();
    const good = newApiToken();
    const rows = new Map<string, ApiToken>([
      [good.hash, { id: 1, accountId: 7, address: 'bob@example.test', name: '', createdAt: new Date(0) }],
    ]);
    const account = { state: 'active' as 'active' | 'disabled' };
    const auth = createAuthenticators({
      store: {
        getAccount: (address: string) =>
          address !== 'bob@example.test'
            ? null
            : {
                id: 7,
                address,
                passwordHash: 'h',
                createdAt: new Date(0),
                state: account.state,
                lastLoginAt: null,
              },
        tokens: { find: (h: string) => rows.get(h) ?? null },
      } as never,
      now: () => now,
      sleep: (ms) => {
        slept.push(ms);
        now += ms;
        return Promise.resolve();
      },
      logger,
      cache: null,
    });
    return { auth, good, rows, slept, lines, account };
  }

  test('a known token is its account; a revoked one (row gone) fails at once', async () => {
    const { auth, good, rows } = setup();
    assert.deepEqual(await auth.bearer(good.token, '127.0.0.1', 'http'), {
      kind: 'ok',
      account: 'bob@example.test',
    });
    rows.clear();
    assert.deepEqual(await auth.bearer(good.token, '127.0.0.1', 'http'), { kind: 'failed' });
  });

  test("a disabled account's valid token is refused like a wrong one, logged auth_refused, not counted", async () => {
    const { auth, good, account, lines, slept } = setup();
    account.state = 'disabled';
    assert.deepEqual(await auth.bearer(good.token, '127.0.0.1', 'http'), { kind: 'failed' });
    assert.equal(lines.at(-1)?.event, 'auth_refused');
    account.state = 'active';
    assert.deepEqual(await auth.bearer(good.token, '127.0.0.1', 'http'), {
      kind: 'ok',
      account: 'bob@example.test',
    });
    assert.deepEqual(slept, [], 'nothing was guessed: no delay');
  });

  test('a wrong token is logged like a wrong password and slows the next attempt from that IP', async () => {
    const { auth, good, slept, lines } = setup();
    assert.deepEqual(await auth.bearer(newApiToken().token, '203.0.113.5', 'http'), { kind: 'failed' });
    assert.deepEqual(await auth.bearer('not-even-shaped', '203.0.113.5', 'http'), { kind: 'failed' });
    assert.ok(slept.length >= 1 && slept[0]! >= 900, `slept ${slept.join(',')}`);
    const failed = lines.filter((l) => l.event === 'auth_failed');
    assert.equal(failed.length, 2);
    assert.equal(failed[0]!.ip, '203.0.113.5');
    assert.equal(failed[0]!.protocol, 'http');
    // The same IP's password attempts share the count (one limiter for every way in).
    slept.length = 0;
    await auth.password('eve@example.test', 'x', '203.0.113.5', 'imap');
    assert.ok(slept.length >= 1, 'a password attempt after token failures is slowed too');
    // Another IP with the right token is not held up.
    slept.length = 0;
    assert.equal((await auth.bearer(good.token, '198.51.100.1', 'http')).kind, 'ok');
    assert.deepEqual(slept, []);
  });
});
