// ACME (issue 11, RFC 8555) against Debian's pebble on loopback: a certificate issued over HTTP-01, renewed at two thirds of its life and swapped in live while a TLS session goes on; TLS-ALPN-01 (RFC 8737) on [https].
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { startDnsFixture } from '../helpers/dns-fixture.js';
import { RawImap } from '../helpers/imap-raw.js';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';

const HOST = 'mail.example.test';
const USER = 'ann@example.test';
const PASSWORD = 'acme-password-1';

/** Waits for the n-th line (1-based) containing `event`; returns it. */
async function waitFor(
  instance: MailroomInstance,
  event: string,
  nth = 1,
  timeoutMs = 20_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const lines = instance.output.filter((l) => l.includes(`"event":"${event}"`));
    if (lines.length >= nth) return lines[nth - 1]!;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`no ${event} #${nth}:\n${instance.output.slice(-30).join('\n')}`);
}

/** The certificate a new TLS handshake on `port` sees (for HOST, via SNI). */
function peerCertificate(port: number): Promise<PeerCertificate> {
  return new Promise((done, fail) => {
    const socket: TLSSocket = tlsConnect(
      { host: '127.0.0.1', port, servername: HOST, rejectUnauthorized: false },
      () => {
        const cert = socket.getPeerCertificate();
        socket.destroy();
        done(cert);
      },
    );
    socket.once('error', fail);
  });
}

/** The certificate an SMTP STARTTLS upgrade on `port` sees. */
async function starttlsCertificate(port: number): Promise<PeerCertificate> {
  const mx = await RawImap.open(port); // reads the 220 greeting
  const reply = async (command: string): Promise<string> => {
    mx.write(`${command}\r\n`);
    for (;;) {
      const line = await mx.line();
      if (!/^\d{3}-/.test(line)) return line;
    }
  };
  assert.match(await reply('EHLO client.example'), /^250 /);
  assert.match(await reply('STARTTLS'), /^220 /);
  const upgraded = tlsConnect({ socket: mx.socket, servername: HOST, rejectUnauthorized: false });
  await once(upgraded, 'secureConnect');
  const cert = upgraded.getPeerCertificate();
  upgraded.destroy();
  return cert;
}

/** Each resource is registered for cleanup as soon as it exists, so a start that fails leaves nothing running. */
async function startWithAcme(
  cleanups: (() => Promise<unknown>)[],
  validitySeconds: number,
  acmeToml: (pebble: Pebble) => string,
  enable: ('imaps' | 'http' | 'https')[],
): Promise<MailroomInstance> {
  const dns = await startDnsFixture({ [HOST]: { a: ['127.0.0.1'] } });
  cleanups.push(() => dns.close());
  const instance = await createMailroom({ hostname: HOST, enable });
  cleanups.push(() => instance.cleanup());
  const pebble = await startPebble({
    httpPort: instance.ports.http ?? 9,
    tlsPort: instance.ports.https ?? 9,
    dnsServer: dns.address,
    validitySeconds,
  });
  cleanups.unshift(() => pebble.stop());
  appendFileSync(instance.configPath, `\n[acme]\n${acmeToml(pebble)}\n`);
  if (enable.includes('imaps')) {
    instance.cli(['domain', 'add', 'example.test']);
    instance.cli(['user', 'add', USER, '--password', PASSWORD]);
  }
  await instance.start();
  return instance;
}

async function cleanUp(cleanups: (() => Promise<unknown>)[]): Promise<void> {
  for (const run of cleanups.splice(0).reverse()) await run();
}

describe('ACME over HTTP-01 against pebble: issue, renew, live swap', () => {
  let instance: MailroomInstance;
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    // 6 s certificates: renewed 4 s after issue (two thirds), so the test sees a renewal.
    instance = await startWithAcme(
      cleanups,
      6,
      (p) => `directory = "${p.directory}"\nemail = "admin@example.test"\nca_file = "${p.caFile}"`,
      ['imaps', 'http'],
    );
  });
  after(() => cleanUp(cleanups));

  test('a certificate is issued and served on IMAPS and SMTP; renewed and swapped live; an open session goes on', async () => {
    const issued = JSON.parse(await waitFor(instance, 'acme-issued')) as {
      domains: string[];
      renewAt: string;
    };
    assert.deepEqual(issued.domains, [HOST]);
    const first = await peerCertificate(instance.ports.imaps!);
    assert.match(String(first.issuer.CN), /^Pebble Intermediate CA/);
    assert.match(first.subjectaltname ?? '', new RegExp(`DNS:${HOST}`));
    // Implicit TLS on submissions too (the SMTP listeners take it the same way).
    assert.equal((await peerCertificate(instance.ports.submissions)).serialNumber, first.serialNumber);
    // Stored private to the server's user, like the self-signed pair.
    for (const name of ['cert.pem', 'key.pem', 'account-key.pem']) {
      assert.equal(statSync(join(instance.dataDir, 'acme', name)).mode & 0o777, 0o600, name);
    }

    const session = await RawImap.open(instance.ports.imaps!, true);
    assert.equal((await session.command(`LOGIN ${USER} ${PASSWORD}`)).status, 'OK');
    const oldSerial = (session.socket as TLSSocket).getPeerCertificate().serialNumber;
    assert.equal(oldSerial, first.serialNumber);

    await waitFor(instance, 'acme-renewed');
    const renewed = await peerCertificate(instance.ports.imaps!);
    assert.match(String(renewed.issuer.CN), /^Pebble Intermediate CA/);
    assert.notEqual(renewed.serialNumber, oldSerial, 'new handshakes see the renewed certificate');
    // The session opened before the swap keeps working on its own handshake.
    assert.equal((await session.command('SELECT INBOX')).status, 'OK');
    assert.equal((await session.command('NOOP')).status, 'OK');
    session.socket.destroy();
    // SMTP STARTTLS (RFC 3207) after the swap gets the renewed certificate too.
    assert.equal((await starttlsCertificate(instance.ports.smtp)).serialNumber, renewed.serialNumber);
    // No restart: the one process did all of it; and it still stops cleanly (no ACME timer holds it).
    assert.equal(instance.output.filter((l) => l.includes('"msg":"ready"')).length, 1);
    assert.equal(await instance.kill('SIGTERM'), 0);
  });
});

describe('ACME over TLS-ALPN-01 (RFC 8737) on [https] against pebble', () => {
  let instance: MailroomInstance;
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    instance = await startWithAcme(
      cleanups,
      3600,
      (p) => `directory = "${p.directory}"\nchallenge = "tls-alpn-01"\nca_file = "${p.caFile}"`,
      ['https'],
    );
  });
  after(() => cleanUp(cleanups));

  test('the acme-tls/1 handshake is answered and the certificate issued, then served on [https]', async () => {
    await waitFor(instance, 'acme-issued');
    const served = await peerCertificate(instance.ports.https!);
    assert.match(String(served.issuer.CN), /^Pebble Intermediate CA/);
  });
});
