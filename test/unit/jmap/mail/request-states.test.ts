// An account's states read once per read-only request (request-states.ts); read afresh in requests that write and in the next request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mailBench, type MailBench } from '../../../helpers/jmap-mail.js';

describe('states read once per read-only request', () => {
  let bench: MailBench;
  let reads = 0;
  const page = (readOnly: boolean) =>
    bench.call(
      [
        ['Email/query', { accountId: bench.accountId, filter: { inMailbox: bench.box('INBOX') } }, 'q'],
        [
          'Email/get',
          {
            accountId: bench.accountId,
            '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
            properties: ['subject', 'keywords', 'threadId'],
          },
          'g',
        ],
        [
          'Thread/get',
          {
            accountId: bench.accountId,
            '#ids': { resultOf: 'g', name: 'Email/get', path: '/list/*/threadId' },
          },
          't',
        ],
      ],
      { readOnly },
    );

  before(async () => {
    bench = await mailBench();
    await bench.add('INBOX', 'Subject: one\n\nbody\n');
    const jmap = bench.store.jmap;
    const states = jmap.states.bind(jmap);
    jmap.states = (id) => (reads++, states(id));
  });
  after(() => bench.close());

  test('a read-only page (Email/query, Email/get, Thread/get) reads the states once; otherwise once per call', async () => {
    reads = 0;
    const shared = await page(true);
    assert.equal(reads, 1);
    reads = 0;
    const separate = await page(false);
    assert.equal(reads, 3);
    assert.deepEqual(shared, separate);
    assert.equal(shared[0]![1].queryState, shared[1]![1].state, 'one state for the whole page');
  });

  test('the next read-only request sees a change made between the two', async () => {
    const before = await page(true);
    const id = (before[0]![1].ids as string[])[0]!;
    await bench.call([
      ['Email/set', { accountId: bench.accountId, update: { [id]: { 'keywords/$seen': true } } }, 's'],
    ]);
    const after = await page(true);
    assert.notEqual(after[1]![1].state, before[1]![1].state);
    assert.deepEqual((after[1]![1].list as { keywords: object }[])[0]!.keywords, { $seen: true });
  });

  test('a request that writes reads the states afresh after its write', async () => {
    const [q] = await bench.call([
      ['Email/query', { accountId: bench.accountId, filter: { inMailbox: bench.box('INBOX') } }, 'q'],
    ]);
    const id = (q![1].ids as string[])[0]!;
    const r = await bench.call([
      ['Email/get', { accountId: bench.accountId, ids: [id], properties: ['keywords'] }, 'g1'],
      ['Email/set', { accountId: bench.accountId, update: { [id]: { 'keywords/$flagged': true } } }, 's'],
      ['Email/get', { accountId: bench.accountId, ids: [id], properties: ['keywords'] }, 'g2'],
    ]);
    assert.equal(r[2]![1].state, r[1]![1].newState);
    assert.deepEqual((r[2]![1].list as { keywords: object }[])[0]!.keywords, { $seen: true, $flagged: true });
  });
});
