// The Received header (RFC 5321 4.4) and its with-protocol (RFC 3848, RFC 6531 3.7.3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReceivedHeader, withProtocol } from '../../../src/mail/received-header.js';

const base = {
  heloName: 'client.example',
  remoteAddress: '192.0.2.1',
  hostname: 'mx.example.test',
  greeting: 'EHLO' as const,
  secure: false,
  authenticated: false,
  smtpUtf8: false,
  queueId: 'Q1',
  date: new Date(Date.UTC(2026, 10, 24, 10, 5, 9)),
};

test('plain ESMTP, no recipient named', () => {
  assert.equal(
    buildReceivedHeader(base),
    'Received: from client.example ([192.0.2.1])\r\n\tby mx.example.test (Mailroom) with ESMTP id Q1;\r\n\tTue, 24 Nov 2026 10:05:09 +0000\r\n',
  );
});

test('TLS details in a comment, one recipient, IPv6 literal, hostile HELO name sanitised', () => {
  const h = buildReceivedHeader({
    ...base,
    heloName: 'evil\r\nX-Injected: 1',
    remoteAddress: '2001:db8::1',
    secure: true,
    authenticated: true,
    tlsProtocol: 'TLSv1.3',
    tlsCipher: 'TLS_AES_256_GCM_SHA384',
    recipient: 'bob@example.test',
  });
  assert.equal(
    h,
    'Received: from evil??X-Injected:?1 ([IPv6:2001:db8::1])\r\n\tby mx.example.test (Mailroom) with ESMTPSA id Q1\r\n' +
      '\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384)\r\n\tfor <bob@example.test>;\r\n\tTue, 24 Nov 2026 10:05:09 +0000\r\n',
  );
});

test('with-protocol table', () => {
  const rows: [Parameters<typeof withProtocol>[0], string][] = [
    [{ greeting: 'HELO', secure: true, authenticated: true, smtpUtf8: false }, 'SMTP'],
    [{ greeting: 'EHLO', secure: false, authenticated: false, smtpUtf8: false }, 'ESMTP'],
    [{ greeting: 'EHLO', secure: true, authenticated: false, smtpUtf8: false }, 'ESMTPS'],
    [{ greeting: 'EHLO', secure: false, authenticated: true, smtpUtf8: false }, 'ESMTPA'],
    [{ greeting: 'EHLO', secure: true, authenticated: true, smtpUtf8: false }, 'ESMTPSA'],
    [{ greeting: 'EHLO', secure: true, authenticated: true, smtpUtf8: true }, 'UTF8SMTPSA'],
    [{ greeting: 'EHLO', secure: false, authenticated: false, smtpUtf8: true }, 'UTF8SMTP'],
  ];
  for (const [info, expected] of rows) assert.equal(withProtocol(info), expected);
});
