// Tests of the IMAP bench's pure pieces: response framing under every split, response checks, fill facts, Dovecot config.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseReader, type ImapResponse } from '../imap/reader.js';
import {
  checkBody,
  checkFlagsRange,
  checkHeaders,
  checkInternalDate,
  parseImapDateTime,
  checkSearch,
  checkSelect,
  checkStore,
} from '../imap/checks.js';
import type { Completion } from '../imap/client.js';
import {
  fromHits,
  internalDate,
  invoiceHits,
  messageBody,
  SENDERS,
  storedMessage,
} from '../imap/messages.js';
import { maildirName } from '../imap/fill.js';
import { drawOp, MIX_OPS, seeded } from '../imap/load.js';
import { medianBy } from '../imap/report.js';
import { dovecotConfig } from '../peers/dovecot.js';

function frame(chunks: Buffer[]): ImapResponse[] {
  const out: ImapResponse[] = [];
  const r = new ResponseReader((x) => out.push(x));
  for (const c of chunks) r.push(c);
  return out;
}

void describe('ResponseReader', () => {
  // RFC 9051 7.5.2 / 8: a FETCH with a literal, then the tagged completion.
  const body = 'Subject: hi\r\n\r\nline one\r\nline } two {3}\r\n';
  const wire = Buffer.from(
    `* 12 FETCH (UID 7 BODY[] {${body.length}}\r\n${body})\r\n* 3 EXISTS\r\n+ idling\r\nA1 OK FETCH completed\r\n`,
  );
  const want = [
    { kind: 'untagged', tag: '', text: `12 FETCH (UID 7 BODY[] {${body.length}})`, literals: [body] },
    { kind: 'untagged', tag: '', text: '3 EXISTS', literals: [] },
    { kind: 'continuation', tag: '', text: 'idling', literals: [] },
    { kind: 'tagged', tag: 'A1', text: 'OK FETCH completed', literals: [] },
  ];
  const plain = (rs: ImapResponse[]): unknown[] =>
    rs.map((r) => ({ ...r, literals: r.literals.map((l) => l.toString('latin1')) }));

  void test('whole, and split at every byte boundary (RFC 9051 literals may hold CRLF)', () => {
    assert.deepEqual(plain(frame([wire])), want);
    for (let cut = 1; cut < wire.length; cut++) {
      assert.deepEqual(plain(frame([wire.subarray(0, cut), wire.subarray(cut)])), want, `cut at ${cut}`);
    }
    assert.deepEqual(plain(frame([...wire].map((b) => Buffer.from([b])))), want);
  });

  void test('a continuation ending in {n} is not a literal; an empty literal is one', () => {
    const r = frame([Buffer.from('+ send {5}\r\n* 1 FETCH (BODY[] {0}\r\n)\r\n')]);
    assert.equal(r[0]?.kind, 'continuation');
    assert.equal(r[1]?.text, '1 FETCH (BODY[] {0})');
    assert.equal(r[1]?.literals[0]?.length, 0);
  });

  void test('a BINARY literal ~{n} (RFC 3516)', () => {
    const r = frame([Buffer.from('* 1 FETCH (BINARY[] ~{3}\r\na\r\n)\r\n')]);
    assert.equal(r[0]?.literals[0]?.toString(), 'a\r\n');
  });
});

const done = (
  untagged: string[],
  status: Completion['status'] = 'OK',
  literals: Buffer[][] = [],
): Completion => ({
  tag: 'A1',
  status,
  text: `${status} done`,
  untagged: untagged.map((text, i) => ({ kind: 'untagged', tag: '', text, literals: literals[i] ?? [] })),
});

