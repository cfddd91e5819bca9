// The MailStore \Recent contract (RFC 3501 2.3.2): recentFrom claims and peeks, recentCount, across two connections.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.js';
import { memoryBody, request, type StoreHarness } from './store-contract.js';

const T0 = new Date('2026-11-23T10:00:00Z');

export function runRecentContract(backend: string, harness: StoreHarness): void {
  void describe(`MailStore \\Recent contract: ${backend}`, () => {
    after(() => harness.cleanup());

    async function deliverN(store: Store, bob: number, n: number): Promise<void> {
      for (let i = 0; i < n; i++) {
        await store.deliver(
          request({ body: memoryBody(`Subject: r${i}\r\n\r\nx\r\n`), local: [{ accountId: bob }] }),
        );
      }
    }

    void test('a claim takes [mark, below) once; a peek changes nothing; the mark never moves down', async () => {
      const location = await harness.newLocation();
      const store = await harness.open(location, () => T0);
      after(() => store.close());
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      const inbox = store.getMailbox(bob, 'INBOX');
      assert.ok(inbox);
      const mail = store.mail;
      // A new mailbox: every message is recent until some session claims it.
      await deliverN(store, bob, 3);
      assert.equal(mail.recentCount(inbox.id), 3);
      // EXAMINE (RFC 3501 6.3.2): a peek, twice, gives the same and leaves them recent.
      assert.equal(mail.recentFrom(inbox.id, 4, false), 1);
      assert.equal(mail.recentFrom(inbox.id, 4, false), 1);
      assert.equal(mail.recentCount(inbox.id), 3);
      // The first SELECT gets UIDs 1..3; the second none ([4, 4) is empty).
      assert.equal(mail.recentFrom(inbox.id, 4, true), 1);
      assert.equal(mail.recentFrom(inbox.id, 4, true), 4);
      assert.equal(mail.recentCount(inbox.id), 0);
      // New mail (UIDs 4, 5): a session that has seen only UID 4 claims only that one.
      await deliverN(store, bob, 2);
      assert.equal(mail.recentCount(inbox.id), 2);
      assert.equal(mail.recentFrom(inbox.id, 5, true), 4);
      assert.equal(mail.recentCount(inbox.id), 1);
      assert.equal(mail.recentFrom(inbox.id, 6, true), 5);
      // A session with an older view never hands recency back.
      assert.equal(mail.recentFrom(inbox.id, 3, true), 6);
      assert.equal(mail.recentFrom(inbox.id, 6, false), 6);
      assert.equal(mail.recentCount(inbox.id), 0);
      // Other mailboxes have their own mark.
      const sent = store.getMailbox(bob, 'Sent');
      assert.ok(sent);
      assert.equal(mail.recentFrom(sent.id, 1, true), 1);
      assert.equal(mail.recentFrom(inbox.id + 1_000_000, 1, true), null);
    });

    void test('two connections to one store (two processes): each message is claimed by exactly one', async () => {
      const location = await harness.newLocation();
      const a = await harness.open(location, () => T0);
      after(() => a.close());
      a.addDomain('example.test');
      const bob = a.addAccount('bob@example.test', 'h').id;
      const b = await harness.open(location, () => T0);
      after(() => b.close());
      const inbox = a.getMailbox(bob, 'INBOX');
      assert.ok(inbox);
      await deliverN(a, bob, 2);
      assert.equal(a.mail.recentFrom(inbox.id, 3, true), 1);
      assert.equal(b.mail.recentFrom(inbox.id, 3, true), 3);
      await deliverN(b, bob, 1);
      assert.equal(a.mail.recentCount(inbox.id), 1);
      assert.equal(b.mail.recentFrom(inbox.id, 4, true), 3);
      assert.equal(a.mail.recentFrom(inbox.id, 4, true), 4);
      // Deleting the mailbox: null, not a claim on nothing.
      a.mail.createMailbox(bob, 'tmp');
      const tmp = a.mail.findMailbox(bob, 'tmp');
      assert.ok(tmp);
      a.mail.deleteMailbox(bob, 'tmp');
      assert.equal(b.mail.recentFrom(tmp.id, 5, true), null);
    });
  });
}
