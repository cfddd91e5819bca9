// An older data_dir whose domains were stored as A-labels keeps receiving after the upgrade to canonical U-labels.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

test('A-label domains, accounts and aliases stored by an older version are rewritten to U-labels at open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-idn-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const first = openSqliteStore({ dataDir: dir });
  await first.close();
  // What an older version stored for `domain add xn--bcher-kva.test` and friends (no normalisation then).
  const db = new Database(join(dir, 'mailroom.db'));
  db.pragma('foreign_keys = ON');
  db.prepare("INSERT INTO domains (name, created_at) VALUES ('xn--bcher-kva.test', 1)").run();
  db.prepare(
    "INSERT INTO accounts (address, domain, password_hash, created_at) VALUES ('anna@xn--bcher-kva.test', 'xn--bcher-kva.test', 'h', 1)",
  ).run();
  db.prepare(
    "INSERT INTO aliases (source, domain, target, position) VALUES ('info@xn--bcher-kva.test', 'xn--bcher-kva.test', 'anna@xn--bcher-kva.test', 0)",
  ).run();
  db.close();

  const store = openSqliteStore({ dataDir: dir });
  after(() => store.close());
  assert.deepEqual(store.listDomains(), ['bücher.test']);
  assert.equal(store.isLocalDomain('xn--bcher-kva.test'), true);
  assert.equal(store.getAccount('anna@xn--bcher-kva.test')?.address, 'anna@bücher.test');
  assert.deepEqual(store.getAlias('info@bücher.test')?.targets, ['anna@bücher.test']);
});
