// The verified Authorization header cache: hits only for the same header and stored hash, expiry, bound; JMAP's routes use it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BasicCredentialCache } from '../../../src/http/basic-auth-cache.js';
import { createJmapHttp, type HttpAuthenticate } from '../../../src/http/jmap-routes.js';
import { JMAP_BASIC_CACHE, JMAP_CORE_LIMITS } from '../../../src/config/limits.js';
import { coreCapability } from '../../../src/jmap/core/session.js';
import type { BlobResolver } from '../../../src/jmap/core/blobs.js';
import type { StateSource } from '../../../src/jmap/core/push.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { Account, Store } from '../../../src/store/store.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('BasicCredentialCache', () => {
  const hashes = new Map([['a@x.test', 'H1']]);
  const stored = (address: string) => hashes.get(address) ?? null;

  test('a remembered header hits; another header (another password) misses', () => {
    const c = new BasicCredentialCache<string>(10, 1000);
    c.remember(basic('a@x.test', 'pw'), 'a@x.test', 'H1', 'user-a', 0);
    assert.equal(c.lookup(basic('a@x.test', 'pw'), 1, stored), 'user-a');
    assert.equal(c.lookup(basic('a@x.test', 'pw2'), 1, stored), null);
    assert.equal(c.lookup(basic('A@x.test', 'pw'), 1, stored), null);
  });

  test('a changed stored hash or a removed account misses, and the entry is dropped', () => {
    const c = new BasicCredentialCache<string>(10, 1000);
    c.remember(basic('a@x.test', 'pw'), 'a@x.test', 'H1', 'user-a', 0);
    assert.equal(
      c.lookup(basic('a@x.test', 'pw'), 1, () => 'H2'),
      null,
    );
    assert.equal(c.size, 0);
    c.remember(basic('a@x.test', 'pw'), 'a@x.test', 'H1', 'user-a', 0);
    assert.equal(
      c.lookup(basic('a@x.test', 'pw'), 1, () => null),
      null,
    );
    // Back to H1 (the entry is gone: no resurrection of a verification against an old hash).
    assert.equal(c.lookup(basic('a@x.test', 'pw'), 1, stored), null);
  });

  test('entries expire after the TTL', () => {
    const c = new BasicCredentialCache<string>(10, 1000);
    c.remember(basic('a@x.test', 'pw'), 'a@x.test', 'H1', 'user-a', 0);
    assert.equal(c.lookup(basic('a@x.test', 'pw'), 999, stored), 'user-a');
    assert.equal(c.lookup(basic('a@x.test', 'pw'), 1000, stored), null);
  });

  test('bounded: the least recently used entry goes first; the header itself is not kept', () => {
    const c = new BasicCredentialCache<string>(2, 1000);
    // A password with '!' (never in base64), so the check below cannot match the base64 HMAC keys by chance:
    // with 'pw' it failed about once in 50 runs.
    const h = (n: number) => basic('a@x.test', `secret!${n}`);
    c.remember(h(1), 'a@x.test', 'H1', 'one', 0);
    c.remember(h(2), 'a@x.test', 'H1', 'two', 0);
    assert.equal(c.lookup(h(1), 1, stored), 'one'); // 1 is now the most recent
    c.remember(h(3), 'a@x.test', 'H1', 'three', 0);
    assert.equal(c.size, 2);
    assert.equal(c.lookup(h(2), 1, stored), null);
    assert.equal(c.lookup(h(1), 1, stored), 'one');
    assert.equal(c.lookup(h(3), 1, stored), 'three');
    const kept = JSON.stringify([...(c as unknown as { entries: Map<string, unknown> }).entries]);
    assert.ok(!kept.includes('secret!'), 'no password');
    assert.ok(!kept.includes(h(1).slice('Basic '.length)), 'no header');
    assert.ok(JMAP_BASIC_CACHE.maxEntries > 0 && JMAP_BASIC_CACHE.ttlMs > 0);
  });
});

