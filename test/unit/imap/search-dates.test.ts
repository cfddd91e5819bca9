// INTERNALDATE keeps its zone and SEARCH BEFORE/ON/SINCE/SENT* compare the date in the date's own zone
// (RFC 9051 2.3.3, 6.4.4; imaptest search-intdate): APPEND near midnight, FETCH it back, search around it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internalDay, sentDay } from '../../../src/imap/search-dates.js';
import { imapSession, openTestStore } from '../../helpers/imap-session.js';

const NOW = new Date('2026-11-23T10:00:00Z');

/**
 * APPENDed in this order (UID = sequence number = row index + 1): the APPEND date-time (null: none, so
 * now, +0000), and the Date: header (null: none). Comments give the UTC day, which the old code used.
 */
const MESSAGES: Array<[string | null, string | null]> = [
  // 1: the imaptest case: 25 March in +0200, 24 March UTC.
  ['25-Mar-2007 00:00:00 +0200', 'Sun, 25 Mar 2007 00:30:00 +0200'],
  // 2: 24 March in -0500, 25 March UTC.
  ['24-Mar-2007 23:30:00 -0500', 'Sat, 24 Mar 2007 23:30:00 -0500'],
  // 3: the last second of 25 March in -0500 (26 March UTC); Date: an obsolete zone, a two-digit year
  // and a leap second (RFC 5322 3.3, 4.3), whose instant is 26 March UTC too.
  ['25-Mar-2007 23:59:59 -0500', '25 Mar 07 23:59:60 EST'],
  // 4: the first second of 26 March in +1300 (25 March UTC); Date: a trailing comment.
  ['26-Mar-2007 00:00:01 +1300', 'Mon, 26 Mar 2007 00:00:01 +1300 (NZDT)'],
  // 5: no date-time (now, shown as +0000) and no Date: header (matches no SENT* key).
  [null, null],
  // 6: a space-padded day (date-day-fixed, RFC 9051 9) and a half-hour zone.
  [' 5-Mar-2007 12:00:00 +0530', 'Mon,  5 Mar 2007 12:00:00 +0530'],
];

async function setup() {
  const { store } = await openTestStore({ clock: () => NOW });
  const send = imapSession(store, { now: () => NOW });
  assert.match(await send('a LOGIN bob@example.test x'), /^a OK/m);
  for (const [i, [dateTime, dateHeader]] of MESSAGES.entries()) {
    const header = dateHeader !== null ? `Date: ${dateHeader}\r\n` : '';
    const body = Buffer.from(`${header}Subject: m${i + 1}\r\n\r\nbody\r\n`);
    const reply = await send(`p${i} APPEND INBOX${dateTime !== null ? ` "${dateTime}"` : ''}`, body);
    assert.match(reply, /^p\d+ OK \[APPENDUID /, reply);
  }
  assert.match(await send('s SELECT INBOX'), /^s OK/m);
  return { send };
}

const hits = (reply: string): string =>
  /^\* SEARCH([^\r]*)\r\n/.exec(reply)?.[1]?.trim() ?? `no SEARCH in ${reply}`;

test('FETCH INTERNALDATE shows the date-time in the zone APPEND gave (RFC 9051 2.3.3)', async () => {
  const { send } = await setup();
  const reply = await send('f FETCH 1:* INTERNALDATE');
  const got = [...reply.matchAll(/^\* (\d+) FETCH \(INTERNALDATE "([^"]*)"\)\r\n/gm)].map((m) => [
    Number(m[1]),
    m[2],
  ]);
  assert.deepEqual(
    got,
    MESSAGES.map(([dateTime], i) => [i + 1, dateTime ?? '23-Nov-2026 10:00:00 +0000']),
  );
  assert.match(reply, /^f OK/m);
});

// RFC 9051 6.4.4 "the internal date (disregarding time and timezone)": the day in the date's zone.
// Internal days: 1: 25, 2: 24, 3: 25, 4: 26 March 2007; 5: 23 Nov 2026; 6: 5 March 2007.
// Date: days: 1: 25, 2: 24, 3: 25, 4: 26 March; 5: none; 6: 5 March.
const ROWS: Array<[string, string]> = [
  ['ON 25-Mar-2007', '1 3'],
  ['ON 24-Mar-2007', '2'],
  ['ON 26-Mar-2007', '4'],
  ['ON 5-Mar-2007', '6'],
  ['BEFORE 25-Mar-2007', '2 6'],
  ['BEFORE 26-Mar-2007', '1 2 3 6'],
  ['SINCE 25-Mar-2007', '1 3 4 5'],
  ['SINCE 26-Mar-2007', '4 5'],
  ['SINCE 27-Mar-2007', '5'],
  ['NOT ON 25-Mar-2007', '2 4 5 6'],
  ['SINCE 24-Mar-2007 BEFORE 26-Mar-2007', '1 2 3'],
  ['OR ON 24-Mar-2007 ON 26-Mar-2007', '2 4'],
  ['ON 23-Nov-2026', '5'],
  // SENT* (RFC 9051 6.4.4): the Date: header's day as written.
  ['SENTON 25-Mar-2007', '1 3'],
  ['SENTON 24-Mar-2007', '2'],
  ['SENTON 26-Mar-2007', '4'],
  ['SENTBEFORE 25-Mar-2007', '2 6'],
  ['SENTSINCE 25-Mar-2007', '1 3 4'],
  ['SENTSINCE 26-Mar-2007', '4'],
  ['NOT SENTON 25-Mar-2007', '2 4 5 6'],
  ['SENTON 23-Nov-2026', ''],
];

test('SEARCH BEFORE/ON/SINCE and SENTBEFORE/SENTON/SENTSINCE around midnight in the date zone', async () => {
  const { send } = await setup();
  for (const [key, want] of ROWS) {
    assert.equal(hits(await send(`t SEARCH ${key}`)), want, key);
  }
  // UID SEARCH takes the same path; the UIDs are the sequence numbers here.
  assert.equal(hits(await send('u UID SEARCH ON 25-Mar-2007')), '1 3');
});

test('internalDay and sentDay: zone edges, dates before 1970, what is not a date', () => {
  const day = (s: string): number => Date.parse(`${s}T00:00:00Z`);
  const rows: Array<[number, number]> = [
    [internalDay(new Date('2007-03-24T22:00:00Z'), 120), day('2007-03-25')],
    [internalDay(new Date('2007-03-24T21:59:59Z'), 120), day('2007-03-24')],
    [internalDay(new Date('2007-03-26T04:59:59Z'), -300), day('2007-03-25')],
    [internalDay(new Date('2007-03-26T05:00:00Z'), -300), day('2007-03-26')],
    // Before the epoch the remainder is negative; the day must still be the one it falls in.
    [internalDay(new Date('1969-12-31T23:00:00Z'), 0), day('1969-12-31')],
    [internalDay(new Date('1969-12-31T23:00:00Z'), 120), day('1970-01-01')],
  ];
  for (const [got, want] of rows) assert.equal(got, want);
  assert.equal(
    sentDay('fri, 31 dec 1999 23:59:59 -1200'),
    day('1999-12-31'),
    'lower case, as the index holds it',
  );
  assert.equal(sentDay('1 Jan 2000 00:00 +1400'), day('2000-01-01'));
  assert.equal(sentDay('Thu, 1 Jan 98 10:00:00 GMT'), day('1998-01-01'));
  assert.equal(sentDay('31 Feb 2007 10:00:00 +0000'), null);
  assert.equal(sentDay('yesterday'), null);
  assert.equal(sentDay(''), null);
});
