// The vacation decision (RFC 3834 2, 3.1; RFC 8621 8) and the reply it builds: RFC rows first, then hostile ones.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildVacationReply, decideVacation, type VacationFacts } from '../../../src/delivery/vacation.js';
import { HeaderMap } from '../../../src/mail/headers.js';
import { VACATION_DEFAULT } from '../../../src/store/sending-store.js';

const NOW = new Date('2026-07-01T12:00:00Z');
const ON = { ...VACATION_DEFAULT, isEnabled: true, textBody: 'Away.' };

function facts(header: string, over: Partial<VacationFacts> = {}): VacationFacts {
  return {
    sender: 'alice@remote.test',
    headers: HeaderMap.parse(Buffer.from(`${header.replace(/\n/g, '\r\n')}\r\n\r\n`)),
    ownAddresses: ['bob@example.test', 'robert@example.test'],
    vacation: ON,
    now: NOW,
    ...over,
  };
}

const PERSONAL =
  'From: alice@remote.test\nTo: Bob <bob@example.test>\nSubject: hi\nMessage-ID: <m1@remote.test>';

describe('decideVacation', () => {
  const rows: Array<[string, VacationFacts, string | null]> = [
    ['personal mail to the user: reply to the envelope sender', facts(PERSONAL), null],
    ['to an alias of the user, in Cc', facts('From: a@r.test\nTo: x@r.test\nCc: robert@example.test'), null],
    ['Auto-Submitted: no is a person (RFC 3834 5)', facts(`${PERSONAL}\nAuto-Submitted: no`), null],
    ['disabled', facts(PERSONAL, { vacation: { ...ON, isEnabled: false } }), 'disabled'],
    [
      'before fromDate',
      facts(PERSONAL, { vacation: { ...ON, fromDate: new Date('2026-08-01T00:00:00Z') } }),
      'before fromDate',
    ],
    ['at toDate', facts(PERSONAL, { vacation: { ...ON, toDate: NOW } }), 'after toDate'],
    ['null sender (bounces, RFC 3834 2)', facts(PERSONAL, { sender: '' }), 'null sender'],
    ['MAILER-DAEMON', facts(PERSONAL, { sender: 'MAILER-DAEMON@remote.test' }), 'machine sender'],
    ['list software: owner-', facts(PERSONAL, { sender: 'owner-list@remote.test' }), 'machine sender'],
    ['list software: -request', facts(PERSONAL, { sender: 'list-request@remote.test' }), 'machine sender'],
    ['Auto-Submitted: auto-replied', facts(`${PERSONAL}\nAuto-Submitted: auto-replied`), 'auto-submitted'],
    [
      'Auto-Submitted: auto-generated with a comment',
      facts(`${PERSONAL}\nAuto-Submitted: Auto-Generated; x`),
      'auto-submitted',
    ],
    ['List-Id (RFC 2919)', facts(`${PERSONAL}\nList-Id: <list.remote.test>`), 'list'],
    ['List-Unsubscribe (RFC 2369)', facts(`${PERSONAL}\nList-Unsubscribe: <mailto:u@r.test>`), 'list'],
    ['Precedence: bulk', facts(`${PERSONAL}\nPrecedence: bulk`), 'precedence bulk'],
    ['Precedence: junk', facts(`${PERSONAL}\nPrecedence: JUNK`), 'precedence junk'],
    ['Precedence: list', facts(`${PERSONAL}\nPrecedence: list`), 'precedence list'],
    [
      'user only in Bcc of someone else\u2019s list: not named',
      facts('From: a@r.test\nTo: team@r.test'),
      'not addressed to the user',
    ],
    ['the user writing to themself', facts(PERSONAL, { sender: 'Bob@Example.test' }), 'own address'],
    [
      'a To that only contains the address as text',
      facts('From: a@r.test\nTo: "bob@example.test" <x@r.test>'),
      'not addressed to the user',
    ],
  ];
  for (const [name, input, reason] of rows) {
    test(name, () => {
      const d = decideVacation(input);
      if (reason === null) assert.deepEqual(d, { reply: true, to: input.sender });
      else assert.deepEqual(d, { reply: false, reason });
    });
  }
});

describe('buildVacationReply', () => {
  const reply = (header: string, vacation = ON) =>
    buildVacationReply({
      from: 'bob@example.test',
      to: 'alice@remote.test',
      original: HeaderMap.parse(Buffer.from(`${header.replace(/\n/g, '\r\n')}\r\n\r\n`)),
      vacation,
      messageId: 'Q1@mx.test',
      date: NOW,
    });

  test('RFC 3834 3.1: Re: subject, In-Reply-To, References, Auto-Submitted: auto-replied, base64 text', () => {
    const text = reply(`${PERSONAL}\nReferences: <m0@remote.test>`);
    assert.match(text, /^From: <bob@example\.test>\r\nTo: <alice@remote\.test>\r\nSubject: Re: hi\r\n/);
    assert.match(text, /\r\nIn-Reply-To: <m1@remote\.test>\r\n/);
    assert.match(text, /\r\nReferences: <m0@remote\.test> <m1@remote\.test>\r\n/);
    assert.match(text, /\r\nAuto-Submitted: auto-replied\r\n/);
    assert.match(text, /\r\nMessage-ID: <Q1@mx\.test>\r\n/);
    assert.ok(text.endsWith(`\r\n\r\n${Buffer.from('Away.').toString('base64')}\r\n`));
  });

  test('the configured subject wins, non-ASCII is an encoded word; HTML makes multipart/alternative', () => {
    const text = reply(PERSONAL, { ...ON, subject: 'Abwesend bis März', htmlBody: '<p>Weg</p>' });
    assert.match(text, /\r\nSubject: Abwesend bis =\?UTF-8\?/i);
    assert.match(text, /Content-Type: multipart\/alternative; boundary="=_vacation_Q1mxtest"/);
    assert.match(text, /Content-Type: text\/html; charset=utf-8/);
  });

  test('hostile: a Subject or Message-ID with CR/LF cannot add header fields', () => {
    const original = new HeaderMap([
      { name: 'Subject', key: 'subject', raw: '', value: 'x\r\nBcc: victim@r.test' },
      { name: 'Message-ID', key: 'message-id', raw: '', value: '<a@b>\r\nX-Evil: 1' },
    ]);
    const text = buildVacationReply({
      from: 'bob@example.test',
      to: 'alice@remote.test',
      original,
      vacation: ON,
      messageId: 'Q1@mx.test',
      date: NOW,
    });
    assert.doesNotMatch(text, /^Bcc:/m);
    assert.doesNotMatch(text, /^X-Evil/m);
  });
});
