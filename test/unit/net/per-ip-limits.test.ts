// Connection counting per listener and per IP (pure), including IPv4-mapped and IPv6 /64 grouping.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionLimits, ipKey } from '../../../src/net/per-ip-limits.js';

describe('ipKey', () => {
  const rows: [string, string][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['', ''],
    ['not-an-ip', 'not-an-ip'],
  ];
  for (const [input, expected] of rows)
    test(JSON.stringify(input), () => assert.equal(ipKey(input), expected));
});

describe('ConnectionLimits', () => {
  test('per-IP cap, then total cap; release frees a slot', () => {
    const limits = new ConnectionLimits(3, 2);
    const a1 = limits.admit('10.0.0.1');
    const a2 = limits.admit('::ffff:10.0.0.1');
    assert.ok(a1.ok && a2.ok);
    assert.deepEqual(limits.admit('10.0.0.1'), { ok: false, reason: 'per-ip' });
    const b1 = limits.admit('10.0.0.2');
    assert.ok(b1.ok);
    assert.deepEqual(limits.admit('10.0.0.3'), { ok: false, reason: 'total' });
    assert.equal(limits.open, 3);
    if (a1.ok) limits.release(a1.key);
    assert.equal(limits.openFrom('10.0.0.1'), 1);
    assert.ok(limits.admit('10.0.0.1').ok);
  });

  test('two addresses of one /64 share a budget', () => {
    const limits = new ConnectionLimits(100, 1);
    assert.ok(limits.admit('2001:db8::1').ok);
    assert.deepEqual(limits.admit('2001:db8::2'), { ok: false, reason: 'per-ip' });
    assert.ok(limits.admit('2001:db8:0:1::2').ok);
  });

  test('releasing an unknown key never goes negative', () => {
    const limits = new ConnectionLimits(1, 1);
    limits.release('10.9.9.9');
    assert.equal(limits.open, 0);
    const a = limits.admit('10.0.0.1');
    assert.ok(a.ok);
    if (a.ok) {
      limits.release(a.key);
      limits.release(a.key);
    }
    assert.equal(limits.open, 0);
    assert.ok(limits.admit('10.0.0.1').ok);
    assert.deepEqual(limits.admit('10.0.0.2'), { ok: false, reason: 'total' });
  });
});
