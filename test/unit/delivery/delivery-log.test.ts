// The `delivered` log line (delivery/delivery-log.ts): names its mailbox and account from the commit, with no look-up per delivery.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverAndLog } from '../../../src/delivery/delivery-log.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { memoryBody, request } from '../../contract/store-contract.js';
import { captureLogs } from '../../helpers/log-capture.js';

test('each local copy is logged with the mailbox and account the commit wrote, without reading them again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-delivery-log-'));
  const store = openSqliteStore({ dataDir: dir });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h').id;
  const carol = store.addAccount('carol@example.test', 'h').id;
  store.mail.createMailbox(carol, 'Lists/Rust');
  // The line used to ask getMailboxById, whose message count scanned the whole mailbox, after every
  // delivery (the SMTP bench's CPU per message grew with the INBOX), and getAccountById for the address.
  let lookups = 0;
  store.mail.getMailboxById = () => {
    lookups++;
    return null;
  };
  store.getAccountById = () => {
    lookups++;
    return null;
  };
  const { logger, lines } = captureLogs();
  const deliver = deliverAndLog(store, logger);
  await deliver(
    request({
      queueId: 'Q1',
      body: memoryBody('Subject: s\r\n\r\nbody\r\n'),
      local: [
        { accountId: bob, specialUse: '\\Junk' }, // a DMARC quarantine
        { accountId: carol, mailbox: 'Lists/Rust' },
        { accountId: carol, mailbox: 'Gone' }, // no such mailbox: INBOX
      ],
    }),
  );
  assert.equal(lookups, 0);
  assert.deepEqual(
    lines
      .filter((l) => l.event === 'delivered')
      .map(({ queueId, account, mailbox, uid }) => ({ queueId, account, mailbox, uid })),
    [
      { queueId: 'Q1', account: 'bob@example.test', mailbox: 'Junk', uid: 1 },
      { queueId: 'Q1', account: 'carol@example.test', mailbox: 'Lists/Rust', uid: 1 },
      { queueId: 'Q1', account: 'carol@example.test', mailbox: 'INBOX', uid: 1 },
    ],
  );
});
