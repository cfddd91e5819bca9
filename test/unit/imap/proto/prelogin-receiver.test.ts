// Tests for the IMAP receiver before login (issue 8): tight limits, no literal invited for a refused command, overflow.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { IMAP_PRELOGIN_INPUT, MAX_PASSWORD_BYTES } from '../../../../src/config/limits.js';
import {
  DEFAULT_RECEIVER_LIMITS,
  ImapCommandReceiver,
  type LiteralAdmission,
  type ReceiverLimits,
} from '../../../../src/imap/proto/literal-receiver.js';
import { run } from './receiver-harness.js';

const preLogin: ReceiverLimits = { ...DEFAULT_RECEIVER_LIMITS, ...IMAP_PRELOGIN_INPUT };

/** What the session's table says before login (the real table is tested in prelogin-session.test.ts). */
const beforeLogin: LiteralAdmission = (verb) =>
  ['LOGIN', 'AUTHENTICATE', 'ID', 'CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS'].includes(verb)
    ? null
    : `${verb} is not allowed before login`;

/** Same events whole, byte by byte and cut at a few odd places (DESIGN habit 2). */
function allSplits(input: Buffer, limits = preLogin, admit: LiteralAdmission | null = beforeLogin): string[] {
  const whole = run(input, [], limits, admit);
  const bytes = run(
    input,
    Array.from({ length: input.length }, (_, i) => i),
    limits,
    admit,
  );
  const odd = run(input, [1, 7, 13, 100, 1000, 4097], limits, admit);
  assert.deepEqual(bytes, whole, 'byte by byte');
  assert.deepEqual(odd, whole, 'odd cuts');
  return whole;
}

