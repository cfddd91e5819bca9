// Authentication-Results: the authserv-id (RFC 8601 2.2) and the streaming filter that removes forged ones with our id (RFC 8601 5).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authservIdOf, OwnAuthResultsFilter } from '../../../src/inbound/auth-results.js';
import { AUTH_RESULTS_HOLD_MAX } from '../../../src/config/limits.js';

describe('authservIdOf', () => {
  const rows: [string, string | null][] = [
    // RFC 8601 Appendix B examples
    [' example.org 1; none', 'example.org'],
    [' example.com; spf=pass smtp.mailfrom=example.net', 'example.com'],
    [' example.com;\r\n  spf=pass smtp.mailfrom=example.net', 'example.com'],
    [' (comment (nested)) Example.COM; dkim=pass', 'example.com'],
    [' "mx.test"; spf=pass', 'mx.test'],
    [' mx.test;spf=pass', 'mx.test'],
    // hostile
    ['', null],
    [' ; spf=pass', null],
    [' (unterminated mx.test; spf=pass', null],
  ];
  for (const [body, id] of rows) {
    test(JSON.stringify(body), () => assert.equal(authservIdOf(body), id));
  }
});

function filterWhole(input: string, host = 'mx.test'): string {
  const f = new OwnAuthResultsFilter(host);
  return Buffer.concat([...f.write(Buffer.from(input)), ...f.end()]).toString();
}

function filterSplit(input: string, cuts: number[], host = 'mx.test'): string {
  const f = new OwnAuthResultsFilter(host);
  const out: Buffer[] = [];
  const buf = Buffer.from(input);
  let at = 0;
  for (const cut of [...cuts, buf.length]) {
    out.push(...f.write(buf.subarray(at, cut)));
    at = cut;
  }
  out.push(...f.end());
  return Buffer.concat(out).toString();
}

const message =
  'Authentication-Results: MX.TEST; spf=pass smtp.mailfrom=bank.example\r\n' +
  'Received: from a by b; Sat, 5 Dec 2026 10:00:00 +0000\r\n' +
  'Authentication-Results: other.example;\r\n dkim=pass header.d=other.example\r\n' +
  'Authentication-Results: (forged, folded)\r\n\tmx.test;\r\n dkim=pass header.d=bank.example\r\n' +
  'authentication-results : "mx.test"; dmarc=pass\r\n' +
  'Authentication-Results: mx.test.evil.example; none\r\n' +
  'Subject: hi\r\n' +
  '\r\n' +
  'Authentication-Results: mx.test; body lines are never touched\r\n';

const expected =
  'Received: from a by b; Sat, 5 Dec 2026 10:00:00 +0000\r\n' +
  'Authentication-Results: other.example;\r\n dkim=pass header.d=other.example\r\n' +
  'Authentication-Results: mx.test.evil.example; none\r\n' +
  'Subject: hi\r\n' +
  '\r\n' +
  'Authentication-Results: mx.test; body lines are never touched\r\n';

describe('OwnAuthResultsFilter', () => {
  test('removes every field with our id (any case, folded, quoted) and only those; the body is untouched', () => {
    const f = new OwnAuthResultsFilter('mx.test');
    const out = Buffer.concat([...f.write(Buffer.from(message)), ...f.end()]).toString();
    assert.equal(out, expected);
    assert.equal(f.removed, 3);
  });

  test('the same result whatever the split: byte by byte, and at every single cut', () => {
    assert.equal(
      filterSplit(
        message,
        Array.from({ length: message.length }, (_, i) => i),
      ),
      expected,
    );
    for (let cut = 0; cut <= message.length; cut++)
      assert.equal(filterSplit(message, [cut]), expected, `cut ${cut}`);
  });

  test('passing lines go out as slices of the chunk they came in, not one copy a line', () => {
    // What is spooled is what every later per-chunk pass (MIME scan, DKIM hash) walks over: keep it whole.
    const m = Buffer.from('From: a@b\r\nTo: c@d\r\nSubject: x\r\nDate: now\r\n\r\nbody\r\n');
    const f = new OwnAuthResultsFilter('mx.test');
    const out = f.write(m);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.buffer, m.buffer, 'the bytes are the chunk itself');
    // Around our fields: one slice per run of passing lines, and one per line of a field that had to be held.
    const withOurs = Buffer.from(message);
    const g = new OwnAuthResultsFilter('mx.test');
    const pieces = g.write(withOurs);
    assert.equal(Buffer.concat([...pieces, ...g.end()]).toString(), expected);
    assert.equal(pieces.length, 5); // Received; other.example's two lines; evil.example's; Subject to the end
    assert.ok(pieces.every((p) => p.buffer === withOurs.buffer));
  });

  test('bare LF line ends work the same', () => {
    assert.equal(filterWhole(message.replace(/\r\n/g, '\n')), expected.replace(/\r\n/g, '\n'));
  });

  test('a message without our field passes byte for byte; a header-only message too', () => {
    const m = 'From: a@b\r\nSubject: x\r\n\r\nbody\r\n';
    assert.equal(filterWhole(m), m);
    assert.equal(
      filterWhole('Subject: x\r\nAuthentication-Results: x.test; none'),
      'Subject: x\r\nAuthentication-Results: x.test; none',
    );
    assert.equal(filterWhole('Subject: x\r\nAuthentication-Results: mx.test; none'), 'Subject: x\r\n');
  });

  test('a huge forged field is judged on its start and dropped whole; a huge other field passes whole', () => {
    const big = 'x'.repeat(AUTH_RESULTS_HOLD_MAX + 10);
    const forged = `Authentication-Results: mx.test; spf=pass (${big})\r\n (${big})\r\nSubject: s\r\n\r\nb`;
    assert.equal(filterSplit(forged, [100, 70_000, 140_000]), 'Subject: s\r\n\r\nb');
    const other = `Authentication-Results: x.test; spf=pass (${big})\r\n (${big})\r\nSubject: s\r\n\r\nb`;
    assert.equal(filterSplit(other, [100, 70_000, 140_000]), other);
    const longLine = `X-Long: ${big}${big}\r\nAuthentication-Results: mx.test; none\r\n\r\nb`;
    assert.equal(filterSplit(longLine, [10, 100_000]), `X-Long: ${big}${big}\r\n\r\nb`);
  });
});
