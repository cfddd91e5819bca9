// ESEARCH with the MODSEQ search key (RFC 4731 3.2, RFC 7162 3.1.5): which mod-sequence the MODSEQ result reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliverText, imapSession, openTestStore } from '../../helpers/imap-session.js';

const NOW = new Date('2026-11-23T10:00:00Z');

/** A logged-in session on INBOX holding `count` delivered messages. */
async function selectedSession(count: number): Promise<(line: string) => Promise<string>> {
  const { store, bob } = await openTestStore({ clock: () => NOW });
  for (let i = 1; i <= count; i++)
    await deliverText(store, bob, `Subject: m${i}\r\n\r\nbody\r\n`, { queueId: `Q${i}`, receivedAt: NOW });
  const send = imapSession(store, { now: () => NOW });
  assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
  assert.match(await send('s SELECT INBOX'), /s OK/);
  return send;
}

/** The MODSEQ a STORE gave message `seq` (RFC 7162 3.1.3: STORE reports it once CONDSTORE is on). */
async function storeSeen(send: (line: string) => Promise<string>, seq: number): Promise<number> {
  const r = await send(`t${seq} STORE ${seq} +FLAGS (\\Seen)`);
  const m = /MODSEQ \((\d+)\)/.exec(r);
  assert.ok(m, r);
  return Number(m[1]);
}

test('RFC 4731 3.2: MIN/MAX alone report the MODSEQ of the messages returned; ALL/COUNT the highest of all', async () => {
  const send = await selectedSession(4);
  await send('c FETCH 1 (MODSEQ)'); // a CONDSTORE-enabling command (RFC 7162 3.1)
  // Changed out of order (1, 3, 2), so the highest of 1:3 is message 2's, not MIN's or MAX's.
  const m1 = await storeSeen(send, 1);
  const m3 = await storeSeen(send, 3);
  const m2 = await storeSeen(send, 2);
  assert.ok(m1 < m3 && m3 < m2);
  const q = 'MODSEQ "/flags/\\\\seen" all 1';
  assert.match(
    await send(`a SEARCH RETURN (MIN) 1:3 ${q}`),
    new RegExp(`^\\* ESEARCH \\(TAG "a"\\) MIN 1 MODSEQ ${m1}\r\n`),
  );
  assert.match(
    await send(`b SEARCH RETURN (MAX) 1:3 ${q}`),
    new RegExp(`^\\* ESEARCH \\(TAG "b"\\) MAX 3 MODSEQ ${m3}\r\n`),
  );
  assert.match(await send(`d SEARCH RETURN (MIN MAX) 2:3 ${q}`), new RegExp(`MIN 2 MAX 3 MODSEQ ${m2}\r\n`));
  assert.match(await send(`e SEARCH RETURN () 1:3 ${q}`), new RegExp(`ALL 1:3 MODSEQ ${m2}\r\n`));
  assert.match(
    await send(`f SEARCH RETURN (MIN COUNT) 1:3 ${q}`),
    new RegExp(`MIN 1 COUNT 3 MODSEQ ${m2}\r\n`),
  );
  // Nothing matches: no MODSEQ at all (RFC 4731 3.1: result items of an empty result are left out).
  assert.match(await send(`g SEARCH RETURN (MIN) 1:3 MODSEQ ${m2 + 1}`), /^\* ESEARCH \(TAG "g"\)\r\n/);
});
