// The store side of `mailroom trace` and the admin record (issue 11): steps written with the delivery (none for a rolled-back one), found by queue id or Message-ID, purged by age in batches.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { ReceivedTrace } from '../../../src/store/trace-store.js';
import { memoryBody, request } from '../../contract/store-contract.js';

let dir = '';

async function open(): Promise<SqliteStore> {
  dir = await mkdtemp(join(tmpdir(), 'mailroom-trace-'));
  const store = openSqliteStore({ dataDir: dir });
  const mine = dir;
  after(async () => {
    await store.close();
    await rm(mine, { recursive: true, force: true });
  });
  store.addDomain('example.test');
  return store;
}

const trace = (messageId: string | null): ReceivedTrace => ({
  messageId,
  via: 'mx',
  client: { ip: '192.0.2.7', helo: 'client.example', tls: 'TLSv1.3' },
  auth: 'spf=pass dkim=pass dmarc=pass',
  recipients: ['bob@example.test', 'far@remote.example'],
});

describe('trace store', () => {
  test('the received step holds the envelope, the checks, where each copy went and what was queued', async () => {
    const store = await open();
    const bob = store.addAccount('bob@example.test', 'h').id;
    await store.deliver({
      ...request({
        queueId: 'QTRACE1',
        body: memoryBody('Subject: x\r\n\r\nhi\r\n'),
        local: [{ accountId: bob }],
        remote: [{ address: 'far@remote.example' }],
      }),
      trace: trace('<m1@client.example>'),
    });
    const [step, ...rest] = store.trace.events('QTRACE1');
    assert.equal(rest.length, 0);
    assert.equal(step!.kind, 'received');
    assert.equal(step!.messageId, '<m1@client.example>');
    const inbox = store.getMailbox(bob, 'INBOX')!;
    assert.deepEqual(step!.detail.stored, [{ accountId: bob, mailboxId: inbox.id, uid: 1 }]);
    assert.deepEqual(step!.detail.queued, ['far@remote.example']);
    assert.equal(step!.detail.auth, 'spf=pass dkim=pass dmarc=pass');
    assert.equal(step!.detail.from, 'alice@remote.example');
    // By Message-ID, with or without brackets.
    assert.equal(store.trace.events('m1@client.example').length, 1);
    assert.equal(store.trace.events('<m1@client.example>').length, 1);
    assert.equal(store.trace.events('<other@client.example>').length, 0);
  });

  test('the received row is the JSON it always was: the trace fields in order, absent ones left out, then the facts', async () => {
    const store = await open();
    const bob = store.addAccount('bob@example.test', 'h').id;
    // No account (MX), no auth verdicts: those keys are not written at all.
    const { auth: _auth, ...noAuth } = trace('<m2@client.example>');
    await store.deliver({
      ...request({
        queueId: 'QJSON',
        body: memoryBody('Subject: x\r\n\r\nhi\r\n'),
        local: [{ accountId: bob }],
      }),
      trace: noAuth,
    });
    const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
    const row = db.prepare("SELECT detail FROM message_events WHERE queue_id = 'QJSON'").get() as {
      detail: string;
    };
    db.close();
    const inbox = store.getMailbox(bob, 'INBOX')!;
    assert.equal(
      row.detail,
      '{"via":"mx","client":{"ip":"192.0.2.7","helo":"client.example","tls":"TLSv1.3"},' +
        '"recipients":["bob@example.test","far@remote.example"],"from":"alice@remote.example","size":' +
        `${store.listMessages(inbox.id)[0]!.size},"stored":[{"accountId":${bob},"mailboxId":${inbox.id},"uid":1}],"queued":[]}`,
    );
  });

  test('a delivery that is rolled back leaves no step (the step commits with the message)', async () => {
    const store = await open();
    await assert.rejects(
      store.deliver({
        ...request({ queueId: 'QGONE', body: memoryBody('x\r\n'), local: [{ accountId: 999_999 }] }),
        trace: trace('<gone@client.example>'),
      }),
    );
    assert.deepEqual(store.trace.events('QGONE'), []);
  });

  test('attempt steps are written with the queue results; a DSN adds a step to the message it reports on', async () => {
    const store = await open();
    store.addAccount('alice@example.test', 'h');
    await store.deliver({
      ...request({ queueId: 'QOUT', body: memoryBody('x\r\n'), remote: [{ address: 'far@remote.example' }] }),
      trace: trace('<out@example.test>'),
    });
    const at = new Date('2026-11-23T10:01:00Z');
    store.queue.recordResultsMany([
      {
        queueId: 'QOUT',
        updates: [
          {
            address: 'far@remote.example',
            state: 'failed',
            attempts: 1,
            nextAttemptAt: null,
            lastError: '550 no',
            attemptAt: at,
            dsn: null,
          },
        ],
        trace: {
          remote: 'mx.remote.example',
          results: [{ to: 'far@remote.example', state: 'failed', attempts: 1, reply: '550 5.1.1 no' }],
        },
      },
    ]);
    const alice = store.getAccount('alice@example.test')!.id;
    await store.deliver({
      ...request({
        queueId: 'QDSN',
        envelope: { sender: '' },
        body: memoryBody('dsn\r\n'),
        receivedAt: new Date('2026-11-23T10:01:01Z'),
        local: [{ accountId: alice }],
      }),
      trace: {
        messageId: '<QDSN.dsn@x>',
        via: 'dsn',
        recipients: ['alice@example.test'],
        about: { queueId: 'QOUT', actions: ['failed'] },
      },
    });
    const steps = store.trace.events('QOUT');
    assert.deepEqual(
      steps.map((s) => [s.queueId, s.kind]),
      [
        ['QOUT', 'received'],
        ['QOUT', 'attempt'],
        ['QOUT', 'dsn'],
        ['QDSN', 'received'],
      ],
    );
    assert.equal(steps[1]!.at.getTime(), at.getTime());
    assert.deepEqual(steps[2]!.detail, { dsnQueueId: 'QDSN', actions: ['failed'], to: 'alice@example.test' });
  });

  test('purge deletes what is older than the limit, in batches, and keeps the rest; admin actions likewise', async () => {
    const store = await open();
    const old = new Date('2026-01-01T00:00:00Z').getTime();
    const young = new Date('2026-06-01T00:00:00Z').getTime();
    // Rows written directly (a second connection, as the CLI would be): 12,000 old ones, more than two batches.
    const db = new Database(join(dir, 'mailroom.db'));
    after(() => db.close());
    const insert = db.prepare(
      "INSERT INTO message_events (at, queue_id, kind, message_id, detail) VALUES (?, ?, 'received', NULL, '{}')",
    );
    db.transaction(() => {
      for (let i = 0; i < 12_000; i++) insert.run(old + i, `OLD${i}`);
      for (let i = 0; i < 10; i++) insert.run(young + i, `NEW${i}`);
    })();
    for (const [at, action] of [
      [old, 'user add'],
      [young, 'user remove'],
    ] as const)
      store.trace.recordAdmin({ at: new Date(at), actor: 'root', action, target: 'x@example.test' });
    const cutoff = new Date('2026-03-01T00:00:00Z');
    assert.equal(await store.trace.purge(cutoff, cutoff), 12_001);
    const left = db.prepare('SELECT count(*) AS n FROM message_events').get() as { n: number };
    assert.equal(left.n, 10);
    assert.equal(store.trace.events('NEW3').length, 1);
    assert.deepEqual(
      store.trace.adminActionsAfter(0, 10).map((a) => a.action),
      ['user remove'],
    );
    // null: kept whatever their age.
    assert.equal(await store.trace.purge(null, null), 0);
  });

  test('admin actions: read after an id, the newest id, a queue step for queue remove', async () => {
    const store = await open();
    assert.equal(store.trace.lastAdminActionId(), 0);
    const at = new Date('2026-11-23T10:00:00Z');
    store.trace.recordAdmin({ at, actor: 'root', action: 'domain add', target: 'x.test' });
    store.trace.recordAdmin({ at, actor: 'root', action: 'queue remove', target: 'Q1' }, 'Q1');
    const id = store.trace.lastAdminActionId();
    assert.deepEqual(
      store.trace.adminActionsAfter(id - 1, 10).map((a) => [a.action, a.target, a.actor]),
      [['queue remove', 'Q1', 'root']],
    );
    assert.deepEqual(
      store.trace.events('Q1').map((e) => [e.kind, e.detail.action]),
      [['admin', 'queue remove']],
    );
  });
});
