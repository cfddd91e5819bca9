// NOTIFY over real sockets (RFC 5465): session A watches, session B delivers, appends, creates, renames and subscribes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawImap } from '../helpers/imap-raw.js';
import { admitAnyone, startImapServer } from '../helpers/imap-server.js';
import { deliverText, openTestStore } from '../helpers/imap-session.js';

async function setup() {
  const { store, bob } = await openTestStore();
  await deliverText(store, bob, 'Subject: m1\r\n\r\nbody\r\n');
  const server = await startImapServer(store, { authenticate: admitAnyone });
  after(() => server.close());
  const a = await RawImap.open(server.port);
  const b = await RawImap.open(server.port);
  after(() => {
    a.close();
    b.close();
  });
  for (const c of [a, b]) assert.equal((await c.command('LOGIN bob@example.test x')).status, 'OK');
  assert.equal((await b.command('CREATE Lists')).status, 'OK');
  return { store, bob, a, b };
}

async function append(c: RawImap, mailbox: string, text: string): Promise<void> {
  c.write(`X APPEND ${mailbox} {${Buffer.byteLength(text)}+}\r\n${text}\r\n`);
  assert.equal((await c.until('X')).status, 'OK');
}

/** The next `count` lines A receives without sending anything (between commands: RFC 5465 3.1 "at any time"). */
async function unsolicited(c: RawImap, count: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) out.push(await c.line(10_000));
  return out;
}

test('CAPABILITY lists NOTIFY', async () => {
  const { a } = await setup();
  assert.match((await a.command('CAPABILITY')).lines[0] ?? '', / NOTIFY( |$)/);
});

test('between commands: FETCH for the selected mailbox, STATUS for another, LIST for create/rename/subscribe', async () => {
  const { a, b } = await setup();
  assert.equal((await a.command('SELECT INBOX')).status, 'OK');
  const set = await a.command(
    'NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))',
  );
  assert.equal(set.status, 'OK', set.tagged);
  assert.deepEqual(set.lines, []); // no STATUS indicator: no STATUS responses

  // B appends to INBOX: A hears EXISTS and the FETCH it asked for, without sending a command.
  await append(b, 'INBOX', 'Subject: m2\r\n\r\nhi\r\n');
  // (RECENT: an IMAP4rev1 session, RFC 3501 7.3.2; the FETCH after the EXISTS, RFC 5465 5.2.)
  assert.deepEqual(await unsolicited(a, 3), [
    '* 2 EXISTS',
    '* 2 RECENT',
    '* 2 FETCH (UID 2 FLAGS (\\Recent))',
  ]);

  // B appends to another mailbox: STATUS for it.
  await append(b, 'Lists', 'Subject: l1\r\n\r\nhi\r\n');
  assert.deepEqual(await unsolicited(a, 1), ['* STATUS "Lists" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)']);

  // B creates, renames (OLDNAME, RFC 5465 5.4), subscribes, deletes.
  assert.equal((await b.command('CREATE Work')).status, 'OK');
  assert.deepEqual(await unsolicited(a, 1), ['* LIST (\\HasNoChildren) "/" "Work"']);
  assert.equal((await b.command('RENAME Work Projects')).status, 'OK');
  assert.deepEqual(await unsolicited(a, 1), ['* LIST (\\HasNoChildren) "/" "Projects" ("OLDNAME" ("Work"))']);
  assert.equal((await b.command('SUBSCRIBE Projects')).status, 'OK');
  assert.deepEqual(await unsolicited(a, 1), ['* LIST (\\HasNoChildren \\Subscribed) "/" "Projects"']);
  assert.equal((await b.command('DELETE Projects')).status, 'OK');
  assert.deepEqual(await unsolicited(a, 1), ['* LIST (\\NonExistent \\Subscribed) "/" "Projects"']);

  // B expunges in INBOX: EXPUNGE at once (SELECTED, not SELECTED-DELAYED).
  assert.equal((await b.command('SELECT INBOX')).status, 'OK');
  assert.equal((await b.command('STORE 1 +FLAGS.SILENT (\\Deleted)')).status, 'OK');
  assert.equal((await b.command('EXPUNGE')).status, 'OK');
  // (No FETCH for the \Deleted flag B set first: SELECTED did not ask for FlagChange.)
  assert.deepEqual(await unsolicited(a, 1), ['* 1 EXPUNGE']);

  // Nothing else was pending: a NOOP answers with nothing more.
  assert.deepEqual((await a.command('NOOP')).lines, []);
  // A's own CREATE is not reported back to it (RFC 5465 5: SHOULD NOT).
  assert.deepEqual((await a.command('CREATE Mine')).lines, []);
});

