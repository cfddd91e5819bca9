// ACME challenge answers: HTTP-01 tokens (RFC 8555 8.3) and the TLS-ALPN-01 choice of protocol and certificate (RFC 8737 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import { makeSelfSigned } from '../../../src/net/tls.js';
import { ACME_HTTP_PATH, AcmeChallenges } from '../../../src/acme/challenges.js';

const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA'; // RFC 8555 8.3's example token

test('HTTP-01: the key authorization for a pending token; nothing for others, for path tricks or after removal', () => {
  const c = new AcmeChallenges();
  c.addHttp(TOKEN, `${TOKEN}.thumbprint`);
  const rows: [string, string | null][] = [
    [`${ACME_HTTP_PATH}${TOKEN}`, `${TOKEN}.thumbprint`],
    [`${ACME_HTTP_PATH}other-token`, null],
    [`${ACME_HTTP_PATH}`, null],
    [`${ACME_HTTP_PATH}../${TOKEN}`, null],
    [`${ACME_HTTP_PATH}${TOKEN}/x`, null],
    [`/jmap/${TOKEN}`, null],
  ];
  for (const [path, expected] of rows) assert.equal(c.httpAnswer(path), expected, path);
  c.removeHttp(TOKEN);
  assert.equal(c.httpAnswer(`${ACME_HTTP_PATH}${TOKEN}`), null);
});

test('TLS-ALPN-01: acme-tls/1 for a pending name gets the challenge certificate; other names are refused; http/1.1 as before', async () => {
  const c = new AcmeChallenges();
  const pair = await makeSelfSigned('mail.example.test', new Date());
  c.addAlpn('Mail.Example.Test', pair.cert, pair.key);
  const given: unknown[] = [];
  const socket = { setKeyCert: (context: unknown) => given.push(context) } as unknown as TLSSocket;
  assert.equal(
    c.alpnCallback(socket, { servername: 'mail.example.test', protocols: ['acme-tls/1'] }),
    'acme-tls/1',
  );
  assert.equal(given.length, 1, 'the challenge certificate is set on that handshake');
  assert.equal(
    c.alpnCallback(socket, { servername: 'other.example.test', protocols: ['acme-tls/1'] }),
    undefined,
  );
  assert.equal(
    c.alpnCallback(socket, { servername: 'mail.example.test', protocols: ['h2', 'http/1.1'] }),
    'http/1.1',
  );
  assert.equal(c.alpnCallback(socket, { servername: 'mail.example.test', protocols: ['h2'] }), undefined);
  assert.equal(given.length, 1, 'ordinary handshakes keep the listener certificate');
  c.removeAlpn('mail.example.test');
  assert.equal(
    c.alpnCallback(socket, { servername: 'mail.example.test', protocols: ['acme-tls/1'] }),
    undefined,
  );
});
