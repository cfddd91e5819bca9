// Upgrading a data directory made by the previous version (schema 9, test/fixtures/datadir-v9): Emails and threads backfilled, IMAP unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite/schema.js';
import { checkDataDir } from '../../src/store/sqlite/backup.js';
import type { Mailbox } from '../../src/store/store.js';
import { assertConsistent } from './jmap-contract.js';

/*
 * The fixture was written by the code before issue 9 (schema version 9: see the commit that added it):
 * bob and ann share a delivered "Plan"; bob has a reply to it, two unrelated "Hello"s, a message with a
 * blob file, a reply whose header index was removed (as messages from before migration 5 have none) and
 * whose body is a blob file, an APPENDed message with an old date and flags, COPY/MOVE into "Projects",
 * flags and an EXPUNGE (so MODSEQs and VANISHED records exist).
 */
const FIXTURE = fileURLToPath(new URL('../fixtures/datadir-v9', import.meta.url));

type Row = { mailbox_id: number; uid: number; message_id: number; flags: string; modseq: number };

test('migration 10: a schema-9 data directory gets an Email per (account, message), threads, and IMAP sees the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-v9-'));
  try {
    await cp(FIXTURE, dir, { recursive: true });
    const old = new Database(join(dir, 'mailroom.db'), { readonly: true });
    assert.equal(old.pragma('user_version', { simple: true }), 9);
    const rowsBefore = old
      .prepare(
        'SELECT mailbox_id, uid, message_id, flags, modseq FROM mailbox_messages ORDER BY mailbox_id, uid',
      )
      .all() as Row[];
    const boxesBefore = old
      .prepare('SELECT id, uidnext, highest_modseq, uidvalidity FROM mailboxes ORDER BY id')
      .all();
    const vanishedBefore = old.prepare('SELECT * FROM mailbox_expunged ORDER BY mailbox_id, uid').all();
    old.close();
    assert.ok(rowsBefore.length >= 10);

    let store = openSqliteStore({ dataDir: dir });
    // The data as it was is copied first (issue 11): a restorable schema-9 backup with every message.
    const upgradeBackup = store.upgradeBackup ?? '';
    assert.ok(upgradeBackup.startsWith(join(dir, 'backups', `schema-9-to-${SCHEMA_VERSION}-`)));
    const copy = checkDataDir(upgradeBackup);
    assert.deepEqual(copy.problems, []);
    assert.equal(copy.messages, new Set(rowsBefore.map((r) => r.message_id)).size);
    const copied = new Database(join(upgradeBackup, 'mailroom.db'), { readonly: true });
    assert.equal(copied.pragma('user_version', { simple: true }), 9);
    copied.close();
    const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    // IMAP sees exactly what it saw: UIDs, flags, MODSEQs, UIDNEXT, HIGHESTMODSEQ, VANISHED.
    assert.deepEqual(
      db
        .prepare(
          'SELECT mailbox_id, uid, message_id, flags, modseq FROM mailbox_messages ORDER BY mailbox_id, uid',
        )
        .all(),
      rowsBefore,
    );
    assert.deepEqual(
      db.prepare('SELECT id, uidnext, highest_modseq, uidvalidity FROM mailboxes ORDER BY id').all(),
      boxesBefore,
    );
    assert.deepEqual(
      db.prepare('SELECT * FROM mailbox_expunged ORDER BY mailbox_id, uid').all(),
      vanishedBefore,
    );
    db.close();

    const bob = store.getAccount('bob@example.test')?.id as number;
    const ann = store.getAccount('ann@example.test')?.id as number;
    assertConsistent(store, bob);
    assertConsistent(store, ann);
    const j = store.jmap;
    const inbox = store.getMailbox(bob, 'INBOX') as Mailbox;
    const projects = store.getMailbox(bob, 'Projects') as Mailbox;
    // Email of a stored message by the Message-ID in its header index.
    const byMsgId = new Map<string, string>();
    for (const box of [inbox, projects]) {
      for (const r of store.mail.listIndex(box.id)) {
        const [idx] = await store.mail.searchHeaders([r.messageId]);
        const mid = /\nmessage-id:<([^>]+)>/.exec(idx ?? '')?.[1] as string;
        byMsgId.set(mid, j.objectIds(bob, [r.messageId])[0]?.emailId as string);
      }
    }
    assert.equal(byMsgId.size, 7, "seven distinct messages in bob's mailboxes");
    const threadOf = (mid: string): string =>
      j.getEmails(bob, [byMsgId.get(mid) as string])[0]?.threadId as string;
    assert.equal(threadOf('plan2@x'), threadOf('plan@x'));
    assert.equal(
      threadOf('noindex@x'),
      threadOf('plan@x'),
      'threaded from its blob when it had no header index',
    );
    assert.notEqual(threadOf('h1@x'), threadOf('h2@x'));
    const plan = j.getEmails(bob, [byMsgId.get('plan@x') as string])[0];
    assert.deepEqual(plan?.keywords, ['$seen']);
    assert.deepEqual(plan?.mailboxIds, [inbox.id, projects.id].map((m) => j.mailboxObjectId(m)).sort());
    const flagged = j.getEmails(bob, [byMsgId.get('h1@x') as string])[0];
    assert.deepEqual(flagged?.keywords, ['$flagged', '$label1'], 'union of the two rows');
    assert.deepEqual(j.getEmails(bob, [byMsgId.get('app@x') as string])[0]?.keywords, ['$seen', 'work']);
    const page = j.queryMailbox(bob, j.mailboxObjectId(inbox.id), 0, 50, true);
    assert.equal(page?.total, 6);
    assert.equal(page?.ids.at(-1), byMsgId.get('app@x'), 'the APPEND dated a month earlier sorts last');
    // ann's copy of the shared delivery is her own Email.
    const annInbox = store.getMailbox(ann, 'INBOX') as Mailbox;
    const annRow = store.mail.listIndex(annInbox.id)[0];
    assert.ok(annRow);
    assert.notEqual(j.objectIds(ann, [annRow.messageId])[0]?.emailId, byMsgId.get('plan@x'));
    // Nothing happened since the upgrade as far as a new client's state is concerned; then it goes on as usual.
    const states = j.states(bob);
    const none = j.changes(bob, 'Email', states.Email, null);
    assert.ok(none.ok && none.created.length === 0);
    await store.mail.storeFlags(inbox.id, [5], 'add', ['\\Seen'], null);
    const after = j.changes(bob, 'Email', states.Email, null);
    assert.ok(after.ok);
    assert.equal(after.updated.length, 1);
    await store.close();

    // A second open does not backfill again: same ids.
    store = openSqliteStore({ dataDir: dir });
    assert.equal(store.jmap.objectIds(bob, [annRow.messageId])[0]?.emailId, byMsgId.get('plan@x'));
    assert.equal(store.integrityCheck(), 'ok');
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
