// IMAP SORT, THREAD and ESORT transcripts over the pure session (RFC 5256, RFC 5957, RFC 5267), on a small mailbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliverText, imapSession, openTestStore, type ImapSend } from '../../helpers/imap-session.js';

const day = (h: number): string => `Mon, 2 Nov 2026 ${String(h).padStart(2, '0')}:00:00 +0000`;

/**
 * Six messages, in mailbox order (sequence number = UID = position):
 *  1 "Hello" from Zed, 10:00        2 "Re: Hello" (answers 1) from amy, 09:00
 *  3 "[list] Other" from Bob, 08:00 4 "=?UTF-8?Q?Re=3A_Other?=" (no references), 11:00
 *  5 "Re: Hello" (answers 2) from carl, 12:00, Cc dora   6 no Subject, no Date (INTERNALDATE 1 Nov)
 */
const MESSAGES = [
  'From: Zed <zed@x.test>\r\nTo: Tom <tom@x.test>\r\nSubject: Hello\r\nMessage-ID: <a@x>\r\nDate: ' + day(10),
  'From: amy@x.test\r\nTo: sam@x.test\r\nSubject: Re: Hello\r\nMessage-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\nDate: ' +
    day(9),
  'From: Bob <bob@x.test>\r\nSubject: [list] Other\r\nMessage-ID: <c@x>\r\nDate: ' + day(8),
  'From: eve@x.test\r\nSubject: =?UTF-8?Q?Re=3A_Other?=\r\nMessage-ID: <d@x>\r\nDate: ' + day(11),
  'From: carl@x.test\r\nCc: dora@x.test\r\nSubject: Re: Hello\r\nMessage-ID: <e@x>\r\nReferences: <a@x> <b@x>\r\nDate: ' +
    day(12),
  'From: fay@x.test\r\nMessage-ID: <f@x>',
];

async function mailbox(): Promise<ImapSend> {
  const { store, bob } = await openTestStore();
  let i = 0;
  for (const head of MESSAGES) {
    i++;
    await deliverText(store, bob, `${head}\r\n\r\n${'x'.repeat(10 * ((i * 7) % 6))}\r\n`, {
      queueId: `Q${i}`,
      receivedAt: new Date(Date.UTC(2026, 10, 1, i)),
    });
  }
  const send = imapSession(store);
  assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
  assert.match(await send('s SELECT INBOX'), /s OK/);
  return send;
}

/** The untagged SORT/THREAD/ESEARCH line of a reply, checking the command completed. */
async function line(send: ImapSend, command: string): Promise<string> {
  const reply = await send(command);
  const tag = command.split(' ')[0] as string;
  assert.match(reply, new RegExp(`^${tag} OK`, 'm'), reply);
  return reply.split('\r\n')[0] as string;
}

test('CAPABILITY: SORT, SORT=DISPLAY, THREAD=ORDEREDSUBJECT, THREAD=REFERENCES, ESORT, CONTEXT=SORT', async () => {
  const send = await mailbox();
  const caps = (await send('c CAPABILITY')).split('\r\n')[0] as string;
  for (const c of [
    'SORT',
    'SORT=DISPLAY',
    'THREAD=ORDEREDSUBJECT',
    'THREAD=REFERENCES',
    'ESORT',
    'CONTEXT=SORT',
  ])
    assert.ok(caps.split(' ').includes(c), c);
});

