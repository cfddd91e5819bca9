// Delay warnings: when one is owed (RFC 3461 4.1 NOTIFY, queue.delay_warning), its Status, and its DSN field by field (RFC 3464).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDsn, headerSection, type DsnInput } from '../../../../src/queue/dsn/build-dsn.js';
import {
  delayStatus,
  owesDelayWarning,
  type DelayWarningInput,
} from '../../../../src/queue/dsn/delay-warning.js';
import { planUpdate } from '../../../../src/queue/delivery-attempt.js';
import { isStaleWarning } from '../../../../src/queue/bounce.js';
import type { DueRecipient } from '../../../../src/store/queue-store.js';
import type { RecipientResult } from '../../../../src/smtp/client/client-types.js';

const T0 = new Date('2026-11-23T10:00:00Z');
const H = 3_600_000;
const at = (ms: number) => new Date(T0.getTime() + ms);

describe('owesDelayWarning', () => {
  const base: DelayWarningInput = {
    sender: 'alice@a.test',
    notify: undefined,
    createdAt: T0,
    delayWarnedAt: undefined,
    now: at(4 * H),
    delayWarningMs: 4 * H,
  };
  const rows: [string, Partial<DelayWarningInput>, boolean][] = [
    // RFC 3461 4.1: without NOTIFY, whether to send a delay DSN is the MTA's choice: ours is "yes".
    ['no NOTIFY, exactly at delay_warning: warned', {}, true],
    ['no NOTIFY, long past delay_warning: warned', { now: at(30 * H) }, true],
    ['1 ms before delay_warning: not yet', { now: at(4 * H - 1) }, false],
    ['warnings off (no queue.delay_warning): none', { delayWarningMs: null }, false],
    ['already warned: never a second one', { delayWarnedAt: at(4 * H) }, false],
    // RFC 3461 4.1: NEVER "MUST NOT" be combined and means no DSN of any kind.
    ['NOTIFY=NEVER: none', { notify: ['NEVER'] }, false],
    ['NOTIFY=FAILURE only: an explicit list without DELAY asks for none', { notify: ['FAILURE'] }, false],
    ['NOTIFY=SUCCESS,FAILURE: none', { notify: ['SUCCESS', 'FAILURE'] }, false],
    ['NOTIFY=DELAY: warned', { notify: ['DELAY'] }, true],
    ['NOTIFY=failure,delay (any case): warned', { notify: ['failure', 'delay'] }, true],
    // RFC 3461 6.2 / RFC 5321 4.5.5: a bounce is never bounced, nor warned about.
    ['null sender: never', { sender: '' }, false],
    ['null sender even with NOTIFY=DELAY: never', { sender: '', notify: ['DELAY'] }, false],
    ['clock behind arrival (skew): not yet', { now: at(-H) }, false],
  ];
  for (const [name, over, want] of rows)
    test(name, () => assert.equal(owesDelayWarning({ ...base, ...over }), want));
});

describe('delayStatus (RFC 3463 codes for a delay DSN)', () => {
  const rows: [string, Pick<RecipientResult, 'reply' | 'diagnostic' | 'stage'>, string][] = [
    [
      "the peer's enhanced code",
      {
        stage: 'rcpt',
        diagnostic: '451 4.7.1 greylisted',
        reply: { code: 451, enhanced: '4.7.1', text: '' },
      },
      '4.7.1',
    ],
    [
      'a peer without enhanced codes: the class',
      { stage: 'rcpt', diagnostic: '450 busy', reply: { code: 450, enhanced: undefined, text: '' } },
      '4.0.0',
    ],
    [
      'a 5.x.x enhanced code on a 4xx reply is not believed',
      { stage: 'mail', diagnostic: '421 5.1.1 x', reply: { code: 421, enhanced: '5.1.1', text: '' } },
      '4.0.0',
    ],
    ['our DNS deferral carries its code', { stage: 'connection', diagnostic: '451 4.4.3 SERVFAIL' }, '4.4.3'],
    ['no connection made: 4.4.1 no answer', { stage: 'connection', diagnostic: 'ECONNREFUSED' }, '4.4.1'],
    ['timeout mid-session: 4.4.2 bad connection', { stage: 'data', diagnostic: 'timeout waiting' }, '4.4.2'],
    ['a 5xx-looking text of ours is not taken', { stage: 'greeting', diagnostic: '550 5.1.1 x' }, '4.4.2'],
  ];
  for (const [name, r, want] of rows) test(name, () => assert.equal(delayStatus(r), want));
});

