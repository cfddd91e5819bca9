// JMAP at scale (issue 9): the message list query walks an index in order and stops at the page, at any mailbox size.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GET_EMAILS_SQL, QUERY_MAILBOX_SQL } from '../../../src/store/sqlite/jmap-emails.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

test('Email/query inMailbox sorted by receivedAt desc: mailbox_messages_received, no sort of the mailbox', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-plan-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await openSqliteStore({ dataDir: dir }).close();
  const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
  try {
    const p = db
      .prepare<number[], { detail: string }>(`EXPLAIN QUERY PLAN ${QUERY_MAILBOX_SQL}`)
      .all(1, 1, 50, 0)
      .map((r) => r.detail);
    assert.ok(
      p.some((d) => /mailbox_messages_received/.test(d)),
      p.join(' | '),
    );
    assert.ok(!p.some((d) => /TEMP B-TREE/.test(d)), p.join(' | '));
  } finally {
    db.close();
  }
});

test('getEmails of a 50-id page: one statement in all (not two per Email), the same records in the asked order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-plan-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const store = openSqliteStore({ dataDir: dir });
  try {
    store.addDomain('example.test');
    const bob = store.addAccount('bob@example.test', 'h').id;
    const ann = store.addAccount('ann@example.test', 'h').id;
    const deliver = (accountId: number, i: number) => {
      const b = Buffer.from(`From: a@remote.example\r\nSubject: s${i}\r\n\r\nbody ${i}\r\n`);
      return store.deliver({
        queueId: `Q${accountId}x${i}`,
        envelope: { sender: 'a@remote.example' },
        traceHeaders: '',
        body: { kind: 'memory', chunks: [b], size: b.length },
        receivedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000),
        local: [{ accountId }],
        remote: [],
      });
    };
    await Promise.all(Array.from({ length: 60 }, (_, i) => deliver(bob, i)));
    await deliver(ann, 0);
    const j = store.jmap;
    const inbox = j.mailboxObjectId(store.getMailbox(bob, 'INBOX')?.id as number);
    const ids = j.queryMailbox(bob, inbox, 0, 50, false)?.ids ?? [];
    assert.equal(ids.length, 50);
    const annInbox = j.mailboxObjectId(store.getMailbox(ann, 'INBOX')?.id as number);
    const annId = j.queryMailbox(ann, annInbox, 0, 1, false)?.ids[0] as string;
    const [first] = ids as [string];
    await j.setKeywords(bob, [first], ['$seen', '$flagged']);

    // Every read better-sqlite3 runs goes through these prototype methods (one shared class); run() is
    // left out: the read transaction's BEGIN and COMMIT go through it.
    const probe = new Database(':memory:');
    const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>;
    probe.close();
    let runs = 0;
    const saved = new Map<string, unknown>();
    for (const m of ['get', 'all', 'iterate']) {
      const original = proto[m] as (...a: unknown[]) => unknown;
      saved.set(m, original);
      proto[m] = function (this: unknown, ...a: unknown[]) {
        runs++;
        return original.apply(this, a);
      };
    }
    let page;
    try {
      page = j.getEmails(bob, [...ids, 'nonsense', annId, first]);
    } finally {
      for (const [m, f] of saved) proto[m] = f;
    }
    assert.ok(runs <= 1, `getEmails of 53 ids ran ${runs} read statements`);
    assert.equal(page.length, 53);
    assert.deepEqual(
      page.slice(0, 50).map((e) => e?.id),
      ids,
      'records in the asked order',
    );
    assert.equal(page[50], null, 'a malformed id');
    assert.equal(page[51], null, "another account's Email");
    assert.deepEqual(page[52], page[0], 'a repeated id: the same record');
    assert.notEqual(page[52], page[0], 'its own object');
    assert.deepEqual(page[0]?.keywords, ['$flagged', '$seen']);
    assert.deepEqual(page[0]?.mailboxIds, [inbox], 'INBOX once, though the id was asked twice');
    assert.deepEqual(page[1]?.keywords, []);
    assert.equal(page[0]?.receivedAt.getTime(), Date.UTC(2026, 0, 1) + 59_000);
  } finally {
    await store.close();
  }
});

test("getEmails statements: json_each is the outer loop, every table below it a point lookup (never the account's whole index)", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-plan-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await openSqliteStore({ dataDir: dir }).close();
  const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
  try {
    for (const sql of [GET_EMAILS_SQL]) {
      const p = db
        .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
        .all('[1,2,3]', 1)
        .map((r) => r.detail);
      // The id list is the outer loop; every table below it is a point lookup (an account-wide
      // walk with the list probed per row is what the planner picks unless told).
      assert.match(p[0] ?? '', /^SCAN j VIRTUAL TABLE/, p.join(' | '));
      assert.ok(
        p
          .slice(1)
          .every(
            (d) =>
              /^SEARCH (e|m|mm|b) USING .*(PRIMARY KEY|INDEX mailbox_messages_message|autoindex_mailboxes)/.test(
                d,
              ) || /TEMP B-TREE/.test(d),
          ),
        p.join(' | '),
      );
    }
  } finally {
    db.close();
  }
});