test('RFC 5256 3: SORT by each criterion, REVERSE, several criteria, UID SORT and search keys', async () => {
  const send = await mailbox();
  // Base subjects: HELLO x3, OTHER x2 (the encoded word decoded, RFC 5256 2.1 (1)), "" (6).
  assert.equal(await line(send, 'a SORT (SUBJECT) UTF-8 ALL'), '* SORT 6 1 2 5 3 4');
  assert.equal(await line(send, 'b SORT (SUBJECT DATE) UTF-8 ALL'), '* SORT 6 2 1 5 3 4');
  assert.equal(await line(send, 'c SORT (REVERSE SUBJECT REVERSE DATE) UTF-8 ALL'), '* SORT 4 3 5 1 2 6');
  // Message 6 has no Date: its INTERNALDATE (1 Nov) is its sent date (RFC 5256 2.2).
  assert.equal(await line(send, 'd SORT (DATE) UTF-8 ALL'), '* SORT 6 3 2 1 4 5');
  assert.equal(await line(send, 'e SORT (ARRIVAL) UTF-8 ALL'), '* SORT 1 2 3 4 5 6');
  assert.equal(await line(send, 'f SORT (REVERSE ARRIVAL) UTF-8 ALL'), '* SORT 6 5 4 3 2 1');
  // addr-mailbox: amy bob carl eve fay zed.
  assert.equal(await line(send, 'g SORT (FROM) UTF-8 ALL'), '* SORT 2 3 5 4 6 1');
  // RFC 5957: "Bob", "Zed" and the addr-specs of the others.
  assert.equal(await line(send, 'h SORT (DISPLAYFROM) UTF-8 ALL'), '* SORT 2 3 5 4 6 1');
  // Missing To/Cc is "" and sorts first, in mailbox order.
  assert.equal(await line(send, 'i SORT (TO) UTF-8 ALL'), '* SORT 3 4 5 6 2 1');
  assert.equal(await line(send, 'j SORT (DISPLAYTO) UTF-8 ALL'), '* SORT 3 4 5 6 2 1');
  assert.equal(await line(send, 'k SORT (CC) UTF-8 ALL'), '* SORT 1 2 3 4 6 5');
  const sizes = await line(send, 'm SORT (SIZE) UTF-8 ALL');
  assert.match(sizes, /^\* SORT( \d){6}$/);
  // Search keys choose the messages; UID SORT answers UIDs.
  assert.equal(await line(send, 'n SORT (DATE) UTF-8 SUBJECT hello'), '* SORT 2 1 5');
  assert.equal(await line(send, 'o UID SORT (REVERSE DATE) US-ASCII OR FROM amy FROM zed'), '* SORT 1 2');
  assert.equal(await line(send, 'p SORT (DATE) UTF-8 SUBJECT nothing-matches'), '* SORT');
  assert.equal(await line(send, 'q SORT (DATE) UTF-8 2:4'), '* SORT 3 2 4');
});