describe('JMAP routes: Basic auth per request', () => {
  const accounts = new Map<string, Account>();
  const setAccount = (address: string, passwordHash: string) =>
    accounts.set(address, {
      id: 7,
      address,
      passwordHash,
      createdAt: new Date(0),
      state: 'active',
      lastLoginAt: null,
    });
  let passwords = new Map<string, string>();
  let calls = 0;
  let clock = 0;
  let duringCheck = (): void => undefined;
  // The real authenticator checks scrypt hashes; here the "hash" is the password itself.
  const authenticate: HttpAuthenticate = async (username, password) => {
    calls++;
    duringCheck();
    await new Promise((r) => setImmediate(r));
    const address = username.toLowerCase();
    return passwords.get(address) === password ? { kind: 'ok', account: address } : { kind: 'failed' };
  };
  let server: Server;
  let base: string;

  before(async () => {
    const jmap = createJmapHttp({
      // Only getAccount is used by the session resource's authentication.
      store: { getAccount: (address: string) => accounts.get(address) ?? null } as unknown as Store,
      authenticate,
      allowLoopbackPlaintext: true,
      logger: silentLogger(),
      limits: JMAP_CORE_LIMITS,
      capabilities: [coreCapability(JMAP_CORE_LIMITS)],
      methods: new Map(),
      blobs: {} as BlobResolver,
      states: {} as StateSource,
      now: () => clock,
    });
    server = createServer((req, res) => void jmap.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const session = async (auth: string) =>
    (await fetch(`${base}/.well-known/jmap`, { headers: { Authorization: auth } })).status;

  test('a verified header is checked once, then served from the cache until the password changes or it expires', async () => {
    passwords = new Map([['a@x.test', 'pw']]);
    setAccount('a@x.test', 'pw');
    calls = 0;
    clock = 0;
    assert.equal(await session(basic('a@x.test', 'pw')), 200);
    assert.equal(await session(basic('a@x.test', 'pw')), 200);
    assert.equal(await session(basic('a@x.test', 'pw')), 200);
    assert.equal(calls, 1, 'one full check for three requests');
    // The password changes: the old header is checked again (and now fails).
    passwords.set('a@x.test', 'new');
    setAccount('a@x.test', 'new');
    assert.equal(await session(basic('a@x.test', 'pw')), 401);
    assert.equal(calls, 2);
    assert.equal(await session(basic('a@x.test', 'new')), 200);
    assert.equal(await session(basic('a@x.test', 'new')), 200);
    assert.equal(calls, 3);
    clock = JMAP_BASIC_CACHE.ttlMs;
    assert.equal(await session(basic('a@x.test', 'new')), 200);
    assert.equal(calls, 4, 'expired: checked again');
  });

  test('a disabled account: its cached header is checked again, not served from the cache', async () => {
    passwords = new Map([['d@x.test', 'pw']]);
    setAccount('d@x.test', 'pw');
    calls = 0;
    clock = 0;
    assert.equal(await session(basic('d@x.test', 'pw')), 200);
    assert.equal(await session(basic('d@x.test', 'pw')), 200);
    assert.equal(calls, 1);
    accounts.set('d@x.test', { ...accounts.get('d@x.test')!, state: 'disabled' });
    // The real authenticator refuses a disabled account; this fake says so the same way.
    passwords.delete('d@x.test');
    assert.equal(await session(basic('d@x.test', 'pw')), 401);
    assert.equal(calls, 2, 'checked again');
  });

  test('failures are never cached: each wrong password is a full (throttled) check', async () => {
    passwords = new Map([['a@x.test', 'pw']]);
    setAccount('a@x.test', 'pw');
    calls = 0;
    for (let i = 0; i < 3; i++) assert.equal(await session(basic('a@x.test', 'wrong')), 401);
    assert.equal(calls, 3);
  });

  test('a password changed while the check ran is not cached against the new hash', async () => {
    passwords = new Map([['a@x.test', 'pw']]);
    setAccount('a@x.test', 'before');
    calls = 0;
    // The check succeeds, but the stored hash read before it ('before') is no longer the account's.
    duringCheck = () => void setAccount('a@x.test', 'pw');
    assert.equal(await session(basic('a@x.test', 'pw')), 200);
    duringCheck = () => undefined;
    assert.equal(await session(basic('a@x.test', 'pw')), 200);
    assert.equal(calls, 2);
    assert.equal(await session(basic('a@x.test', 'pw')), 200);
    assert.equal(calls, 2, 'verified against the hash it then had: cached');
  });
});
