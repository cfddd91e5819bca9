// The DSN sender with delay warnings: a stale warning is dropped; a failure recorded while a warning is sent stays owed.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRouter } from '../../../src/delivery/router.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createDsnSender } from '../../../src/queue/bounce.js';
import type { OwedDsn, RecipientUpdate } from '../../../src/store/queue-store.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const T0 = new Date('2026-11-23T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function setup(): Promise<{
  store: SqliteStore;
  send: () => Promise<void>;
  inbox: () => Promise<string[]>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-bounce-'));
  dirs.push(dir);
  const store = openSqliteStore({ dataDir: dir });
  store.addDomain('a.test');
  store.addAccount('alice@a.test', 'x');
  await store.deliver({
    queueId: 'Q1',
    envelope: { sender: 'alice@a.test' },
    traceHeaders: 'Received: by mx.a.test; Mon, 23 Nov 2026 10:00:00 +0000\r\n',
    body: { kind: 'memory', chunks: [Buffer.from('Subject: hi\r\n\r\nx\r\n')], size: 18 },
    receivedAt: T0,
    local: [],
    remote: [{ address: 'bob@b.test' }],
  });
  let n = 0;
  const send = createDsnSender({
    store,
    hostname: 'mx.a.test',
    route: createRouter(store, { hostname: 'mx.a.test' }),
    logger: silentLogger(),
    now: () => at(100),
    newQueueId: () => `DSN${++n}`,
    randomHex: () => 'b0',
  });
  const inbox = async () => {
    const account = store.getAccount('alice@a.test');
    const box = account && store.getMailbox(account.id, 'INBOX');
    if (!box) return [];
    return Promise.all(
      store.listMessages(box.id).map(async (m) => (await store.readMessage(m.messageId)).toString()),
    );
  };
  return { store, send, inbox };
}

const delayed: OwedDsn = {
  action: 'delayed',
  status: '4.7.1',
  smtpDiagnostic: '451 4.7.1 later',
  lastAttemptAt: at(10).getTime(),
  willRetryUntil: at(3600).getTime(),
};
const update = (over: Partial<RecipientUpdate>): RecipientUpdate => ({
  address: 'bob@b.test',
  state: 'deferred',
  attempts: 2,
  nextAttemptAt: at(20),
  lastError: '451 4.7.1 later',
  attemptAt: at(10),
  dsn: delayed,
  ...over,
});

void describe('createDsnSender and delay warnings', () => {
  void test('a warning about a recipient delivered before it was sent is dropped, not sent', async () => {
    const { store, send, inbox } = await setup();
    store.queue.recordResults('Q1', [update({})]);
    store.queue.recordResults('Q1', [
      update({ state: 'delivered', attempts: 3, nextAttemptAt: null, lastError: null, dsn: null }),
    ]);
    await send();
    assert.deepEqual(await inbox(), []);
    assert.equal(store.queue.get('Q1'), null, 'nothing owed: retired');
    await store.close();
  });

  void test('a failure recorded while the warning is being stored stays owed and is sent next', async () => {
    const { store, send, inbox } = await setup();
    store.queue.recordResults('Q1', [update({})]);
    const read = store.queue.readMessage.bind(store.queue);
    let raced = false;
    store.queue.readMessage = async (id) => {
      if (!raced) {
        raced = true; // the scheduler commits the next attempt's 5xx between dsnsDue and dsnsSent
        store.queue.recordResults('Q1', [
          update({
            state: 'failed',
            attempts: 3,
            nextAttemptAt: null,
            lastError: '550 5.1.1 gone',
            dsn: { action: 'failed', status: '5.1.1', lastAttemptAt: at(30).getTime() },
          }),
        ]);
      }
      return read(id);
    };
    await send();
    assert.equal((await inbox()).length, 1);
    assert.match((await inbox())[0] ?? '', /Action: delayed/);
    assert.deepEqual(
      store.queue.dsnsDue(10).map((d) => d.recipients.map((r) => r.dsn.action)),
      [['failed']],
    );
    await send();
    const box = await inbox();
    assert.equal(box.length, 2);
    assert.ok(box.some((m) => /Action: failed\r\nStatus: 5\.1\.1/.test(m)));
    assert.equal(store.queue.get('Q1'), null);
    await store.close();
  });
});