test('RFC 5256 3: an unknown charset is NO [BADCHARSET]; SORT/THREAD need a selected mailbox', async () => {
  const send = await mailbox();
  assert.match(await send('a SORT (DATE) KOI8-R ALL'), /^a NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/);
  assert.match(await send('b THREAD REFERENCES KOI8-R ALL'), /^b NO \[BADCHARSET/);
  assert.match(await send('c SORT (BOGUS) UTF-8 ALL'), /^c BAD/);
  await send('u UNSELECT');
  assert.match(await send('d SORT (DATE) UTF-8 ALL'), /^d (BAD|NO)/);
  assert.match(await send('e THREAD REFERENCES UTF-8 ALL'), /^e (BAD|NO)/);
});

test('RFC 5267 3 ESORT: MIN and MAX are first and last in sort order, ALL in sort order; PARTIAL; SAVE', async () => {
  const send = await mailbox();
  assert.equal(
    await line(send, 'a SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL'),
    '* ESEARCH (TAG "a") MIN 6 MAX 5 COUNT 6',
  );
  assert.equal(await line(send, 'b SORT RETURN () (DATE) UTF-8 ALL'), '* ESEARCH (TAG "b") ALL 6,3,2,1,4:5');
  assert.equal(
    await line(send, 'c UID SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL'),
    '* ESEARCH (TAG "c") UID ALL 6,5,4,3,2,1',
  );
  assert.equal(
    await line(send, 'd SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT nothing'),
    '* ESEARCH (TAG "d") COUNT 0',
  );
  // RFC 5267 4.4 PARTIAL: positions 2-4 of the sorted result; past the end is NIL.
  assert.equal(
    await line(send, 'e SORT RETURN (PARTIAL 2:4) (DATE) UTF-8 ALL'),
    '* ESEARCH (TAG "e") PARTIAL (2:4 3,2,1)',
  );
  assert.equal(
    await line(send, 'f SORT RETURN (PARTIAL 7:9 COUNT) (DATE) UTF-8 ALL'),
    '* ESEARCH (TAG "f") PARTIAL (7:9 NIL) COUNT 6',
  );
  // RFC 5182 SAVE: the matches become "$" for a later command; SAVE alone returns nothing.
  const saved = await send('g SORT RETURN (SAVE) (DATE) UTF-8 SUBJECT other');
  assert.match(saved, /^g OK/);
  assert.equal(await line(send, 'h SEARCH $'), '* SEARCH 3 4');
});

test('RFC 7162 3.1.5: SORT with a MODSEQ key reports the highest MODSEQ', async () => {
  const send = await mailbox();
  const stored = await send('a STORE 2 +FLAGS (\\Seen)');
  assert.match(stored, /a OK/);
  const modseq = /MODSEQ \((\d+)\)/.exec(await send('b FETCH 2 (MODSEQ)'))?.[1];
  assert.ok(modseq);
  assert.equal(await line(send, `c SORT (DATE) UTF-8 MODSEQ ${modseq}`), `* SORT 2 (MODSEQ ${modseq})`);
  assert.equal(
    await line(send, `d SORT RETURN (ALL) (DATE) UTF-8 MODSEQ ${modseq}`),
    `* ESEARCH (TAG "d") ALL 2 MODSEQ ${modseq}`,
  );
});

test('RFC 5256 4: THREAD=REFERENCES and THREAD=ORDEREDSUBJECT', async () => {
  const send = await mailbox();
  // 1 <- 2 <- 5 by In-Reply-To/References; 4 ("Re: Other", no headers) joins 3 by subject (step 5);
  // 6 alone. Threads by sent date: 6 (1 Nov), 3 (08:00), 1 (10:00).
  assert.equal(await line(send, 'a THREAD REFERENCES UTF-8 ALL'), '* THREAD (6)(3 4)(1 2 5)');
  assert.equal(await line(send, 'b UID THREAD REFERENCES UTF-8 ALL'), '* THREAD (6)(3 4)(1 2 5)');
  // ORDEREDSUBJECT: HELLO = 2 (09:00), 1, 5; OTHER = 3, 4; "" = 6.
  assert.equal(await line(send, 'c THREAD ORDEREDSUBJECT UTF-8 ALL'), '* THREAD (6)(3 4)(2 (1)(5))');
  // Only the matching messages are threaded: without 2, 5 still descends from 1 through References.
  assert.equal(await line(send, 'd THREAD REFERENCES UTF-8 NOT FROM amy'), '* THREAD (6)(3 4)(1 5)');
  assert.equal(await line(send, 'e THREAD REFERENCES UTF-8 SUBJECT nothing'), '* THREAD');
});

test('RFC 5256 3 / RFC 5957: a group sorts by its name, the addr-mailbox of its start marker (imaptest sort-display-to, sort-addresses)', async () => {
  const { store, bob } = await openTestStore();
  const to = [
    'foo bar <a@b.c>',
    'b@c.d',
    'd',
    '=?iso-8859-1?q?foo_aar?= <e@f.g>',
    '=?iso-8859-1?q?foo_car?= <f@g.h>',
    'a: xx@xx.org, yy@yy.org;',
    'z: aa@aa.org, bb@bb.org;',
    'empty:;',
  ];
  let i = 0;
  for (const t of to) {
    i++;
    await deliverText(
      store,
      bob,
      `To: ${t}\r\nCc: ${i === 2 ? 'user2: blah@domain1.org;' : 'user1@x'}\r\n\r\n${i}\r\n`,
      {
        queueId: `Q${i}`,
      },
    );
  }
  const send = imapSession(store);
  await send('l LOGIN bob@example.test x');
  await send('s SELECT INBOX');
  assert.match(await send('a SORT (DISPLAYTO) US-ASCII ALL'), /^\* SORT 6 2 3 8 4 1 5 7\r\n/);
  assert.match(await send('b SORT (REVERSE DISPLAYTO) US-ASCII ALL'), /^\* SORT 7 5 1 4 8 3 2 6\r\n/);
  // Cc of 2 is the group "user2": after every "user1" (ties in mailbox order), not first as "blah".
  assert.match(await send('c SORT (CC) US-ASCII ALL'), /^\* SORT 1 3 4 5 6 7 8 2\r\n/);
});
