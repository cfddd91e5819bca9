// Queue scale (issue 3): the scheduler's queries stay index range scans that stop at their LIMIT, at any queue size.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DUE_SQL, NEXT_DUE_SQL } from '../../../src/store/sqlite/queue-store.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { memoryBody, request } from '../../contract/store-contract.js';

async function plan(sql: string, args: number[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-plan-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const store = openSqliteStore({ dataDir: dir });
  await store.close();
  const db = new Database(join(dir, 'mailroom.db'), { readonly: true });
  try {
    return db
      .prepare<number[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...args)
      .map((r) => r.detail);
  } finally {
    db.close();
  }
}

void describe('SQLite queue query plans', () => {
  void test('due(): reads queue_recipients_waiting in order, no sort of every due row', async () => {
    const p = await plan(DUE_SQL, [Date.now(), 2000]);
    assert.ok(
      p.some((d) => /queue_recipients_waiting/.test(d)),
      p.join(' | '),
    );
    assert.ok(!p.some((d) => /TEMP B-TREE/.test(d)), p.join(' | '));
  });

  void test('nextDueAfter(): one search of queue_recipients_waiting', async () => {
    const p = await plan(NEXT_DUE_SQL, [Date.now()]);
    assert.ok(
      p.some((d) => /SEARCH .*queue_recipients_waiting/.test(d)),
      p.join(' | '),
    );
    assert.ok(!p.some((d) => /SCAN|TEMP B-TREE/.test(d)), p.join(' | '));
  });

  void test('due() with many deferred rows not yet due: limit, order and nextDueAfter hold', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailroom-plan-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const t0 = new Date('2030-01-01T00:00:00Z');
    const store = openSqliteStore({ dataDir: dir, clock: () => t0 });
    after(() => store.close());
    const N = 300;
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        store.deliver(
          request({
            queueId: `Q${String(i).padStart(4, '0')}`,
            body: memoryBody('Subject: x\r\n\r\nhi\r\n'),
            receivedAt: t0,
            local: [],
            remote: [{ address: `r${i}@far.test` }],
          }),
        ),
      ),
    );
    // All but the last 5 deferred an hour ahead, at staggered minutes.
    for (let i = 0; i < N - 5; i++) {
      store.queue.recordResults(`Q${String(i).padStart(4, '0')}`, [
        {
          address: `r${i}@far.test`,
          state: 'deferred',
          attempts: 1,
          nextAttemptAt: new Date(t0.getTime() + 3_600_000 + i * 1000),
          lastError: '451 4.3.0 later',
          attemptAt: t0,
          dsn: null,
        },
      ]);
    }
    const due = store.queue.due(t0, 3);
    assert.deepEqual(
      due.map((d) => d.queueId),
      ['Q0295', 'Q0296', 'Q0297'],
    );
    assert.equal(store.queue.due(t0, 100).length, 5);
    assert.equal(store.queue.nextDueAfter(t0)?.getTime(), t0.getTime() + 3_600_000);
    const later = new Date(t0.getTime() + 3_600_000 + 10_500);
    assert.deepEqual(
      store.queue
        .due(later, 100)
        .map((d) => d.queueId)
        .slice(0, 3),
      ['Q0295', 'Q0296', 'Q0297'],
    );
    assert.equal(store.queue.due(later, 100).length, 5 + 11);
  });
});
