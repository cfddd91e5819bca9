// Tests of the RFC 5322 address-list parser and the IMAP ENVELOPE built from a header (RFC 9051 7.5.2).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildEnvelope, MISSING_HOST, parseAddresses, parseAddressList } from '../../../src/mail/envelope.js';
import type { EnvelopeAddress } from '../../../src/mail/envelope.js';
import { HeaderMap } from '../../../src/mail/headers.js';

const a = (
  name: string | null,
  mailbox: string | null,
  host: string | null,
  adl: string | null = null,
): EnvelopeAddress => ({
  name,
  adl,
  mailbox,
  host,
});
const groupStart = (name: string): EnvelopeAddress => a(null, name, null);
const groupEnd = a(null, null, null);

describe('parseAddressList', () => {
  const rows: [string, string, EnvelopeAddress[]][] = [
    // RFC 5322 appendix A
    ['A.1.1 name-addr', 'John Doe <jdoe@machine.example>', [a('John Doe', 'jdoe', 'machine.example')]],
    [
      'A.1.1 quoted phrase with dot',
      '"Joe Q. Public" <john.q.public@example.com>',
      [a('Joe Q. Public', 'john.q.public', 'example.com')],
    ],
    [
      'A.1.2 list',
      'Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>',
      [a('Mary Smith', 'mary', 'x.test'), a(null, 'jdoe', 'example.org'), a('Who?', 'one', 'y.test')],
    ],
    [
      'A.1.2 quoted specials',
      '<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>',
      [a(null, 'boss', 'nil.test'), a('Giant; "Big" Box', 'sysservices', 'example.net')],
    ],
    [
      'A.1.3 group',
      'A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;',
      [
        groupStart('A Group'),
        a('Ed Jones', 'c', 'a.test'),
        a(null, 'joe', 'where.test'),
        a('John', 'jdoe', 'one.test'),
        groupEnd,
      ],
    ],
    ['A.1.3 empty group', 'Undisclosed recipients:;', [groupStart('Undisclosed recipients'), groupEnd]],
    [
      'A.5 comments everywhere',
      'Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>',
      [a('Pete', 'pete', 'silly.test')],
    ],
    [
      'A.5 group with comments',
      "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
      [
        groupStart('A Group'),
        a('Chris Jones', 'c', 'public.example'),
        a(null, 'joe', 'example.org'),
        a('John', 'jdoe', 'one.test'),
        groupEnd,
      ],
    ],
    [
      'A.6.1 obsolete: unquoted dot in phrase',
      'Joe Q. Public <john.q.public@example.com>',
      [a('Joe Q. Public', 'john.q.public', 'example.com')],
    ],
    [
      'A.6.1 obsolete: route, empty members, spaces around dots',
      'Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example',
      [a('Mary Smith', 'mary', 'example.net', '@node.test'), a(null, 'jdoe', 'test.example')],
    ],
    ['route with two hops', '<@a.test,@b.test:joe@c.test>', [a(null, 'joe', 'c.test', '@a.test,@b.test')]],
    // hostile and real-world rows
    [
      'comment as name when there is no phrase',
      'bob@example.com (Bob Smith)',
      [a('Bob Smith', 'bob', 'example.com')],
    ],
    ['missing brackets', 'Bob Smith bob@example.com', [a('Bob Smith', 'bob', 'example.com')]],
    [
      'encoded words left raw',
      '=?utf-8?q?J=C3=B6rg?= <j@x.test>',
      [a('=?utf-8?q?J=C3=B6rg?=', 'j', 'x.test')],
    ],
    ['no domain', 'alice', [a(null, 'alice', MISSING_HOST)]],
    ['quoted local part', '"john doe"@example.com', [a(null, 'john doe', 'example.com')]],
    ['domain literal', 'x@[192.0.2.1]', [a(null, 'x', '[192.0.2.1]')]],
    ['unterminated angle', 'Bob <bob@example.com', [a('Bob', 'bob', 'example.com')]],
    [
      'unterminated quote: the rest is one quoted word',
      '"Bob <bob@example.com>',
      [a(null, 'Bob <bob@example.com>', MISSING_HOST)],
    ],
    ['unterminated group', 'g: a@b.test', [groupStart('g'), a(null, 'a', 'b.test'), groupEnd]],
    ['empty', '', []],
    ['only commas', ', ,,', []],
    ['UTF-8 address (RFC 6532)', 'Jörg <jörg@bücher.example>', [a('Jörg', 'jörg', 'bücher.example')]],
    [
      'semicolon outside group separates',
      'a@b.test; c@d.test',
      [a(null, 'a', 'b.test'), a(null, 'c', 'd.test')],
    ],
  ];
  for (const [name, input, want] of rows) test(name, () => assert.deepEqual(parseAddressList(input), want));

  test('a huge list is capped and fast', () => {
    const start = performance.now();
    const list = parseAddressList('x@y.test, '.repeat(50_000));
    assert.equal(list.length, 1000);
    assert.ok(performance.now() - start < 3000);
  });

  test('parseAddresses flattens groups and decodes names', () => {
    assert.deepEqual(parseAddresses('g: =?utf-8?q?J=C3=B6rg?= <j@x.test>;, bob'), [
      { name: 'Jörg', address: 'j@x.test' },
      { name: '', address: 'bob' },
    ]);
  });
});

describe('buildEnvelope', () => {
  test('every field, in RFC 9051 7.5.2 order; Sender and Reply-To default to From', () => {
    const h = HeaderMap.parse(
      Buffer.from(
        'Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\n' +
          'Subject: IMAP4rev1 WG mtg summary and minutes\r\nTo: imap@cac.washington.edu\r\n' +
          'cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\nMessage-Id: <B27397-0100000@cac.washington.edu>\r\n' +
          'Reply-To:\r\n\r\n',
      ),
    );
    const gray = [a('Terry Gray', 'gray', 'cac.washington.edu')];
    // The RFC 3501 7.4.2 FETCH example's ENVELOPE.
    assert.deepEqual(buildEnvelope(h), {
      date: 'Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
      subject: 'IMAP4rev1 WG mtg summary and minutes',
      from: gray,
      sender: gray,
      replyTo: gray,
      to: [a(null, 'imap', 'cac.washington.edu')],
      cc: [a(null, 'minutes', 'CNRI.Reston.VA.US'), a('John Klensin', 'KLENSIN', 'MIT.EDU')],
      bcc: null,
      inReplyTo: null,
      messageId: '<B27397-0100000@cac.washington.edu>',
    });
  });

  test('absent fields are null; an explicit Sender is kept', () => {
    const e = buildEnvelope(HeaderMap.parse(Buffer.from('Sender: s@x.test\r\nSubject:\r\n\r\n')));
    assert.equal(e.from, null);
    assert.deepEqual(e.sender, [a(null, 's', 'x.test')]);
    assert.equal(e.replyTo, null);
    assert.equal(e.subject, '');
    assert.equal(e.date, null);
  });
});
