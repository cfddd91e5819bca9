// Email/query pages and Email/get objects kept by Email state: asked again at one state, no store read; any change is seen.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StateCache } from '../../../../src/jmap/mail/state-cache.js';
import { mailBench, type MailBench } from '../../../helpers/jmap-mail.js';

describe('StateCache', () => {
  test('an entry is found only under the state it was stored with; a new state drops the account', () => {
    const c = new StateCache<number>(10, 10);
    c.set(1, 's1', 'k', 1);
    assert.equal(c.get(1, 's1', 'k'), 1);
    assert.equal(c.get(1, 's2', 'k'), undefined);
    assert.equal(c.get(2, 's1', 'k'), undefined);
    c.set(1, 's2', 'j', 2);
    assert.equal(c.size(1), 1);
    assert.equal(c.get(1, 's1', 'k'), undefined);
  });

  test('bounded in accounts and entries per account', () => {
    const c = new StateCache<number>(2, 3);
    for (let i = 0; i < 5; i++) c.set(1, 's', `k${i}`, i);
    assert.equal(c.size(1), 3);
    assert.equal(c.get(1, 's', 'k0'), undefined);
    assert.equal(c.get(1, 's', 'k4'), 4);
    c.set(2, 's', 'k', 2);
    c.set(3, 's', 'k', 3);
    assert.equal(c.size(1), 0, 'the oldest account went');
    assert.equal(c.get(3, 's', 'k'), 3);
  });
});

describe('Email/query + Email/get by state', () => {
  let bench: MailBench;
  const reads = { getEmails: 0, queryMailbox: 0 };
  const page = () =>
    bench.call([
      [
        'Email/query',
        { accountId: bench.accountId, filter: { inMailbox: bench.box('INBOX') }, limit: 2 },
        'q',
      ],
      [
        'Email/get',
        {
          accountId: bench.accountId,
          '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
          properties: ['subject', 'keywords', 'preview', 'receivedAt'],
        },
        'g',
      ],
    ]);
  const listOf = (r: Awaited<ReturnType<typeof page>>) =>
    r[1]![1].list as { id: string; subject: string; keywords: Record<string, true> }[];

  before(async () => {
    bench = await mailBench();
    for (let i = 0; i < 3; i++) {
      await bench.add('INBOX', `Subject: s${i}\n\nbody ${i}\n`, { at: new Date(Date.UTC(2024, 0, 1, 0, i)) });
    }
    // Count the store reads behind the two methods (the handlers call these at request time).
    const jmap = bench.store.jmap;
    const getEmails = jmap.getEmails.bind(jmap);
    const queryMailbox = jmap.queryMailbox.bind(jmap);
    jmap.getEmails = (...a) => (reads.getEmails++, getEmails(...a));
    jmap.queryMailbox = (...a) => (reads.queryMailbox++, queryMailbox(...a));
  });
  after(() => bench.close());

  test('the same page at the same state reads the store once', async () => {
    const first = await page();
    const n = { ...reads };
    const again = await page();
    assert.deepEqual(again, first);
    assert.deepEqual(reads, n, 'no store read for the page asked again');
    assert.deepEqual(
      listOf(first).map((e) => e.subject),
      ['s2', 's1'],
    );
  });

  test('a flag change by another protocol (IMAP STORE) is seen at once', async () => {
    const inbox = bench.store.mail.findMailbox(bench.storeId, 'INBOX')!;
    const newest = bench.store.mail.listIndex(inbox.id).at(-1)!;
    await bench.store.mail.storeFlags(inbox.id, [newest.uid], 'add', ['\\Seen'], null);
    const r = await page();
    assert.deepEqual(listOf(r)[0]!.keywords, { $seen: true });
  });

  test('a new message and an Email/set are seen at once', async () => {
    await bench.add('INBOX', 'Subject: s3\n\nbody 3\n', { at: new Date(Date.UTC(2024, 0, 1, 0, 9)) });
    let r = await page();
    assert.deepEqual(
      listOf(r).map((e) => e.subject),
      ['s3', 's2'],
    );
    const id = listOf(r)[0]!.id;
    await bench.call([
      ['Email/set', { accountId: bench.accountId, update: { [id]: { 'keywords/$flagged': true } } }, 's'],
    ]);
    r = await page();
    assert.deepEqual(listOf(r)[0]!.keywords, { $flagged: true });
    await bench.call([['Email/set', { accountId: bench.accountId, destroy: [id] }, 'd']]);
    r = await page();
    assert.deepEqual(
      listOf(r).map((e) => e.subject),
      ['s2', 's1'],
    );
  });
});
