// Config loading: defaults without a file, every key validated, one-line errors naming the key path.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, findConfigFile, loadConfig, parseConfigText } from '../../../src/config/load.js';
import { formatListenAddress, parseDuration, parseListenAddress } from '../../../src/config/schema.js';

const context = {
  configPath: '/etc/mailroom/mailroom.toml',
  baseDir: '/etc/mailroom',
  defaultHostname: 'box.test',
};
const parse = (text: string) => parseConfigText(text, context);

describe('parseDuration', () => {
  const rows: [string, number | null][] = [
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['5d', 432_000_000],
    ['0s', null],
    ['5', null],
    ['5 m', null],
    ['-5m', null],
    ['5M', null],
    ['1.5h', null],
    ['', null],
    ['9999999999d', null],
  ];
  for (const [text, expected] of rows)
    test(JSON.stringify(text), () => assert.equal(parseDuration(text), expected));
});

describe('parseListenAddress', () => {
  const rows: [string, { host: string; port: number } | RegExp][] = [
    ['127.0.0.1:2525', { host: '127.0.0.1', port: 2525 }],
    ['[::1]:25', { host: '::1', port: 25 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['localhost:587', { host: 'localhost', port: 587 }],
    ['::1:25', /brackets/],
    ['[127.0.0.1]:25', /IPv6/],
    ['127.0.0.1', /host:port/],
    ['127.0.0.1:65536', /port/],
    ['127.0.0.1:', /port/],
    ['127.0.0.1:25x', /port/],
    [':25', /IPv4 address or a host name/],
    ['bad host:25', /IPv4 address or a host name/],
  ];
  for (const [text, expected] of rows) {
    test(text, () => {
      const got = parseListenAddress(text);
      if (expected instanceof RegExp) assert.match(String(got), expected);
      else assert.deepEqual(got, expected);
    });
  }
  test('formats back', () => {
    assert.equal(formatListenAddress({ host: '::1', port: 25 }), '[::1]:25');
    assert.equal(formatListenAddress({ host: '127.0.0.1', port: 25 }), '127.0.0.1:25');
  });
});

describe('parseConfigText', () => {
  test('[dns] servers is the one resolver; outbound.dns_servers is its older spelling', () => {
    assert.deepEqual(parse('').dns, { servers: [] });
    assert.deepEqual(parse('[outbound]\ndns_servers = ["192.0.2.53"]').dns, { servers: ['192.0.2.53'] });
    assert.deepEqual(parse('[dns]\nservers = ["127.0.0.1:5353", "[::1]:53"]').dns, {
      servers: ['127.0.0.1:5353', '[::1]:53'],
    });
    // Both given: [dns] wins.
    assert.deepEqual(parse('[outbound]\ndns_servers = ["192.0.2.53"]\n[dns]\nservers = ["192.0.2.1"]').dns, {
      servers: ['192.0.2.1'],
    });
    assert.throws(
      () => parse('[dns]\nservers = ["dns.example"]'),
      /dns\.servers\[0\]: expected an IP address/,
    );
  });

  test('outbound.source_address: an IP (v4 or v6), default empty (the system chooses)', () => {
    assert.equal(parse('').outbound.sourceAddress, '');
    assert.equal(parse('[outbound]\nsource_address = "192.0.2.25"').outbound.sourceAddress, '192.0.2.25');
    assert.equal(parse('[outbound]\nsource_address = "2001:db8::25"').outbound.sourceAddress, '2001:db8::25');
  });

  test('outbound.tls_reports and tls_rpt_from (TLS-RPT, RFC 8460)', () => {
    const o = parse('[outbound]\ntls_reports = false\ntls_rpt_from = "tls-reports@a.test"').outbound;
    assert.equal(o.tlsReports, false);
    assert.equal(o.tlsRptFrom, 'tls-reports@a.test');
    assert.throws(
      () => parse('[outbound]\ntls_rpt_from = "nobody"'),
      /outbound\.tls_rpt_from: expected an address/,
    );
  });

  test('empty file: the dev defaults of CONTRACT.md', () => {
    const config = parse('');
    assert.equal(config.hostname, 'box.test');
    assert.equal(config.dataDir, '/etc/mailroom/data');
    assert.deepEqual(config.listeners.smtp, [{ host: '127.0.0.1', port: 2525 }]);
    assert.deepEqual(config.listeners.submission, [{ host: '127.0.0.1', port: 2587 }]);
    assert.deepEqual(config.listeners.submissions, [{ host: '127.0.0.1', port: 2465 }]);
    assert.deepEqual(config.listeners.http, [{ host: '127.0.0.1', port: 8080 }]);
    assert.deepEqual(config.listeners.https, [{ host: '127.0.0.1', port: 8443 }]);
    assert.equal(config.tls, null);
    assert.equal(config.auth.allowLoopbackPlaintext, true);
    assert.deepEqual(config.limits, {
      maxMessageSize: 26214400,
      maxRecipients: 100,
      maxConnections: 1000,
      maxConnectionsPerIp: 50,
      // Threads for read-only JMAP requests: one core fewer than the machine has, 1 to 4.
      jmapWorkers: Math.max(1, Math.min(4, availableParallelism() - 1)),
      minFreeSpace: { bytes: 1024 ** 3, percent: 5 }, // the smaller of the two counts
      // Issue 12: the IMAP caches (limits.ts DEFAULT_CACHES says why; header_cache in bytes of one
      // string per page since issue 9).
      mailboxIndexCache: 16 * 1024 * 1024,
      headerCache: 12 * 1024 * 1024,
      // Issue 12: V8's heap kept small by default (limits.ts HEAP_TUNINGS says why).
      heap: 'small',
      // Deadlines activity does not extend (issue 8): login 60 s, a line 60 s, an MX session 30 min,
      // a transfer 3 min in hand at a 500 B/s floor (DEFAULT_DEADLINES says why).
      deadlines: {
        loginMs: 60_000,
        commandLineMs: 60_000,
        mxSessionMs: 1_800_000,
        transferGraceMs: 180_000,
        transferMinRate: 500,
      },
      // Issue 10: 120 new SMTP connections a minute per IP (loopback exempt), 500 messages and 2,000
      // recipients an hour per account (limits-abuse.ts says why).
      connectionRatePerIp: 120,
      submissionMessagesPerHour: 500,
      submissionRecipientsPerHour: 2000,
    });
    // CONTRACT.md: greylisting off by default, 5 min when on; the early-talker pause 300 ms.
    assert.deepEqual(config.inbound, {
      greylisting: false,
      greylistDelayMs: 300_000,
      greetPauseMs: 300,
      dmarc: 'enforce',
      dmarcReports: false,
      dnsbl: [],
      trustedNetworks: ['127.0.0.1/32', '::1/128'],
      verifyWorkers: availableParallelism() >= 2 ? 1 : 0,
    });
    assert.deepEqual(config.queue.retryIntervalsMs, [60_000, 300_000, 900_000, 3_600_000, 14_400_000]);
    assert.equal(config.queue.maxAgeMs, 5 * 86_400_000);
    assert.equal(config.queue.maxConnections, 100);
    assert.equal(config.queue.maxConnectionsPerDomain, 10);
    assert.equal(config.queue.delayWarningMs, null); // off unless asked, as Postfix's delay_warning_time
    assert.deepEqual(config.outbound, {
      port: 25,
      sourceAddress: '',
      dnsServers: [],
      routes: {},
      routeAuth: {},
      tlsReports: true,
      tlsRptFrom: '',
    });
  });

  test('the full example of CONTRACT.md', () => {
    const config = parse(`
hostname = "Mail.Example.test"
data_dir = "./var"
[smtp]
listen = ["127.0.0.1:25", "[::1]:25"]
[submission]
listen = []
[tls]
cert = "cert.pem"
key = "/abs/key.pem"
[auth]
allow_loopback_plaintext = false
[limits]
max_message_size = 1000
max_recipients = 5
max_connections = 10
max_connections_per_ip = 2
jmap_workers = 0
mailbox_index_cache = "8M"
header_cache = 0
heap = "node"
login_timeout = "30s"
command_line_timeout = "10s"
mx_session_timeout = "1h"
transfer_grace = "2m"
transfer_min_rate = 1024
[queue]
retry_intervals = ["30s", "2m"]
max_age = "1h"
max_connections = 20
max_connections_per_domain = 3
delay_warning = "4h"
[outbound]
port = 2525
dns_servers = ["1.1.1.1", "::1"]
routes = { "Example.net" = "127.0.0.1:2626" }
`);
    assert.equal(config.hostname, 'mail.example.test');
    assert.equal(config.dataDir, '/etc/mailroom/var');
    assert.deepEqual(config.listeners.smtp, [
      { host: '127.0.0.1', port: 25 },
      { host: '::1', port: 25 },
    ]);
    assert.deepEqual(config.listeners.submission, []);
    assert.deepEqual(config.tls, { certPath: '/etc/mailroom/cert.pem', keyPath: '/abs/key.pem' });
    assert.equal(config.auth.allowLoopbackPlaintext, false);
    assert.equal(config.limits.maxRecipients, 5);
    assert.deepEqual(config.limits.deadlines, {
      loginMs: 30_000,
      commandLineMs: 10_000,
      mxSessionMs: 3_600_000,
      transferGraceMs: 120_000,
      transferMinRate: 1024,
    });
    assert.deepEqual(config.queue.retryIntervalsMs, [30_000, 120_000]);
    assert.equal(config.queue.maxAgeMs, 3_600_000);
    assert.equal(config.queue.maxConnections, 20);
    assert.equal(config.queue.maxConnectionsPerDomain, 3);
    assert.equal(config.queue.delayWarningMs, 4 * 3_600_000);
    assert.equal(config.limits.jmapWorkers, 0);
    assert.equal(config.limits.mailboxIndexCache, 8 * 1024 * 1024);
    assert.equal(config.limits.headerCache, 0, '0 turns the SEARCH header cache off');
    assert.equal(config.limits.heap, 'node');
    assert.deepEqual(config.outbound.routes, { 'example.net': { host: '127.0.0.1', port: 2626 } });
  });

  const errors: [string, string][] = [
    ['[limits]\nmax_recipients = "x"', 'config: limits.max_recipients: expected a positive integer, got "x"'],
    ['[limits]\nmax_recipients = 0', 'config: limits.max_recipients: expected a positive integer, got 0'],
    ['[limits]\nmax_recipients = 1.5', 'config: limits.max_recipients: expected a positive integer, got 1.5'],
    ['[limits]\nmax_recipent = 5', 'config: limits.max_recipent: unknown key'],
    [
      '[limits]\njmap_workers = -1',
      'config: limits.jmap_workers: expected a whole number from 0 to 64, got -1',
    ],
    [
      '[limits]\njmap_workers = 65',
      'config: limits.jmap_workers: expected a whole number from 0 to 64, got 65',
    ],
    [
      '[limits]\nheader_cache = "16 MB"',
      'config: limits.header_cache: expected a size ("16M", "512K", bytes; 0 = off), got "16 MB"',
    ],
    [
      '[limits]\nmailbox_index_cache = -1',
      'config: limits.mailbox_index_cache: expected a size ("16M", "512K", bytes; 0 = off), got -1',
    ],
    ['[limits]\nheap = "tiny"', 'config: limits.heap: expected one of "small", "node", got "tiny"'],
    [
      '[limits]\nlogin_timeout = 60',
      'config: limits.login_timeout: expected a duration string like "30s", "5m", "1h" or "5d", got 60',
    ],
    [
      '[limits]\ntransfer_min_rate = "1k"',
      'config: limits.transfer_min_rate: expected a positive integer (bytes per second), got "1k"',
    ],
    ['colour = "blue"', 'config: colour: unknown key'],
    ['[smpt]\nlisten = []', 'config: smpt: unknown key'],
    [
      '[smtp]\nlisten = ["nope"]',
      'config: smtp.listen[0]: expected "host:port" or "[ipv6]:port", got "nope"',
    ],
    [
      '[smtp]\nlisten = "127.0.0.1:25"',
      'config: smtp.listen: expected an array of "host:port" strings, got "127.0.0.1:25"',
    ],
    [
      '[queue]\nmax_age = "5 days"',
      'config: queue.max_age: expected a duration like "30s", "5m", "1h" or "5d", got "5 days"',
    ],
    [
      '[queue]\nmax_connections_per_domain = 0',
      'config: queue.max_connections_per_domain: expected a positive integer, got 0',
    ],
    [
      '[queue]\ndelay_warning = 4',
      'config: queue.delay_warning: expected a duration string like "30s", "5m", "1h" or "5d", got 4',
    ],
    [
      '[queue]\nretry_intervals = []',
      'config: queue.retry_intervals: expected at least one interval, got an array',
    ],
    [
      '[auth]\nallow_loopback_plaintext = "yes"',
      'config: auth.allow_loopback_plaintext: expected true or false, got "yes"',
    ],
    [
      'hostname = "bad host"',
      'config: hostname: expected a host name (letters, digits, hyphens, dots), got "bad host"',
    ],
    [
      '[tls]\ncert = "c.pem"',
      'config: tls.key: expected both cert and key (or neither, for a self-signed certificate)',
    ],
    ['[outbound]\nport = 70000', 'config: outbound.port: expected a port from 1 to 65535, got 70000'],
    [
      '[outbound]\nsource_address = "mx.a.test"',
      'config: outbound.source_address: expected an IP address, got "mx.a.test"',
    ],
    [
      '[outbound]\ndns_servers = ["dns.example"]',
      'config: outbound.dns_servers[0]: expected an IP address, optionally with a port ("127.0.0.1:5353", "[::1]:5353"), got "dns.example"',
    ],
    [
      '[outbound]\nroutes = { "b.test" = "127.0.0.1:2525" }\n[outbound.route_auth."*"]\nusername = "u"\npassword = "p"',
      'config: outbound.route_auth.*: expected a route "*" in outbound.routes for these credentials, got a table',
    ],
    [
      '[outbound]\nroutes = { "*" = "127.0.0.1:2525" }\n[outbound.route_auth."*"]\npassword = "p"',
      'config: outbound.route_auth.*.username: expected a non-empty string',
    ],
    ['limits = 5', 'config: limits: expected object, got 5'],
  ];
  test('outbound.route_auth: credentials for a route, plaintext AUTH off unless asked for', () => {
    const config = parse(
      '[outbound]\nroutes = { "*" = "127.0.0.1:2525" }\n[outbound.route_auth."*"]\nusername = "relay"\npassword = "pw"',
    );
    assert.deepEqual(config.outbound.routeAuth, {
      '*': { username: 'relay', password: 'pw', allowPlaintextAuth: false },
    });
  });
  for (const [text, message] of errors) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parse(text),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.ok(!error.message.includes('\n'), 'one line');
          if (message.endsWith('got 5') && text === 'limits = 5')
            assert.match(error.message, /^config: limits: /);
          else assert.equal(error.message, message);
          return true;
        },
      );
    });
  }

  test('[metrics] listens on 127.0.0.1:9187 unless turned off; [log] format is json unless "text"', () => {
    assert.deepEqual(parse('').listeners.metrics, [{ host: '127.0.0.1', port: 9187 }]);
    assert.deepEqual(parse('[metrics]\nlisten = []').listeners.metrics, []);
    assert.equal(parse('').log.format, 'json');
    assert.equal(parse('[log]\nformat = "text"').log.format, 'text');
    assert.throws(() => parse('[log]\nformat = "pretty"'), /log\.format: expected "json" or "text"/);
  });

  test('a TOML syntax error names the line, on one line', () => {
    assert.throws(
      () => parse('hostname = "a"\n[limits\n'),
      /: config: line 2, column \d+: invalid TOML: illegal character in key$/,
    );
  });
});

