// JMAP API workers: which requests may go there, the same answers as the main thread, read after write, a read-only connection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { userOfAccount } from '../../../src/jmap/core/session.js';
import { mailCapabilities } from '../../../src/jmap/mail/index.js';
import { JmapWorkerPool, runsOnWorker, WORKER_METHODS } from '../../../src/http/jmap-workers.js';
import { JMAP_REPLY_BUFFERS } from '../../../src/config/limits.js';
import type { Invocation } from '../../../src/jmap/core/request.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { mailBench, USING, type MailBench } from '../../helpers/jmap-mail.js';

const LIMITS = { maxObjectsInGet: 500, maxObjectsInSet: 500 };

describe('runsOnWorker', () => {
  const req = (names: string[], createdIds?: Record<string, string>) => ({
    using: USING,
    methodCalls: names.map((n, i): Invocation => [n, {}, String(i)]),
    ...(createdIds ? { createdIds } : {}),
  });
  test('only requests whose every call only reads', () => {
    assert.equal(runsOnWorker(req(['Email/query', 'Email/get'])), true);
    assert.equal(runsOnWorker(req(['Mailbox/get', 'Thread/get', 'Email/changes'])), true);
    assert.equal(runsOnWorker(req(['Email/query', 'Email/set'])), false);
    for (const w of [
      'Email/set',
      'Mailbox/set',
      'Email/import',
      'Email/copy',
      'EmailSubmission/set',
      'Blob/copy',
    ]) {
      assert.equal(runsOnWorker(req([w])), false, w);
      assert.ok(!WORKER_METHODS.has(w));
    }
    // createdIds belong to writes: the main thread keeps them.
    assert.equal(runsOnWorker(req(['Email/get'], { k: 'M1' })), false);
  });
});

