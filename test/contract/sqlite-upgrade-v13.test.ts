// Upgrading a data directory made by the code before issue 11 (schema 13, test/fixtures/datadir-v13): every message, flag, alias,
// password and queue entry survives, a copy of the old data is taken first, and the upgraded directory passes the integrity check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyPassword } from '../../src/auth/password-hash.js';
import { checkDataDir } from '../../src/store/sqlite/backup.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite/schema.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/* Made by test/fixtures/datadir-v13-make.txt at commit 7800038 (schema 13): two accounts (bob, ann) with
 * passwords, a "team" alias to both and a forwarding alias, deliveries to both (one shared, one reply, one
 * in a blob file), \Seen+Work and \Flagged on bob's messages, and two queued messages for remote addresses
 * (one in a blob file, one also delivered to ann). */
const FIXTURE = fileURLToPath(new URL('../fixtures/datadir-v13', import.meta.url));

test('a schema-13 data directory upgrades with every message, flag, alias, password and queue entry', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-v13-'));
  try {
    await cp(FIXTURE, dir, { recursive: true });
    const old = new Database(join(dir, 'mailroom.db'), { readonly: true });
    assert.equal(old.pragma('user_version', { simple: true }), 13);
    old.close();

    const store = openSqliteStore({ dataDir: dir });
    try {
      assert.ok(store.upgradeBackup, 'a copy of the schema-13 data was taken first');
      assert.equal(checkDataDir(store.upgradeBackup).ok, true);
      const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      db.close();

      const read = async (address: string) => {
        const account = store.getAccount(address);
        assert.ok(account, address);
        assert.equal(account.state, 'active');
        const inbox = store.getMailbox(account.id, 'INBOX')!;
        return Promise.all(
          store.listMessages(inbox.id).map(async (m) => ({
            uid: m.uid,
            flags: [...m.flags].sort(),
            subject: /^Subject: (.*)$/m.exec((await store.readMessage(m.messageId)).toString())?.[1],
            size: (await store.readMessage(m.messageId)).length,
          })),
        );
      };
      const bob = await read('bob@example.test');
      assert.deepEqual(
        bob.map((m) => [m.uid, m.subject, m.flags]),
        [
          [1, 'Plan', ['Work', '\\Seen']],
          [2, 'Re: Plan', []],
          [3, 'Big', ['\\Flagged']],
        ],
      );
      assert.ok(bob[2]!.size > 5000, 'the blob-file message reads back whole');
      assert.deepEqual(
        (await read('ann@example.test')).map((m) => m.subject),
        ['Plan', 'Both'],
      );
      assert.equal(
        await verifyPassword('bob-password', store.getAccount('bob@example.test')!.passwordHash),
        true,
      );
      assert.deepEqual(
        store
          .listAliases()
          .map((a) => [a.source, [...a.targets].sort()])
          .sort(),
        [
          ['fwd@example.test', ['someone@remote.example']],
          ['team@example.test', ['ann@example.test', 'bob@example.test']],
        ],
      );
      const queue = store.listQueue();
      assert.deepEqual(queue.map((q) => [q.sender, q.recipients.map((r) => r.address).sort()]).sort(), [
        ['alice@remote.example', ['other@remote.example', 'someone@remote.example']],
        ['alice@remote.example', ['someone@remote.example']],
      ]);
      for (const q of queue) assert.ok((await store.queue.readMessage(q.id)).length > 0);
      // Issue 12: the quota migration counts the existing mail; no quota is set on old accounts.
      const bobUsage = store
        .accountUsage()
        .find((u) => u.accountId === store.getAccount('bob@example.test')!.id)!;
      assert.deepEqual(bobUsage.messages, 3);
      assert.equal(
        bobUsage.bytes,
        bob.reduce((n, m) => n + m.size, 0),
      );
      assert.equal(bobUsage.limitBytes, null);
      assert.deepEqual(store.usageMismatches(), []);
    } finally {
      await store.close();
    }
    assert.deepEqual(checkDataDir(dir).problems, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
