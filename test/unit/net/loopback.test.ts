// isLoopback: the one rule for "a password may travel in clear here" (allow_loopback_plaintext), on every protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopback } from '../../../src/net/loopback.js';

test('loopback: IPv4 127/8, IPv6 ::1 and IPv4-mapped 127/8', () => {
  for (const address of [
    '127.0.0.1',
    '127.1.2.3',
    '127.255.255.254',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:127.9.9.9',
  ])
    assert.equal(isLoopback(address), true, address);
});

test('not loopback: other addresses, look-alikes and names', () => {
  for (const address of [
    '10.0.0.1',
    '1127.0.0.1',
    '128.0.0.1',
    '::ffff:10.0.0.1',
    '::2',
    '0:0:0:0:0:0:0:2',
    'fe80::1',
    '::ffff:1127.0.0.1',
    'localhost',
    '',
  ])
    assert.equal(isLoopback(address), false, address);
});
