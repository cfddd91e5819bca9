// POP3 LineReceiver (issue 8): an unfinished line is held as a small copy, not as a view of the socket's chunk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineReceiver } from '../../../src/pop3/command-parser.js';

test('an unfinished line keeps no view of the chunk it came in', () => {
  // A view would keep the whole chunk (up to 64 KiB) alive while the client waits, and would change if
  // the caller reused the chunk after every complete line was taken out.
  const r = new LineReceiver();
  const chunk = Buffer.from('STAT\r\nUSER bo');
  assert.deepEqual(r.push(chunk), [{ kind: 'line', text: Buffer.from('STAT') }]);
  chunk.fill(0x58);
  assert.deepEqual(r.push(Buffer.from('b\r\n')), [{ kind: 'line', text: Buffer.from('USER bob') }]);
});
