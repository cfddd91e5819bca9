// SEARCH OLDER / YOUNGER (RFC 5032 WITHIN): the internal date against the session's injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imapSession, openTestStore } from '../../helpers/imap-session.js';

const NOW = new Date('2026-11-23T10:00:00Z');

/** INTERNALDATEs of the APPENDed messages (UID = sequence number = index + 1), seconds before NOW. */
const AGES = [7200, 3600, 61, 60, 59, 0];

function dateTime(secondsAgo: number): string {
  const d = new Date(NOW.getTime() - secondsAgo * 1000);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
    d.getUTCMonth()
  ] as string;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}-${mon}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

async function setup() {
  const { store } = await openTestStore({ clock: () => NOW });
  let now = NOW;
  const send = imapSession(store, { now: () => now });
  assert.match(await send('a LOGIN bob@example.test x'), /^a OK/m);
  for (const [i, age] of AGES.entries()) {
    const body = Buffer.from(`Subject: m${i + 1}\r\n\r\nbody\r\n`);
    assert.match(await send(`p${i} APPEND INBOX "${dateTime(age)}"`, body), /^p\d+ OK/m);
  }
  assert.match(await send('s SELECT INBOX'), /^s OK/m);
  return { send, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

const hits = (reply: string): string =>
  /^\* SEARCH([^\r]*)\r\n/m.exec(reply)?.[1]?.trim() ?? `no SEARCH in ${reply}`;

test('CAPABILITY lists WITHIN (RFC 5032 2)', async () => {
  const { send } = await setup();
  assert.match(await send('c CAPABILITY'), /^\* CAPABILITY .* WITHIN[ \r]/m);
});

test('YOUNGER n and OLDER n split the messages at n seconds before now (RFC 5032 3)', async () => {
  const { send } = await setup();
  const rows: Array<[string, string]> = [
    ['YOUNGER 60', '4 5 6'],
    ['OLDER 60', '1 2 3'],
    ['YOUNGER 3600', '2 3 4 5 6'],
    ['OLDER 3600', '1'],
    ['YOUNGER 100000', '1 2 3 4 5 6'],
    ['OLDER 100000', ''],
    ['YOUNGER 1', '6'],
    // Combined with other keys like any search key (RFC 5032 3: "search-key =/ ...").
    ['NOT YOUNGER 60', '1 2 3'],
    ['YOUNGER 3600 OLDER 59', '2 3 4'],
    ['OR OLDER 3600 YOUNGER 1', '1 6'],
  ];
  for (const [criteria, want] of rows) {
    assert.equal(hits(await send(`q SEARCH ${criteria}`)), want, criteria);
  }
  assert.equal(hits(await send('u UID SEARCH YOUNGER 60')), '4 5 6');
});

test('the interval counts back from the clock at the time of the search, not of the APPEND', async () => {
  const { send, advance } = await setup();
  assert.equal(hits(await send('q SEARCH YOUNGER 60')), '4 5 6');
  advance(1000);
  assert.equal(hits(await send('q SEARCH YOUNGER 60')), '5 6');
  assert.equal(hits(await send('q SEARCH OLDER 60')), '1 2 3 4');
});

test('hostile OLDER/YOUNGER arguments are BAD, never a crash', async () => {
  const { send } = await setup();
  for (const criteria of [
    'YOUNGER',
    'OLDER 0', // nz-number (RFC 5032 4)
    'YOUNGER -5',
    'OLDER 1.5',
    'YOUNGER 99999999999999999999',
    'OLDER "60"',
    'YOUNGER (60)',
  ]) {
    assert.match(await send(`q SEARCH ${criteria}`), /^q BAD /m, criteria);
  }
  // The largest number is fine: every message is younger than 136 years.
  assert.equal(hits(await send('q SEARCH YOUNGER 4294967295')), '1 2 3 4 5 6');
});
