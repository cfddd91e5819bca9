// Tests of the bench's pure pieces: SMTP reply reader, message builder, statistics, table, generator args, configs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyReader, ReplySyntaxError } from '../smtp/reply-reader.js';
import { buildHeaders, buildPayload, dotStuff } from '../smtp/message.js';
import { percentile, perSecond, ratio } from '../lib/stats.js';
import { fmt, table } from '../lib/table.js';
import { smtpSourceArgs } from '../smtp/smtp-source.js';
import { postfixMainCf, postfixMasterCf } from '../peers/postfix.js';
import { mailroomConfig } from '../peers/mailroom.js';
import { benchPlan } from '../smtp/loads.js';
import { reusingSigner } from '../smtp/inbound.js';
import { warmupShareOf } from '../smtp/measure.js';
import { relayMailroomConfig } from '../relay-peers.js';
import { parseConfigText } from '../../src/config/load.js';

void describe('ReplyReader', () => {
  const rows: { name: string; input: string; want: { code: number; lines: string[] }[] }[] = [
    // RFC 5321 4.2.1: multi-line reply, hyphen after the code on all but the last line.
    {
      name: 'RFC 5321 4.2.1 multi-line EHLO',
      input: '250-mail.example.test greets you\r\n250-PIPELINING\r\n250 SIZE 1000\r\n',
      want: [{ code: 250, lines: ['mail.example.test greets you', 'PIPELINING', 'SIZE 1000'] }],
    },
    {
      name: 'code alone (RFC 5321 4.2: text is optional)',
      input: '250\r\n',
      want: [{ code: 250, lines: [''] }],
    },
    {
      name: 'three pipelined replies in one chunk (RFC 2920)',
      input: '250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n',
      want: [
        { code: 250, lines: ['2.1.0 ok'] },
        { code: 250, lines: ['2.1.5 ok'] },
        { code: 354, lines: ['go'] },
      ],
    },
    { name: 'bare LF tolerated', input: '221 bye\n', want: [{ code: 221, lines: ['bye'] }] },
  ];
  for (const r of rows) {
    void test(`${r.name}: whole and byte by byte`, () => {
      assert.deepEqual(new ReplyReader().push(r.input), r.want);
      const rd = new ReplyReader();
      const got = [...r.input].flatMap((ch) => rd.push(ch));
      assert.deepEqual(got, r.want);
    });
  }
  const hostile = ['hello\r\n', '25\r\n', '699 no\r\n', '250-a\r\n251 b\r\n', '\0\0\0\r\n'];
  for (const h of hostile) {
    void test(`rejects ${JSON.stringify(h)}`, () => {
      assert.throws(() => new ReplyReader().push(h), ReplySyntaxError);
    });
  }
  void test('an endless line is refused, not buffered forever', () => {
    assert.throws(() => new ReplyReader().push('250 ' + 'x'.repeat(10_000)), ReplySyntaxError);
  });
});

void describe('message builder', () => {
  for (const size of [0, 1, 2, 3, 77, 78, 79, 80, 4096]) {
    void test(`payload of ${size} bytes`, () => {
      const p = buildPayload(size);
      assert.equal(p.length, size === 1 ? 2 : size);
      if (size > 0) assert.equal(p.subarray(-2).toString(), '\r\n');
      const text = p.toString('latin1');
      for (const line of text.split('\r\n').slice(0, -1))
        assert.ok(line.length <= 998, 'RFC 5322 2.1.1 line limit');
      assert.ok(!/(^|\n)\./.test(text), 'no line starts with a dot');
    });
  }
  void test('dotStuff doubles leading dots only (RFC 5321 4.5.2)', () => {
    assert.equal(dotStuff('.a\r\nb.c\r\n.\r\n'), '..a\r\nb.c\r\n..\r\n');
  });
  void test('headers are unique per message and end with the blank line', () => {
    const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const h1 = buildHeaders({ index: 1, from: 'a@x.test', to: 'b@y.test', date }).toString();
    const h2 = buildHeaders({ index: 2, from: 'a@x.test', to: 'b@y.test', date }).toString();
    assert.notEqual(h1, h2);
    assert.match(h1, /^From: <a@x\.test>\r\n/);
    assert.match(h1, /Date: Fri, 02 Jan 2026 03:04:05 GMT\r\n\r\n$/);
  });
  void test('refuses nonsense sizes', () => {
    assert.throws(() => buildPayload(-1), RangeError);
    assert.throws(() => buildPayload(1.5), RangeError);
  });
});