test('SET STATUS: a STATUS for each watched mailbox before the OK (RFC 5465 3.1); NOTIFY NONE stops the reports', async () => {
  const { a, b } = await setup();
  await append(b, 'Lists', 'Subject: l1\r\n\r\nhi\r\n');
  assert.equal((await a.command('SELECT INBOX')).status, 'OK');
  const set = await a.command('NOTIFY SET STATUS (mailboxes Lists (MessageNew MessageExpunge))');
  assert.equal(set.status, 'OK');
  assert.match(set.lines.join('\n'), /^\* STATUS "Lists" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)$/);
  // Only Lists is watched: an APPEND to INBOX (selected, no SELECTED group) is not pushed.
  await append(b, 'INBOX', 'Subject: m2\r\n\r\nhi\r\n');
  await append(b, 'Lists', 'Subject: l2\r\n\r\nhi\r\n');
  assert.deepEqual(await unsolicited(a, 1), ['* STATUS "Lists" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)']);
  // The INBOX change still comes with the next command, as without NOTIFY.
  assert.deepEqual((await a.command('NOOP')).lines, ['* 2 EXISTS', '* 2 RECENT']);
  assert.equal((await a.command('NOTIFY NONE')).status, 'OK');
  await append(b, 'Lists', 'Subject: l3\r\n\r\nhi\r\n');
  assert.deepEqual((await a.command('NOOP')).lines, []);
});

test('IDLE after NOTIFY reports what NOTIFY asked for (RFC 5465 4), STATUS for other mailboxes included', async () => {
  const { a, b } = await setup();
  assert.equal((await a.command('SELECT INBOX')).status, 'OK');
  assert.equal(
    (
      await a.command(
        'NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))',
      )
    ).status,
    'OK',
  );
  a.write('I1 IDLE\r\n');
  assert.equal(await a.line(), '+ idling');
  await append(b, 'Lists', 'Subject: l1\r\n\r\nhi\r\n');
  assert.deepEqual(await unsolicited(a, 1), ['* STATUS "Lists" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)']);
  await append(b, 'INBOX', 'Subject: m2\r\n\r\nhi\r\n');
  assert.deepEqual(await unsolicited(a, 2), ['* 2 EXISTS', '* 2 RECENT']);
  a.write('DONE\r\n');
  assert.equal((await a.until('I1')).status, 'OK');
});

test('SELECTED with FlagChange: a flag set by another session is a FETCH (UID FLAGS) between commands (RFC 5465 5.1)', async () => {
  const { a, b } = await setup();
  assert.equal((await a.command('SELECT INBOX')).status, 'OK');
  assert.equal(
    (await a.command('NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))')).status,
    'OK',
  );
  assert.equal((await b.command('SELECT INBOX')).status, 'OK');
  assert.equal((await b.command('STORE 1 +FLAGS.SILENT (\\Flagged)')).status, 'OK');
  assert.deepEqual(await unsolicited(a, 1), ['* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1)']);
  // Without FlagChange the change waits for A's next command, as without NOTIFY.
  assert.equal((await a.command('NOTIFY SET (selected (MessageNew MessageExpunge))')).status, 'OK');
  assert.equal((await b.command('STORE 1 -FLAGS.SILENT (\\Flagged)')).status, 'OK');
  await append(b, 'INBOX', 'Subject: m2\r\n\r\nhi\r\n');
  const pushed = await unsolicited(a, 2);
  // (RECENT 1 or 2: B, also selected, may claim the new message first, RFC 3501 2.3.2.)
  assert.equal(pushed[0], '* 2 EXISTS');
  assert.match(pushed[1] ?? '', /^\* [12] RECENT$/);
  assert.deepEqual((await a.command('NOOP')).lines, ['* 1 FETCH (FLAGS (\\Recent) UID 1)']);
});