describe('JmapWorkerPool', () => {
  let bench: MailBench;
  let pool: JmapWorkerPool;
  const page = (): Invocation[] => [
    [
      'Email/query',
      { accountId: bench.accountId, filter: { inMailbox: bench.box('INBOX') }, limit: 50 },
      'q',
    ],
    [
      'Email/get',
      {
        accountId: bench.accountId,
        '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
        properties: ['from', 'subject', 'preview', 'keywords', 'receivedAt'],
      },
      'g',
    ],
  ];
  const user = () => userOfAccount(bench.store.getAccount('bob@example.test')!, mailCapabilities(bench.deps));
  const onWorker = async (calls: Invocation[]) => {
    const reply = await pool.run({
      request: { using: USING, methodCalls: calls },
      user: user(),
      sessionState: 's',
      limits: LIMITS,
    });
    assert.ok(reply, 'a worker is ready');
    assert.deepEqual(reply.failures, []);
    const text = Buffer.from(reply.body!.buffer, reply.body!.byteOffset, reply.body!.byteLength).toString();
    pool.recycle(reply.body!);
    return (JSON.parse(text) as { methodResponses: Invocation[] }).methodResponses;
  };

  before(async () => {
    bench = await mailBench();
    for (let i = 0; i < 3; i++) {
      await bench.add('INBOX', `From: a${i}@x.test\nSubject: s${i}\n\nbody ${i}\n`, {
        at: new Date(Date.UTC(2024, 0, 1, 0, i)),
      });
    }
    pool = new JmapWorkerPool({
      size: 1,
      data: { dataDir: bench.store.dataDir, hostname: 'mx.example.test' },
      logger: silentLogger(),
      storePreviews: (previews) => bench.store.jmap.storePreviews(previews),
    });
    pool.start();
    for (let i = 0; i < 200 && pool.ready === 0; i++) await new Promise((r) => setTimeout(r, 25));
  });
  after(async () => {
    await pool.close();
    await bench.close();
  });

  test('a worker answers exactly what the main thread answers', async () => {
    assert.equal(pool.ready, 1);
    assert.deepEqual(await onWorker(page()), await bench.call(page()));
  });

  test('answers come as UTF-8 bytes in buffers that go back to the worker: no new buffer per answer', async () => {
    const fresh: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const reply = await pool.run({
        request: { using: USING, methodCalls: page() },
        user: user(),
        sessionState: 's',
        limits: LIMITS,
      });
      assert.ok(reply?.body instanceof Uint8Array);
      assert.equal(reply.body.buffer.byteLength, JMAP_REPLY_BUFFERS.bytes);
      const text = Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength).toString();
      assert.equal((JSON.parse(text) as { methodResponses: Invocation[] }).methodResponses.length, 2);
      fresh.push(reply.fresh);
      pool.recycle(reply.body); // as the HTTP side does once the bytes are written out
    }
    // The first answer of this test may still need a buffer; after one went back, none does.
    assert.deepEqual(fresh.slice(2), [false, false, false, false]);
  });

  test('requests of one event-loop turn go to the worker in one message, their answers come back in one', async () => {
    const expected = await bench.call(page());
    const before = { ...pool.traffic };
    const answers = await Promise.all(Array.from({ length: 6 }, () => onWorker(page())));
    for (const a of answers) assert.deepEqual(a, expected);
    assert.equal(pool.traffic.jobs - before.jobs, 6);
    assert.equal(pool.traffic.jobMessages - before.jobMessages, 1, 'one message for the six');
    assert.equal(pool.traffic.replies - before.replies, 6);
    assert.equal(pool.traffic.replyMessages - before.replyMessages, 1, 'one message back');
  });

  test("a job carries its user only when it is not the previous job's; each answer is its own user's", async () => {
    const bob = user();
    const carol = userOfAccount(
      bench.store.getAccount('carol@example.test') ?? bench.store.addAccount('carol@example.test', 'x'),
      mailCapabilities(bench.deps),
    );
    const ask = async (who: typeof bob) => {
      const reply = await pool.run({
        request: { using: USING, methodCalls: page() },
        user: who,
        sessionState: 's',
        limits: LIMITS,
      });
      const text = Buffer.from(
        reply!.body!.buffer,
        reply!.body!.byteOffset,
        reply!.body!.byteLength,
      ).toString();
      pool.recycle(reply!.body!);
      return (JSON.parse(text) as { methodResponses: Invocation[] }).methodResponses[0]![0];
    };
    const before = pool.traffic.users;
    // One batch: bob, bob, carol, carol, bob - three changes of user, five jobs.
    const names = await Promise.all([bob, bob, carol, carol, bob].map(ask));
    assert.deepEqual(names, ['Email/query', 'Email/query', 'error', 'error', 'Email/query']);
    assert.equal(pool.traffic.users - before, 3);
    // The next batch with the same object: not sent again.
    assert.equal(await ask(bob), 'Email/query');
    assert.equal(pool.traffic.users - before, 3);
  });

  test('an answer larger than a pool buffer gets its own, which is not kept', async () => {
    const big = 'é'.repeat(JMAP_REPLY_BUFFERS.bytes / 2 + 10); // one UTF-16 unit, two UTF-8 bytes each
    const reply = await pool.run({
      request: { using: USING, methodCalls: [['Core/echo', { big }, 'e']] },
      user: user(),
      sessionState: 's',
      limits: LIMITS,
    });
    assert.ok(reply?.body);
    assert.ok(reply.body.byteLength > JMAP_REPLY_BUFFERS.bytes);
    assert.equal(reply.fresh, true);
    const text = Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength).toString();
    const [[, args]] = (JSON.parse(text) as { methodResponses: Invocation[] }).methodResponses as [
      Invocation,
    ];
    assert.equal(args.big, big);
  });

  test('a read after a write on the main thread sees it (keywords and the state)', async () => {
    const before = await onWorker(page());
    const id = (before[0]![1].ids as string[])[0]!;
    const [set] = await bench.call([
      ['Email/set', { accountId: bench.accountId, update: { [id]: { 'keywords/$seen': true } } }, 's'],
    ]);
    assert.deepEqual((set![1].updated as Record<string, unknown>)[id], null);
    const afterWrite = await onWorker(page());
    const got = (afterWrite[1]![1].list as { id: string; keywords: Record<string, boolean> }[])[0]!;
    assert.equal(got.id, id);
    assert.deepEqual(got.keywords, { $seen: true });
    assert.notEqual(afterWrite[1]![1].state, before[1]![1].state);
    assert.equal(afterWrite[1]![1].state, set![1].newState);
  });

  test("previews a worker computes are stored by the main thread (the worker's connection cannot write)", async () => {
    await bench.add('INBOX', 'From: new@x.test\nSubject: fresh\n\nnever read before\n', {
      at: new Date(Date.UTC(2025, 0, 1)),
    });
    const [query, get] = await onWorker(page());
    const id = (query![1].ids as string[])[0]!;
    assert.equal((get![1].list as { preview: string }[])[0]!.preview, 'never read before');
    const storeId = bench.store.getAccount('bob@example.test')!.id;
    const stored = () => bench.store.jmap.getEmails(storeId, [id])[0]?.preview ?? null;
    for (let i = 0; i < 100 && stored() === null; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(stored(), 'never read before');
  });

  test('nothing is ready after close: the caller runs requests itself', async () => {
    const other = new JmapWorkerPool({
      size: 1,
      data: { dataDir: bench.store.dataDir, hostname: 'mx.example.test' },
      logger: silentLogger(),
    });
    await other.close();
    assert.equal(other.ready, 0);
    assert.equal(
      other.run({
        request: { using: USING, methodCalls: [] },
        user: user(),
        sessionState: 's',
        limits: LIMITS,
      }),
      null,
    );
  });

  test("a worker's store connection is read-only: a write fails instead of writing", async () => {
    const reader = openSqliteStore({ dataDir: bench.store.dataDir, readOnly: true });
    try {
      assert.throws(() => reader.addDomain('other.test'), /readonly/i);
      assert.equal(reader.isLocalDomain('other.test'), false);
      assert.equal(reader.getAccount('bob@example.test')?.address, 'bob@example.test');
    } finally {
      await reader.close();
    }
  });
});
