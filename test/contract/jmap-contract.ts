// The JmapStore contract (store.jmap, issue 9): Emails per account, threads, keywords = flags, the change log.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MailroomError } from '../../src/errors.js';
import type { JmapStore } from '../../src/store/jmap-store.js';
import type { Mailbox, Store, StoreEvents } from '../../src/store/store.js';
import { memoryBody, request, type StoreHarness } from './store-contract.js';

const T0 = new Date('2026-11-23T10:00:00Z');

function msg(headers: Record<string, string>, body = 'text'): string {
  return `${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n${body}\r\n`;
}

/**
 * Emails and mailbox rows agree: every row of every mailbox of the account has an Email whose
 * mailboxIds include that mailbox, and every Email listed by a thread is in some mailbox.
 */
export function assertConsistent(store: Store, accountId: number): void {
  const j = store.jmap;
  const perEmail = new Map<string, Set<string>>();
  for (const box of store.listMailboxes(accountId)) {
    const index = store.mail.listIndex(box.id);
    const ids = j.objectIds(
      accountId,
      index.map((r) => r.messageId),
    );
    for (const [i, id] of ids.entries()) {
      assert.ok(id, `row ${index[i]?.uid} of ${box.name} has an Email`);
      const set = perEmail.get(id.emailId) ?? new Set<string>();
      set.add(j.mailboxObjectId(box.id));
      perEmail.set(id.emailId, set);
    }
  }
  const emails = j.getEmails(accountId, [...perEmail.keys()]);
  for (const e of emails) {
    assert.ok(e);
    assert.deepEqual(e.mailboxIds, [...(perEmail.get(e.id) ?? [])].sort(), `mailboxIds of ${e.id}`);
    const [thread] = j.getThreads(accountId, [e.threadId]);
    assert.ok(thread?.emailIds.includes(e.id), `${e.id} is listed by its thread`);
  }
}

