// Pure steps of a delivery attempt: grouping, claim time, and result -> row update + owed DSN (RFC 3461/3464 rows).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  claimTime,
  domainOf,
  groupByDestination,
  planUpdate,
  toOutboundMessage,
} from '../../../src/queue/delivery-attempt.js';
import type { DueRecipient } from '../../../src/store/queue-store.js';
import type { RecipientResult } from '../../../src/smtp/client/client-types.js';

const T0 = new Date('2026-11-23T10:00:00Z');
const NOW = new Date('2026-11-23T10:10:00Z');
const schedule = { retryIntervalsMs: [60_000, 300_000], maxAgeMs: 3_600_000 };

function row(over: Partial<DueRecipient> = {}): DueRecipient {
  return {
    queueId: 'Q1',
    address: 'bob@b.test',
    state: 'pending',
    attempts: 0,
    lastError: null,
    sender: 'alice@a.test',
    createdAt: T0,
    size: 100,
    dsnEnvid: null,
    dsnRet: null,
    smtpUtf8: false,
    bodyType: null,
    ...over,
  };
}
function result(over: Partial<RecipientResult>): RecipientResult {
  return {
    address: 'bob@b.test',
    outcome: 'delivered',
    stage: 'data',
    diagnostic: '250 2.0.0 ok',
    fromPeer: true,
    tls: false,
    ...over,
  };
}
const ctx = { now: NOW, schedule, random: () => 0, remoteMta: 'mx.b.test', peerDsn: false };

describe('planUpdate', () => {
  const rows: [string, DueRecipient, RecipientResult, Record<string, unknown>][] = [
    [
      '250: delivered, no DSN without NOTIFY (RFC 3461 4.1)',
      row(),
      result({}),
      { state: 'delivered', attempts: 1, dsn: null },
    ],
    [
      '451: deferred one interval later',
      row(),
      result({
        outcome: 'deferred',
        diagnostic: '451 4.3.0 later',
        reply: { code: 451, enhanced: '4.3.0', text: 'later' },
      }),
      {
        state: 'deferred',
        attempts: 1,
        lastError: '451 4.3.0 later',
        nextAttemptAt: new Date(NOW.getTime() + 60_000),
        dsn: null,
      },
    ],
    [
      'second 451: the second interval',
      row({ state: 'deferred', attempts: 1, lastError: 'x' }),
      result({ outcome: 'deferred', diagnostic: '451 x' }),
      { state: 'deferred', attempts: 2, nextAttemptAt: new Date(NOW.getTime() + 300_000) },
    ],
    [
      '550 5.1.1: failed, failure DSN with the peer status (RFC 3464 2.3.4)',
      row(),
      result({
        outcome: 'failed',
        diagnostic: '550 5.1.1 no user',
        reply: { code: 550, enhanced: '5.1.1', text: 'no user' },
      }),
      {
        state: 'failed',
        dsn: {
          action: 'failed',
          status: '5.1.1',
          remoteMta: 'mx.b.test',
          smtpDiagnostic: '550 5.1.1 no user',
          lastAttemptAt: NOW.getTime(),
        },
      },
    ],
    [
      'NOTIFY=NEVER: failed without DSN',
      row({ notify: ['NEVER'] }),
      result({ outcome: 'failed', diagnostic: '550 x' }),
      { state: 'failed', dsn: null },
    ],
    [
      'null sender: a bounce is never bounced',
      row({ sender: '' }),
      result({ outcome: 'failed', diagnostic: '550 x' }),
      { state: 'failed', dsn: null },
    ],
    [
      'NOTIFY=SUCCESS, peer without DSN: "relayed" (RFC 3461 5.2.2)',
      row({ notify: ['SUCCESS'] }),
      result({}),
      {
        state: 'delivered',
        dsn: {
          action: 'relayed',
          status: '2.0.0',
          remoteMta: 'mx.b.test',
          smtpDiagnostic: '250 2.0.0 ok',
          lastAttemptAt: NOW.getTime(),
        },
      },
    ],
    [
      'past max_age and still 4xx: expired, 4.4.7 when no enhanced code',
      row({ createdAt: new Date(NOW.getTime() - 3_600_000), attempts: 3, state: 'deferred', lastError: 'x' }),
      result({
        outcome: 'deferred',
        stage: 'connection',
        diagnostic: 'connection lost: ECONNREFUSED',
        fromPeer: false,
      }),
      {
        state: 'failed',
        lastError: 'expired: connection lost: ECONNREFUSED',
        dsn: {
          action: 'failed',
          status: '4.4.7',
          localDiagnostic: 'connection lost: ECONNREFUSED',
          lastAttemptAt: NOW.getTime(),
        },
      },
    ],
  ];
  for (const [name, r, res, want] of rows) {
    test(name, () => {
      const u = planUpdate(r, res, ctx);
      for (const [k, v] of Object.entries(want))
        assert.deepEqual((u as unknown as Record<string, unknown>)[k], v, k);
    });
  }
  test('NOTIFY=SUCCESS to a DSN-capable peer: it reports itself, we owe nothing', () => {
    assert.equal(planUpdate(row({ notify: ['SUCCESS'] }), result({}), { ...ctx, peerDsn: true }).dsn, null);
  });
});

describe('grouping and claims', () => {
  test('by domain (case-insensitive), then by message, RCPTs split at the limit', () => {
    const rows = [
      row({ address: 'a@B.test' }),
      row({ address: 'b@b.test' }),
      row({ queueId: 'Q2', address: 'c@b.test' }),
      row({ address: 'd@c.test' }),
      row({ address: 'e@b.test' }),
    ];
    const g = groupByDestination(rows, 2);
    assert.deepEqual([...g.keys()], ['b.test', 'c.test']);
    assert.deepEqual(
      g.get('b.test')?.map((j) => [j.queueId, j.recipients.map((r) => r.address)]),
      [
        ['Q1', ['a@B.test', 'b@b.test']],
        ['Q2', ['c@b.test']],
        ['Q1', ['e@b.test']],
      ],
    );
    assert.equal(domainOf('x@[192.0.2.1]'), '[192.0.2.1]');
    assert.equal(domainOf('postmaster'), '');
  });
  test('the claim is the retry time of a failure, capped at expiry; past expiry one interval', () => {
    assert.deepEqual(
      claimTime(row(), NOW, schedule, () => 0),
      new Date(NOW.getTime() + 60_000),
    );
    const old = row({ createdAt: new Date(NOW.getTime() - 3_590_000) });
    assert.deepEqual(
      claimTime(old, NOW, schedule, () => 0),
      new Date(NOW.getTime() + 10_000),
    );
    const expired = row({ createdAt: new Date(NOW.getTime() - 4_000_000), attempts: 1 });
    assert.deepEqual(
      claimTime(expired, NOW, schedule, () => 0),
      new Date(NOW.getTime() + 300_000),
    );
  });
  test('toOutboundMessage carries the DSN parameters', () => {
    const m = toOutboundMessage(
      {
        queueId: 'Q1',
        recipients: [row({ notify: ['FAILURE'], orcpt: 'rfc822;x@y', dsnRet: 'HDRS', dsnEnvid: 'E1' })],
      },
      true,
    );
    assert.deepEqual(m, {
      id: 'Q1',
      sender: 'alice@a.test',
      recipients: [{ address: 'bob@b.test', notify: ['FAILURE'], orcpt: 'rfc822;x@y' }],
      size: 100,
      eightBit: true,
      smtpUtf8: false,
      dsnRet: 'HDRS',
      dsnEnvid: 'E1',
    });
  });
});
