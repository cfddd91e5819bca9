// NOTIFY in a pure session (RFC 5465): SET STATUS answers as imaptest's notify group expects; the name-change rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeStatusItems, nameNotices, NotifyState } from '../../../src/imap/notify.js';
import type { MailboxRef } from '../../../src/store/mail-store.js';
import { imapSession, openTestStore } from '../../helpers/imap-session.js';

test("imaptest's notify group: SET STATUS sends the items each event needs (RFC 5465 3.1), SET alone none", async () => {
  const { store, bob } = await openTestStore();
  const send = imapSession(store);
  assert.match(await send('a LOGIN bob@example.test x'), /^a OK/m);
  assert.match(await send('c CAPABILITY'), /^\* CAPABILITY .* NOTIFY[ \r]/m);
  assert.match(await send('b CREATE box2'), /^b OK/m);
  assert.match(await send('p APPEND box2', Buffer.from('Subject: x\r\n\r\nbody\r\n')), /^p OK/m);
  const mb = store.mail.findMailbox(bob, 'box2')!;
  const rows: Array<[string, string]> = [
    ['(MessageExpunge)', '(MESSAGES 1)'],
    ['(MessageNew)', `(MESSAGES 1 UIDNEXT 2 UIDVALIDITY ${mb.uidValidity})`],
    ['(FlagChange)', `(UIDVALIDITY ${mb.uidValidity} HIGHESTMODSEQ ${mb.highestModseq})`],
    [
      '(MessageNew MessageExpunge FlagChange)',
      `(MESSAGES 1 UIDNEXT 2 UIDVALIDITY ${mb.uidValidity} HIGHESTMODSEQ ${mb.highestModseq})`,
    ],
  ];
  for (const [events, want] of rows) {
    assert.equal(
      await send(`n notify set status (mailboxes box2 ${events})`),
      `* STATUS "box2" ${want}\r\nn OK NOTIFY completed\r\n`,
      events,
    );
  }
  assert.equal(
    await send('n notify set (mailboxes box2 (MessageNew MessageExpunge FlagChange))'),
    'n OK NOTIFY completed\r\n',
  );
  // The selected mailbox gets no STATUS (its message events are SELECTED's, RFC 5465 3.1).
  assert.match(await send('s SELECT box2'), /^s OK/m);
  assert.equal(
    await send('n notify set status (mailboxes (INBOX box2) (MessageNew MessageExpunge))'),
    `* STATUS "INBOX" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ${store.mail.findMailbox(mb.accountId, 'INBOX')!.uidValidity})\r\nn OK NOTIFY completed\r\n`,
  );
});

test('change STATUS items: UIDNEXT MESSAGES (+UNSEEN) for new/expunged, HIGHESTMODSEQ with CONDSTORE; none unless asked', () => {
  const all = new Set(['MessageNew', 'MessageExpunge', 'FlagChange'] as const);
  assert.deepEqual(changeStatusItems(new Set(['message']), all, false), ['MESSAGES', 'UIDNEXT', 'UNSEEN']);
  assert.deepEqual(changeStatusItems(new Set(['expunge']), all, true), [
    'MESSAGES',
    'UIDNEXT',
    'UNSEEN',
    'HIGHESTMODSEQ',
  ]);
  assert.deepEqual(changeStatusItems(new Set(['flags']), all, true), [
    'UIDVALIDITY',
    'UNSEEN',
    'HIGHESTMODSEQ',
  ]);
  assert.deepEqual(changeStatusItems(new Set(['flags']), all, false), ['UNSEEN']);
  assert.deepEqual(
    changeStatusItems(new Set(['flags']), new Set(['MessageNew', 'MessageExpunge']), true),
    [],
  );
  assert.deepEqual(changeStatusItems(new Set(['message']), new Set(['MailboxName']), true), []);
});

const ref = (id: number, name: string): MailboxRef =>
  ({
    id,
    name,
    accountId: 1,
    specialUse: null,
    subscribed: false,
    sortOrder: null,
    uidValidity: 1,
    uidNext: 1,
    highestModseq: 1,
  }) as MailboxRef;

test('name changes: a rename is one LIST with OLDNAME, not one per child (RFC 5465 5.4); filters decide', () => {
  const state = new NotifyState(
    1,
    {
      selected: null,
      groups: [{ filter: { kind: 'subtree', names: ['A'] }, events: new Set(['MailboxName']) }],
    },
    [ref(1, 'INBOX'), ref(2, 'A'), ref(3, 'A/b'), ref(4, 'Z')],
    [],
  );
  const notices = nameNotices(state, [ref(1, 'INBOX'), ref(2, 'B'), ref(3, 'B/b'), ref(5, 'A/new')], []);
  assert.deepEqual(
    notices.map((n) => [n.name, n.oldName, n.mailbox === null]),
    [
      ['B', 'A', false], // covered by its old name
      ['A/new', null, false],
    ],
  );
  // Z was deleted, but the subtree A does not cover it; the state now holds the new names.
  assert.deepEqual([...state.names.values()], ['INBOX', 'B', 'B/b', 'A/new']);
});

test('overflow: past the bound the state says so once and forgets the details (RFC 5465 5.8)', () => {
  const state = new NotifyState(1, { selected: null, groups: [] }, [], [], 3);
  for (let i = 0; i < 3; i++) state.note('message', 7);
  assert.equal(state.overflowed, false);
  state.note('message', 7);
  assert.equal(state.overflowed, true);
  assert.equal(state.dirty.size, 0);
});