void describe('checks', () => {
  void test('SELECT: EXISTS must match, NO is an error', () => {
    const ok = ['FLAGS (\\Seen)', '10 EXISTS', 'OK [UIDVALIDITY 3] x'];
    assert.equal(checkSelect(done(ok), 10), null);
    assert.match(checkSelect(done(ok), 11) ?? '', /EXISTS/);
    assert.match(checkSelect(done(['10 EXISTS']), 10) ?? '', /UIDVALIDITY/);
    assert.match(checkSelect(done(ok, 'NO'), 10) ?? '', /tagged NO/);
    assert.match(checkSelect(done([...ok, 'BYE shutting down']), 10) ?? '', /BYE/);
  });

  void test('FETCH FLAGS range: every message, each with FLAGS', () => {
    assert.equal(checkFlagsRange(done(['1 FETCH (FLAGS ())', '2 FETCH (FLAGS (\\Seen))']), 1, 2), null);
    assert.match(checkFlagsRange(done(['1 FETCH (FLAGS ())']), 1, 2) ?? '', /FLAGS for 1 of 2/);
    assert.match(
      checkFlagsRange(done(['1 FETCH (UID 1)', '2 FETCH (FLAGS ())']), 1, 2) ?? '',
      /FLAGS for 1 of 2/,
    );
  });

  void test('headers: the asked fields and nothing else', () => {
    const h = Buffer.from('From: a@b\r\nSubject: s\r\nDate: d\r\n\r\n');
    const text = '1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM TO SUBJECT DATE)] {40})';
    assert.equal(checkHeaders(done([text], 'OK', [[h]]), 1, 1), null);
    const extra = Buffer.from('Return-Path: <x>\r\nFrom: a@b\r\nSubject: s\r\nDate: d\r\n\r\n');
    assert.match(checkHeaders(done([text], 'OK', [[extra]]), 1, 1) ?? '', /unasked/);
    // Another session's flag change, sent unsolicited during the FETCH (RFC 9051 7.5.2), is no error.
    const update = '1 FETCH (FLAGS (\\Seen) UID 1)';
    assert.equal(checkHeaders(done([update, text], 'OK', [[], [h]]), 1, 1), null);
    assert.match(checkHeaders(done([update], 'OK', [[]]), 1, 1) ?? '', /for 0 of 1/);
    assert.match(checkHeaders(done([text], 'OK', [[]]), 1, 1) ?? '', /not a literal/);
  });

  void test('BODY[]: byte for byte the filled message', () => {
    const m = storedMessage(42);
    assert.equal(checkBody(done([`5 FETCH (UID 9 BODY[] {${m.length}})`], 'OK', [[m]]), 9), null);
    const off = Buffer.concat([m, Buffer.from('x')]);
    assert.match(checkBody(done([`5 FETCH (UID 9 BODY[] {1})`], 'OK', [[off]]), 9) ?? '', /differs/);
    assert.match(checkBody(done([`5 FETCH (UID 8 BODY[] {1})`], 'OK', [[m]]), 9) ?? '', /no FETCH/);
    const update = '5 FETCH (FLAGS (\\Seen) UID 9)';
    assert.equal(checkBody(done([update, `5 FETCH (UID 9 BODY[] {1})`], 'OK', [[], [m]]), 9), null);
  });

  void test('SEARCH hit counts, and the counts the fill implies', () => {
    assert.equal(checkSearch(done(['SEARCH 1 8 15']), 3), null);
    assert.equal(checkSearch(done(['SEARCH']), 0), null);
    assert.match(checkSearch(done(['SEARCH 1 8']), 3) ?? '', /found 2/);
    assert.match(checkSearch(done([]), 0) ?? '', /no SEARCH/);
    const count = 1000;
    const invoices = Array.from({ length: count }, (_, i) => messageBody(i).toString()).filter((m) =>
      /^Subject: .*invoice/m.test(m),
    ).length;
    assert.equal(invoiceHits(count), invoices);
    for (const k of [0, 5, SENDERS - 1]) {
      const hits = Array.from({ length: count }, (_, i) => messageBody(i).toString()).filter((m) =>
        m.includes(`From: sender${k}@`),
      ).length;
      assert.equal(fromHits(count, k), hits, `sender${k}`);
    }
  });

  void test('INTERNALDATE: the same instant in any zone (RFC 9051 9 date-time)', () => {
    assert.equal(parseImapDateTime('23-Nov-2026 00:00:04 +0000'), Date.UTC(2026, 10, 23, 0, 0, 4));
    assert.equal(parseImapDateTime(' 3-Nov-2026 01:00:00 +0100'), Date.UTC(2026, 10, 3));
    assert.ok(Number.isNaN(parseImapDateTime('2026-11-23')));
    const c = done(['5 FETCH (UID 5 INTERNALDATE "23-Nov-2026 05:30:04 +0530")']);
    assert.equal(checkInternalDate(c, 5, internalDate(4)), null);
    assert.match(checkInternalDate(c, 5, internalDate(5)) ?? '', /expected/);
  });

  void test('STORE: FLAGS in the FETCH must show the change when sent', () => {
    assert.equal(checkStore(done(['3 FETCH (UID 7 FLAGS (\\Seen))']), 7, true), null);
    assert.equal(checkStore(done(['3 FETCH (FLAGS (\\Seen) UID 7)']), 7, true), null);
    assert.equal(checkStore(done([]), 7, true), null);
    assert.match(checkStore(done(['3 FETCH (UID 7 FLAGS ())']), 7, true) ?? '', /FLAGS after STORE/);
  });
});

void describe('fill and mix facts', () => {
  void test('Maildir names sort by time, so UIDs follow the fill order', () => {
    const names = [0, 1, 2, 10, 100].map((i) => maildirName(i, storedMessage(i).length));
    assert.deepEqual([...names].sort(), names);
    assert.match(names[0] as string, /^\d+\.M0P1Q0\.bench\.test,S=\d+,W=\d+:2,$/);
  });

  void test('seeded draws repeat and cover every op', () => {
    const a = seeded(7);
    const b = seeded(7);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const x = a();
      assert.equal(x, b());
      seen.add(drawOp(x));
    }
    assert.equal(seen.size, MIX_OPS.length);
  });

  void test('medianBy keeps the lower middle run', () => {
    assert.equal(
      medianBy([3, 1, 2, 4], (x) => x),
      2,
    );
    assert.equal(
      medianBy([], (x: number) => x),
      undefined,
    );
  });

  void test('Dovecot config: private dirs, loopback listeners, plaintext login allowed', () => {
    const c = dovecotConfig('/tmp/dc-abcdef', {
      imapPort: 1143,
      imapsPort: 1993,
      users: [],
      maxUserIpConnections: 120,
    });
    for (const want of [
      'base_dir = /tmp/dc-abcdef/run',
      'state_dir = /tmp/dc-abcdef/state',
      'port = 1143',
      'port = 1993',
      'mail_max_userip_connections = 120',
      'disable_plaintext_auth = no',
      'args = scheme=PLAIN',
    ]) {
      assert.ok(c.includes(want), want);
    }
    assert.ok(!/listen = \*/.test(c));
  });
});