describe('planUpdate with queue.delay_warning', () => {
  const schedule = { retryIntervalsMs: [H], maxAgeMs: 120 * H };
  const row = (over: Partial<DueRecipient> = {}): DueRecipient => ({
    queueId: 'Q1',
    address: 'bob@b.test',
    state: 'deferred',
    attempts: 3,
    lastError: '451 x',
    sender: 'alice@a.test',
    createdAt: T0,
    size: 100,
    dsnEnvid: null,
    dsnRet: null,
    smtpUtf8: false,
    bodyType: null,
    ...over,
  });
  const deferred: RecipientResult = {
    address: 'bob@b.test',
    outcome: 'deferred',
    stage: 'rcpt',
    diagnostic: '451 4.7.1 try later',
    reply: { code: 451, enhanced: '4.7.1', text: 'try later' },
    fromPeer: true,
    tls: true,
  };
  const ctx = {
    now: at(5 * H),
    schedule,
    random: () => 0,
    remoteMta: 'mx.b.test',
    peerDsn: false,
    delayWarningMs: 4 * H,
  };

  test('the first deferral past delay_warning owes a delay DSN, field by field', () => {
    const u = planUpdate(row(), deferred, ctx);
    assert.equal(u.state, 'deferred');
    assert.deepEqual(u.nextAttemptAt, at(6 * H));
    assert.deepEqual(u.dsn, {
      action: 'delayed',
      status: '4.7.1',
      remoteMta: 'mx.b.test',
      smtpDiagnostic: '451 4.7.1 try later',
      lastAttemptAt: at(5 * H).getTime(),
      willRetryUntil: at(120 * H).getTime(), // created + max_age (RFC 3464 2.3.8)
    });
  });
  test('our own reason goes in as a local diagnostic, without Remote-MTA', () => {
    const u = planUpdate(
      row(),
      { ...deferred, stage: 'connection', diagnostic: 'ECONNREFUSED', fromPeer: false, reply: undefined },
      ctx,
    );
    assert.deepEqual(u.dsn, {
      action: 'delayed',
      status: '4.4.1',
      localDiagnostic: 'ECONNREFUSED',
      lastAttemptAt: at(5 * H).getTime(),
      willRetryUntil: at(120 * H).getTime(),
    });
  });
  const none: [
    string,
    Partial<DueRecipient>,
    Partial<Omit<typeof ctx, 'delayWarningMs'>> & { delayWarningMs?: number | null },
  ][] = [
    ['already warned', { delayWarnedAt: at(4 * H) }, {}],
    ['before delay_warning', {}, { now: at(3 * H) }],
    ['warnings off', {}, { delayWarningMs: null }],
    ['NOTIFY=NEVER', { notify: ['NEVER'] }, {}],
    ['NOTIFY=FAILURE', { notify: ['FAILURE'] }, {}],
    ['null sender', { sender: '' }, {}],
  ];
  for (const [name, over, c] of none)
    test(`no delay DSN: ${name}`, () =>
      assert.equal(planUpdate(row(over), deferred, { ...ctx, ...c }).dsn, null));
  test('past max_age the recipient fails: a failure DSN, not a delay one', () => {
    const u = planUpdate(row(), deferred, { ...ctx, now: at(120 * H) });
    assert.equal(u.state, 'failed');
    assert.equal(u.dsn?.action, 'failed');
  });
});

describe('isStaleWarning: a delay DSN about a recipient no longer waiting is dropped', () => {
  const dsn = (action: 'delayed' | 'failed') => ({ action, status: '4.0.0', lastAttemptAt: 0 });
  const rows: [Parameters<typeof isStaleWarning>[0], boolean][] = [
    [{ dsn: dsn('delayed'), state: 'deferred' }, false],
    [{ dsn: dsn('delayed'), state: 'pending' }, false],
    [{ dsn: dsn('delayed'), state: 'delivered' }, true],
    [{ dsn: dsn('delayed'), state: 'failed' }, true],
    [{ dsn: dsn('failed'), state: 'failed' }, false],
  ];
  for (const [r, want] of rows)
    test(`${r.dsn.action} while ${r.state}: ${want ? 'stale' : 'sent'}`, () =>
      assert.equal(isStaleWarning(r), want));
});

/** "Name: value" fields (folding undone) into a lower-cased map. */
function fields(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) map.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return map;
}

