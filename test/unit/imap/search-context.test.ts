// CONTEXT=SEARCH and CONTEXT=SORT transcripts over the pure session (RFC 5267 4): UPDATE, ADDTO/REMOVEFROM, CANCELUPDATE, NOUPDATE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAP_MAX_SEARCH_CONTEXTS } from '../../../src/config/limits.js';
import type { Store } from '../../../src/store/store.js';
import { deliverText, imapSession, openTestStore, type ImapSend } from '../../helpers/imap-session.js';

const day = (h: number, m = 0): string =>
  `Mon, 2 Nov 2026 ${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00 +0000`;

let queue = 0;
async function deliver(store: Store, bob: number, subject: string, date: string): Promise<void> {
  queue++;
  await deliverText(store, bob, `From: a@x.test\r\nSubject: ${subject}\r\nDate: ${date}\r\n\r\nbody\r\n`, {
    queueId: `Q${queue}`,
  });
}

/** Four messages (UID = seq): dates 10:00, 08:00, 12:00, 09:00; `me` has INBOX selected, `other` too. */
async function mailbox(): Promise<{ me: ImapSend; other: ImapSend; store: Store; bob: number }> {
  const { store, bob } = await openTestStore();
  for (const [i, h] of [10, 8, 12, 9].entries()) await deliver(store, bob, `m${i + 1}`, day(h));
  const me = imapSession(store);
  const other = imapSession(store);
  for (const s of [me, other]) {
    assert.match(await s('l LOGIN bob@example.test x'), /^l OK/);
    assert.match(await s('s SELECT INBOX'), /s OK/);
  }
  return { me, other, store, bob };
}

/** The untagged lines of a reply (the tagged line checked as OK). */
async function untagged(send: ImapSend, command: string): Promise<string[]> {
  const reply = await send(command);
  const tag = command.split(' ')[0] as string;
  assert.match(reply, new RegExp(`^${tag} OK`, 'm'), reply);
  return reply.split('\r\n').filter((l) => l.startsWith('* '));
}

const esearch = (lines: string[]): string[] => lines.filter((l) => l.startsWith('* ESEARCH'));

test('CAPABILITY advertises CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4)', async () => {
  const { me } = await mailbox();
  const caps = (await me('c CAPABILITY')).split('\r\n')[0]?.split(' ') ?? [];
  assert.ok(caps.includes('CONTEXT=SEARCH') && caps.includes('CONTEXT=SORT') && caps.includes('ESORT'));
});

test('RFC 5267 4.3: UID SEARCH RETURN (UPDATE): flag changes, new mail and expunges become REMOVEFROM/ADDTO', async () => {
  const { me, other, store, bob } = await mailbox();
  // UPDATE alone returns ALL: the result the updates change.
  assert.deepEqual(await untagged(me, 'A01 UID SEARCH RETURN (UPDATE) UNSEEN'), [
    '* ESEARCH (TAG "A01") UID ALL 1:4',
  ]);
  // Another session marks 2 seen: it leaves the result.
  await untagged(other, 'x STORE 2 +FLAGS (\\Seen)');
  assert.deepEqual(esearch(await untagged(me, 'n1 NOOP')), ['* ESEARCH (TAG "A01") UID REMOVEFROM (0 2)']);
  // New mail: announced by EXISTS, then added (RFC 5267 4.3: 0, the unsorted position).
  await deliver(store, bob, 'm5', day(7));
  const lines = await untagged(me, 'n2 NOOP');
  assert.ok(lines.indexOf('* 5 EXISTS') >= 0 && lines.indexOf('* 5 EXISTS') < lines.length - 1, lines.join());
  assert.deepEqual(esearch(lines), ['* ESEARCH (TAG "A01") UID ADDTO (0 5)']);
  // Our own STORE counts too: unseen again, back in.
  assert.deepEqual(esearch(await untagged(me, 'x2 STORE 2 -FLAGS.SILENT (\\Seen)')), [
    '* ESEARCH (TAG "A01") UID ADDTO (0 2)',
  ]);
  // An expunge by the other session: REMOVEFROM, before the EXPUNGE that reports it.
  await untagged(other, 'x3 STORE 3 +FLAGS.SILENT (\\Deleted)');
  await untagged(other, 'x4 EXPUNGE');
  const gone = await untagged(me, 'n3 NOOP');
  assert.ok(gone.indexOf('* 3 EXPUNGE') >= 0, gone.join());
  assert.deepEqual(esearch(gone), ['* ESEARCH (TAG "A01") UID REMOVEFROM (0 3)']);
  // A change that does not touch the result says nothing.
  await untagged(other, 'x5 STORE 1 +FLAGS (\\Flagged)');
  assert.deepEqual(esearch(await untagged(me, 'n4 NOOP')), []);
});

