// The MailStore contract (store.mail, what IMAP and POP3 do): folders, index, CONDSTORE, flags, COPY/MOVE, APPEND.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MailroomError } from '../../src/errors.js';
import type { Mailbox, Store } from '../../src/store/store.js';
import { memoryBody, request, type StoreHarness } from './store-contract.js';
import { headerIndexValues } from '../../src/store/mail-store.js';

const T0 = new Date('2026-11-23T10:00:00Z');

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof MailroomError && err.code === code, `expected ${code}`);
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(
    p,
    (err: unknown) => err instanceof MailroomError && err.code === code,
    `expected ${code}`,
  );
}

const MULTIPART = [
  'From: Alice <alice@remote.example>',
  'To: bob@example.test',
  'Subject: =?utf-8?q?caf=C3=A9?=',
  'Message-ID: <m1@remote.example>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'hello',
  '--b1',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  'AAEC',
  '--b1--',
  '',
].join('\r\n');

export function runMailContract(backend: string, harness: StoreHarness): void {
  void describe(`MailStore contract: ${backend}`, () => {
    after(() => harness.cleanup());

    async function account(): Promise<{ store: Store; bob: number; inbox: Mailbox }> {
      const location = await harness.newLocation();
      const store = await harness.open(location, () => T0);
      after(() => store.close());
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      const inbox = store.getMailbox(bob, 'INBOX');
      assert.ok(inbox);
      return { store, bob, inbox };
    }

    async function deliverN(store: Store, bob: number, n: number): Promise<void> {
      for (let i = 1; i <= n; i++) {
        await store.deliver(
          request({ body: memoryBody(`Subject: m${i}\r\n\r\nbody ${i}\r\n`), local: [{ accountId: bob }] }),
        );
      }
    }

    const names = (store: Store, bob: number): string[] =>
      store
        .listMailboxes(bob)
        .map((m) => m.name)
        .sort();

    void describe('mail: folders', () => {
      void test('a new account has the special-use folders; create makes missing parents; MAILBOX_EXISTS', async () => {
        const { store, bob } = await account();
        const special = Object.fromEntries(store.listMailboxes(bob).map((m) => [m.name, m.specialUse]));
        // RFC 6154 roles for a new account (issue 4).
        assert.deepEqual(special, {
          INBOX: null,
          Sent: '\\Sent',
          Drafts: '\\Drafts',
          Trash: '\\Trash',
          Junk: '\\Junk',
          Archive: '\\Archive',
        });
        const events: number[] = [];
        store.events.on('mailboxes', (e) => events.push(e.accountId));
        const c = store.mail.createMailbox(bob, 'a/b/c');
        assert.equal(c.name, 'a/b/c');
        assert.equal(c.uidNext, 1);
        assert.equal(c.messageCount, 0);
        assert.ok(names(store, bob).includes('a') && names(store, bob).includes('a/b'), 'parents created');
        throwsCode(() => store.mail.createMailbox(bob, 'a/b'), 'MAILBOX_EXISTS');
        throwsCode(() => store.mail.createMailbox(bob, 'inbox'), 'MAILBOX_EXISTS'); // INBOX is case-insensitive
        assert.deepEqual(events, [bob]);
        // A re-created name gets a new UIDVALIDITY (RFC 9051 2.3.1.1) even at the same clock second.
        store.mail.deleteMailbox(bob, 'a/b/c');
        const again = store.mail.createMailbox(bob, 'a/b/c');
        assert.notEqual(again.uidValidity, c.uidValidity);
        assert.equal(store.mail.getMailboxById(again.id)?.name, 'a/b/c');
      });

      void test('delete: children refused, INBOX refused, messages and bodies go, unknown name refused', async () => {
        const { store, bob } = await account();
        const parent = store.mail.createMailbox(bob, 'p');
        store.mail.createMailbox(bob, 'p/kid');
        throwsCode(() => store.mail.deleteMailbox(bob, 'p'), 'MAILBOX_HAS_CHILDREN');
        throwsCode(() => store.mail.deleteMailbox(bob, 'INBOX'), 'CANNOT_DELETE_INBOX');
        throwsCode(() => store.mail.deleteMailbox(bob, 'nope'), 'NO_SUCH_MAILBOX');
        await store.deliver(
          request({ body: memoryBody('x\r\n'), local: [{ accountId: bob, mailbox: 'p/kid' }] }),
        );
        const kid = store.getMailbox(bob, 'p/kid');
        assert.equal(kid?.messageCount, 1);
        const messageId = store.listMessages(kid?.id ?? -1)[0]?.messageId ?? -1;
        store.mail.deleteMailbox(bob, 'p/kid');
        store.mail.deleteMailbox(bob, 'p');
        assert.equal(store.mail.getMailboxById(parent.id), null);
        assert.equal(store.mail.highestModseq(parent.id), null);
        await assert.rejects(store.readMessage(messageId), (e: unknown) => e instanceof MailroomError);
      });

      void test('rename: children follow, parents made, MAILBOX_EXISTS, into itself refused; ids and UIDVALIDITY kept', async () => {
        const { store, bob } = await account();
        const a = store.mail.createMailbox(bob, 'a');
        store.mail.createMailbox(bob, 'a/b');
        store.mail.createMailbox(bob, 'ab'); // same prefix, not a child
        store.mail.renameMailbox(bob, 'a', 'x/y');
        const all = names(store, bob);
        assert.ok(all.includes('x') && all.includes('x/y') && all.includes('x/y/b') && all.includes('ab'));
        assert.ok(!all.includes('a') && !all.includes('a/b'));
        const moved = store.mail.getMailboxById(a.id);
        assert.equal(moved?.name, 'x/y');
        assert.equal(moved?.uidValidity, a.uidValidity);
        throwsCode(() => store.mail.renameMailbox(bob, 'x/y', 'ab'), 'MAILBOX_EXISTS');
        throwsCode(() => store.mail.renameMailbox(bob, 'x/y', 'x/y/z'), 'MAILBOX_EXISTS');
        throwsCode(() => store.mail.renameMailbox(bob, 'nope', 'z'), 'NO_SUCH_MAILBOX');
      });

      void test('rename INBOX: messages move to the new name, INBOX stays empty, UIDs not reused, VANISHED recorded', async () => {
        const { store, bob, inbox } = await account();
        await deliverN(store, bob, 3);
        const expunged: number[][] = [];
        store.events.on('expunge', (e) => expunged.push(e.uids));
        const before = store.mail.highestModseq(inbox.id) ?? 0;
        store.mail.renameMailbox(bob, 'INBOX', 'Old');
        const old = store.getMailbox(bob, 'Old');
        assert.equal(old?.messageCount, 3);
        assert.deepEqual(
          store.listMessages(old?.id ?? -1).map((m) => m.uid),
          [1, 2, 3],
        );
        const now = store.getMailbox(bob, 'INBOX');
        assert.equal(now?.id, inbox.id, 'INBOX stays');
        assert.equal(now?.messageCount, 0);
        // A client selected on INBOX (or resyncing it with QRESYNC) must learn the messages left.
        assert.deepEqual(store.mail.vanishedSince(inbox.id, before), [1, 2, 3]);
        assert.deepEqual(expunged, [[1, 2, 3]]);
        await deliverN(store, bob, 1);
        assert.deepEqual(
          store.listMessages(inbox.id).map((m) => m.uid),
          [4],
        );
      });

      // Subscriptions: subscriptions-contract.ts.
    });

    void describe('mail: index, counts, metadata', () => {
      void test('listIndex, changedSince, vanishedSince, counts with firstUnseenSeq', async () => {
        const { store, bob, inbox } = await account();
        await deliverN(store, bob, 4);
        const index = store.mail.listIndex(inbox.id);
        assert.deepEqual(
          index.map((e) => e.uid),
          [1, 2, 3, 4],
        );
        assert.ok(index.every((e) => e.flags.length === 0 && e.modseq > 0));
        const base = store.mail.highestModseq(inbox.id) ?? 0;
        assert.deepEqual(store.mail.changedSince(inbox.id, base), []);
        await store.mail.storeFlags(inbox.id, [1, 2], 'add', ['\\Seen'], null);
        await store.mail.storeFlags(inbox.id, [4], 'add', ['\\Deleted'], null);
        assert.deepEqual(
          store.mail.changedSince(inbox.id, base).map((e) => e.uid),
          [1, 2, 4],
        );
        const c = store.mail.counts(inbox.id);
        assert.equal(c.messages, 4);
        assert.equal(c.unseen, 2);
        assert.equal(c.deleted, 1);
        assert.equal(c.firstUnseenSeq, 3);
        assert.ok(c.size > 0);
        const mid = store.mail.highestModseq(inbox.id) ?? 0;
        await store.mail.expunge(inbox.id, [1, 4]);
        assert.deepEqual(store.mail.vanishedSince(inbox.id, mid), [1, 4]);
        assert.deepEqual(store.mail.vanishedSince(inbox.id, store.mail.highestModseq(inbox.id) ?? 0), []);
        // After expunging UID 1, the first unseen (UID 3) is message 2.
        assert.equal(store.mail.counts(inbox.id).firstUnseenSeq, 2);
        const empty = store.mail.createMailbox(bob, 'empty');
        assert.deepEqual(store.mail.counts(empty.id), {
          messages: 0,
          unseen: 0,
          deleted: 0,
          size: 0,
          deletedSize: 0,
          firstUnseenSeq: 0,
        });
      });

      void test('messageMeta: UID range, size, internal date, structure only when asked', async () => {
        const { store, bob, inbox } = await account();
        await deliverN(store, bob, 1);
        await store.deliver(request({ body: memoryBody(MULTIPART), local: [{ accountId: bob }] }));
        const lean = await store.mail.messageMeta(inbox.id, 1, 0xffffffff, false);
        assert.deepEqual(
          lean.map((m) => [m.uid, m.structure]),
          [
            [1, null],
            [2, null],
          ],
        );
        assert.equal(lean[1]?.internalDate.getTime(), T0.getTime());
        const [meta] = await store.mail.messageMeta(inbox.id, 2, 2, true);
        assert.ok(meta?.structure);
        assert.equal(meta.size, store.listMessages(inbox.id)[1]?.size);
        assert.equal(
          meta.structure.size,
          meta.size,
          'structure covers the stored bytes, trace headers included',
        );
        assert.equal(meta.structure.envelope.subject, '=?utf-8?q?caf=C3=A9?=');
        assert.equal(meta.structure.envelope.messageId, '<m1@remote.example>');
        const root = meta.structure.root;
        assert.equal(`${root.contentType.type}/${root.contentType.subtype}`, 'multipart/mixed');
        assert.deepEqual(
          root.children?.map((p) => `${p.contentType.type}/${p.contentType.subtype}:${p.encoding}`),
          ['text/plain:7bit', 'application/octet-stream:base64'],
        );
        assert.deepEqual(await store.mail.messageMeta(inbox.id, 3, 10, true), []);
      });
    });

    void describe('mail: storeFlags (RFC 7162 3.1.3)', () => {
      void test('set/add/remove; only changed rows get one new MODSEQ; flags event; UNCHANGEDSINCE refusals', async () => {
        const { store, bob, inbox } = await account();
        await deliverN(store, bob, 3);
        const flagEvents: number[][] = [];
        store.events.on('flags', (e) => flagEvents.push(e.uids));
        await store.mail.storeFlags(inbox.id, [1], 'add', ['\\Seen'], null);
        const m0 = store.mail.highestModseq(inbox.id) ?? 0;
        const r = await store.mail.storeFlags(inbox.id, [3, 1, 2, 2, 99], 'add', ['\\Seen', '$Work'], null);
        assert.deepEqual(r.changed, [1, 2, 3]);
        assert.deepEqual(
          r.rows.map((e) => [e.uid, e.modseq]),
          [
            [1, m0 + 1],
            [2, m0 + 1],
            [3, m0 + 1],
          ],
        );
        assert.deepEqual(r.rows[0]?.flags, ['\\Seen', '$Work']);
        assert.equal(store.mail.highestModseq(inbox.id), m0 + 1, 'one MODSEQ per command');
        // No change: no new MODSEQ, no event, case-insensitive comparison.
        const same = await store.mail.storeFlags(inbox.id, [1], 'add', ['\\SEEN'], null);
        assert.deepEqual(same.changed, []);
        assert.equal(store.mail.highestModseq(inbox.id), m0 + 1);
        const rm = await store.mail.storeFlags(inbox.id, [2], 'remove', ['$work'], null);
        assert.deepEqual(rm.rows[0]?.flags, ['\\Seen']);
        const set = await store.mail.storeFlags(inbox.id, [3], 'set', ['\\Flagged', '\\flagged'], null);
        assert.deepEqual(set.rows[0]?.flags, ['\\Flagged']);
        // UNCHANGEDSINCE: UID 3 changed after m0+1, so it is refused; 1 is within and changes.
        const cond = await store.mail.storeFlags(inbox.id, [1, 3], 'add', ['\\Answered'], m0 + 1);
        assert.deepEqual(cond.modified, [3]);
        assert.deepEqual(cond.changed, [1]);
        assert.deepEqual(store.mail.listIndex(inbox.id)[2]?.flags, ['\\Flagged']);
        assert.deepEqual(flagEvents, [[1], [1, 2, 3], [2], [3], [1]]);
        await assert.rejects(
          store.mail.storeFlags(-1, [1], 'add', ['\\Seen'], null),
          (err: unknown) => err instanceof MailroomError && err.code === 'NO_SUCH_MAILBOX',
        );
      });
    });

    void describe('mail: copy and move', () => {
      void test('copy: new UIDs in order, COPYUID data, same bodies, one destination MODSEQ, flags kept', async () => {
        const { store, bob, inbox } = await account();
        await deliverN(store, bob, 3);
        await store.mail.storeFlags(inbox.id, [2], 'add', ['\\Flagged'], null);
        const dst = store.mail.createMailbox(bob, 'Copies');
        await store.deliver(
          request({ body: memoryBody('first\r\n'), local: [{ accountId: bob, mailbox: 'Copies' }] }),
        );
        const events: number[] = [];
        store.events.on('message', (e) => events.push(e.uid));
        const before = store.mail.highestModseq(dst.id) ?? 0;
        const r = await store.mail.copy(inbox.id, [3, 2, 7], dst.id);
        assert.equal(r.uidValidity, dst.uidValidity);
        assert.deepEqual(r.mapping, [
          [2, 2],
          [3, 3],
        ]);
        assert.deepEqual(events, [2, 3]);
        const src = store.listMessages(inbox.id);
        const copied = store.listMessages(dst.id).slice(1);
        assert.deepEqual(
          copied.map((m) => m.messageId),
          [src[1]?.messageId, src[2]?.messageId],
          'rows point at the same stored message: no body copy',
        );
        assert.deepEqual(copied[0]?.flags, ['\\Flagged']);
        assert.ok(copied.every((m) => m.modseq === before + 1));
        assert.equal(store.getMailbox(bob, 'INBOX')?.messageCount, 3, 'source untouched');
        // Expunging the source keeps the copy readable.
        await store.mail.expunge(inbox.id, [2, 3]);
        assert.match((await store.readMessage(copied[0]?.messageId ?? -1)).toString(), /body 2/);
        await rejectsCode(store.mail.copy(inbox.id, [1], 999_999), 'NO_SUCH_MAILBOX');
      });

      void test('move: copy plus expunge in one step, VANISHED in the source, events for both', async () => {
        const { store, bob, inbox } = await account();
        await deliverN(store, bob, 3);
        const trash = store.getMailbox(bob, 'Trash');
        assert.ok(trash);
        const expunged: number[][] = [];
        store.events.on('expunge', (e) => expunged.push(e.uids));
        const srcBefore = store.mail.highestModseq(inbox.id) ?? 0;
        const r = await store.mail.move(inbox.id, [1, 3], trash.id);
        assert.deepEqual(r.mapping, [
          [1, 1],
          [3, 2],
        ]);
        assert.deepEqual(
          store.mail.listIndex(inbox.id).map((e) => e.uid),
          [2],
        );
        assert.deepEqual(store.mail.vanishedSince(inbox.id, srcBefore), [1, 3]);
        assert.equal(store.mail.highestModseq(inbox.id), srcBefore + 1);
        assert.deepEqual(expunged, [[1, 3]]);
        const moved = store.listMessages(trash.id);
        assert.match((await store.readMessage(moved[1]?.messageId ?? -1)).toString(), /body 3/);
        assert.deepEqual(
          (await store.mail.move(inbox.id, [1, 3], trash.id)).mapping,
          [],
          'already gone: nothing',
        );
      });
    });

    void describe('mail: append', () => {
      void test('durable on resolve, next UID, flags and internal date kept, structure computed, event', async () => {
        const location = await harness.newLocation();
        const store = await harness.open(location, () => T0);
        store.addDomain('example.test');
        const bob = store.addAccount('bob@example.test', 'h').id;
        const drafts = store.getMailbox(bob, 'Drafts');
        assert.ok(drafts);
        const events: number[] = [];
        store.events.on('message', (e) => events.push(e.uid));
        const when = new Date('2020-02-03T04:05:06Z');
        const a = await store.mail.append(drafts.id, memoryBody(MULTIPART), ['\\Draft', '\\Seen'], when);
        assert.deepEqual(a, { uid: 1, uidValidity: drafts.uidValidity });
        const big = Buffer.alloc(harness.largeBodyBytes * 2 + 3, 'z');
        const b = await store.mail.append(
          drafts.id,
          memoryBody(Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), big])),
          [],
          T0,
        );
        assert.equal(b.uid, 2);
        assert.deepEqual(events, [1, 2]);
        await store.close();
        // Reopened: what APPEND acknowledged is there, byte for byte.
        const again = await harness.open(location, () => T0);
        after(() => again.close());
        const rows = again.listMessages(drafts.id);
        assert.deepEqual(
          rows.map((m) => [m.uid, m.flags, m.internalDate.toISOString()]),
          [
            [1, ['\\Draft', '\\Seen'], when.toISOString()],
            [2, [], T0.toISOString()],
          ],
        );
        assert.equal(
          (await again.readMessage(rows[0]?.messageId ?? -1)).toString(),
          MULTIPART,
          'no trace headers added',
        );
        assert.equal(rows[1]?.size, big.length + 16);
        const [meta] = await again.mail.messageMeta(drafts.id, 1, 1, true);
        assert.equal(meta?.structure?.root.children?.length, 2);
        await assert.rejects(
          again.mail.append(999_999, memoryBody('x\r\n'), [], T0),
          (e: unknown) => e instanceof MailroomError && e.code === 'NO_SUCH_MAILBOX',
        );
      });
    });

    void describe('mail: findMailbox, messageId, searchHeaders (SEARCH header keys)', () => {
      void test('findMailbox: like getMailbox without the count; INBOX case-insensitive; null when absent', async () => {
        const { store, bob, inbox } = await account();
        await deliverN(store, bob, 2);
        const found = store.mail.findMailbox(bob, 'inbox');
        const { messageCount, ...rest } = store.getMailbox(bob, 'INBOX') as Mailbox;
        assert.equal(messageCount, 2);
        assert.deepEqual(found, rest);
        assert.equal(found?.id, inbox.id);
        assert.equal(found?.uidNext, 3);
        assert.equal(store.mail.findMailbox(bob, 'nope'), null);
        assert.equal(store.mail.findMailbox(bob + 999, 'INBOX'), null);
      });

      void test('listMailboxRefs: listMailboxes without the counts; setMailboxAttributes: special use and sortOrder', async () => {
        const { store, bob } = await account();
        await deliverN(store, bob, 2);
        store.mail.createMailbox(bob, 'Work/Done');
        assert.deepEqual(
          store.mail.listMailboxRefs(bob),
          store.listMailboxes(bob).map(({ messageCount: _count, ...ref }) => ref),
        );
        assert.equal(store.mail.findMailbox(bob, 'Work')?.sortOrder, null);
        store.mail.setMailboxAttributes(bob, 'Work', { specialUse: '\\Archive', sortOrder: 3 });
        store.mail.setMailboxAttributes(bob, 'Archive', { specialUse: null });
        assert.deepEqual(
          [store.mail.findMailbox(bob, 'Work')?.specialUse, store.mail.findMailbox(bob, 'Work')?.sortOrder],
          ['\\Archive', 3],
        );
        assert.equal(store.mail.findMailbox(bob, 'Archive')?.specialUse, null);
        assert.throws(() => store.mail.setMailboxAttributes(bob, 'Nope', { sortOrder: 1 }), {
          code: 'NO_SUCH_MAILBOX',
        });
      });

      void test('hasChildren: names below, not siblings sharing a prefix; follows create, rename, delete', async () => {
        const { store, bob } = await account();
        assert.equal(store.mail.hasChildren(bob, 'INBOX'), false);
        store.mail.createMailbox(bob, 'a/b');
        store.mail.createMailbox(bob, 'ab');
        store.mail.createMailbox(bob, 'a.c');
        store.mail.createMailbox(bob, 'a0');
        assert.equal(store.mail.hasChildren(bob, 'a'), true);
        assert.equal(store.mail.hasChildren(bob, 'a/b'), false);
        assert.equal(store.mail.hasChildren(bob, 'ab'), false, '"ab" and "a0" are siblings, not children');
        assert.equal(store.mail.hasChildren(bob, 'Sent'), false);
        assert.equal(store.mail.hasChildren(bob + 999, 'a'), false, 'another account');
        assert.equal(store.mail.hasChildren(bob, 'nope'), false);
        store.mail.createMailbox(bob, 'INBOX/kid');
        assert.equal(store.mail.hasChildren(bob, 'INBOX'), true);
        store.mail.renameMailbox(bob, 'a', 'z');
        assert.equal(store.mail.hasChildren(bob, 'a'), false);
        assert.equal(store.mail.hasChildren(bob, 'z'), true);
        store.mail.deleteMailbox(bob, 'z/b');
        assert.equal(store.mail.hasChildren(bob, 'z'), false);
      });

      void test('listIndex and changedSince carry the message id; COPY shares it', async () => {
        const { store, bob, inbox } = await account();
        await deliverN(store, bob, 2);
        const index = store.mail.listIndex(inbox.id);
        const ids = index.map((e) => e.messageId);
        assert.equal(new Set(ids).size, 2);
        const trash = store.getMailbox(bob, 'Trash') as Mailbox;
        await store.mail.copy(inbox.id, [2], trash.id);
        assert.deepEqual(
          store.mail.listIndex(trash.id).map((e) => e.messageId),
          [ids[1]],
        );
        assert.deepEqual(
          store.mail.changedSince(trash.id, 0).map((e) => e.messageId),
          [ids[1]],
        );
        const r = await store.mail.storeFlags(inbox.id, [1], 'add', ['\\Seen'], null);
        assert.equal(r.rows[0]?.messageId, ids[0]);
      });

      void test('searchHeaders: decoded, unfolded, lower-cased fields in order; filter; gone messages; kept', async () => {
        const location = await harness.newLocation();
        const store = await harness.open(location, () => T0);
        store.addDomain('example.test');
        const bob = store.addAccount('bob@example.test', 'h').id;
        const inbox = store.getMailbox(bob, 'INBOX') as Mailbox;
        await store.deliver(request({ body: memoryBody(MULTIPART), local: [{ accountId: bob }] }));
        await store.deliver(
          request({
            body: memoryBody(
              'Subject: Second\r\n Line\r\nX-Tag: A\r\nx-tag: B\r\n\r\nSubject: not a header\r\n',
            ),
            local: [{ accountId: bob }],
          }),
        );
        const drafts = store.getMailbox(bob, 'Drafts') as Mailbox;
        await store.mail.append(drafts.id, memoryBody('Subject: Appended\r\n\r\nx\r\n'), [], T0);
        const ids = store.mail.listIndex(inbox.id).map((e) => e.messageId);
        const draftId = store.mail.listIndex(drafts.id)[0]?.messageId as number;
        const [first, second] = await store.mail.searchHeaders(ids);
        assert.ok(first?.startsWith('\nreturn-path:<alice@remote.example>\nreceived:from client.example'));
        assert.deepEqual(headerIndexValues(first ?? '', 'subject'), ['café']);
        assert.deepEqual(headerIndexValues(first ?? '', 'from'), ['alice <alice@remote.example>']);
        assert.deepEqual(headerIndexValues(second ?? '', 'subject'), ['second line']);
        assert.deepEqual(headerIndexValues(second ?? '', 'x-tag'), ['a', 'b']);
        assert.deepEqual(await store.mail.searchHeaders([draftId]), ['\nsubject:appended']);
        // The filter: null for a message whose index lacks the text; order kept; unknown ids are null.
        assert.deepEqual(
          (await store.mail.searchHeaders([ids[0] as number, 999_999, ids[1] as number], 'x-tag:b')).map(
            (t) => t !== null,
          ),
          [false, false, true],
        );
        assert.deepEqual(await store.mail.searchHeaders([]), []);
        // Expunged and collected: the index may still be given (it cannot have changed), or null.
        await store.mail.expunge(inbox.id, [2]);
        const after2 = await store.mail.searchHeaders(ids);
        const gone = after2[1] ?? null;
        assert.ok(gone === null || headerIndexValues(gone, 'subject')[0] === 'second line');
        await store.close();
        // Kept across a restart (computed once, stored).
        const again = await harness.open(location, () => T0);
        after(() => again.close());
        assert.deepEqual(
          headerIndexValues((await again.mail.searchHeaders([ids[0] as number]))[0] ?? '', 'subject'),
          ['café'],
        );
      });
    });
  });
}