describe('the delay DSN (RFC 3464 with Action: delayed)', () => {
  const original = Buffer.from('From: alice@a.test\r\nTo: bob@b.test\r\nSubject: hi\r\n\r\nThe body.\r\n');
  const input: DsnInput = {
    reportingMta: 'mail.a.test',
    originalSender: 'alice@a.test',
    envelopeId: 'ENV-7',
    arrivalDate: T0,
    date: at(5 * H),
    messageId: '<D1.dsn@mail.a.test>',
    boundary: 'B-delay',
    original,
    ret: 'FULL',
    recipients: ['bob@b.test', 'carol@b.test'].map((a) => ({
      finalRecipient: a,
      orcpt: `rfc822;${a}`,
      action: 'delayed' as const,
      status: '4.7.1',
      remoteMta: 'mx.b.test',
      smtpDiagnostic: '451 4.7.1 try later',
      lastAttemptDate: at(5 * H),
      willRetryUntil: at(120 * H),
    })),
  };
  const dsn = buildDsn(input);
  const text = dsn.message.toString('utf8');
  const [head, body] = splitOnce(text);
  const parts = body.split('\r\n--B-delay').slice(1, -1);
  const part = (i: number) => splitOnce((parts[i] ?? '').replace(/^\r\n/, ''));

  test('envelope: null sender to the original sender', () => {
    assert.equal(dsn.envelopeSender, '');
    assert.equal(dsn.envelopeRecipient, 'alice@a.test');
  });
  test('top-level header fields', () => {
    const h = fields(head);
    assert.equal(h.get('from'), 'Mail Delivery System <MAILER-DAEMON@mail.a.test>');
    assert.equal(h.get('to'), '<alice@a.test>');
    assert.equal(h.get('subject'), 'Delayed Mail (still being retried)');
    assert.equal(h.get('auto-submitted'), 'auto-replied');
    assert.equal(h.get('content-type'), 'multipart/report; report-type=delivery-status; boundary="B-delay"');
    assert.equal(parts.length, 3);
  });
  test('human part: still being retried, nothing to do, until the expiry', () => {
    const [h = '', t = ''] = part(0);
    assert.equal(fields(h).get('content-type'), 'text/plain; charset=utf-8');
    assert.match(t, /could not be delivered yet/);
    assert.match(t, /We will keep trying\r\nuntil Sat, 28 Nov 2026 10:00:00 \+0000\./);
    assert.match(t, /you do not need to do anything or send your message again/);
    assert.match(t, /<bob@b\.test>: 4\.7\.1 \(host mx\.b\.test said: 451 4\.7\.1 try later\)/);
    assert.match(t, /<carol@b\.test>: 4\.7\.1/);
    assert.doesNotMatch(t, /could not be delivered to one or more/);
  });
  test('delivery-status: per-message and per-recipient fields', () => {
    const [h = '', s = ''] = part(1);
    assert.equal(fields(h).get('content-type'), 'message/delivery-status');
    const [msg, ...rcpts] = s.trimEnd().split('\r\n\r\n').map(fields);
    assert.equal(msg?.get('reporting-mta'), 'dns; mail.a.test');
    assert.equal(msg?.get('original-envelope-id'), 'ENV-7');
    assert.equal(msg?.get('arrival-date'), 'Mon, 23 Nov 2026 10:00:00 +0000');
    assert.equal(rcpts.length, 2, 'both recipients warned at once: one DSN');
    for (const [i, a] of ['bob@b.test', 'carol@b.test'].entries()) {
      const r = rcpts[i];
      assert.equal(r?.get('original-recipient'), `rfc822; ${a}`);
      assert.equal(r?.get('final-recipient'), `rfc822; ${a}`);
      assert.equal(r?.get('action'), 'delayed');
      assert.equal(r?.get('status'), '4.7.1');
      assert.equal(r?.get('remote-mta'), 'dns; mx.b.test');
      assert.equal(r?.get('diagnostic-code'), 'smtp; 451 4.7.1 try later');
      assert.equal(r?.get('last-attempt-date'), 'Mon, 23 Nov 2026 15:00:00 +0000');
      assert.equal(r?.get('will-retry-until'), 'Sat, 28 Nov 2026 10:00:00 +0000');
    }
  });
  test('RET=FULL still returns headers only: RFC 3461 4.3 RET is about failure DSNs', () => {
    const [h = '', b = ''] = part(2);
    assert.equal(fields(h).get('content-type'), 'text/rfc822-headers');
    assert.equal(b, headerSection(original).toString());
    assert.doesNotMatch(text, /The body\./);
  });
});

function splitOnce(s: string): [string, string] {
  const i = s.indexOf('\r\n\r\n');
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 4)];
}
