// [inbound] trusted_networks: which client addresses skip the MX checks, and the verdict remembered per address.
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { test } from 'node:test';
import { TRUSTED_MEMO_ADDRESSES } from '../../../src/config/limits.js';
import { parseConfigText } from '../../../src/config/load.js';
import type { MailResolver } from '../../../src/dns/types.js';
import { createInboundChecks } from '../../../src/inbound/checks.js';

/** The checks as the server builds them from [inbound] trusted_networks (the other keys at their defaults). */
const checksFor = (trustedNetworks: string[]) =>
  createInboundChecks({
    settings: parseConfigText(
      `[inbound]\ntrusted_networks = ${JSON.stringify(trustedNetworks)}\nverify_workers = 0`,
      { configPath: null, baseDir: '/tmp', defaultHostname: 'mx.example.test' },
    ).inbound,
    hostname: 'mx.example.test',
    resolver: {} as MailResolver, // trusted() asks no DNS
    isLocalDomain: () => false,
  });

test('trusted_networks: addresses, subnets, IPv4-mapped IPv6, and anything else untrusted', () => {
  const checks = checksFor(['127.0.0.1', '10.0.0.0/8', '2001:db8::/32']);
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['::ffff:127.0.0.1', true],
    ['127.0.0.2', false],
    ['10.200.3.4', true],
    ['11.0.0.1', false],
    ['2001:db8::25', true],
    ['2001:db9::25', false],
    ['not-an-address', false],
    ['', false],
  ];
  // Twice: the second answers come from the memo and must be the same.
  for (let round = 0; round < 2; round++) {
    for (const [address, trusted] of cases)
      assert.equal(checks.trusted(address), trusted, `${address}, round ${round}`);
  }
});

test('the verdict is looked up once per address, and the memo stays bounded', (t) => {
  const lookups = t.mock.method(BlockList.prototype, 'check');
  const checks = checksFor(['10.0.0.0/8']);
  for (let i = 0; i < 100; i++) assert.equal(checks.trusted('192.0.2.7'), false);
  assert.equal(lookups.mock.callCount(), 1);
  // More distinct addresses than the memo holds: it starts over instead of growing, and still answers right.
  for (let i = 0; i <= TRUSTED_MEMO_ADDRESSES; i++)
    checks.trusted(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  assert.equal(checks.trusted('10.0.0.1'), true);
  assert.equal(checks.trusted('192.0.2.7'), false);
  const before = lookups.mock.callCount();
  checks.trusted('192.0.2.7');
  assert.equal(lookups.mock.callCount(), before);
});
