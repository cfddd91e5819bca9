// RFC 7162 3.1: the first CONDSTORE enabling command run with a mailbox selected reports * OK [HIGHESTMODSEQ n].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../../src/store/store.js';
import { deliverText, imapSession, openTestStore } from '../../helpers/imap-session.js';

const NOW = new Date('2026-11-23T10:00:00Z');
type Send = (line: string) => Promise<string>;

/** A store with bob's INBOX holding three messages, and a way to open logged-in sessions on it. */
async function setup(): Promise<{ store: Store; login: () => Promise<Send> }> {
  const { store, bob } = await openTestStore({ clock: () => NOW });
  for (let i = 1; i <= 3; i++)
    await deliverText(store, bob, `Subject: m${i}\r\n\r\nbody\r\n`, { queueId: `Q${i}`, receivedAt: NOW });
  const login = async (): Promise<Send> => {
    const send = imapSession(store, { now: () => NOW });
    assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
    return send;
  };
  return { store, login };
}

const HIGHEST = /^\* OK \[HIGHESTMODSEQ (\d+)\] /m;

function highestOf(reply: string): number | null {
  const m = HIGHEST.exec(reply);
  return m ? Number(m[1]) : null;
}

test('RFC 7162 3.1: each CONDSTORE enabling command, run selected, reports HIGHESTMODSEQ once', async () => {
  const { store, login } = await setup();
  const inbox = store.getMailbox(1, 'INBOX');
  assert.ok(inbox);
  const rows = [
    'a FETCH 1 (MODSEQ)',
    'a FETCH 1:* (FLAGS) (CHANGEDSINCE 1)',
    'a UID FETCH 1:* (MODSEQ)',
    'a SEARCH MODSEQ 1',
    'a STORE 1 (UNCHANGEDSINCE 1000) +FLAGS (x)',
    'a STATUS INBOX (HIGHESTMODSEQ)',
  ];
  for (const row of rows) {
    const send = await login();
    const sel = await send('s SELECT INBOX');
    const selected = highestOf(sel); // SELECT always sends it (RFC 7162 3.1.2.1)
    const first = await send(row);
    assert.equal(highestOf(first), selected, `${row}: ${first}`);
    // Before the command's own responses, so the client has it when the FETCH data arrives.
    assert.ok(first.startsWith('* OK [HIGHESTMODSEQ'), first);
    assert.equal(highestOf(await send(row.replace(/^a /, 'b '))), null, `${row}: only the first time`);
  }
});

test('no HIGHESTMODSEQ without a mailbox selected, after SELECT (CONDSTORE), or for a plain FETCH', async () => {
  const { login } = await setup();
  const send = await login();
  assert.equal(highestOf(await send('s SELECT INBOX')), 1 + 2); // three deliveries
  assert.equal(highestOf(await send('a FETCH 1 (FLAGS)')), null);
  // Enabled while unselected: nothing to report; the next SELECT reports it as always.
  const other = await login();
  assert.equal(highestOf(await other('a STATUS INBOX (HIGHESTMODSEQ)')), null);
  assert.equal(highestOf(await other('b ENABLE CONDSTORE')), null);
  const third = await login();
  await third('s SELECT INBOX (CONDSTORE)');
  assert.equal(highestOf(await third('a FETCH 1 (MODSEQ)')), null);
});

test('the value is what this session has been told, not a change it has not seen yet', async () => {
  const { store, login } = await setup();
  const send = await login();
  const told = highestOf(await send('s SELECT INBOX'));
  assert.ok(told !== null);
  // Another session changes a flag; this session learns of it only with the FETCH after the OK.
  const inbox = store.getMailbox(1, 'INBOX');
  assert.ok(inbox);
  await store.mail.storeFlags(inbox.id, [2], 'add', ['\\Flagged'], null);
  const r = await send('a FETCH 1 (MODSEQ)');
  assert.equal(highestOf(r), told);
  // RFC 7162 3.1.4 (and 3.1: UID and MODSEQ in every FETCH once enabled): the change follows, above it.
  const m = /\* 2 FETCH \(FLAGS \(\\Flagged[^)]*\) UID 2 MODSEQ \((\d+)\)\)/.exec(r);
  assert.ok(m, r);
  assert.ok(Number(m[1]) > told);
});
