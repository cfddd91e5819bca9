// The daily loop both report senders run (DMARC aggregate, TLS-RPT): which days and domains it reports, and what it keeps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sendDailyReports, utcDay, type DailyRows } from '../../../src/queue/report-mail.js';

interface Row {
  day: string;
  policyDomain: string;
  n: number;
}

function table(rows: Row[]): DailyRows<Row> & { rows(day: string): Row[]; left(): Row[] } {
  let held = [...rows];
  return {
    daysBefore: (day) => [...new Set(held.filter((r) => r.day < day).map((r) => r.day))].sort(),
    rows: (day) => held.filter((r) => r.day === day),
    drop: (day, domain) => {
      held = held.filter((r) => r.day !== day || (domain !== undefined && r.policyDomain !== domain));
    },
    left: () => held,
  };
}

const NOW = new Date('2026-12-06T10:00:00Z');

test('each finished day is reported per policy domain with that domain rows alone; today waits', async () => {
  const t = table([
    { day: '2026-12-05', policyDomain: 'a.test', n: 1 },
    { day: '2026-12-05', policyDomain: 'b.test', n: 2 },
    { day: '2026-12-05', policyDomain: 'a.test', n: 3 },
    { day: '2026-12-06', policyDomain: 'a.test', n: 4 },
  ]);
  const seen: string[] = [];
  await sendDailyReports(t, NOW, 30, async (day, domain, rows) => {
    seen.push(`${day} ${domain} ${rows.map((r) => r.n).join(',')}`);
    return 'done';
  });
  assert.deepEqual(seen, ['2026-12-05 a.test 1,3', '2026-12-05 b.test 2']);
  assert.deepEqual(
    t.left().map((r) => r.n),
    [4],
  );
});

test('a retry keeps that domain rows of the day for the next run; done drops them', async () => {
  const t = table([
    { day: '2026-12-04', policyDomain: 'a.test', n: 1 },
    { day: '2026-12-04', policyDomain: 'b.test', n: 2 },
  ]);
  await sendDailyReports(t, NOW, 30, async (_day, domain) => (domain === 'a.test' ? 'retry' : 'done'));
  assert.deepEqual(
    t.left().map((r) => r.policyDomain),
    ['a.test'],
  );
  let asked = 0;
  await sendDailyReports(t, NOW, 30, async () => (asked++, 'done'));
  assert.equal(asked, 1);
  assert.deepEqual(t.left(), []);
});

test('days older than the limit are dropped unsent', async () => {
  const t = table([
    { day: '2026-10-01', policyDomain: 'a.test', n: 1 },
    { day: '2026-12-01', policyDomain: 'a.test', n: 2 },
  ]);
  const seen: string[] = [];
  await sendDailyReports(t, NOW, 30, async (day) => (seen.push(day), 'retry'));
  assert.deepEqual(seen, ['2026-12-01']);
  assert.deepEqual(
    t.left().map((r) => r.n),
    [2],
  );
});

test('utcDay is the UTC date, whatever the local zone', () => {
  assert.equal(utcDay(new Date('2026-12-05T23:59:59.999Z')), '2026-12-05');
  assert.equal(utcDay(new Date('2026-12-06T00:00:00Z')), '2026-12-06');
});
