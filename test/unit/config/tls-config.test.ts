// [tls] keys: cert/key both or neither, ciphers and min_version with their defaults (issue 8 item 8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../../src/config/load.js';
import { DEFAULT_TLS_CIPHERS } from '../../../src/config/limits.js';

const parse = (text: string) =>
  parseConfigText(text, { configPath: '/etc/mailroom.toml', baseDir: '/etc', defaultHostname: 'h.test' });

test('defaults: ECDHE + AEAD for TLS 1.2 (no AES128-SHA, no CBC), TLS 1.2 minimum', () => {
  const config = parse('');
  assert.equal(config.tls, null);
  assert.deepEqual(config.tlsPolicy, { ciphers: DEFAULT_TLS_CIPHERS, minVersion: 'TLSv1.2' });
  for (const suite of DEFAULT_TLS_CIPHERS.split(':')) {
    assert.match(suite, /^(TLS_|ECDHE-(RSA|ECDSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$)/);
  }
});

test('ciphers and min_version without cert/key keep the self-signed certificate', () => {
  const config = parse('[tls]\nciphers = "HIGH"\nmin_version = "TLSv1.3"\n');
  assert.equal(config.tls, null);
  assert.deepEqual(config.tlsPolicy, { ciphers: 'HIGH', minVersion: 'TLSv1.3' });
  const both = parse('[tls]\ncert = "c.pem"\nkey = "k.pem"\n');
  assert.deepEqual(both.tls, { certPath: '/etc/c.pem', keyPath: '/etc/k.pem' });
});

test('one line for each mistake', () => {
  const rows: [string, RegExp][] = [
    ['[tls]\ncert = "c.pem"\n', /^config: tls\.key: expected both cert and key/],
    ['[tls]\nkey = "k.pem"\n', /^config: tls\.cert: expected both cert and key/],
    ['[tls]\nmin_version = "SSLv3"\n', /^config: tls\.min_version: expected one of "TLSv1", .*got "SSLv3"/],
    ['[tls]\nciphers = ""\n', /^config: tls\.ciphers: expected a non-empty cipher list/],
    ['[tls]\nciphers = 5\n', /^config: tls\.ciphers: expected an OpenSSL cipher list string/],
  ];
  for (const [text, pattern] of rows) {
    assert.throws(
      () => parse(text),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
      text,
    );
  }
});
