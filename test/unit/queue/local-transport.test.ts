// The queue's local path (queue/local-transport.ts): a copy queued over quota is retried into the mailbox it was routed to (Junk, a named one), INBOX otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLocalDelivery } from '../../../src/queue/local-transport.js';
import type { RecipientResult } from '../../../src/smtp/client/client-types.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { DeliveryRequest } from '../../../src/store/store.js';

const MESSAGE = Buffer.from('Received: from x by mx.example.test\r\nSubject: offer\r\n\r\nbuy now\r\n');

test('a queued local copy goes to the mailbox it was routed to when retried (Junk, a named one; INBOX otherwise)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-local-transport-'));
  const store = openSqliteStore({ dataDir: dir });
  try {
    store.addDomain('example.test');
    const hash = 'x';
    const ann = store.addAccount('ann@example.test', hash).id;
    const cid = store.addAccount('cid@example.test', hash).id;
    const dan = store.addAccount('dan@example.test', hash).id;
    const bob = store.addAccount('bob@example.test', hash).id;
    store.mail.createMailbox(cid, 'Lists');
    for (const who of ['ann', 'cid', 'dan']) store.setQuota(`${who}@example.test`, { bytes: 10 });
    const request: DeliveryRequest = {
      queueId: 'Q1',
      envelope: { sender: 'spammer@elsewhere.test' },
      traceHeaders: '',
      body: { kind: 'memory', chunks: [MESSAGE], size: MESSAGE.length },
      receivedAt: new Date(),
      // As the inbound checks route it (smtp/server/commands/data.ts): Junk for a quarantined message.
      local: [
        { accountId: ann, specialUse: '\\Junk' },
        { accountId: cid, mailbox: 'Lists' },
        { accountId: dan },
        { accountId: bob },
      ],
      remote: [],
    };
    await store.deliver(request);
    assert.equal(store.getMailbox(bob, 'INBOX')?.messageCount, 1, 'bob had room');
    const queued = store.queue.get('Q1');
    assert.deepEqual(queued?.recipients.map((r) => r.address).sort(), [
      'ann@example.test',
      'cid@example.test',
      'dan@example.test',
    ]);
    // Room again: the queue retries the three through the local path.
    for (const who of ['ann', 'cid', 'dan']) store.setQuota(`${who}@example.test`, { bytes: null });
    const results: RecipientResult[] = [];
    const transport = withLocalDelivery(
      async () => assert.fail('a local domain never goes to the SMTP client'),
      { store, now: () => new Date() },
    );
    await transport(
      'example.test',
      [{ queueId: 'Q1', recipients: store.queue.due(new Date(Date.now() + 1000), 10) }],
      (_id, r) => results.push(...r),
    );
    assert.deepEqual(results.map((r) => `${r.address} ${r.reply?.code}`).sort(), [
      'ann@example.test 250',
      'cid@example.test 250',
      'dan@example.test 250',
    ]);
    const count = (account: number, name: string) => store.getMailbox(account, name)?.messageCount;
    assert.deepEqual(
      [
        count(ann, 'Junk'),
        count(ann, 'INBOX'),
        count(cid, 'Lists'),
        count(cid, 'INBOX'),
        count(dan, 'INBOX'),
      ],
      [1, 0, 1, 0, 1],
    );
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
