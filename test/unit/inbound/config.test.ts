// [inbound] keys: defaults (enforce, no lists, the host itself trusted) and what the schema refuses.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { ConfigError, parseConfigText } from '../../../src/config/load.js';
import { isNetwork } from '../../../src/config/schema.js';

const parse = (text: string) =>
  parseConfigText(text, { configPath: null, baseDir: '/tmp', defaultHostname: 'h.test' });

describe('[inbound] config', () => {
  test('defaults', () => {
    assert.deepEqual(parse('').inbound, {
      greylisting: false,
      greylistDelayMs: 300_000,
      greetPauseMs: 300,
      dmarc: 'enforce',
      dmarcReports: false,
      dnsbl: [],
      trustedNetworks: ['127.0.0.1/32', '::1/128'],
      verifyWorkers: availableParallelism() >= 2 ? 1 : 0,
    });
  });

  test('given values', () => {
    const c = parse(
      '[inbound]\ndmarc = "monitor"\ndmarc_reports = true\ndnsbl = ["zen.example"]\ntrusted_networks = ["192.0.2.0/24", "2001:db8::1"]\nverify_workers = 0',
    );
    assert.deepEqual(c.inbound, {
      greylisting: false,
      greylistDelayMs: 300_000,
      greetPauseMs: 300,
      dmarc: 'monitor',
      dmarcReports: true,
      dnsbl: ['zen.example'],
      trustedNetworks: ['192.0.2.0/24', '2001:db8::1'],
      verifyWorkers: 0,
    });
  });

  test('refused: an unknown mode, a zone that is not a name, a bad network, an unknown key', () => {
    for (const text of [
      '[inbound]\ndmarc = "reject"',
      '[inbound]\ndnsbl = ["not a zone"]',
      '[inbound]\ntrusted_networks = ["192.0.2.0/33"]',
      '[inbound]\ntrusted_networks = ["example.test"]',
      '[inbound]\nspf = "strict"',
      '[inbound]\nverify_workers = -1',
      '[inbound]\nverify_workers = 1.5',
      '[inbound]\nverify_workers = 17',
    ]) {
      assert.throws(() => parse(text), ConfigError, text);
    }
  });

  test('isNetwork', () => {
    for (const ok of ['127.0.0.1', '10.0.0.0/8', '::1/128', '2001:db8::/32', '0.0.0.0/0'])
      assert.ok(isNetwork(ok), ok);
    for (const bad of ['', '1.2.3.4/', '1.2.3.4/x', '1.2.3.4/1/2', '::1/129', 'host'])
      assert.ok(!isNetwork(bad), bad);
  });
});