describe('loadConfig', () => {
  test('--config, then MAILROOM_CONFIG, then ./mailroom.toml, else defaults; paths relative to the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-config-'));
    try {
      const base = { cwd: dir, env: {}, defaultHostname: 'h.test' };
      assert.equal(findConfigFile(base), null);
      assert.equal(loadConfig(base).dataDir, join(dir, 'data'));
      assert.equal(loadConfig(base).configPath, null);

      writeFileSync(join(dir, 'mailroom.toml'), 'data_dir = "d1"\n');
      assert.equal(loadConfig(base).dataDir, join(dir, 'd1'));

      writeFileSync(join(dir, 'other.toml'), 'data_dir = "d2"\n');
      assert.equal(loadConfig({ ...base, env: { MAILROOM_CONFIG: 'other.toml' } }).dataDir, join(dir, 'd2'));
      assert.equal(
        loadConfig({
          ...base,
          configPath: join(dir, 'mailroom.toml'),
          env: { MAILROOM_CONFIG: 'other.toml' },
        }).dataDir,
        join(dir, 'd1'),
      );
      assert.throws(
        () => loadConfig({ ...base, configPath: 'missing.toml' }),
        /: config: cannot read .*missing\.toml: ENOENT$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('[inbound] and the abuse limits (issue 10)', () => {
  test('greet_pause takes ms or s up to 10 s, or "0"; greylisting keys; limits take 0 for none', () => {
    const config = parse(
      '[inbound]\ngreylisting = true\ngreylist_delay = "2m"\ngreet_pause = "1s"\n' +
        '[limits]\nconnection_rate_per_ip = 0\nsubmission_messages_per_hour = 10\nsubmission_recipients_per_hour = 0\n',
    );
    assert.deepEqual(config.inbound, {
      greylisting: true,
      greylistDelayMs: 120_000,
      greetPauseMs: 1000,
      dmarc: 'enforce',
      dmarcReports: false,
      dnsbl: [],
      trustedNetworks: ['127.0.0.1/32', '::1/128'],
      verifyWorkers: availableParallelism() >= 2 ? 1 : 0,
    });
    assert.equal(config.limits.connectionRatePerIp, 0);
    assert.equal(config.limits.submissionMessagesPerHour, 10);
    assert.equal(config.limits.submissionRecipientsPerHour, 0);
    for (const [text, ms] of [
      ['"0"', 0],
      ['"300ms"', 300],
      ['"10s"', 10_000],
    ] as const) {
      const c = parse(`[inbound]\ngreet_pause = ${text}\n`);
      assert.equal(c.inbound.greetPauseMs, ms);
    }
    for (const bad of ['"11s"', '"5m"', '"-1s"', '300', '"0ms5"']) {
      assert.throws(() => parse(`[inbound]\ngreet_pause = ${bad}\n`), /inbound\.greet_pause/, bad);
    }
    assert.throws(() => parse('[limits]\nconnection_rate_per_ip = -1\n'), /connection_rate_per_ip/);
  });
});
