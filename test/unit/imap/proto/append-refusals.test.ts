// The receiver's APPEND refusals: the quota check's (bytes, messages) before "+" (RFC 9208 4.3), NUL in a literal under every split (RFC 9051 4.3).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ImapCommandReceiver,
  NUL_IN_LITERAL,
  type ReceiverEvent,
} from '../../../../src/imap/proto/literal-receiver.js';

function feed(rx: ImapCommandReceiver, input: Buffer, step: number): ReceiverEvent[] {
  const out: ReceiverEvent[] = [];
  for (let i = 0; i < input.length; i += step) {
    rx.push(input.subarray(i, i + step));
    for (let ev = rx.next(); ev; ev = rx.next()) out.push(ev);
  }
  return out;
}

describe('receiver: the quota check before an APPEND literal', () => {
  test('asked with the running bytes and a lower bound of messages (MULTIAPPEND, CATENATE)', () => {
    const asked: [number, number][] = [];
    const rx = new ImapCommandReceiver();
    rx.setAppendQuota((bytes, messages) => {
      asked.push([bytes, messages]);
      return null;
    });
    const input = Buffer.from(
      'a1 APPEND INBOX {3+}\r\nabc (\\Seen) {4+}\r\nabcd CATENATE (TEXT {2+}\r\nxy URL "/INBOX;UID=1" TEXT {5+}\r\nhello)\r\n' +
        // A mailbox-name literal is not a message; LOGIN literals are never asked about.
        'a2 APPEND {5+}\r\nINBOX {1+}\r\nz\r\n',
    );
    const kinds = feed(rx, input, input.length).map((e) => e.kind);
    assert.equal(kinds.filter((k) => k === 'command').length, 2);
    assert.deepEqual(asked, [
      [3, 1],
      [7, 2],
      [9, 3], // the first TEXT part opens a CATENATE message
      [14, 3], // the second continues it
      [1, 1],
    ]);
  });

  test('a refusal: NO [OVERQUOTA] for a synchronising literal, the non-synchronising one skipped, split anywhere', () => {
    const refusal = { code: 'OVERQUOTA', text: 'Mailbox quota exceeded' } as const;
    const input = Buffer.from(
      'a1 APPEND INBOX {2+}\r\nab {5+}\r\nhello\r\na2 APPEND INBOX {9}\r\na3 NOOP\r\n',
    );
    for (const step of [input.length, 1, 4]) {
      const rx = new ImapCommandReceiver();
      rx.setAppendQuota((bytes) => (bytes > 4 ? refusal : null));
      const evs = feed(rx, input, step).filter((e) => e.kind !== 'literal-chunk');
      assert.deepEqual(
        evs.map((e) => (e.kind === 'reject' ? `${e.tag} ${e.status} ${e.code}` : e.kind)),
        ['literal-start', 'literal-end', 'a1 NO OVERQUOTA', 'a2 NO OVERQUOTA', 'command'],
        `step ${step}`,
      );
    }
  });
});

describe('receiver: NUL in an APPEND literal', () => {
  test('{n}: the command is read to its end, then BAD; ~{n} and later commands are untouched; any split', () => {
    const input = Buffer.from(
      'a1 APPEND INBOX {5+}\r\nab\0cd\r\na2 APPEND INBOX ~{5+}\r\nab\0cd\r\na3 APPEND INBOX {5+}\r\nab\0cd {3+}\r\nxyz\r\na4 NOOP\r\n',
      'latin1',
    );
    for (const step of [input.length, 1, 2, 3, 7]) {
      const rx = new ImapCommandReceiver();
      const evs = feed(rx, input, step).filter((e) => e.kind === 'reject' || e.kind === 'command');
      assert.deepEqual(
        evs.map((e) => (e.kind === 'reject' ? `${e.tag} ${e.status} ${e.text}` : `${e.tag} command`)),
        [`a1 BAD ${NUL_IN_LITERAL}`, 'a2 command', `a3 BAD ${NUL_IN_LITERAL}`, 'a4 command'],
        `step ${step}`,
      );
    }
  });
});