describe('IMAP receiver before login', () => {
  test('LOGIN with literals a password can fill is read as before', () => {
    const pw = 'p'.repeat(MAX_PASSWORD_BYTES);
    const input = Buffer.from(`a LOGIN {16}\r\nbob@example.test {${pw.length}+}\r\n${pw}\r\n`);
    assert.deepEqual(allSplits(input), [
      'continue a 16',
      `command a ["a LOGIN {16}"," {${pw.length}+}",""] ${JSON.stringify(['bob@example.test', pw])}`,
    ]);
  });

  test('APPEND is refused before its synchronising literal is invited (no "+")', () => {
    // Old behaviour: "continue a 900000" then the message was streamed to a spool, then BAD.
    const input = Buffer.from('a APPEND INBOX {900000}\r\nb NOOP\r\n');
    assert.deepEqual(allSplits(input), [
      'reject a BAD APPEND is not allowed before login',
      'command b ["b NOOP"] []',
    ]);
  });

  test('a refused non-synchronising literal within the cap is read and dropped; the next command runs', () => {
    const input = Buffer.from(`a APPEND INBOX {100+}\r\n${'x'.repeat(100)}\r\nb NOOP\r\n`);
    assert.deepEqual(allSplits(input), [
      'reject a BAD APPEND is not allowed before login',
      'command b ["b NOOP"] []',
    ]);
  });

  test('a refused non-synchronising literal past the cap ends the connection at once', () => {
    const r = new ImapCommandReceiver(preLogin);
    r.setAdmission(beforeLogin);
    r.push(Buffer.from('a APPEND INBOX {900000+}\r\n'));
    r.push(Buffer.alloc(60_000, 0x78));
    assert.deepEqual(r.next(), { kind: 'overflow', text: 'APPEND is not allowed before login' });
    assert.equal(r.bufferedBytes(), 0);
    r.push(Buffer.from('b NOOP\r\n'));
    assert.equal(r.next(), null, 'nothing more is read');
  });

  test('the probe: LOGIN {64000+} and its data is not buffered; the connection is closed', () => {
    const input = Buffer.concat([Buffer.from('a LOGIN {64000+}\r\n'), Buffer.alloc(64_000, 0x41)]);
    assert.deepEqual(allSplits(input), ['overflow Literal too large']);
  });

  test('a synchronising literal over the pre-login size gets BAD [TOOBIG] and no "+"', () => {
    const input = Buffer.from(`a LOGIN {${MAX_PASSWORD_BYTES + 1}}\r\nb NOOP\r\n`);
    assert.deepEqual(allSplits(input), [
      'reject a BAD [TOOBIG] Literal too large',
      'command b ["b NOOP"] []',
    ]);
  });

  test('literals of one command are bounded in number and total', () => {
    const input = Buffer.from('a LOGIN {1+}\r\nx {1+}\r\ny {1+}\r\nz\r\nb NOOP\r\n');
    assert.deepEqual(allSplits(input), ['reject a BAD Too many literals', 'command b ["b NOOP"] []']);
  });

  test('an over-long line gets BAD, then BYE once skipping it passes the cap', () => {
    const input = Buffer.from(
      `a ID ("x" "${'y'.repeat(IMAP_PRELOGIN_INPUT.maxLineLength + IMAP_PRELOGIN_INPUT.maxDiscard)}")\r\n`,
    );
    assert.deepEqual(allSplits(input), [
      'reject a BAD [TOOBIG] Command line too long',
      'overflow Command line too long',
    ]);
  });

  test('a line just over the limit is still skipped and reading goes on', () => {
    const input = Buffer.from(`a ID ("x" "${'y'.repeat(IMAP_PRELOGIN_INPUT.maxLineLength)}")\r\nb NOOP\r\n`);
    assert.deepEqual(allSplits(input), [
      'reject a BAD [TOOBIG] Command line too long',
      'command b ["b NOOP"] []',
    ]);
  });

  test('after login the wide limits and the admission check apply (an unknown command gets no "+")', () => {
    const afterLogin: LiteralAdmission = (verb) => (verb === 'XYZZY' ? 'Unknown command "XYZZY"' : null);
    const input = Buffer.from('a XYZZY {5}\r\nb APPEND INBOX {5000+}\r\n' + 'm'.repeat(5000) + '\r\n');
    assert.deepEqual(allSplits(input, DEFAULT_RECEIVER_LIMITS, afterLogin), [
      'reject a BAD Unknown command "XYZZY"',
      'literal-start b 5000',
      `streamed ${JSON.stringify('m'.repeat(5000))}`,
      'command b ["b APPEND INBOX {5000+}",""] ["<streamed 5000>"]',
    ]);
  });

  test('setLimits widens the limits for the next command (login then APPEND)', () => {
    const r = new ImapCommandReceiver(preLogin);
    r.push(Buffer.from('a LOGIN bob pw\r\nb APPEND INBOX {70000+}\r\n'));
    assert.equal(r.next()?.kind, 'command');
    r.setLimits(DEFAULT_RECEIVER_LIMITS);
    assert.deepEqual(r.next(), { kind: 'literal-start', tag: 'b', size: 70000, binary: false });
  });

  // Once next() has returned null the caller may reuse its chunk; a view kept by the receiver would
  // see the change, and would keep the whole chunk (up to 64 KiB) alive for as long as the client waits.
  const afterReuse = (first: string, then: string): string[] => {
    const r = new ImapCommandReceiver(preLogin);
    const out: string[] = [];
    const drain = (): void => {
      for (let ev = r.next(); ev; ev = r.next()) {
        if (ev.kind === 'command') {
          const lits = ev.command.literals.map((l) => (l.streamed ? '' : l.bytes.toString()));
          out.push(JSON.stringify([ev.command.segments.map((x) => x.toString()), lits]));
        } else out.push(ev.kind);
      }
    };
    const chunk = Buffer.from(first);
    r.push(chunk);
    drain();
    chunk.fill(0x58);
    r.push(Buffer.from(then));
    drain();
    return out;
  };

  test('an unfinished line keeps no view of the chunk it came in', () => {
    assert.deepEqual(afterReuse('a NOOP\r\nb NO', 'OP\r\n'), ['[["a NOOP"],[]]', '[["b NOOP"],[]]']);
  });

  test('a command line waiting for its literal keeps no view of the chunk', () => {
    assert.deepEqual(afterReuse('b LOGIN {3}\r\n', 'bob pw\r\n'), [
      'continue',
      '[["b LOGIN {3}"," pw"],["bob"]]',
    ]);
  });

  test('a literal arriving in pieces keeps no view of the chunks', () => {
    assert.deepEqual(afterReuse('b LOGIN {5}\r\nbo', 'bby\r\n'), [
      'continue',
      '[["b LOGIN {5}",""],["bobby"]]',
    ]);
  });
});

test('RFC 2971 3.3: the longest ID allowed (30 pairs, 30-octet fields, 1,024-octet values) is read before login (imaptest id)', () => {
  const pairs = Array.from(
    { length: 30 },
    (_, i) => `"${String(i).padEnd(30, 'f')}" "${String(i).padEnd(1024, 'v')}"`,
  );
  const line = `a1234 ID (${pairs.join(' ')})`;
  assert.ok(line.length > 31_800, String(line.length));
  const r = new ImapCommandReceiver(preLogin);
  r.push(Buffer.from(`${line}\r\nb NOOP\r\n`));
  const first = r.next();
  assert.equal(first?.kind, 'command');
  assert.equal(r.next()?.kind, 'command');
});
