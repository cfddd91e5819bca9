// The scheduler over a real SQLite store with a fake transport: limits, a stuck destination never blocks others, claims.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../src/observability/logger.js';
import { QueueScheduler, type MessageDone } from '../../../src/queue/scheduler.js';
import type { MessageJob } from '../../../src/queue/delivery-attempt.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'mailroom-sched-'));
const store = openSqliteStore({ dataDir: dir });
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function queue(id: string, to: string[]): Promise<void> {
  await store.deliver({
    queueId: id,
    envelope: { sender: 'alice@a.test' },
    traceHeaders: '',
    receivedAt: new Date(),
    body: { kind: 'memory', chunks: [Buffer.from('Subject: x\r\n\r\nx\r\n')], size: 16 },
    local: [],
    remote: to.map((address) => ({ address })),
  });
}

const until = async (f: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('a stuck destination holds only its own connection slots; others are delivered; claims are recorded before sending', async () => {
  const calls: { domain: string; jobs: MessageJob[] }[] = [];
  let release: () => void = () => undefined;
  const stuck = new Promise<void>((r) => (release = r));
  const transport = async (domain: string, jobs: MessageJob[], done: MessageDone) => {
    calls.push({ domain, jobs });
    // The row's next attempt is already in the future: a crash now would not lose it or spin on it.
    for (const j of jobs)
      assert.ok((store.queue.get(j.queueId)?.recipients[0]?.nextAttemptAt?.getTime() ?? 0) > Date.now());
    if (domain === 'slow.test') await stuck;
    for (const j of jobs) {
      done(
        j.queueId,
        j.recipients.map((r) => ({
          address: r.address,
          outcome: 'delivered',
          stage: 'data',
          diagnostic: '250 ok',
          fromPeer: true,
          tls: false,
        })),
        { host: 'mx', dsn: true },
      );
    }
  };
  await queue('S1', ['a@slow.test']);
  await queue('S2', ['b@slow.test']);
  await queue('F1', ['c@fast.test', 'd@fast.test']);
  await queue('F2', ['e@fast.test']);
  const s = new QueueScheduler({
    queue: store.queue,
    schedule: { retryIntervalsMs: [60_000], maxAgeMs: 3_600_000 },
    transport,
    sendDsns: async () => undefined,
    logger: silentLogger(),
    maxConnections: 3,
    maxConnectionsPerDomain: 1,
    maxMessagesPerConnection: 1,
    pollMs: 50,
  });
  s.start(store.events);
  await until(() => store.queue.list().every((e) => e.id.startsWith('S')));
  assert.deepEqual(
    store.queue.list().map((e) => e.id),
    ['S1', 'S2'],
    'fast.test delivered while slow.test hangs',
  );
  assert.equal(calls.filter((c) => c.domain === 'slow.test').length, 1, 'one connection per destination');
  assert.deepEqual(
    calls.find((c) => c.jobs[0]?.queueId === 'F1')?.jobs[0]?.recipients.map((r) => r.address),
    ['c@fast.test', 'd@fast.test'],
  );
  release();
  await until(() => store.queue.list().length === 0);
  assert.equal(calls.filter((c) => c.domain === 'slow.test').length, 2);
  await s.stop();
  assert.equal(s.stats.delivered, 5);
});

test('a transport that never reports leaves rows claimed, not lost; stop() waits for running work', async () => {
  await queue('L1', ['x@lost.test']);
  const s = new QueueScheduler({
    queue: store.queue,
    schedule: { retryIntervalsMs: [60_000], maxAgeMs: 3_600_000 },
    transport: async () => undefined,
    sendDsns: async () => undefined,
    logger: silentLogger(),
    pollMs: 50,
  });
  s.start(store.events);
  await until(() => s.stats.connections === 1);
  await s.stop();
  const r = store.queue.get('L1')?.recipients[0];
  assert.equal(r?.state, 'pending');
  assert.ok((r?.nextAttemptAt?.getTime() ?? 0) > Date.now() + 50_000);
  assert.equal(store.queue.remove('L1'), true);
  assert.equal(store.queue.remove('L1'), false);
});

test('messages arriving while a destination has a connection wait for it and then share one; many open another', async () => {
  const calls: string[][] = [];
  const releases: (() => void)[] = [];
  const transport = async (_domain: string, jobs: MessageJob[], done: MessageDone) => {
    calls.push(jobs.map((j) => j.queueId));
    await new Promise<void>((r) => releases.push(r));
    for (const j of jobs) {
      done(
        j.queueId,
        j.recipients.map((r) => ({
          address: r.address,
          outcome: 'delivered',
          stage: 'data',
          diagnostic: '250 ok',
          fromPeer: true,
          tls: false,
        })),
        { host: 'mx', dsn: true },
      );
    }
  };
  const s = new QueueScheduler({
    queue: store.queue,
    schedule: { retryIntervalsMs: [60_000], maxAgeMs: 3_600_000 },
    transport,
    sendDsns: async () => undefined,
    logger: silentLogger(),
    pollMs: 50,
    // Every arrival looked at at once, so "opened as the tenth arrived" is exact (the gap is tested below).
    minTickGapMs: 0,
  });
  s.start(store.events);
  await queue('R0', ['a@reuse.test']);
  await until(() => calls.length === 1);
  for (let i = 1; i <= 3; i++) await queue(`R${i}`, [`a@reuse.test`]);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(calls.length, 1, 'three waiting messages do not open a second connection');
  releases.shift()?.();
  await until(() => calls.length === 2);
  assert.deepEqual(calls[1], ['R1', 'R2', 'R3'], 'they go together on the next one');
  // Ten or more waiting: worth a second connection at once (per-domain limit permitting).
  for (let i = 10; i < 22; i++) await queue(`R${i}`, [`a@reuse.test`]);
  await until(() => calls.length === 3);
  assert.equal(calls[2]?.length, 10, 'opened as the tenth arrived; the last two wait for a free one');
  await until(() => {
    releases.shift()?.();
    return store.queue.list().length === 0;
  });
  await s.stop();
  assert.equal(s.stats.delivered, 16);
});

test('a burst of wake-ups is one look at the queue per gap; results arriving together share one commit', async () => {
  let dueCalls = 0;
  const commits: number[] = [];
  // The store's own queue, counted: how often the scheduler reads due rows and how it commits results.
  const counted = Object.create(store.queue) as typeof store.queue;
  counted.due = (now, limit) => {
    dueCalls++;
    return store.queue.due(now, limit);
  };
  counted.recordResultsMany = (batch) => {
    commits.push(batch.length);
    return store.queue.recordResultsMany(batch);
  };
  let clock = 0;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((r) => (open = r));
  const transport = async (_domain: string, jobs: MessageJob[], done: MessageDone) => {
    await gate; // a finished connection wakes the scheduler too: held until the looks are counted
    for (const j of jobs) {
      done(
        j.queueId,
        j.recipients.map((r) => ({
          address: r.address,
          outcome: 'delivered',
          stage: 'data',
          diagnostic: '250 ok',
          fromPeer: true,
          tls: false,
        })),
        { host: 'mx', dsn: true },
      );
    }
  };
  const s = new QueueScheduler({
    queue: counted,
    schedule: { retryIntervalsMs: [60_000], maxAgeMs: 3_600_000 },
    transport,
    sendDsns: async () => undefined,
    logger: silentLogger(),
    pollMs: 10_000,
    minTickGapMs: 50,
    monotonic: () => clock,
  });
  s.start(store.events);
  await until(() => dueCalls === 1);
  // Within the gap (the monotonic clock stands still): many wake-ups, one look once the gap has passed.
  await Promise.all(
    Array.from({ length: 5 }, (_, i) => queue(`G${i}`, [`a${i}@gap.test`, `b${i}@gap.test`])),
  );
  for (let i = 0; i < 20; i++) s.wake();
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(dueCalls, 2, 'one more look, after the gap, for all of them');
  open();
  await until(() => !s.busy && store.queue.list().every((e) => !e.id.startsWith('G')));
  // One connection carried the five messages to gap.test; their results went in one commit.
  assert.deepEqual(commits, [5]);
  clock = 1_000; // the gap has long passed: the next wake looks at once
  s.wake();
  await until(() => dueCalls === 3, 1000);
  await s.stop();
});

test('a row coming due while a look runs is armed for, not left waiting for the next event', async () => {
  // The clock moves 2 ms at each reading, as a loaded machine's does between two statements: the row is
  // due 1 ms after the look's first reading. The old code read the clock again to arm its timer, found
  // no row due after that second reading, armed nothing, and the row waited (20 s in a CI run).
  await queue('T1', ['t@tick.test']);
  const due = Date.now() + 60_000;
  store.queue.claim([{ queueId: 'T1', address: 't@tick.test', nextAttemptAt: new Date(due) }]);
  let clock = due - 1;
  const attempts: string[] = [];
  const s = new QueueScheduler({
    queue: store.queue,
    schedule: { retryIntervalsMs: [60_000], maxAgeMs: 3_600_000 },
    transport: async (_domain, jobs) => {
      attempts.push(...jobs.map((j) => j.queueId));
    },
    sendDsns: async () => undefined,
    logger: silentLogger(),
    pollMs: 50, // the poll wakes only for a change to the queue, and nothing changes here
    now: () => new Date((clock += 2) - 2),
  });
  s.start(store.events);
  await until(() => attempts.length > 0, 2000);
  assert.deepEqual(attempts, ['T1']);
  await s.stop();
  assert.equal(store.queue.remove('T1'), true);
});
