// Tests of the soak bench's pure pieces: the p99 ratio, the verdict, the attackers' source addresses, the tables.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GOOD_KINDS, type GoodKind, type KindResult, type PhaseResult } from '../soak/good.js';
import { ATTACKS, attackIp, type AttackName, type AttackStats } from '../soak/hostile.js';
import { attackTable, latencyTable, p99Ratio, verdict, type SoakPhases } from '../soak/report.js';

const kind = (latenciesMs: number[], errors = 0, dropped = 0): KindResult => ({
  ok: latenciesMs.length,
  errors,
  dropped,
  latenciesMs,
  startsMs: latenciesMs.map((_, i) => i * 100),
  connectedMs: latenciesMs.map(() => 1),
  greetedMs: latenciesMs.map(() => 2),
  firstErrors: [],
});
const phase = (over: Partial<Record<GoodKind, KindResult>> = {}, base = 10): PhaseResult => ({
  elapsedMs: 1000,
  delivered: 5,
  kinds: Object.fromEntries(GOOD_KINDS.map((k) => [k, over[k] ?? kind([base, base, base])])) as Record<
    GoodKind,
    KindResult
  >,
});

void describe('soak report', () => {
  void test('p99 ratio is attack p99 over calm p99; NaN without samples', () => {
    const phases: SoakPhases = {
      calm: phase(),
      attack: phase({ imap: kind([10, 20, 50]), pop3: kind([]) }),
      after: phase(),
    };
    assert.equal(p99Ratio(phases, 'smtp'), 1);
    assert.equal(p99Ratio(phases, 'imap'), 5);
    assert.ok(Number.isNaN(p99Ratio(phases, 'pop3')));
  });

  const rows: { name: string; attack: PhaseResult; after?: PhaseResult; pass: boolean; match: RegExp }[] = [
    {
      name: 'calm under attack passes',
      attack: phase(),
      pass: true,
      match: /PASS.*1\.0x.*owner signed in 6\/6/,
    },
    {
      name: 'exactly 10x passes',
      attack: phase({ smtp: kind([100]) }),
      pass: true,
      match: /10\.0x calm at worst \(smtp/,
    },
    {
      name: 'over 10x fails',
      attack: phase({ pop3: kind([101]) }),
      pass: false,
      match: /FAIL.*10\.1x.*pop3/,
    },
    {
      name: 'a good error fails',
      attack: phase({ imap: kind([10], 1) }),
      pass: false,
      match: /1 failed good/,
    },
    {
      name: 'a dropped operation fails',
      attack: phase({ smtp: kind([10], 0, 2) }),
      pass: false,
      match: /2 failed/,
    },
    {
      name: 'the owner locked out fails (issue 8 finding 5)',
      attack: phase({ owner: kind([], 3) }),
      after: phase({ owner: kind([], 2) }),
      pass: false,
      match: /owner signed in 0\/5/,
    },
    {
      name: 'no good samples under attack fails',
      attack: phase({ imap: kind([], 4) }),
      pass: false,
      match: /FAIL/,
    },
  ];
  for (const r of rows) {
    void test(`verdict: ${r.name}`, () => {
      const v = verdict({ calm: phase(), attack: r.attack, after: r.after ?? phase() });
      assert.equal(v.pass, r.pass, v.line);
      assert.match(v.line, r.match);
    });
  }

  void test('tables have one row per good kind (plus rates) and per attack', () => {
    const t = latencyTable({ calm: phase(), attack: phase({ smtp: kind([10], 0, 3) }), after: phase() });
    assert.equal(t.split('\n').length, 2 + GOOD_KINDS.length + 1);
    assert.match(t, /3 \(3 dropped\)/);
    const stats = Object.fromEntries(
      ATTACKS.map((a) => [a, { connects: 1, connectErrors: 0, cut: 0, maxHeldMs: 1500, extra: {} }]),
    ) as Record<AttackName, AttackStats>;
    stats.authBurst.extra = { attempts: 4, 'reply ms total': 400 };
    const a = attackTable(stats);
    assert.equal(a.split('\n').length, 2 + ATTACKS.length);
    assert.match(a, /attempts=4, mean reply ms=100/);
  });
});

void describe('attackIp', () => {
  void test('each attack has its own 127.N.0.0/16 and addresses are never .0', () => {
    assert.equal(attackIp(66, 0), '127.66.0.1');
    assert.equal(attackIp(66, 249), '127.66.0.250');
    assert.equal(attackIp(66, 250), '127.66.1.1');
    for (let i = 0; i < 1000; i++) assert.match(attackIp(70, i), /^127\.70\.\d{1,3}\.([1-9]\d{0,2})$/);
  });
});
