// Email/changes (RFC 8621 4.3) and Email/queryChanges (RFC 8620 5.6): changes from any protocol, maxChanges, errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mailBench, type MailBench } from '../../../helpers/jmap-mail.js';

let b: MailBench;
before(async () => {
  b = await mailBench();
});
after(() => b.close());

const msg = (n: number): string =>
  `From: a@a.test\nSubject: s${n}\nMessage-ID: <c${n}@a.test>\n\nbody ${n}\n`;

async function one(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const [[n, r]] = (await b.call([[name, { accountId: b.accountId, ...args }, 'c']])) as [
    [string, Record<string, unknown>, string],
  ];
  return n === 'error' ? { error: r.type } : r;
}

test('Email/changes sees delivery, an IMAP STORE and an EXPUNGE; maxChanges pages with hasMoreChanges', async () => {
  const s0 = b.store.jmap.states(b.storeId).Email;
  const e1 = await b.add('INBOX', msg(1), { at: new Date('2024-02-01T00:00:00Z') });
  const e2 = await b.add('INBOX', msg(2), { at: new Date('2024-02-02T00:00:00Z') });
  let r = await one('Email/changes', { sinceState: s0 });
  assert.deepEqual(
    [r.oldState, r.created, r.updated, r.destroyed, r.hasMoreChanges],
    [s0, [e1, e2], [], [], false],
  );
  const s1 = r.newState as string;
  // IMAP STORE +FLAGS \Seen on e1, then EXPUNGE of e2.
  const inbox = b.store.mail.findMailbox(b.storeId, 'INBOX')!;
  const rows = b.store.mail.listIndex(inbox.id);
  await b.store.mail.storeFlags(inbox.id, [rows[0]!.uid], 'add', ['\\Seen'], null);
  await b.store.mail.expunge(inbox.id, [rows[1]!.uid]);
  r = await one('Email/changes', { sinceState: s1 });
  assert.deepEqual([r.created, r.updated, r.destroyed], [[], [e1], [e2]]);
  r = await one('Email/changes', { sinceState: s0, maxChanges: 1 });
  assert.equal(r.hasMoreChanges, true);
  assert.equal(
    (r.created as string[]).length + (r.updated as string[]).length + (r.destroyed as string[]).length,
    1,
  );
});

test('Email/changes errors: unknown state, bad maxChanges, missing sinceState', async () => {
  assert.equal((await one('Email/changes', { sinceState: 'nonsense' })).error, 'cannotCalculateChanges');
  assert.equal((await one('Email/changes', { sinceState: '0', maxChanges: 0 })).error, 'invalidArguments');
  assert.equal((await one('Email/changes', {})).error, 'invalidArguments');
});

test('Email/queryChanges: added with indexes and removed, for inMailbox + receivedAt desc (RFC 8620 5.6)', async () => {
  const inbox = b.box('INBOX');
  const q = { filter: { inMailbox: inbox }, sort: [{ property: 'receivedAt', isAscending: false }] };
  const before = await one('Email/query', q);
  const old = before.ids as string[];
  const added = await b.add('INBOX', msg(3), { at: new Date('2024-03-01T00:00:00Z') });
  const older = await b.add('INBOX', msg(4), { at: new Date('2023-01-01T00:00:00Z') });
  // Moving an Email out of the mailbox (Email/set mailboxIds underneath) removes it from the results.
  await b.store.jmap.setMailboxes(b.storeId, old[0]!, [b.box('Archive')]);
  const r = await one('Email/queryChanges', {
    ...q,
    sinceQueryState: before.queryState,
    calculateTotal: true,
  });
  assert.equal(r.oldQueryState, before.queryState);
  assert.equal(r.newQueryState, b.store.jmap.states(b.storeId).Email);
  assert.deepEqual(r.removed, [old[0]]);
  assert.deepEqual(r.added, [
    { id: added, index: 0 },
    { id: older, index: 1 },
  ]);
  // Applying the diff to the old list gives the new results exactly.
  const now = (await one('Email/query', q)).ids as string[];
  const patched = old.filter((x) => !(r.removed as string[]).includes(x));
  for (const a of r.added as Array<{ id: string; index: number }>) patched.splice(a.index, 0, a.id);
  assert.deepEqual(patched, now);
  assert.equal(r.total, now.length);
  // Nothing since the new state: empty diff.
  const again = await one('Email/queryChanges', { ...q, sinceQueryState: r.newQueryState });
  assert.deepEqual([again.removed, again.added], [[], []]);
});

test('Email/queryChanges errors: tooManyChanges, cannotCalculateChanges (old state, collapseThreads)', async () => {
  const s = b.store.jmap.states(b.storeId).Email;
  await b.add('INBOX', msg(5));
  await b.add('INBOX', msg(6));
  assert.equal(
    (await one('Email/queryChanges', { sinceQueryState: s, maxChanges: 1 })).error,
    'tooManyChanges',
  );
  assert.equal((await one('Email/queryChanges', { sinceQueryState: 'x' })).error, 'cannotCalculateChanges');
  assert.equal(
    (await one('Email/queryChanges', { sinceQueryState: s, collapseThreads: true })).error,
    'cannotCalculateChanges',
  );
  assert.equal((await one('Email/queryChanges', {})).error, 'invalidArguments');
  assert.equal(
    (await one('Email/queryChanges', { sinceQueryState: s, upToId: '#bad id' })).error,
    'invalidArguments',
  );
});
