// planReload: what a SIGHUP does with a new config, decided without sockets (listeners, live keys, keys that need a restart).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { formatListenAddress } from '../../../src/config/schema.js';
import { planReload } from '../../../src/server/reload-plan.js';

const context = { configPath: '/etc/mailroom.toml', baseDir: '/etc', defaultHostname: 'mx.example.test' };
const parse = (text: string) => parseConfigText(text, context);
const BASE = [
  'data_dir = "/var/lib/mailroom"',
  '[smtp]',
  'listen = ["127.0.0.1:2525"]',
  '[imap]',
  'listen = ["127.0.0.1:2143"]',
];
const config = (...extra: string[]) => parse([...BASE, ...extra].join('\n'));

describe('planReload', () => {
  test('the same file changes nothing', () => {
    const plan = planReload(config(), config());
    assert.deepEqual(plan.listeners, []);
    assert.deepEqual(plan.applied, []);
    assert.deepEqual(plan.needsRestart, []);
    assert.deepEqual(plan.effective, config());
  });

  test('a listener section turned on, one turned off, one moved: open and close per address', () => {
    const before = config('[pop3]', 'listen = ["127.0.0.1:2110"]');
    const after = parse(
      [
        'data_dir = "/var/lib/mailroom"',
        '[smtp]',
        'listen = ["127.0.0.1:2525", "127.0.0.1:2526"]',
        '[imap]',
        'listen = []',
        '[pop3]',
        'listen = ["127.0.0.1:2111"]',
        '[http]',
        'listen = ["127.0.0.1:8081"]',
      ].join('\n'),
    );
    const plan = planReload(before, after);
    const rows = plan.listeners.map((c) => [
      c.name,
      c.open.map(formatListenAddress),
      c.close.map(formatListenAddress),
    ]);
    assert.deepEqual(
      rows.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      [
        ['http', ['127.0.0.1:8081'], ['127.0.0.1:8080']],
        ['imap', [], ['127.0.0.1:2143']],
        ['pop3', ['127.0.0.1:2111'], ['127.0.0.1:2110']],
        ['smtp', ['127.0.0.1:2526'], []],
      ],
    );
    assert.deepEqual(plan.needsRestart, []);
    assert.deepEqual(plan.effective.listeners, after.listeners);
  });

  test('limits, timeouts and TLS settings apply live', () => {
    const after = config(
      '[limits]',
      'max_message_size = 1000',
      'max_connections_per_ip = 3',
      '[tls]',
      'cert = "/etc/new.pem"',
      'key = "/etc/new.key"',
      'min_version = "TLSv1.3"',
    );
    const plan = planReload(config(), after);
    assert.deepEqual(plan.applied.sort(), [
      'limits.maxConnectionsPerIp',
      'limits.maxMessageSize',
      'tls',
      'tlsPolicy.minVersion',
    ]);
    assert.deepEqual(plan.needsRestart, []);
    assert.equal(plan.effective.limits.maxMessageSize, 1000);
    assert.deepEqual(plan.effective.tls, { certPath: '/etc/new.pem', keyPath: '/etc/new.key' });
  });

  test('data_dir, hostname and the queue need a restart: the running value is kept and named', () => {
    const before = config();
    const after = parse(
      [
        'hostname = "other.example.test"',
        'data_dir = "/srv/mail"',
        '[smtp]',
        'listen = ["127.0.0.1:2525"]',
        '[imap]',
        'listen = ["127.0.0.1:2143"]',
        '[queue]',
        'max_age = "1d"',
        '[limits]',
        'max_recipients = 7',
      ].join('\n'),
    );
    const plan = planReload(before, after);
    assert.deepEqual(plan.needsRestart.sort(), ['dataDir', 'hostname', 'queue.maxAgeMs']);
    assert.deepEqual(plan.applied, ['limits.maxRecipients']);
    assert.equal(plan.effective.dataDir, before.dataDir);
    assert.equal(plan.effective.hostname, before.hostname);
    assert.equal(plan.effective.queue.maxAgeMs, before.queue.maxAgeMs);
    assert.equal(plan.effective.limits.maxRecipients, 7);
  });

  test('a reload back to the first file after one that needed a restart changes nothing more', () => {
    const first = config();
    const second = planReload(first, config('[queue]', 'max_age = "1d"')).effective;
    const third = planReload(second, first);
    assert.deepEqual(third.needsRestart, []);
    assert.deepEqual(third.applied, []);
  });

  test('the plan does not alias the new config (a later edit of one does not change the other)', () => {
    const next = config();
    const plan = planReload(config(), next);
    plan.effective.listeners.smtp.push({ host: '127.0.0.1', port: 1 });
    assert.equal(next.listeners.smtp.length, 1);
  });
});