void describe('stats and table', () => {
  void test('percentile is nearest-rank', () => {
    const s = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    assert.equal(percentile(s, 50), 50);
    assert.equal(percentile(s, 99), 99);
    assert.equal(percentile(s, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
  void test('rates and ratios never print Infinity', () => {
    assert.equal(perSecond(500, 250), 2000);
    assert.ok(Number.isNaN(perSecond(5, 0)));
    assert.equal(ratio(4000, 1000), 4);
    assert.ok(Number.isNaN(ratio(1, 0)));
    assert.ok(Number.isNaN(ratio(NaN, 1)));
  });
  void test('table pads columns and shows missing values as -', () => {
    assert.equal(fmt(NaN), '-');
    assert.equal(fmt(1234.567, 1), '1,234.6');
    assert.equal(table(['a', 'bb'], [['xyz', '1']]), '| a   | bb |\n| --- | -- |\n| xyz | 1  |');
  });
});

void describe('generator arguments and peer configs', () => {
  const plan = benchPlan(false);
  void test('full loads are the ones issue 2 names', () => {
    assert.deepEqual(
      [plan.a.sessions, plan.a.messages, plan.a.size, plan.a.perConnection],
      [20, 10_000, 4096, 'many'],
    );
    assert.deepEqual([plan.b.sessions, plan.b.messages, plan.b.perConnection], [20, 2_000, 'one']);
    assert.equal(plan.c.connections, 10_000);
  });
  void test('smtp-source: -d only when many messages share a connection', () => {
    const base = {
      binary: 'x',
      host: '127.0.0.1',
      port: 2525,
      from: 'a@x.test',
      to: 'b@y.test',
      deadlineMs: 1,
    };
    const a = smtpSourceArgs({ ...base, ...plan.a });
    assert.deepEqual(a.slice(0, 7), ['-d', '-s', '20', '-m', '10000', '-l', '4096']);
    assert.equal(a.at(-1), 'inet:127.0.0.1:2525');
    assert.ok(!smtpSourceArgs({ ...base, ...plan.b }).includes('-d'));
  });
  void test('postfix config stays on loopback, never relays, delivers to Maildir', () => {
    const o = { port: 12525, domain: 'example.test', user: 'bob', processLimit: 100 };
    const main = postfixMainCf('/tmp/pf', o);
    assert.match(main, /^inet_interfaces = 127\.0\.0\.1$/m);
    assert.match(main, /^default_transport = error:/m);
    assert.match(main, /^virtual_mailbox_domains = example\.test$/m);
    assert.match(main, /^queue_directory = \/tmp\/pf\/queue$/m);
    const master = postfixMasterCf(o);
    assert.match(master, /^127\.0\.0\.1:12525 inet n - n - - smtpd$/m);
    assert.doesNotMatch(master, /^smtp\s+unix/m, 'no outbound smtp client');
  });
  void test('mailroom config: only the MX listener, raised connection limits', () => {
    const cfg = mailroomConfig('/tmp/mr', {
      cli: 'x',
      port: 3025,
      domain: 'd.test',
      user: 'u',
      maxConnections: 10100,
    });
    assert.match(cfg, /\[smtp\]\nlisten = \["127\.0\.0\.1:3025"\]/);
    for (const s of ['submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'http', 'https']) {
      assert.match(cfg, new RegExp(`\\[${s}\\]\\nlisten = \\[\\]`));
    }
    assert.match(cfg, /max_connections = 10100\nmax_connections_per_ip = 10100/);
  });
  void test('relay config, read by the server: every sink routed, no per-account submission limit', () => {
    const sinks = [
      { domain: 'd1.sink.test', port: 4001, mode: 'accept' as const },
      { domain: 'd2.sink.test', port: 4002, mode: 'tempfail' as const },
    ];
    const cfg = parseConfigText(relayMailroomConfig('/tmp/relay', 3587, sinks), {
      configPath: null,
      baseDir: '/tmp',
      defaultHostname: 'h.test',
    });
    assert.deepEqual(cfg.outbound.routes, {
      'd1.sink.test': { host: '127.0.0.1', port: 4001 },
      'd2.sink.test': { host: '127.0.0.1', port: 4002 },
    });
    // One account submits the whole load: the defaults (500 messages an hour) refused its 501st message.
    assert.equal(cfg.limits.submissionMessagesPerHour, 0);
    assert.equal(cfg.limits.submissionRecipientsPerHour, 0);
  });
});

void describe('reusingSigner', () => {
  void test('signs the first `count` messages, then hands the same signed messages out again in turn', async () => {
    const signedOnes: string[] = [];
    const sign = async (m: Buffer) => {
      signedOnes.push(m.toString());
      return Buffer.from(`signed ${m.toString()}`);
    };
    const signer = reusingSigner(sign, 3);
    const got: string[] = [];
    for (const m of ['m0', 'm1', 'm2', 'x0', 'x1', 'x2', 'y0'])
      got.push((await signer(Buffer.from(m))).toString());
    assert.deepEqual(signedOnes, ['m0', 'm1', 'm2']);
    assert.deepEqual(got, [
      'signed m0',
      'signed m1',
      'signed m2',
      'signed m0',
      'signed m1',
      'signed m2',
      'signed m0',
    ]);
  });
});

void describe('warmupShareOf', () => {
  void test('a whole percent from 0 to 100 is a share; anything else is refused (null)', () => {
    assert.equal(warmupShareOf('50'), 0.5);
    assert.equal(warmupShareOf('0'), 0);
    assert.equal(warmupShareOf('100'), 1);
    for (const bad of ['-1', '101', '12.5', 'abc', '']) assert.equal(warmupShareOf(bad), null, bad);
  });
});
