// TopFilter: header, blank line and n body lines (RFC 1939 7), the same under every split of the input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TopFilter } from '../../../src/pop3/top-filter.js';

const message = 'Subject: hi\r\nFrom: a@b\r\n\r\nline 1\r\nline 2\r\n\r\nline 4\r\n';

function run(input: string, n: number, cuts: number[] = []): { out: string; done: boolean } {
  const f = new TopFilter(n);
  const buf = Buffer.from(input);
  let out = '';
  let start = 0;
  for (const cut of [...cuts, buf.length]) {
    out += f.push(buf.subarray(start, cut)).toString();
    start = cut;
    if (f.done) break;
  }
  return { out, done: f.done };
}

describe('TopFilter', () => {
  const rows: Array<[string, number, string, boolean]> = [
    [message, 0, 'Subject: hi\r\nFrom: a@b\r\n\r\n', true],
    [message, 1, 'Subject: hi\r\nFrom: a@b\r\n\r\nline 1\r\n', true],
    [message, 3, 'Subject: hi\r\nFrom: a@b\r\n\r\nline 1\r\nline 2\r\n\r\n', true],
    [message, 4, message, true],
    [message, 10, message, false],
    // bare LF line ends count as lines too
    ['A: b\n\nx\ny\n', 1, 'A: b\n\nx\n', true],
    // no blank line: everything is header
    ['A: b\r\nC: d\r\n', 0, 'A: b\r\nC: d\r\n', false],
    // a body line that is only CR before LF is still a line
    ['A: b\r\n\r\n\r\nz\r\n', 1, 'A: b\r\n\r\n\r\n', true],
  ];
  for (const [input, n, expected, done] of rows) {
    test(`TOP n=${n} of ${JSON.stringify(input).slice(0, 30)}, under every split`, () => {
      assert.deepEqual(run(input, n), { out: expected, done });
      for (let cut = 1; cut < input.length; cut++) {
        assert.equal(run(input, n, [cut]).out, expected, `cut at ${cut}`);
      }
      const everyByte = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
      assert.equal(run(input, n, everyByte).out, expected, 'byte by byte');
    });
  }
  test('a CR split from its LF across chunks does not make the header end early', () => {
    assert.equal(run('A: b\r\nC: d\r\n\r\nbody\r\n', 0, [5, 6, 12, 13]).out, 'A: b\r\nC: d\r\n\r\n');
  });
});