test('SELECTED-DELAYED: no EXPUNGE between commands or during FETCH, then at NOOP (RFC 5465 6.1.2)', async () => {
  const { a, b } = await setup();
  await append(b, 'INBOX', 'Subject: m2\r\n\r\nhi\r\n');
  assert.equal((await a.command('SELECT INBOX')).status, 'OK');
  assert.equal((await a.command('NOTIFY SET (selected-delayed (MessageNew MessageExpunge))')).status, 'OK');
  assert.equal((await b.command('SELECT INBOX')).status, 'OK');
  assert.equal((await b.command('STORE 1 +FLAGS.SILENT (\\Deleted)')).status, 'OK');
  assert.equal((await b.command('EXPUNGE')).status, 'OK');
  // A flag change is reported between commands; the expunge waits.
  await append(b, 'INBOX', 'Subject: m3\r\n\r\nhi\r\n');
  const pushed = await unsolicited(a, 2);
  assert.ok(!pushed.some((l) => / EXPUNGE$/.test(l)), pushed.join('\n'));
  const fetch = await a.command('FETCH 1:* (UID)');
  assert.ok(!fetch.lines.some((l) => / EXPUNGE$/.test(l)), fetch.lines.join('\n'));
  assert.ok((await a.command('NOOP')).lines.includes('* 1 EXPUNGE'));
});

test('NOTIFICATIONOVERFLOW: more events than the bound before the session can report them: said once, then NOTIFY is off (RFC 5465 5.8)', async () => {
  const { store, bob, a } = await setup();
  assert.equal((await a.command('NOTIFY SET (personal (MessageNew MessageExpunge))')).status, 'OK');
  // 1001 events arrive before the session's next turn: they are counted, not queued, and overflow.
  const lists = store.mail.findMailbox(bob, 'Lists');
  assert.ok(lists);
  a.write('W1 NOOP\r\n');
  for (let i = 0; i < 1001; i++)
    store.events.emit('message', { accountId: bob, mailboxId: lists.id, uid: i + 1 });
  const reply = await a.until('W1');
  const all = [...reply.lines];
  const more = await a.command('NOOP');
  all.push(...more.lines);
  assert.equal(all.filter((l) => l.startsWith('* OK [NOTIFICATIONOVERFLOW]')).length, 1, all.join('\n'));
  assert.deepEqual((await a.command('NOOP')).lines, []);
});

test('unsupported and invalid NOTIFY requests: NO [BADEVENT] or BAD, never a crash', async () => {
  const { a } = await setup();
  const badevent = '[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]';
  for (const [args, want] of [
    ['SET (personal (AnnotationChange))', `NO ${badevent}`],
    ['SET (personal (MailboxMetadataChange))', `NO ${badevent}`],
    ['SET (personal (ServerMetadataChange))', `NO ${badevent}`],
    ['SET (personal (FooBar))', `NO ${badevent}`],
    ['SET (selected (MailboxName))', 'BAD'],
    ['SET (selected (MessageNew)) (selected-delayed (MessageNew))', 'BAD'],
    ['SET (personal (MessageNew (UID)))', 'BAD'],
    ['SET', 'BAD'],
    ['SET (nowhere (MessageNew))', 'BAD'],
    ['SET (mailboxes () (MessageNew))', 'BAD'],
    ['SET (personal ())', 'BAD'],
    ['SET (personal NONE) extra', 'BAD'],
    ['MAYBE', 'BAD'],
    [
      `SET (mailboxes (${Array.from({ length: 1001 }, (_, i) => `m${i}`).join(' ')}) (MessageNew))`,
      'NO [LIMIT]',
    ],
    [`SET (subtree ${'((((((((((((((((((('} x${')))))))))))))))))))'} (MessageNew))`, 'BAD'],
  ] as const) {
    const r = await a.command(`NOTIFY ${args}`);
    assert.ok(r.tagged.includes(` ${want}`), `${args.slice(0, 60)} -> ${r.tagged}`);
  }
  // Names that exist nowhere are ignored (RFC 5465 3.1 "MUST ignore it"); NONE events are fine.
  assert.equal(
    (
      await a.command(
        'NOTIFY SET STATUS (mailboxes (Nope "No/Such") NONE) (subtree Nope (MessageNew MessageExpunge))',
      )
    ).status,
    'OK',
  );
});
