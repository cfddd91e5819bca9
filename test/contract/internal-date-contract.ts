// The MailStore contract for the internal date's zone (RFC 9051 2.3.3): APPEND keeps it, delivery is +0000.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.js';
import { memoryBody, request, type StoreHarness } from './store-contract.js';

const T0 = new Date('2026-11-23T10:00:00Z');

export function runInternalDateContract(backend: string, harness: StoreHarness): void {
  void describe(`MailStore contract, internal date zone: ${backend}`, () => {
    after(() => harness.cleanup());

    async function open(location: string): Promise<Store> {
      const store = await harness.open(location, () => T0);
      after(() => store.close());
      return store;
    }

    void test('APPEND keeps the zone offset across a reopen, COPY shares it, delivery and no offset are +0000', async () => {
      const location = await harness.newLocation();
      const store = await harness.open(location, () => T0);
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      const drafts = store.getMailbox(bob, 'Drafts');
      const inbox = store.getMailbox(bob, 'INBOX');
      assert.ok(drafts && inbox);
      // "25-Mar-2007 00:00:00 +0200" and "24-Mar-2007 23:30:00 -0500", the widest zones either way, none.
      const rows: Array<[Date, number | undefined]> = [
        [new Date('2007-03-24T22:00:00Z'), 120],
        [new Date('2007-03-25T04:30:00Z'), -300],
        [new Date('2007-03-25T00:01:00Z'), 23 * 60 + 59],
        [new Date('2007-03-25T23:59:00Z'), -(23 * 60 + 59)],
        [T0, undefined],
      ];
      for (const [at, offset] of rows) {
        await store.mail.append(drafts.id, memoryBody('Subject: x\r\n\r\nx\r\n'), [], at, offset);
      }
      await store.deliver(
        request({ body: memoryBody('Subject: smtp\r\n\r\nx\r\n'), local: [{ accountId: bob }] }),
      );
      await store.mail.copy(drafts.id, [1], inbox.id);
      await store.close();

      const again = await open(location);
      const metas = await again.mail.messageMeta(drafts.id, 1, 5, false);
      assert.deepEqual(
        metas.map((m) => [m.internalDate.toISOString(), m.internalDateOffset]),
        rows.map(([at, offset]) => [at.toISOString(), offset ?? 0]),
      );
      // The SMTP delivery (UID 1) is +0000 (sqlite/deliver.ts says why); the COPY (UID 2) keeps +0200.
      const inInbox = await again.mail.messageMeta(inbox.id, 1, 2, false);
      assert.deepEqual(
        inInbox.map((m) => m.internalDateOffset),
        [0, 120],
      );
      // With the structure asked for too, the offset is the same.
      const [withStructure] = await again.mail.messageMeta(drafts.id, 2, 2, true);
      assert.equal(withStructure?.internalDateOffset, -300);
    });

    void test('APPEND refuses an offset no date-time can carry, and stores nothing', async () => {
      const store = await open(await harness.newLocation());
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      const drafts = store.getMailbox(bob, 'Drafts');
      assert.ok(drafts);
      for (const bad of [24 * 60, -(24 * 60), 0.5, Number.NaN]) {
        await assert.rejects(
          store.mail.append(drafts.id, memoryBody('x\r\n'), [], T0, bad),
          RangeError,
          String(bad),
        );
      }
      assert.equal(store.mail.listIndex(drafts.id).length, 0);
    });
  });
}
