// The DSN sender below the free-space floor (issue 8 item 6): DSNs stay owed (a deferral, not lost) and go out once space returns.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRouter } from '../../../src/delivery/router.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createDsnSender } from '../../../src/queue/bounce.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const T0 = new Date('2026-11-23T10:00:00Z');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('below the floor a failure DSN is left owed, and sent when the guard says space is back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bounce-storage-'));
  dirs.push(dir);
  const store = openSqliteStore({ dataDir: dir });
  store.addDomain('a.test');
  const alice = store.addAccount('alice@a.test', 'x').id;
  await store.deliver({
    queueId: 'Q1',
    envelope: { sender: 'alice@a.test' },
    traceHeaders: 'Received: by mx.a.test; Mon, 23 Nov 2026 10:00:00 +0000\r\n',
    body: { kind: 'memory', chunks: [Buffer.from('Subject: hi\r\n\r\nx\r\n')], size: 18 },
    receivedAt: T0,
    local: [],
    remote: [{ address: 'bob@b.test' }],
  });
  store.queue.recordResults('Q1', [
    {
      address: 'bob@b.test',
      state: 'failed',
      attempts: 1,
      nextAttemptAt: null,
      lastError: '550 5.1.1 gone',
      attemptAt: T0,
      dsn: { action: 'failed', status: '5.1.1', lastAttemptAt: T0.getTime() },
    },
  ]);
  let low = true;
  const send = createDsnSender({
    store,
    hostname: 'mx.a.test',
    route: createRouter(store, { hostname: 'mx.a.test' }),
    logger: silentLogger(),
    now: () => T0,
    newQueueId: () => 'DSN1',
    randomHex: () => 'b0',
    storage: { isLow: () => low, check: async () => low },
  });
  const inboxCount = () => store.getMailbox(alice, 'INBOX')?.messageCount ?? 0;
  await send();
  assert.equal(inboxCount(), 0);
  assert.equal(store.queue.dsnsDue(10).length, 1, 'still owed');
  low = false;
  await send();
  assert.equal(inboxCount(), 1);
  assert.equal(store.queue.dsnsDue(10).length, 0);
  await store.close();
});
