// Table tests for the outgoing body encoder: dot-stuffing (RFC 5321 4.5.2), CRLF normalisation, smuggling rows.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BodyEncoder, encodeBody } from '../../../../src/smtp/client/dot-stuff.js';

const rows: { name: string; input: string; data: string; bdat: string }[] = [
  // RFC 5321 4.5.2: a line starting with "." gets one more; the body ends with CRLF "." CRLF.
  { name: 'plain', input: 'a\r\nb\r\n', data: 'a\r\nb\r\n.\r\n', bdat: 'a\r\nb\r\n' },
  { name: 'leading dot', input: '.a\r\n..b\r\n', data: '..a\r\n...b\r\n.\r\n', bdat: '.a\r\n..b\r\n' },
  { name: 'lone dot line', input: 'a\r\n.\r\nb\r\n', data: 'a\r\n..\r\nb\r\n.\r\n', bdat: 'a\r\n.\r\nb\r\n' },
  { name: 'empty body', input: '', data: '.\r\n', bdat: '' },
  // RFC 5321 4.1.1.4: a last line without CRLF gets one before the terminator.
  { name: 'no final CRLF', input: 'a', data: 'a\r\n.\r\n', bdat: 'a\r\n' },
  { name: 'dot not at line start', input: 'a.b\r\n', data: 'a.b\r\n.\r\n', bdat: 'a.b\r\n' },
  // Smuggling sequences (habit 3): bare LF/CR become CRLF, so no receiver can see an early end.
  {
    name: 'LF.LF',
    input: 'a\n.\nMAIL FROM:<x>\n',
    data: 'a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n',
    bdat: 'a\r\n.\r\nMAIL FROM:<x>\r\n',
  },
  {
    name: 'LF.CRLF',
    input: 'a\n.\r\nRSET\r\n',
    data: 'a\r\n..\r\nRSET\r\n.\r\n',
    bdat: 'a\r\n.\r\nRSET\r\n',
  },
  { name: 'CR.CR', input: 'a\r.\rb', data: 'a\r\n..\r\nb\r\n.\r\n', bdat: 'a\r\n.\r\nb\r\n' },
  { name: 'CR.CRLF', input: 'a\r.\r\nb\r\n', data: 'a\r\n..\r\nb\r\n.\r\n', bdat: 'a\r\n.\r\nb\r\n' },
  { name: 'CRCRLF', input: 'a\r\r\nb', data: 'a\r\n\r\nb\r\n.\r\n', bdat: 'a\r\n\r\nb\r\n' },
  { name: 'trailing CR', input: 'a\r', data: 'a\r\n.\r\n', bdat: 'a\r\n' },
  { name: 'LF at start', input: '\n.', data: '\r\n..\r\n.\r\n', bdat: '\r\n.\r\n' },
  { name: '8-bit bytes pass', input: 'caf\xe9\r\n', data: 'caf\xe9\r\n.\r\n', bdat: 'caf\xe9\r\n' },
];

function encodeSplit(input: Buffer, cuts: number[], dotStuff: boolean): Buffer {
  const enc = new BodyEncoder(dotStuff);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    out.push(enc.write(input.subarray(prev, c)));
    prev = c;
  }
  out.push(enc.end());
  const all = Buffer.concat(out);
  assert.equal(enc.outputSize, all.length);
  return all;
}

void describe('BodyEncoder', () => {
  for (const row of rows) {
    void test(row.name, () => {
      const input = Buffer.from(row.input, 'latin1');
      for (const [dotStuff, want] of [
        [true, row.data],
        [false, row.bdat],
      ] as const) {
        assert.equal(encodeBody(input, dotStuff).toString('latin1'), want);
        for (let c = 0; c <= input.length; c++) {
          assert.equal(encodeSplit(input, [c], dotStuff).toString('latin1'), want, `cut at ${c}`);
        }
        const everyByte = Array.from({ length: input.length }, (_, i) => i);
        assert.equal(encodeSplit(input, everyByte, dotStuff).toString('latin1'), want, 'byte by byte');
      }
    });
  }

  void test('random bytes: output has only CRLF line ends, no early terminator, and round-trips', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed);
    const alphabet = [0x0d, 0x0a, 0x2e, 0x41];
    for (let n = 0; n < 300; n++) {
      const input = Buffer.from(Array.from({ length: rnd() % 40 }, () => alphabet[rnd() % 4] ?? 0));
      const cuts = [...new Set(Array.from({ length: 3 }, () => rnd() % (input.length + 1)))].sort(
        (a, b) => a - b,
      );
      const out = encodeSplit(input, cuts, true).toString('latin1');
      assert.equal(out, encodeBody(input, true).toString('latin1'));
      assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(out), JSON.stringify(out));
      assert.equal(out.indexOf('\r\n.\r\n') === out.length - 5 || out === '.\r\n', true, JSON.stringify(out));
      const normalised = input.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
      const expectBody = normalised === '' || normalised.endsWith('\r\n') ? normalised : normalised + '\r\n';
      const unstuffed = out.slice(0, -3).replace(/^\./gm, '');
      assert.equal(unstuffed, expectBody);
    }
  });
});