test('RFC 5267 4.3: a sequence-number context reports sequence numbers; COUNT with UPDATE', async () => {
  const { me, other } = await mailbox();
  assert.deepEqual(await untagged(me, 'B01 SEARCH RETURN (COUNT UPDATE) UNFLAGGED'), [
    '* ESEARCH (TAG "B01") COUNT 4',
  ]);
  await untagged(other, 'x UID STORE 3 +FLAGS (\\Flagged)');
  assert.deepEqual(esearch(await untagged(me, 'n NOOP')), ['* ESEARCH (TAG "B01") REMOVEFROM (0 3)']);
});

test('RFC 5267 4.3: an expunged message in a sequence-number context is REMOVEFROM with its number, before its EXPUNGE (imaptest search-context-update)', async () => {
  const { me, other } = await mailbox();
  assert.deepEqual(await untagged(me, 'E01 SEARCH RETURN (UPDATE) SEEN'), ['* ESEARCH (TAG "E01")']);
  assert.deepEqual(esearch(await untagged(me, 'a STORE 2,4 +FLAGS.SILENT (\\Seen)')), [
    '* ESEARCH (TAG "E01") ADDTO (0 2,4)',
  ]);
  // Our own EXPUNGE of 3 and 4: 4 leaves the result, named 4 (its number until the EXPUNGEs are read).
  await untagged(me, 'b STORE 3:4 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual(await untagged(me, 'c EXPUNGE'), [
    '* ESEARCH (TAG "E01") REMOVEFROM (0 4)',
    '* 4 EXPUNGE',
    '* 3 EXPUNGE',
  ]);
  // Someone else's expunge of 2 (now still 2 here): the same, on the next NOOP.
  await untagged(other, 'd STORE 2 +FLAGS.SILENT (\\Deleted)');
  await untagged(other, 'e EXPUNGE');
  assert.deepEqual(await untagged(me, 'f NOOP'), ['* ESEARCH (TAG "E01") REMOVEFROM (0 2)', '* 2 EXPUNGE']);
});

test('RFC 5267 4.3/4.4: a sorted context gives positions in sort order; PARTIAL limits them to its window', async () => {
  const { me, other, store, bob } = await mailbox();
  // Dates: 2 (08:00), 4 (09:00), 1 (10:00), 3 (12:00).
  assert.deepEqual(await untagged(me, 'C01 UID SORT RETURN (UPDATE) (DATE) UTF-8 UNDELETED'), [
    '* ESEARCH (TAG "C01") UID ALL 2,4,1,3',
  ]);
  assert.deepEqual(
    await untagged(me, 'C02 UID SORT RETURN (PARTIAL 1:2 UPDATE) (REVERSE DATE) UTF-8 UNDELETED'),
    ['* ESEARCH (TAG "C02") UID PARTIAL (1:2 3,1)'],
  );
  // 09:30 sorts third by DATE (after 4), and fourth by REVERSE DATE: outside C02's window 1:2.
  await deliver(store, bob, 'm5', day(9, 30));
  assert.deepEqual(esearch(await untagged(me, 'n1 NOOP')), ['* ESEARCH (TAG "C01") UID ADDTO (3 5)']);
  // 13:00 sorts last by DATE and first by REVERSE DATE.
  await deliver(store, bob, 'm6', day(13));
  assert.deepEqual(esearch(await untagged(me, 'n2 NOOP')), [
    '* ESEARCH (TAG "C01") UID ADDTO (6 6)',
    '* ESEARCH (TAG "C02") UID ADDTO (1 6)',
  ]);
  // \Deleted takes 1 (10:00) out: position 4 by DATE (2,4,5,1,3,6), 4 by REVERSE DATE (6,3,1,...): outside 1:2.
  await untagged(other, 'x UID STORE 1 +FLAGS (\\Deleted)');
  assert.deepEqual(esearch(await untagged(me, 'n3 NOOP')), ['* ESEARCH (TAG "C01") UID REMOVEFROM (4 1)']);
  // ...and back in at the same place.
  await untagged(other, 'y UID STORE 1 -FLAGS (\\Deleted)');
  assert.deepEqual(esearch(await untagged(me, 'n4 NOOP')), ['* ESEARCH (TAG "C01") UID ADDTO (4 1)']);
});

