// Table tests for SORT and THREAD parsing (RFC 5256 3/4 examples, RFC 5957, RFC 5267 ESORT/PARTIAL), then hostile rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isParseError, parseImapCommand } from '../../../../src/imap/proto/command-parser.js';
import type { ImapCommand } from '../../../../src/imap/proto/command-types.js';

function parse(line: string): ImapCommand | { bad: string } {
  const r = parseImapCommand({ segments: [Buffer.from(line)], literals: [] });
  return isParseError(r) ? { bad: r.text } : r;
}

function ok(line: string): Record<string, unknown> {
  const r = parse(line);
  assert.ok(!('bad' in r), `${line}: ${'bad' in r ? r.bad : ''}`);
  return r as unknown as Record<string, unknown>;
}

test('RFC 5256 3 examples: SORT (criteria) charset search keys', () => {
  // "C: A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994"
  assert.deepEqual(ok('A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994'), {
    name: 'SORT',
    uid: false,
    criteria: [{ key: 'subject', reverse: false }],
    returnOptions: null,
    partial: null,
    charset: 'UTF-8',
    key: { op: 'date', field: 'internal', cmp: 'since', date: { year: 1994, month: 2, day: 1 } },
    tag: 'A282',
  });
  // "C: A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL"
  assert.deepEqual(ok('A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL').criteria, [
    { key: 'subject', reverse: false },
    { key: 'date', reverse: true },
  ]);
  // "C: A284 SORT (SUBJECT) US-ASCII TEXT "not in mailbox""
  const c = ok('A284 SORT (SUBJECT) US-ASCII TEXT "not in mailbox"');
  assert.equal(c.charset, 'US-ASCII');
  assert.deepEqual(c.key, { op: 'text', value: 'not in mailbox' });
  const u = ok('u UID SORT (arrival cc from size to displayfrom displayto) utf-8 UNSEEN FROM bob');
  assert.equal(u.uid, true);
  assert.deepEqual(
    (u.criteria as Array<{ key: string }>).map((x) => x.key),
    ['arrival', 'cc', 'from', 'size', 'to', 'displayfrom', 'displayto'],
  );
  assert.deepEqual(u.key, {
    op: 'and',
    keys: [
      { op: 'flag', flag: '\\Seen', set: false },
      { op: 'header', field: 'From', value: 'bob' },
    ],
  });
});

test('RFC 5256 4 examples: THREAD algorithm charset search keys', () => {
  // "C: A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000"
  const t = ok('A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000');
  assert.equal(t.name, 'THREAD');
  assert.equal(t.algorithm, 'ORDEREDSUBJECT');
  // "C: A284 THREAD REFERENCES US-ASCII TEXT "gewp""
  assert.equal(ok('A284 UID THREAD references US-ASCII TEXT "gewp"').algorithm, 'REFERENCES');
});

test('RFC 5267 3/4.4: SORT RETURN (MIN MAX ALL COUNT SAVE) and PARTIAL', () => {
  assert.deepEqual(ok('a SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL').returnOptions, [
    'MIN',
    'MAX',
    'COUNT',
  ]);
  assert.deepEqual(ok('a SORT RETURN () (DATE) UTF-8 ALL').returnOptions, []);
  assert.deepEqual(ok('a UID SORT RETURN (PARTIAL 1:10 COUNT) (DATE) UTF-8 ALL').partial, {
    first: 1,
    last: 10,
  });
  assert.deepEqual(ok('a SORT RETURN (PARTIAL 10:1) (DATE) UTF-8 ALL').partial, { first: 1, last: 10 });
});

test('hostile and malformed: each is a BAD', () => {
  for (const line of [
    'a SORT',
    'a SORT () UTF-8 ALL',
    'a SORT SUBJECT UTF-8 ALL',
    'a SORT (SUBJECT) UTF-8',
    'a SORT (SUBJECT)',
    'a SORT (BOGUS) UTF-8 ALL',
    'a SORT (REVERSE) UTF-8 ALL',
    'a SORT (REVERSE REVERSE DATE) UTF-8 ALL',
    'a SORT (DATE REVERSE) UTF-8 ALL',
    'a SORT (DATE) (UTF-8) ALL',
    'a SORT (DATE) UTF-8 NOSUCHKEY',
    'a SORT RETURN (BOGUS) (DATE) UTF-8 ALL',
    'a SORT RETURN (PARTIAL 0:5) (DATE) UTF-8 ALL',
    'a SORT RETURN (PARTIAL 1:99999999999) (DATE) UTF-8 ALL',
    'a SORT RETURN (PARTIAL 1:5 ALL) (DATE) UTF-8 ALL',
    'a SORT RETURN (PARTIAL) (DATE) UTF-8 ALL',
    'a THREAD',
    'a THREAD REFERENCES',
    'a THREAD REFERENCES UTF-8',
    'a THREAD BOGUS UTF-8 ALL',
    'a THREAD (REFERENCES) UTF-8 ALL',
    'a UID SORT (DATE) UTF-8',
    `a SORT (DATE) UTF-8 ${'NOT '.repeat(100)}ALL`,
  ]) {
    assert.ok('bad' in parse(line), line);
  }
});

test('a charset other than UTF-8 parses (the session answers NO [BADCHARSET]); 8-bit quoted text is a BAD as in SEARCH', () => {
  const c = ok('a SORT (DATE) ISO-8859-1 SUBJECT "cafe"');
  assert.equal(c.charset, 'ISO-8859-1');
  // RFC 9051 4.3: a quoted string that is not UTF-8 is refused by the tokenizer, whatever the charset.
  const bad = parseImapCommand({
    segments: [Buffer.from('a SORT (DATE) UTF-8 SUBJECT "caf\xe9"', 'latin1')],
    literals: [],
  });
  assert.ok(isParseError(bad));
});
