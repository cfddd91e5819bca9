// MailStore.appendAll (RFC 3502 MULTIAPPEND): one transaction for all the messages of an APPEND, all or none, blob files included.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { SpooledBody } from '../../../src/store/store.js';
import { memoryBody, request } from '../../contract/store-contract.js';

const INLINE = 1024;
const T0 = new Date('2026-11-23T10:00:00Z');

async function setup(): Promise<{ dir: string; store: SqliteStore; bob: number; inbox: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-append-all-'));
  const store = openSqliteStore({ dataDir: dir, inlineMaxBytes: INLINE });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'unused').id;
  return { dir, store, bob, inbox: store.getMailbox(bob, 'INBOX')!.id };
}

const msg = (n: number, size = 0): SpooledBody =>
  memoryBody(`Subject: m${n}\r\n\r\n${'x'.repeat(size)}body\r\n`);
const item = (body: SpooledBody, flags: string[] = []) => ({
  body,
  flags,
  internalDate: T0,
  internalDateOffset: 0,
});

describe('appendAll', () => {
  test('stores every message with consecutive UIDs, in order, with their flags', async () => {
    const { store, bob, inbox } = await setup();
    const r = await store.mail.appendAll(inbox, [
      item(msg(1), ['\\Seen']),
      item(msg(2, 4 * INLINE)),
      item(msg(3)),
    ]);
    const mb = store.getMailbox(bob, 'INBOX')!;
    assert.deepEqual(r, { uids: [1, 2, 3], uidValidity: mb.uidValidity });
    assert.equal(mb.messageCount, 3);
    const list = store.listMessages(inbox);
    assert.deepEqual(
      list.map((m) => m.flags),
      [['\\Seen'], [], []],
    );
    assert.match((await store.readMessage(list[1]!.messageId)).toString(), /^Subject: m2\r\n/);
  });

  test('a row failing inside the transaction (third message) stores none of them and removes their blob files', async () => {
    const { dir, store, bob, inbox } = await setup();
    // A trigger makes the third message's mailbox row fail inside the commit, after the first two were written.
    const db = new Database(join(dir, 'mailroom.db'));
    db.exec(
      "CREATE TRIGGER fail_third BEFORE INSERT ON mailbox_messages WHEN NEW.flags = 'FailMe' " +
        "BEGIN SELECT RAISE(ABORT, 'injected'); END",
    );
    db.close();
    // A delivery waiting in the same batch is not dragged down with the group.
    const [appended, delivered] = await Promise.allSettled([
      store.mail.appendAll(inbox, [item(msg(1, 4 * INLINE)), item(msg(2)), item(msg(3), ['FailMe'])]),
      store.deliver(
        request({ body: memoryBody('Subject: other\r\n\r\nx\r\n'), local: [{ accountId: bob }] }),
      ),
    ]);
    assert.equal(appended.status, 'rejected');
    assert.match(String((appended as PromiseRejectedResult).reason), /injected/);
    assert.equal(delivered.status, 'fulfilled');
    const mb = store.getMailbox(bob, 'INBOX')!;
    assert.equal(mb.messageCount, 1, 'only the other delivery');
    assert.deepEqual(
      readdirSync(join(dir, 'blobs')).filter((f) => f !== 'README'),
      [],
      'the large body of message 1 was removed',
    );
  });

  test('a bad zone offset in any message refuses all before anything is written', async () => {
    const { store, bob, inbox } = await setup();
    await assert.rejects(
      store.mail.appendAll(inbox, [item(msg(1)), { ...item(msg(2)), internalDateOffset: 24 * 60 }]),
      RangeError,
    );
    assert.equal(store.getMailbox(bob, 'INBOX')!.uidNext, 1);
  });
});