test('RFC 5267 4.2: CANCELUPDATE ends a context; an unknown tag is BAD; SELECT/CLOSE/UNSELECT end them all', async () => {
  const { me, other } = await mailbox();
  await untagged(me, 'D01 UID SEARCH RETURN (UPDATE) UNSEEN');
  await untagged(me, 'D02 UID SEARCH RETURN (UPDATE) SEEN');
  assert.match(await me('c1 CANCELUPDATE "D01"'), /^c1 OK/m);
  await untagged(other, 'x STORE 1 +FLAGS (\\Seen)');
  assert.deepEqual(esearch(await untagged(me, 'n NOOP')), ['* ESEARCH (TAG "D02") UID ADDTO (0 1)']);
  // Cancelled already, or never made: BAD, and the other tags of the command are kept.
  assert.match(await me('c2 CANCELUPDATE "D02" "D01"'), /^c2 BAD/m);
  assert.match(await me('c3 CANCELUPDATE "nope"'), /^c3 BAD/m);
  assert.match(await me('c4 CANCELUPDATE D02'), /^c4 BAD/m); // tags are quoted strings (RFC 5267 4.2)
  assert.match(await me('c5 CANCELUPDATE'), /^c5 BAD/m);
  for (const leave of ['SELECT INBOX', 'EXAMINE INBOX', 'CLOSE', 'UNSELECT']) {
    await untagged(me, 'E01 UID SEARCH RETURN (UPDATE) ALL');
    assert.match(await me(`l ${leave}`), /^l OK/m);
    // Not selected: CANCELUPDATE is not allowed at all; selected again, the context is gone.
    if (leave === 'CLOSE' || leave === 'UNSELECT') {
      assert.match(await me('c6 CANCELUPDATE "E01"'), /^c6 BAD/m);
      assert.match(await me('s4 SELECT INBOX'), /s4 OK/);
    }
    assert.match(await me('c7 CANCELUPDATE "E01"'), /^c7 BAD/m);
  }
});

test('RFC 5267 4.2: past the context limit the command answers with NO [NOUPDATE "tag"] and keeps none', async () => {
  const { me, other } = await mailbox();
  for (let i = 0; i < IMAP_MAX_SEARCH_CONTEXTS; i++) {
    assert.deepEqual(await untagged(me, `t${i} UID SEARCH RETURN (UPDATE) UNSEEN`), [
      `* ESEARCH (TAG "t${i}") UID ALL 1:4`,
    ]);
  }
  assert.deepEqual(await untagged(me, 'over UID SORT RETURN (UPDATE) (DATE) UTF-8 UNSEEN'), [
    '* NO [NOUPDATE "over"] Too many contexts',
    '* ESEARCH (TAG "over") UID ALL 2,4,1,3',
  ]);
  // Reusing a live tag replaces that context, within the limit.
  assert.deepEqual(await untagged(me, 't0 UID SEARCH RETURN (UPDATE) UNSEEN'), [
    '* ESEARCH (TAG "t0") UID ALL 1:4',
  ]);
  await untagged(other, 'x STORE 4 +FLAGS (\\Seen)');
  const lines = esearch(await untagged(me, 'n NOOP'));
  assert.equal(lines.length, IMAP_MAX_SEARCH_CONTEXTS);
  assert.ok(!lines.some((l) => l.includes('"over"')));
});

test('RFC 5267 4.1: UPDATE with MIN or MAX is BAD; UPDATE is accepted with ALL, COUNT, SAVE', async () => {
  const { me } = await mailbox();
  for (const cmd of [
    'b1 SEARCH RETURN (MIN UPDATE) ALL',
    'b2 UID SEARCH RETURN (UPDATE MAX) ALL',
    'b3 SORT RETURN (UPDATE MIN) (DATE) UTF-8 ALL',
    'b4 SEARCH RETURN (UPDATE BOGUS) ALL',
  ]) {
    assert.match(await me(cmd), /^b\d BAD/m, cmd);
  }
  assert.deepEqual(await untagged(me, 'g1 SEARCH RETURN (ALL COUNT SAVE UPDATE) ALL'), [
    '* ESEARCH (TAG "g1") ALL 1:4 COUNT 4',
  ]);
});