export function runJmapContract(backend: string, harness: StoreHarness): void {
  void describe(`JmapStore contract: ${backend}`, () => {
    after(() => harness.cleanup());

    async function account(): Promise<{ store: Store; j: JmapStore; bob: number; inbox: Mailbox }> {
      const location = await harness.newLocation();
      const store = await harness.open(location, () => T0);
      after(() => store.close());
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      const inbox = store.getMailbox(bob, 'INBOX');
      assert.ok(inbox);
      return { store, j: store.jmap, bob, inbox };
    }

    async function deliver(store: Store, bob: number, text: string, at = T0): Promise<string> {
      await store.deliver(request({ body: memoryBody(text), local: [{ accountId: bob }], receivedAt: at }));
      const inbox = store.getMailbox(bob, 'INBOX') as Mailbox;
      const rows = store.mail.listIndex(inbox.id);
      const last = rows[rows.length - 1];
      assert.ok(last);
      const [ids] = store.jmap.objectIds(bob, [last.messageId]);
      assert.ok(ids);
      return ids.emailId;
    }

    void describe('jmap: Emails', () => {
      void test('delivery makes one Email per account; COPY and MOVE keep its id; the last EXPUNGE destroys it', async () => {
        const { store, j, bob, inbox } = await account();
        const ann = store.addAccount('ann@example.test', 'h').id;
        await store.deliver(
          request({
            body: memoryBody(msg({ Subject: 'hi', 'Message-ID': '<a@x>' })),
            local: [{ accountId: bob }, { accountId: ann }],
          }),
        );
        const [row] = store.mail.listIndex(inbox.id);
        assert.ok(row);
        const [bobIds] = j.objectIds(bob, [row.messageId]);
        const [annIds] = j.objectIds(ann, [row.messageId]);
        assert.ok(bobIds && annIds);
        assert.notEqual(bobIds.emailId, annIds.emailId, 'Emails are per account');
        assert.match(bobIds.emailId, /^[A-Za-z0-9_-]{1,255}$/); // RFC 8620 1.2
        const [email] = j.getEmails(bob, [bobIds.emailId]);
        assert.ok(email);
        assert.deepEqual(email.mailboxIds, [j.mailboxObjectId(inbox.id)]);
        assert.deepEqual(email.keywords, []);
        assert.equal(email.receivedAt.getTime(), T0.getTime());
        assert.equal(j.getEmails(ann, [bobIds.emailId])[0], null, "another account's id is not found");

        const archive = store.mail.createMailbox(bob, 'Kept');
        await store.mail.copy(inbox.id, [row.uid], archive.id);
        assert.deepEqual(
          j.getEmails(bob, [bobIds.emailId])[0]?.mailboxIds,
          [inbox.id, archive.id].map((m) => j.mailboxObjectId(m)).sort(),
        );
        const trash = store.getMailbox(bob, 'Trash') as Mailbox;
        await store.mail.move(inbox.id, [row.uid], trash.id);
        assert.deepEqual(
          j.getEmails(bob, [bobIds.emailId])[0]?.mailboxIds,
          [archive.id, trash.id].map((m) => j.mailboxObjectId(m)).sort(),
        );
        assertConsistent(store, bob);
        const before = j.states(bob);
        await store.mail.expunge(archive.id, [1]);
        assert.ok(j.getEmails(bob, [bobIds.emailId])[0], 'still in Trash');
        const trashRow = store.mail.listIndex(trash.id)[0];
        assert.ok(trashRow);
        await store.mail.expunge(trash.id, [trashRow.uid]);
        assert.equal(j.getEmails(bob, [bobIds.emailId])[0], null);
        assert.equal(j.getThreads(bob, [bobIds.threadId])[0], null, 'its thread went with it');
        const ch = j.changes(bob, 'Email', before.Email, null);
        assert.ok(ch.ok);
        assert.deepEqual(ch.destroyed, [bobIds.emailId]);
        const th = j.changes(bob, 'Thread', before.Thread, null);
        assert.ok(th.ok);
        assert.deepEqual(th.destroyed, [bobIds.threadId]);
        assert.ok(j.getEmails(ann, [annIds.emailId])[0], "ann's Email is untouched");
        assertConsistent(store, ann);
        store.removeAccount('ann@example.test'); // Emails and threads go with the account
        assertConsistent(store, bob);
      });

      void test('IMAP STORE is a keyword change: Email/changes updated, Mailbox/changes counts only', async () => {
        const { store, j, bob, inbox } = await account();
        const id = await deliver(store, bob, msg({ Subject: 'a' }));
        const before = j.states(bob);
        await store.mail.storeFlags(inbox.id, [1], 'add', ['\\Seen', '\\Flagged', 'Work'], null);
        assert.deepEqual(j.getEmails(bob, [id])[0]?.keywords, ['$flagged', '$seen', 'work']);
        const e = j.changes(bob, 'Email', before.Email, null);
        assert.ok(e.ok);
        assert.deepEqual([e.created, e.updated, e.destroyed], [[], [id], []]);
        const m = j.changes(bob, 'Mailbox', before.Mailbox, null);
        assert.ok(m.ok);
        assert.deepEqual(m.updated, [j.mailboxObjectId(inbox.id)]);
        assert.equal(m.countsOnly, true);
        assert.equal(j.states(bob).Thread, before.Thread, 'no Thread change');
        // A flag change that leaves \Seen alone does not touch the Mailbox state.
        const mid = j.states(bob);
        await store.mail.storeFlags(inbox.id, [1], 'remove', ['\\Flagged'], null);
        assert.equal(j.states(bob).Mailbox, mid.Mailbox);
        assert.notEqual(j.states(bob).Email, mid.Email);
      });

      void test('setKeywords sets every row, bumps MODSEQ and fires flags (IDLE, CONDSTORE)', async () => {
        const { store, j, bob, inbox } = await account();
        const id = await deliver(store, bob, msg({ Subject: 'a' }));
        const other = store.mail.createMailbox(bob, 'Other');
        await store.mail.copy(inbox.id, [1], other.id);
        await store.mail.storeFlags(other.id, [1], 'add', ['\\Answered'], null);
        assert.deepEqual(
          j.getEmails(bob, [id])[0]?.keywords,
          ['$answered'],
          'keywords are the union of the rows',
        );
        const modseq = store.mail.highestModseq(inbox.id) as number;
        const events: Array<StoreEvents['flags'][0]> = [];
        store.events.on('flags', (e) => events.push(e));
        const changes: Array<StoreEvents['changes'][0]> = [];
        store.events.on('changes', (e) => changes.push(e));
        const r = await j.setKeywords(bob, [id, 'Mzz'], ['$seen', '$flagged']);
        assert.deepEqual(r, { updated: [id], notFound: ['Mzz'] });
        for (const box of [inbox.id, other.id]) {
          const [row] = store.mail.listIndex(box);
          assert.deepEqual([...(row?.flags ?? [])].sort(), ['\\Flagged', '\\Seen']);
        }
        assert.ok((store.mail.highestModseq(inbox.id) as number) > modseq);
        assert.deepEqual(
          store.mail.changedSince(inbox.id, modseq).map((x) => x.uid),
          [1],
          'CONDSTORE sees the change',
        );
        assert.deepEqual(events.map((e) => e.mailboxId).sort(), [inbox.id, other.id].sort());
        assert.equal(changes.length, 1);
        assert.deepEqual(changes[0]?.states, j.states(bob));
      });

      void test('setMailboxes moves underneath (EXPUNGE + COPY in one), destroyEmails removes every row', async () => {
        const { store, j, bob, inbox } = await account();
        const id = await deliver(store, bob, msg({ Subject: 'a' }));
        const archive = store.mail.createMailbox(bob, 'Kept');
        const expunged: number[][] = [];
        store.events.on('expunge', (e) => expunged.push(e.uids));
        await j.setMailboxes(bob, id, [j.mailboxObjectId(archive.id)]);
        assert.deepEqual(j.getEmails(bob, [id])[0]?.mailboxIds, [j.mailboxObjectId(archive.id)]);
        assert.deepEqual(store.mail.vanishedSince(inbox.id, 0), [1], 'QRESYNC VANISHED sees it');
        assert.deepEqual(expunged, [[1]]);
        await assert.rejects(
          j.setMailboxes(bob, id, []),
          (e: unknown) => e instanceof MailroomError && e.code === 'INVALID_MAILBOXES',
        );
        await assert.rejects(
          j.setMailboxes(bob, id, ['F0']),
          (e: unknown) => e instanceof MailroomError && e.code === 'INVALID_MAILBOXES',
        );
        assertConsistent(store, bob);
        const d = await j.destroyEmails(bob, [id, id.replace('M', 'T')]);
        assert.deepEqual(d, { destroyed: [id], notFound: [id.replace('M', 'T')] });
        assert.equal(store.mail.listIndex(archive.id).length, 0);
        assert.equal(j.getEmails(bob, [id])[0], null);
      });

      void test('mailbox query: receivedAt newest first, paged; an APPEND with an old date sorts by its date', async () => {
        const { store, j, bob, inbox } = await account();
        const a = await deliver(store, bob, msg({ Subject: 'a' }), new Date(T0.getTime() + 1000));
        const b = await deliver(store, bob, msg({ Subject: 'b' }), new Date(T0.getTime() + 2000));
        await store.mail.append(
          inbox.id,
          memoryBody(msg({ Subject: 'old' })),
          [],
          new Date(T0.getTime() - 86400_000),
        );
        const old = j.objectIds(bob, [store.mail.listIndex(inbox.id)[2]?.messageId as number])[0]?.emailId;
        const box = j.mailboxObjectId(inbox.id);
        assert.deepEqual(j.queryMailbox(bob, box, 0, 10, true), { ids: [b, a, old], total: 3 });
        assert.deepEqual(j.queryMailbox(bob, box, 1, 1, false), { ids: [a], total: null });
        assert.equal(j.queryMailbox(store.addAccount('eve@example.test', 'h').id, box, 0, 10, false), null);
        await store.mail.storeFlags(inbox.id, [1], 'add', ['\\Seen'], null);
        assert.deepEqual(j.mailboxCounts(bob, box), {
          totalEmails: 3,
          unreadEmails: 2,
          totalThreads: 3,
          unreadThreads: 2,
        });
      });

      void test('DELETE of a mailbox destroys the Emails only there; RENAME INBOX keeps Email ids', async () => {
        const { store, j, bob, inbox } = await account();
        const keep = await deliver(store, bob, msg({ Subject: 'keep' }));
        const box = store.mail.createMailbox(bob, 'Box');
        await store.mail.copy(inbox.id, [1], box.id);
        await store.mail.append(box.id, memoryBody(msg({ Subject: 'only here' })), [], T0);
        const only = j.objectIds(bob, [store.mail.listIndex(box.id)[1]?.messageId as number])[0]
          ?.emailId as string;
        const before = j.states(bob);
        store.mail.deleteMailbox(bob, 'Box');
        const e = j.changes(bob, 'Email', before.Email, null);
        assert.ok(e.ok);
        assert.deepEqual([e.updated, e.destroyed], [[keep], [only]]);
        const m = j.changes(bob, 'Mailbox', before.Mailbox, null);
        assert.ok(m.ok);
        assert.ok(m.destroyed.includes(j.mailboxObjectId(box.id)));
        store.mail.renameMailbox(bob, 'INBOX', 'Old');
        const moved = store.getMailbox(bob, 'Old') as Mailbox;
        assert.deepEqual(j.getEmails(bob, [keep])[0]?.mailboxIds, [j.mailboxObjectId(moved.id)]);
        assertConsistent(store, bob);
      });
    });

    void describe('jmap: threads', () => {
      void test('replies join by References/In-Reply-To; unrelated "Hello"s stay apart; a subject-only reply joins', async () => {
        const { store, j, bob } = await account();
        const thread = (id: string): string => j.getEmails(bob, [id])[0]?.threadId as string;
        const a = await deliver(store, bob, msg({ Subject: 'Plan', 'Message-ID': '<a@x>' }));
        const b = await deliver(
          store,
          bob,
          msg({ Subject: 'Re: Plan', 'Message-ID': '<b@x>', 'In-Reply-To': '<a@x>' }),
        );
        const c = await deliver(
          store,
          bob,
          msg({ Subject: 'Re: Plan', 'Message-ID': '<c@x>', References: '<a@x> <b@x>' }),
        );
        assert.equal(thread(b), thread(a));
        assert.equal(thread(c), thread(a));
        const h1 = await deliver(store, bob, msg({ Subject: 'Hello', 'Message-ID': '<h1@x>' }));
        const h2 = await deliver(store, bob, msg({ Subject: 'Hello', 'Message-ID': '<h2@y>' }));
        assert.notEqual(thread(h1), thread(h2), 'two unrelated "Hello" messages are two threads');
        const r = await deliver(store, bob, msg({ Subject: 'RE: hello', 'Message-ID': '<r@z>' }));
        assert.equal(
          thread(r),
          thread(h2),
          'a reply without references joins the latest thread of its subject',
        );
        const later = new Date(T0.getTime() + 60 * 86400_000);
        const stale = await deliver(store, bob, msg({ Subject: 'Re: Hello', 'Message-ID': '<s@z>' }), later);
        assert.notEqual(thread(stale), thread(h2), 'not after the subject window');
        const [t] = j.getThreads(bob, [thread(a)]);
        assert.deepEqual(t?.emailIds, [a, b, c]);
      });

      void test('a late parent merges two threads: the moved Emails get new ids (threadId is immutable)', async () => {
        const { store, j, bob } = await account();
        const x = await deliver(
          store,
          bob,
          msg({ Subject: 'Re: t', 'Message-ID': '<x@x>', References: '<root@x>' }),
        );
        const y = await deliver(
          store,
          bob,
          msg({ Subject: 'Re: t', 'Message-ID': '<y@x>', 'In-Reply-To': '<mid@x>' }),
        );
        const tx = j.getEmails(bob, [x])[0]?.threadId as string;
        const ty = j.getEmails(bob, [y])[0]?.threadId as string;
        assert.notEqual(tx, ty);
        const before = j.states(bob);
        const mid = await deliver(
          store,
          bob,
          msg({ Subject: 'Re: t', 'Message-ID': '<mid@x>', References: '<root@x>' }),
        );
        assert.equal(j.getEmails(bob, [y])[0], null, 'the old id of the moved Email is gone');
        const [t] = j.getThreads(bob, [tx]);
        assert.equal(t?.emailIds.length, 3);
        assert.ok(t?.emailIds.includes(x) && t.emailIds.includes(mid));
        const yNew = t.emailIds.find((e) => e !== x && e !== mid) as string;
        assert.equal(j.getEmails(bob, [yNew])[0]?.threadId, tx);
        assert.equal(j.getThreads(bob, [ty])[0], null);
        const e = j.changes(bob, 'Email', before.Email, null);
        assert.ok(e.ok);
        assert.deepEqual([[...e.created].sort(), e.destroyed], [[mid, yNew].sort(), [y]]);
        const th = j.changes(bob, 'Thread', before.Thread, null);
        assert.ok(th.ok);
        assert.deepEqual([th.updated, th.destroyed], [[tx], [ty]]);
        assertConsistent(store, bob);
      });
    });

    void describe('jmap: changes', () => {
      void test('maxChanges pages with intermediate states; bad and future states cannot be calculated', async () => {
        const { store, j, bob } = await account();
        const start = j.states(bob);
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push(await deliver(store, bob, msg({ Subject: `m${i}` })));
        let state = start.Email;
        const seen: string[] = [];
        for (let round = 0; round < 10; round++) {
          const r = j.changes(bob, 'Email', state, 2);
          assert.ok(r.ok);
          assert.ok(r.created.length <= 2);
          seen.push(...r.created);
          state = r.newState;
          if (!r.hasMoreChanges) break;
        }
        assert.deepEqual(seen, ids);
        assert.equal(state, j.states(bob).Email);
        const none = j.changes(bob, 'Email', state, 2);
        assert.ok(none.ok);
        assert.deepEqual(
          [none.created, none.updated, none.destroyed, none.hasMoreChanges],
          [[], [], [], false],
        );
        for (const bad of ['x', '-1', '01', '999999', '']) {
          assert.deepEqual(
            j.changes(bob, 'Email', bad, null),
            { ok: false, error: 'cannotCalculateChanges' },
            bad,
          );
        }
        // An object created and destroyed since the state is not reported at all.
        const s = j.states(bob).Email;
        const gone = await deliver(store, bob, msg({ Subject: 'gone' }));
        await j.destroyEmails(bob, [gone]);
        const r = j.changes(bob, 'Email', s, null);
        assert.ok(r.ok);
        assert.deepEqual([r.created, r.destroyed], [[], []]);
      });

      void test('a delivery emits changes with the new states after the commit', async () => {
        const { store, j, bob } = await account();
        const got: Array<StoreEvents['changes'][0]> = [];
        store.events.on('changes', (e) => got.push(e));
        await deliver(store, bob, msg({ Subject: 'a' }));
        assert.equal(got.length, 1);
        assert.equal(got[0]?.accountId, bob);
        assert.deepEqual(got[0]?.states, j.states(bob));
        assert.ok(j.changeCounter(bob) > 0);
      });
    });
  });
}
