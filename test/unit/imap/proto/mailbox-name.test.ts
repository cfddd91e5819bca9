// Table tests for mailbox names: modified UTF-7 (RFC 3501 5.1.3), INBOX, validation and LIST pattern matching.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileListPattern,
  combineListPattern,
  decodeMailboxName,
  decodeModifiedUtf7,
  encodeModifiedUtf7,
  mailboxNameProblem,
  normaliseInbox,
} from '../../../../src/imap/proto/mailbox-name.js';
import { ImapSyntaxError } from '../../../../src/imap/proto/types.js';

describe('modified UTF-7', () => {
  const rows: Array<[string, string]> = [
    // RFC 3501 5.1.3 example: "~peter/mail/台北/日本語"
    ['~peter/mail/&U,BTFw-/&ZeVnLIqe-', '~peter/mail/台北/日本語'],
    // RFC 3501 5.1.3: adjacent non-ASCII runs are one run: 台北日本語 is "&U,BTF2XlZyyKng-".
    ['&U,BTF2XlZyyKng-', '台北日本語'],
    ['&-', '&'],
    ['Entw&APw-rfe', 'Entwürfe'],
    ['INBOX', 'INBOX'],
    ['&2D3eAA-', '😀'],
    ['A&-B', 'A&B'],
  ];
  for (const [wire, name] of rows) {
    test(`${wire} <-> ${name}`, () => {
      assert.equal(decodeModifiedUtf7(wire), name);
      assert.equal(encodeModifiedUtf7(name), wire);
    });
  }
  // RFC 3501 5.1.3: "&Jjo!" is broken, and "&U,BTFw-&ZeVnLIqe-" is not the canonical form of 台北日本語.
  const bad = [
    '&Jjo!',
    '&U,BTFw-&ZeVnLIqe-',
    '&',
    '&AGE-',
    '&2D0-',
    '&AOQ-&AOQ-',
    'caf\u00e9',
    '&A-',
    'tab\there',
    // imaptest "atoms": every atom character; "&'+,-" is not modified BASE64.
    "!#$&'+,-.0123456789:;<=>?@^_`|[}",
  ];
  for (const wire of bad) {
    test(`rejects ${JSON.stringify(wire)}`, () => {
      assert.throws(() => decodeModifiedUtf7(wire), ImapSyntaxError);
    });
  }
  test('UTF-8 names pass through in rev2 mode; INBOX is case-insensitive', () => {
    assert.equal(decodeMailboxName('Entwürfe', true), 'Entwürfe');
    assert.equal(decodeMailboxName('&U,BTFw-', true), '&U,BTFw-');
    assert.equal(decodeMailboxName('inbox', false), 'INBOX');
    assert.equal(normaliseInbox('InBoX/Lists'), 'INBOX/Lists');
    assert.equal(normaliseInbox('INBOXES'), 'INBOXES');
  });
});

describe('mailbox name validation', () => {
  const rows: Array<[string, boolean]> = [
    ['Sent', true],
    ['a/b/c', true],
    ['', false],
    ['/a', false],
    ['a/', false],
    ['a//b', false],
    ['a*b', false],
    ['a%b', false],
    ['a\u0000b', false],
    ['x'.repeat(1001), false],
    [Array(70).fill('a').join('/'), false],
  ];
  for (const [name, ok] of rows) {
    test(`${JSON.stringify(name.slice(0, 20))} ${ok ? 'ok' : 'refused'}`, () => {
      assert.equal(mailboxNameProblem(name) === null, ok);
    });
  }
});

describe('LIST patterns', () => {
  // RFC 9051 6.3.9: "%" does not cross the delimiter, "*" does.
  const rows: Array<[string, string, boolean]> = [
    ['*', 'INBOX', true],
    ['*', 'a/b/c', true],
    ['%', 'a', true],
    ['%', 'a/b', false],
    ['a/%', 'a/b', true],
    ['a/%', 'a/b/c', false],
    ['a/*', 'a/b/c', true],
    ['inbox', 'INBOX', true],
    ['INBOX/%', 'inbox/x', true],
    ['Sent', 'sent', false],
    ['S%t', 'Sent', true],
    ['%/%', 'a/b', true],
    ['', 'a', false],
  ];
  for (const [pattern, name, want] of rows) {
    test(`${pattern} vs ${name}`, () => {
      assert.equal(compileListPattern(pattern).match(name), want);
    });
  }
  test('hostile pattern is linear, not exponential', () => {
    const pattern = '*a'.repeat(200) + 'b';
    const name = 'a'.repeat(1000);
    const started = performance.now();
    assert.equal(compileListPattern(pattern).match(name), false);
    assert.ok(performance.now() - started < 2000);
  });
  test('reference + pattern', () => {
    assert.equal(combineListPattern('', '*'), '*');
    assert.equal(combineListPattern('a/', '/b'), 'a/b');
    assert.equal(combineListPattern('a/', 'b%'), 'a/b%');
  });
});
