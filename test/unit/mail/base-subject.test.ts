// RFC 5256 2.1 base subject extraction and the i;ascii-casemap key: the RFC's rules as table rows, then hostile rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { asciiCasemapKey, baseSubjectOfHeader, extractBaseSubject } from '../../../src/mail/base-subject.js';

/** [subject as written, base subject, reply or forward (RFC 5256 3 step 5)] */
const ROWS: Array<[string, string, boolean]> = [
  // Plain subjects; step (1): tabs, continuations and runs of spaces become one space.
  ['Hello', 'Hello', false],
  ['', '', false],
  ['  Hello   world  ', 'Hello world', false],
  ['Hello\r\n\tworld', 'Hello world', false],
  ['a\t\tb', 'a b', false],
  // (3) subj-leader: subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":", any case.
  ['Re: Hello', 'Hello', true],
  ['RE: Hello', 'Hello', true],
  ['Fw: Hello', 'Hello', true],
  ['FWD: Hello', 'Hello', true],
  ['re : Hello', 'Hello', true],
  ['Re[2]: Hello', 'Hello', true],
  ['Re [2]: Hello', 'Hello', true],
  ['Re: Re: Fwd: Hello', 'Hello', true],
  ['Re:Hello', 'Hello', true],
  // A blob before the refwd is part of the leader: (*subj-blob subj-refwd).
  ['[list] Re: Hello', 'Hello', true],
  ['Re: [list] Re: Hello', 'Hello', true],
  // Not a refwd: "Reply", "Ref:", "Fwx:".
  ['Reply: Hello', 'Reply: Hello', false],
  ['Ref: Hello', 'Ref: Hello', false],
  ['Fwx: Hello', 'Fwx: Hello', false],
  // (4) a leading blob goes only when a non-empty subj-base is left.
  ['[list] Hello', 'Hello', false],
  ['[a][b] Hello', 'Hello', false],
  ['[list]', '[list]', false],
  ['Re: [list]', '[list]', true],
  ['[a] [b]', '[b]', false],
  // (2) subj-trailer: "(fwd)" and spaces at the end, repeatedly.
  ['Hello (fwd)', 'Hello', true],
  ['Hello (FWD) (fwd)  ', 'Hello', true],
  ['Hello(fwd)', 'Hello', true],
  ['(fwd)', '', true],
  // (6) "[fwd:" ... "]" around everything goes, and the steps repeat from (2).
  ['[Fwd: Hello]', 'Hello', true],
  ['[fwd: Re: Hello (fwd)]', 'Hello', true],
  ['[fwd: [fwd: Hello]]', 'Hello', true],
  ['Re: [Fwd: [list] Hello]', 'Hello', true],
  ['[fwd: Hello', '[fwd: Hello', false],
  ['Hello]', 'Hello]', false],
  // Only at the start / end.
  ['Hello Re: world', 'Hello Re: world', false],
  ['Hello (fwd) world', 'Hello (fwd) world', false],
  // Non-ASCII text stays as it is.
  ['Re: Grüße', 'Grüße', true],
];

test('RFC 5256 2.1: base subject rows', () => {
  for (const [input, subject, reply] of ROWS) {
    assert.deepEqual(extractBaseSubject(input), { subject, isReplyOrForward: reply }, input);
  }
});

test('RFC 5256 2.1 (1): RFC 2047 encoded words are decoded before the rules apply', () => {
  assert.deepEqual(baseSubjectOfHeader('=?UTF-8?Q?Re=3A_Gr=C3=BC=C3=9Fe?='), {
    subject: 'Grüße',
    isReplyOrForward: true,
  });
  assert.deepEqual(baseSubjectOfHeader('Re: =?ISO-8859-1?Q?caf=E9?= (fwd)'), {
    subject: 'café',
    isReplyOrForward: true,
  });
});

test('RFC 4790 9.2 i;ascii-casemap: only a-z are mapped, so "_" sorts after letters and non-ASCII stays', () => {
  assert.equal(asciiCasemapKey('Hello'), 'HELLO');
  assert.equal(asciiCasemapKey('grüße'), 'GRüßE');
  // Upper-casing puts '_' (0x5F) after 'Z' (0x5A); lower-casing would put it before 'a' (0x61).
  assert.ok(asciiCasemapKey('_x') > asciiCasemapKey('abc'));
  // Non-ASCII letters keep their case whichever path the text takes (ASCII alone is upper-cased natively).
  assert.equal(asciiCasemapKey('straße ǆ ﬁ'), 'STRAßE ǆ ﬁ');
  assert.equal(asciiCasemapKey('plain ascii [x] 123_z~'), 'PLAIN ASCII [X] 123_Z~');
});

test('asciiCasemapKey: only a-z change, for every character below 0x250', () => {
  for (let c = 0; c < 0x250; c++) {
    const ch = String.fromCharCode(c);
    const want = c >= 0x61 && c <= 0x7a ? String.fromCharCode(c - 0x20) : ch;
    assert.equal(asciiCasemapKey(`a${ch}`), `A${want}`, `U+${c.toString(16)}`);
  }
});

test('hostile: the result is a stable fixed point, never longer, and takes no time on long inputs', () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('re', 'Re', 'fwd', ':', ' ', '[', ']', '(fwd)', '[fwd:', 'x', '\t', 'é'), {
        maxLength: 40,
      }),
      (parts) => {
        const s = parts.join('');
        const once = extractBaseSubject(s).subject;
        assert.ok(once.length <= s.length);
        assert.equal(extractBaseSubject(once).subject, once, JSON.stringify(s));
      },
    ),
    { numRuns: 2000 },
  );
  const start = process.hrtime.bigint();
  extractBaseSubject('Re: '.repeat(20_000) + '['.repeat(20_000) + 'x' + ' (fwd)'.repeat(10_000));
  extractBaseSubject('[a]'.repeat(20_000));
  assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 2000);
});
