// [acme] keys (issue 11, RFC 8555): absent means no ACME; hostname first in domains; the challenge chosen from the listeners; one line per mistake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../../src/config/load.js';

const parse = (text: string) =>
  parseConfigText(text, {
    configPath: '/etc/mailroom.toml',
    baseDir: '/etc',
    defaultHostname: 'mail.example.test',
  });
const DIR = 'directory = "https://acme.example/dir"';

test('absent: no ACME, the self-signed certificate as before', () => {
  const config = parse('');
  assert.equal(config.acme, null);
  assert.equal(config.tls, null);
});

test('hostname always first in domains, lower case, once; ca_file resolved from the config folder', () => {
  const config = parse(
    `[acme]\n${DIR}\nemail = "admin@example.test"\ndomains = ["IMAP.example.test", "mail.example.test"]\nca_file = "ca.pem"\n`,
  );
  assert.deepEqual(config.acme, {
    directory: 'https://acme.example/dir',
    email: 'admin@example.test',
    domains: ['mail.example.test', 'imap.example.test'],
    challenges: ['http-01', 'tls-alpn-01'],
    caFile: '/etc/ca.pem',
  });
});

test('challenges: the listener on its standard port first (HTTP-01 on 80, TLS-ALPN-01 on 443); only those that are on', () => {
  const rows: [string, string[]][] = [
    ['[http]\nlisten = ["0.0.0.0:80"]\n[https]\nlisten = ["0.0.0.0:443"]\n', ['http-01', 'tls-alpn-01']],
    ['[http]\nlisten = ["127.0.0.1:8080"]\n[https]\nlisten = ["0.0.0.0:443"]\n', ['tls-alpn-01', 'http-01']],
    ['[http]\nlisten = []\n[https]\nlisten = ["0.0.0.0:443"]\n', ['tls-alpn-01']],
    ['[https]\nlisten = []\n', ['http-01']],
    [
      '[http]\nlisten = ["0.0.0.0:80"]\n[https]\nlisten = ["0.0.0.0:443"]\n[acme]\nchallenge = "tls-alpn-01"\n',
      ['tls-alpn-01'],
    ],
  ];
  for (const [listeners, expected] of rows) {
    const text = listeners.includes('[acme]')
      ? listeners.replace('[acme]\n', `[acme]\n${DIR}\n`)
      : `${listeners}[acme]\n${DIR}\n`;
    assert.deepEqual(parse(text).acme?.challenges, expected, listeners);
  }
});

test('one line for each mistake', () => {
  const rows: [string, RegExp][] = [
    ['[acme]\nemail = "a@b.test"\n', /^config: acme\.directory: expected the https:\/\/ URL/],
    [
      '[acme]\ndirectory = "http://acme.example/dir"\n',
      /^config: acme\.directory: expected the https:\/\/ URL/,
    ],
    [`[acme]\n${DIR}\nemail = "not an address"\n`, /^config: acme\.email: expected an address/],
    [`[acme]\n${DIR}\ndomains = ["bad name!"]\n`, /^config: acme\.domains\[0\]: expected a host name/],
    [
      `[acme]\n${DIR}\nchallenge = "dns-01"\n`,
      /^config: acme\.challenge: expected one of "http-01", "tls-alpn-01"/,
    ],
    [`[acme]\n${DIR}\nrenew = true\n`, /^config: acme\.renew: unknown key/],
    [
      `[http]\nlisten = []\n[https]\nlisten = []\n[acme]\n${DIR}\n`,
      /^config: acme: needs the \[http\] listener/,
    ],
    [
      `[http]\nlisten = []\n[acme]\n${DIR}\nchallenge = "http-01"\n`,
      /^config: acme\.challenge: "http-01" needs the \[http\] listener on/,
    ],
  ];
  for (const [text, pattern] of rows) {
    assert.throws(
      () => parse(text),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
      text,
    );
  }
});
