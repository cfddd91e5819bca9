// The MailStore subscription contract (RFC 9051 6.3.7/6.3.8): names kept apart from mailboxes, across DELETE and RENAME.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MailroomError } from '../../src/errors.js';
import type { StoreHarness } from './store-contract.js';

const T0 = new Date('2026-11-23T10:00:00Z');

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof MailroomError && err.code === code, `expected ${code}`);
}

export function runSubscriptionsContract(backend: string, harness: StoreHarness): void {
  void describe(`MailStore subscriptions contract: ${backend}`, () => {
    after(() => harness.cleanup());

    async function account() {
      const store = await harness.open(await harness.newLocation(), () => T0);
      after(() => store.close());
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      return { store, bob };
    }

    void test("new accounts' folders are subscribed, CREATE subscribes nothing; subscribe and unsubscribe", async () => {
      const { store, bob } = await account();
      const mail = store.mail;
      assert.deepEqual(mail.listSubscriptions(bob), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
      const m = mail.createMailbox(bob, 'a/b');
      assert.equal(m.subscribed, false);
      assert.equal(store.getMailbox(bob, 'a')?.subscribed, false);
      mail.setSubscribed(bob, 'a/b', true);
      assert.equal(mail.getMailboxById(m.id)?.subscribed, true);
      mail.setSubscribed(bob, 'a/b', false);
      assert.equal(mail.getMailboxById(m.id)?.subscribed, false);
      assert.equal(mail.findMailbox(bob, 'a/b')?.subscribed, false);
      assert.equal(store.listMailboxes(bob).find((x) => x.name === 'a/b')?.subscribed, false);
      // RFC 9051 6.3.8: unsubscribing a name not in the list fails.
      throwsCode(() => mail.setSubscribed(bob, 'a/b', false), 'NOT_SUBSCRIBED');
      mail.setSubscribed(bob, 'a/b', true);
      mail.setSubscribed(bob, 'a/b', true); // twice is no error, and one entry
      assert.equal(mail.getMailboxById(m.id)?.subscribed, true);
      assert.equal(mail.listSubscriptions(bob).filter((n) => n === 'a/b').length, 1);
      // INBOX is one name whatever its case (RFC 9051 5.1).
      mail.setSubscribed(bob, 'inbox', false);
      assert.equal(store.getMailbox(bob, 'INBOX')?.subscribed, false);
      mail.setSubscribed(bob, 'Inbox', true);
      assert.ok(mail.listSubscriptions(bob).includes('INBOX'));
    });

    void test('a name with no mailbox can be subscribed; a later CREATE finds it subscribed', async () => {
      const { store, bob } = await account();
      store.mail.setSubscribed(bob, 'later/x', true);
      assert.ok(store.mail.listSubscriptions(bob).includes('later/x'));
      assert.equal(store.getMailbox(bob, 'later/x'), null);
      assert.equal(store.mail.createMailbox(bob, 'later/x').subscribed, true);
      store.mail.setSubscribed(bob, 'gone', true);
      store.mail.setSubscribed(bob, 'gone', false);
      assert.ok(!store.mail.listSubscriptions(bob).includes('gone'));
    });

    void test('DELETE keeps the subscription (RFC 9051 6.3.7 MUST NOT remove it)', async () => {
      const { store, bob } = await account();
      store.mail.createMailbox(bob, 'old');
      store.mail.setSubscribed(bob, 'old', true);
      store.mail.deleteMailbox(bob, 'old');
      assert.equal(store.getMailbox(bob, 'old'), null);
      assert.ok(store.mail.listSubscriptions(bob).includes('old'));
      // Re-created, it is subscribed already; unsubscribed while absent, it is gone from the list.
      store.mail.createMailbox(bob, 'old');
      store.mail.deleteMailbox(bob, 'old');
      store.mail.setSubscribed(bob, 'old', false);
      assert.ok(!store.mail.listSubscriptions(bob).includes('old'));
    });

    void test('RENAME changes no subscription (RFC 9051 6.3.6), children and INBOX included', async () => {
      const { store, bob } = await account();
      const mail = store.mail;
      mail.createMailbox(bob, 'p/c');
      mail.setSubscribed(bob, 'p', true);
      mail.setSubscribed(bob, 'p/c', true);
      mail.setSubscribed(bob, 'q', true); // the new name was subscribed before it existed
      mail.renameMailbox(bob, 'p', 'q');
      const subs = mail.listSubscriptions(bob);
      assert.ok(subs.includes('p') && subs.includes('p/c'), 'old names stay subscribed');
      assert.ok(!subs.includes('q/c'), 'new child name not subscribed');
      assert.equal(store.getMailbox(bob, 'q')?.subscribed, true);
      assert.equal(store.getMailbox(bob, 'q/c')?.subscribed, false);
      // Parents RENAME creates are created as CREATE would: not subscribed.
      mail.renameMailbox(bob, 'q/c', 'r/s');
      assert.equal(store.getMailbox(bob, 'r')?.subscribed, false);
      assert.equal(store.getMailbox(bob, 'r/s')?.subscribed, false);
      mail.renameMailbox(bob, 'INBOX', 'old-inbox');
      assert.equal(store.getMailbox(bob, 'INBOX')?.subscribed, true);
      assert.equal(store.getMailbox(bob, 'old-inbox')?.subscribed, false);
    });

    void test('subscriptions are per account and go with the account', async () => {
      const { store, bob } = await account();
      const alice = store.addAccount('alice@example.test', 'h').id;
      store.mail.setSubscribed(bob, 'only-bob', true);
      assert.ok(!store.mail.listSubscriptions(alice).includes('only-bob'));
      throwsCode(() => store.mail.setSubscribed(alice, 'only-bob', false), 'NOT_SUBSCRIBED');
      store.removeAccount('bob@example.test');
      assert.deepEqual(store.mail.listSubscriptions(bob), []);
    });
  });
}
