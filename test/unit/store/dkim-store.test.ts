// SqliteDkimStore (migration 15): keys per local domain, which one signs (newest unless another is activated), upgrades.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../../src/store/sqlite/schema.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { MailroomError } from '../../../src/errors.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function open(clock: () => Date = () => new Date('2026-12-05T10:00:00Z')): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-dkim-'));
  dirs.push(dir);
  const store = openSqliteStore({ dataDir: dir, clock });
  after(() => store.close());
  store.addDomain('example.test');
  return store;
}

const key = (selector: string, extra: { domain?: string; inactive?: boolean } = {}) => ({
  domain: extra.domain ?? 'example.test',
  selector,
  algorithm: 'rsa' as const,
  privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${selector}\n-----END PRIVATE KEY-----\n`,
  publicKey: `PUB${selector}`,
  ...(extra.inactive ? { inactive: true } : {}),
});

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof MailroomError ? e.code : String(e);
  }
  return 'no error';
};

describe('dkim keys', () => {
  test('only local domains; one key per selector; stored names are lower-cased', () => {
    const store = open();
    assert.equal(
      code(() => store.dkim.addKey(key('a', { domain: 'other.test' }))),
      'DOMAIN_NOT_LOCAL',
    );
    store.dkim.addKey({ ...key('Sel1'), domain: 'EXAMPLE.test' });
    assert.equal(
      code(() => store.dkim.addKey(key('sel1'))),
      'DKIM_KEY_EXISTS',
    );
    assert.deepEqual(
      store.dkim.listKeys().map((k) => [k.domain, k.selector]),
      [['example.test', 'sel1']],
    );
    assert.equal(
      code(() => store.dkim.activateKey('example.test', 'nope')),
      'NO_SUCH_DKIM_KEY',
    );
    assert.equal(
      code(() => store.dkim.removeKey('example.test', 'nope')),
      'NO_SUCH_DKIM_KEY',
    );
  });

  test('the newest key signs unless another is activated; --inactive keys wait for activate', () => {
    const store = open(); // every key made in the same millisecond: creation order still decides
    assert.equal(store.dkim.signingKey('example.test'), null);
    store.dkim.addKey(key('old'));
    assert.equal(store.dkim.signingKey('example.test')?.selector, 'old');
    store.dkim.addKey(key('new'));
    assert.equal(store.dkim.signingKey('example.test')?.selector, 'new', 'the newest');
    store.dkim.activateKey('example.test', 'old');
    assert.equal(store.dkim.signingKey('example.test')?.selector, 'old', 'activated wins over newest');
    store.dkim.addKey(key('newer'));
    assert.equal(store.dkim.signingKey('example.test')?.selector, 'old', 'still the activated one');
    store.dkim.activateKey('example.test', 'newer');
    assert.equal(store.dkim.signingKey('example.test')?.selector, 'newer', 'the latest activation');
    store.dkim.removeKey('example.test', 'newer');
    assert.equal(store.dkim.signingKey('example.test')?.selector, 'old', 'back to the one activated before');
    // Rotation without a gap: the new key is published first, signing only once activated.
    store.dkim.addKey(key('next', { inactive: true }));
    store.dkim.removeKey('example.test', 'old');
    assert.equal(store.dkim.signingKey('example.test')?.selector, 'new', 'the newest not made --inactive');
    store.dkim.activateKey('example.test', 'next');
    assert.equal(store.dkim.signingKey('example.test')?.selector, 'next');
  });

  test('keys go with their domain', () => {
    const store = open();
    store.addDomain('gone.test');
    store.dkim.addKey(key('s', { domain: 'gone.test' }));
    store.removeDomain('gone.test');
    assert.deepEqual(store.dkim.listKeys('gone.test'), []);
  });
});

test('migration 15 upgrades a database of the previous version without touching its data', () => {
  const at = MIGRATIONS.findIndex((m) => m.includes('CREATE TABLE dkim_keys'));
  assert.equal(at + 1, 15, 'migration number 15');
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  for (const sql of MIGRATIONS.slice(0, at)) db.exec(sql);
  db.exec("INSERT INTO domains (name, created_at) VALUES ('example.test', 0)");
  db.exec(MIGRATIONS[at] as string);
  db.exec(
    "INSERT INTO dkim_keys (domain, selector, algorithm, private_key, public_key, created_at) VALUES ('example.test', 's', 'rsa', 'k', 'p', 1)",
  );
  assert.equal(db.prepare('SELECT COUNT(*) FROM domains').pluck().get(), 1);
  assert.deepEqual(db.prepare('SELECT activated_at, inactive FROM dkim_keys').get(), {
    activated_at: null,
    inactive: 0,
  });
  db.close();
});
