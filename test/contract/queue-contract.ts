// The QueueStore contract (store.queue): every backend runs these; see sqlite-store.test.ts.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.js';
import type { RecipientUpdate } from '../../src/store/queue-store.js';
import { memoryBody, request, type StoreHarness } from './store-contract.js';

const T0 = new Date('2026-11-23T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

export function runQueueContract(backend: string, harness: StoreHarness): void {
  void describe(`QueueStore contract: ${backend}`, () => {
    after(() => harness.cleanup());
    async function fresh(): Promise<{ store: Store; location: string }> {
      const location = await harness.newLocation();
      return { store: await harness.open(location, () => T0), location };
    }
    const upd = (address: string, over: Partial<RecipientUpdate>): RecipientUpdate => ({
      address,
      state: 'delivered',
      attempts: 1,
      nextAttemptAt: null,
      lastError: null,
      attemptAt: at(1),
      dsn: null,
      ...over,
    });

    void test('due, claim, nextDueAfter, readMessage', async () => {
      const { store } = await fresh();
      await store.deliver(
        request({
          queueId: 'Q1',
          body: memoryBody('Subject: s\r\n\r\nbody\r\n'),
          remote: [
            { address: 'a@x.test', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;a@x.test' },
            { address: 'b@x.test' },
          ],
        }),
      );
      const due = store.queue.due(T0, 10);
      assert.deepEqual(
        due.map((d) => [d.queueId, d.address, d.state, d.attempts, d.sender]),
        [
          ['Q1', 'a@x.test', 'pending', 0, 'alice@remote.example'],
          ['Q1', 'b@x.test', 'pending', 0, 'alice@remote.example'],
        ],
      );
      assert.deepEqual(due[0]?.notify, ['SUCCESS', 'FAILURE']);
      assert.equal(due[0]?.orcpt, 'rfc822;a@x.test');
      assert.equal(store.queue.due(T0, 1).length, 1, 'limit');
      assert.equal(store.queue.claim([{ queueId: 'Q1', address: 'a@x.test', nextAttemptAt: at(60) }]), 1);
      assert.deepEqual(
        store.queue.due(T0, 10).map((d) => d.address),
        ['b@x.test'],
      );
      assert.deepEqual(store.queue.nextDueAfter(T0), at(60));
      assert.match(
        (await store.queue.readMessage('Q1')).toString(),
        /^Received: .*\r\nSubject: s\r\n\r\nbody\r\n$/s,
      );
      await assert.rejects(store.queue.readMessage('nope'));
      await store.close();
    });

    void test('recordResults keeps DSNs owed; the entry retires only when all are final and no DSN is owed', async () => {
      const { store } = await fresh();
      await store.deliver(
        request({
          queueId: 'Q2',
          body: memoryBody('x\r\n'),
          remote: [{ address: 'a@x.test' }, { address: 'b@x.test' }],
        }),
      );
      const dsn = {
        action: 'failed' as const,
        status: '5.1.1',
        smtpDiagnostic: '550 5.1.1 no',
        lastAttemptAt: at(1).getTime(),
      };
      assert.deepEqual(
        store.queue.recordResults('Q2', [
          upd('a@x.test', {}),
          upd('b@x.test', { state: 'deferred', nextAttemptAt: at(60), lastError: '451 x' }),
        ]),
        { retired: false },
      );
      const e = store.queue.get('Q2');
      assert.deepEqual(
        e?.recipients.map((r) => [r.state, r.attempts, r.lastError]),
        [
          ['delivered', 1, null],
          ['deferred', 1, '451 x'],
        ],
      );
      assert.equal(
        store.queue.recordResults('Q2', [upd('a@x.test', { state: 'failed' })]).retired,
        false,
        'a final row never changes',
      );
      assert.equal(store.queue.get('Q2')?.recipients[0]?.state, 'delivered');
      assert.deepEqual(
        store.queue.recordResults('Q2', [
          upd('b@x.test', { state: 'failed', attempts: 2, lastError: '550 5.1.1 no', dsn }),
        ]),
        { retired: false },
      );
      const owed = store.queue.dsnsDue(10);
      assert.deepEqual(
        owed.map((o) => [o.entry.id, o.recipients.map((r) => [r.address, r.dsn])]),
        [['Q2', [['b@x.test', dsn]]]],
      );
      assert.deepEqual(store.queue.dsnsSent('Q2', ['b@x.test']), { retired: true });
      assert.equal(store.queue.get('Q2'), null);
      assert.deepEqual(store.queue.dsnsDue(10), []);
      await store.close();
    });

    void test('recordResultsMany: several messages in one call, each by the rules of recordResults', async () => {
      const { store } = await fresh();
      for (const id of ['M1', 'M2', 'M3'])
        await store.deliver(
          request({
            queueId: id,
            body: memoryBody(`Subject: ${id}\r\n\r\nx\r\n`),
            remote: [{ address: `a@${id}.test` }, { address: `b@${id}.test` }],
          }),
        );
      assert.deepEqual(store.queue.recordResultsMany([]), []);
      const result = store.queue.recordResultsMany([
        { queueId: 'M1', updates: [upd('a@M1.test', {}), upd('b@M1.test', {})] },
        {
          queueId: 'M2',
          updates: [
            upd('a@M2.test', {}),
            upd('b@M2.test', { state: 'deferred', nextAttemptAt: at(60), lastError: '451 later' }),
          ],
        },
        { queueId: 'gone', updates: [upd('a@gone.test', {})] },
      ]);
      assert.deepEqual(result, [{ retired: true }, { retired: false }, { retired: false }]);
      assert.equal(store.queue.get('M1'), null, 'all delivered: retired');
      assert.deepEqual(
        store.queue.get('M2')?.recipients.map((r) => [r.address, r.state, r.lastError]),
        [
          ['a@M2.test', 'delivered', null],
          ['b@M2.test', 'deferred', '451 later'],
        ],
      );
      assert.deepEqual(
        store.queue.get('M3')?.recipients.map((r) => r.state),
        ['pending', 'pending'],
        'an entry not in the batch is untouched',
      );
      assert.deepEqual(
        store.queue.recordResultsMany([{ queueId: 'M2', updates: [upd('a@M2.test', { state: 'failed' })] }]),
        [{ retired: false }],
        'a final row never changes',
      );
      assert.equal(store.queue.get('M2')?.recipients[0]?.state, 'delivered');
      await store.close();
    });

    void test('flush (from a second connection) makes waiting rows due and changes the change token', async () => {
      const { store, location } = await fresh();
      await store.deliver(
        request({ queueId: 'Q3', body: memoryBody('x\r\n'), remote: [{ address: 'a@x.test' }] }),
      );
      store.queue.claim([{ queueId: 'Q3', address: 'a@x.test', nextAttemptAt: at(3600) }]);
      const before = store.queue.changeToken();
      const cli = await harness.open(location, () => T0);
      assert.equal(cli.queue.flush(at(5)), 1);
      assert.notEqual(store.queue.changeToken(), before, 'another connection committed');
      assert.deepEqual(
        store.queue.due(at(5), 10).map((d) => d.address),
        ['a@x.test'],
      );
      assert.equal(cli.queue.remove('Q3'), true);
      assert.equal(cli.queue.remove('Q3'), false);
      assert.equal(store.queue.get('Q3'), null);
      await cli.close();
      await store.close();
    });

    void test('a delay DSN owed marks the row warned, once; dsnsDue reports the state; dsnsSent by action', async () => {
      const { store } = await fresh();
      await store.deliver(
        request({
          queueId: 'Q4',
          body: memoryBody('Subject: s\r\n\r\nx\r\n'),
          remote: [{ address: 'a@x.test' }, { address: 'b@x.test' }, { address: 'c@x.test' }],
        }),
      );
      const deferred = (address: string, t: number, dsn: RecipientUpdate['dsn']) =>
        upd(address, {
          state: 'deferred',
          attempts: t,
          nextAttemptAt: at(t * 10),
          lastError: '451 4.7.1 later',
          attemptAt: at(t),
          dsn,
        });
      const delayed = (t: number) => ({
        action: 'delayed' as const,
        status: '4.7.1',
        smtpDiagnostic: '451 4.7.1 later',
        lastAttemptAt: at(t).getTime(),
        willRetryUntil: at(86_400).getTime(),
      });
      store.queue.recordResults('Q4', [
        deferred('a@x.test', 1, delayed(1)),
        deferred('b@x.test', 1, delayed(1)),
        deferred('c@x.test', 1, null),
      ]);
      const warned = () =>
        new Map(store.queue.due(at(1000), 10).map((d) => [d.address, d.delayWarnedAt?.getTime()]));
      assert.deepEqual(
        warned(),
        new Map([
          ['a@x.test', at(1).getTime()],
          ['b@x.test', at(1).getTime()],
          ['c@x.test', undefined],
        ]),
      );
      // Both recipients warned in the same commit come back as one message's DSN, with their state.
      const owed = store.queue.dsnsDue(10);
      assert.deepEqual(
        owed.map((o) => [o.entry.id, o.recipients.map((r) => [r.address, r.state, r.dsn])]),
        [
          [
            'Q4',
            [
              ['a@x.test', 'deferred', delayed(1)],
              ['b@x.test', 'deferred', delayed(1)],
            ],
          ],
        ],
      );
      // Meanwhile b fails (its failure DSN replaces the warning) and a is deferred again (warning kept).
      const failure = { action: 'failed' as const, status: '5.1.1', lastAttemptAt: at(2).getTime() };
      store.queue.recordResults('Q4', [
        deferred('a@x.test', 2, null),
        upd('b@x.test', {
          state: 'failed',
          attempts: 2,
          lastError: '550 5.1.1 no',
          attemptAt: at(2),
          dsn: failure,
        }),
      ]);
      assert.equal(warned().get('a@x.test'), at(1).getTime(), 'the first warning time stays');
      assert.deepEqual(
        store.queue.dsnsDue(10)[0]?.recipients.map((r) => [r.address, r.state, r.dsn.action]),
        [
          ['a@x.test', 'deferred', 'delayed'],
          ['b@x.test', 'failed', 'failed'],
        ],
      );
      // The warning that was being sent is marked sent; b's failure DSN stays owed.
      assert.deepEqual(
        store.queue.dsnsSent('Q4', [
          { address: 'a@x.test', action: 'delayed' },
          { address: 'b@x.test', action: 'delayed' },
        ]),
        { retired: false },
      );
      assert.deepEqual(
        store.queue.dsnsDue(10).map((o) => o.recipients.map((r) => [r.address, r.dsn])),
        [[['b@x.test', failure]]],
      );
      assert.deepEqual(store.queue.dsnsSent('Q4', [{ address: 'b@x.test', action: 'failed' }]), {
        retired: false,
      });
      assert.deepEqual(store.queue.dsnsDue(10), []);
      // Still waiting recipients keep the entry; once final, it retires.
      assert.equal(
        store.queue.recordResults('Q4', [
          upd('a@x.test', { attemptAt: at(3) }),
          upd('c@x.test', { attemptAt: at(3) }),
        ]).retired,
        true,
      );
      await store.close();
    });
  });
}
