// APPEND extensions in the pure layers: MULTIAPPEND (RFC 3502) bounds in the receiver, CATENATE (RFC 4469) in the parser.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isParseError, parseImapCommand } from '../../../../src/imap/proto/command-parser.js';
import type { ImapCommand } from '../../../../src/imap/proto/command-types.js';
import { DEFAULT_RECEIVER_LIMITS, type ReceiverLimits } from '../../../../src/imap/proto/literal-receiver.js';
import type { RawCommand } from '../../../../src/imap/proto/tokenizer.js';
import { run } from './receiver-harness.js';

/** Splits "line {n}\r\nbytes..." text into the RawCommand the receiver would hand over (literals buffered). */
function raw(text: string): RawCommand {
  const segments: Buffer[] = [];
  const literals: RawCommand['literals'] = [];
  let rest = text;
  for (;;) {
    const m = /(~?)\{(\d+)\+?\}\r\n/.exec(rest);
    if (!m) break;
    segments.push(Buffer.from(rest.slice(0, m.index + m[0].length - 2), 'latin1'));
    const start = m.index + m[0].length;
    literals.push({
      streamed: false,
      bytes: Buffer.from(rest.slice(start, start + Number(m[2])), 'latin1'),
      binary: m[1] === '~',
    });
    rest = rest.slice(start + Number(m[2]));
  }
  segments.push(Buffer.from(rest, 'latin1'));
  return { segments, literals };
}

function parse(text: string): ImapCommand & { name: 'APPEND' } {
  const c = parseImapCommand(raw(text));
  assert.ok(!isParseError(c), isParseError(c) ? c.text : '');
  assert.equal(c.name, 'APPEND');
  return c as ImapCommand & { name: 'APPEND' };
}

describe('CATENATE parser (RFC 4469 5)', () => {
  test('RFC 4469 5 example: URL and TEXT parts in order, flags kept', () => {
    const text =
      'A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER" ' +
      'TEXT {42}\r\n\r\n--------------030308070208000400050907\r\n URL "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME" ' +
      'URL "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1" TEXT {42}\r\n\r\n--------------030308070208000400050907\r\n ' +
      'URL "/Drafts;UIDVALIDITY=385759045/;UID=30" TEXT {44}\r\n\r\n--------------030308070208000400050907--\r\n)';
    const c = parse(text);
    assert.equal(c.messages.length, 1);
    const m = c.messages[0]!;
    assert.deepEqual(m.flags, ['\\Seen', '\\Draft', '$MDNSent']);
    assert.equal(m.literal, null);
    assert.deepEqual(
      m.catenate?.map((p) =>
        p.kind === 'url' ? `url ${p.url}` : `text ${p.literal.streamed ? '' : p.literal.bytes.length}`,
      ),
      [
        'url /Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER',
        'text 42',
        'url /Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME',
        'url /Drafts;UIDVALIDITY=385759045/;UID=20/;section=1',
        'text 42',
        'url /Drafts;UIDVALIDITY=385759045/;UID=30',
        'text 44',
      ],
    );
  });

  test('CATENATE mixed with plain literals (MULTIAPPEND), a date, and a literal8 TEXT part', () => {
    const c = parse(
      'a APPEND box CATENATE (URL "/box/;uid=1") (\\Answered) " 7-Feb-1994 21:52:25 -0800" {2}\r\nhi CATENATE (TEXT ~{1}\r\n\x00)',
    );
    assert.equal(c.messages.length, 3);
    assert.equal(c.messages[0]!.catenate?.length, 1);
    assert.equal(c.messages[1]!.literal?.streamed, false);
    assert.ok(c.messages[1]!.internalDate);
    const t = c.messages[2]!.catenate?.[0];
    assert.ok(t && t.kind === 'text' && t.literal.binary);
  });

  for (const [name, text] of [
    ['empty part list', 'a APPEND box CATENATE ()'],
    ['unknown part', 'a APPEND box CATENATE (FILE "x")'],
    ['TEXT without a literal', 'a APPEND box CATENATE (TEXT "inline")'],
    ['URL without a value', 'a APPEND box CATENATE (URL)'],
    ['CATENATE without a list', 'a APPEND box CATENATE URL "/box/;uid=1"'],
    ['nothing after the flags', 'a APPEND box (\\Seen)'],
  ] as const) {
    test(`hostile: ${name} is BAD`, () => {
      const c = parseImapCommand(raw(text));
      assert.ok(isParseError(c), name);
    });
  }
});

describe('receiver bounds on one APPEND (MULTIAPPEND)', () => {
  const limits: ReceiverLimits = {
    ...DEFAULT_RECEIVER_LIMITS,
    maxAppendSize: 5,
    maxAppendLiterals: 2,
    maxAppendTotal: 8,
  };
  const splitEverywhere = (b: Buffer) => Array.from({ length: b.length }, (_, i) => i);

  test('the literal past maxAppendLiterals gets NO [TOOBIG] (non-synchronising: skipped), next command read', () => {
    const input = Buffer.from('a APPEND box {1+}\r\nx {1+}\r\ny {1+}\r\nz\r\nb NOOP\r\n');
    for (const splits of [[], splitEverywhere(input)]) {
      const out = run(input, splits, limits);
      assert.deepEqual(
        out.filter((l) => !l.startsWith('streamed') && !l.startsWith('literal-start')),
        ['reject a NO [TOOBIG] Too many messages in one APPEND', 'command b ["b NOOP"] []'],
      );
    }
  });

  test('a synchronising literal past maxAppendTotal is refused before "+"', () => {
    const out = run(Buffer.from('a APPEND box {5+}\r\nhello {4}\r\nb NOOP\r\n'), [], limits);
    assert.ok(out.includes('reject a NO [TOOBIG] APPEND too large in total'), out.join('\n'));
    assert.ok(!out.some((l) => l.startsWith('continue')), out.join('\n'));
    assert.equal(out[out.length - 1], 'command b ["b NOOP"] []');
  });

  test('a CATENATE URL given as a literal is a small argument, not a streamed part', () => {
    const out = run(
      Buffer.from('a APPEND box CATENATE (URL {6+}\r\n/box/1 TEXT {2+}\r\nhi)\r\n'),
      [],
      limits,
    );
    assert.deepEqual(out, [
      'literal-start a 2',
      'streamed "hi"',
      'command a ["a APPEND box CATENATE (URL {6+}"," TEXT {2+}",")"] ["/box/1","<streamed 2>"]',
    ]);
  });

  test('the defaults: 256 parts, 256 MiB per command', () => {
    const many = ['a APPEND box'];
    for (let i = 0; i < 257; i++) many.push(' {1+}\r\nx');
    const out = run(Buffer.from(many.join('') + '\r\n'), [], {
      ...DEFAULT_RECEIVER_LIMITS,
      maxLiterals: 1000,
    });
    assert.equal(out.filter((l) => l.startsWith('streamed')).length, 256);
    assert.ok(out.includes('reject a NO [TOOBIG] Too many messages in one APPEND'));
  });
});
