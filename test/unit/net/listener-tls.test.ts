// Listeners on port 0 (limits with a 421 refusal, implicit TLS, shutdown) and TLS material (self-signed once, reused).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { generate } from 'selfsigned';
import { listen } from '../../../src/net/listener.js';
import { loadTls, type TlsMaterial } from '../../../src/net/tls.js';

const REFUSAL = '421 4.7.0 <mx.test> Too many connections, try later\r\n';
let dir: string;
let material: TlsMaterial;
const now = new Date('2026-01-01T00:00:00Z');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-net-'));
  material = await loadTls({ configured: null, dataDir: dir, hostname: 'mx.test', now });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Connects and collects everything the server sends until it closes. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((done) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => done(text));
  });
}
function connected(socket: Socket, event = 'connect'): Promise<void> {
  return new Promise((done, fail) => {
    socket.once(event, () => done());
    socket.once('error', fail);
  });
}

describe('tls', () => {
  test('self-signed pair made in data_dir/tls for the hostname, key mode 0600, TLS 1.2 minimum', () => {
    assert.equal(material.selfSigned, true);
    assert.equal(material.keyPath, join(dir, 'tls', 'key.pem'));
    assert.equal(statSync(material.keyPath).mode & 0o777, 0o600);
    const x509 = new X509Certificate(material.serverOptions.cert as string);
    assert.equal(x509.checkHost('mx.test'), 'mx.test');
    assert.equal(material.serverOptions.minVersion, 'TLSv1.2');
  });

  test('reused on the next start; replaced when the hostname changes', async () => {
    const again = await loadTls({ configured: null, dataDir: dir, hostname: 'mx.test', now });
    assert.equal(again.serverOptions.cert, material.serverOptions.cert);
    const other = mkdtempSync(join(tmpdir(), 'mailroom-net2-'));
    try {
      const first = await loadTls({ configured: null, dataDir: other, hostname: 'a.test', now });
      const renamed = await loadTls({ configured: null, dataDir: other, hostname: 'b.test', now });
      assert.notEqual(renamed.serverOptions.cert, first.serverOptions.cert);
      assert.equal(new X509Certificate(renamed.serverOptions.cert as string).checkHost('b.test'), 'b.test');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  test('self-signed names hostname, localhost and the loopback addresses (clients on the host need no override)', () => {
    const x509 = new X509Certificate(material.serverOptions.cert as string);
    assert.equal(x509.checkHost('localhost'), 'localhost');
    assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x509.checkIP('::1'), '::1');
    assert.match(
      x509.subjectAltName ?? '',
      /DNS:mx\.test, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:(::1|0:0:0:0:0:0:0:1)/,
    );
  });

  test('a self-signed pair of an older version (hostname only) is replaced; a configured one never is', async () => {
    const old = mkdtempSync(join(tmpdir(), 'mailroom-net3-'));
    try {
      // What makeSelfSigned made before issue 11: one dNSName.
      const pems = await generate([{ name: 'commonName', value: 'mx.test' }], {
        keyType: 'rsa',
        keySize: 2048,
        algorithm: 'sha256',
        notBeforeDate: new Date(now.getTime() - 3_600_000),
        notAfterDate: new Date(now.getTime() + 400 * 86_400_000),
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'mx.test' }] }],
      });
      mkdirSync(join(old, 'tls'), { mode: 0o700 });
      writeFileSync(join(old, 'tls', 'cert.pem'), pems.cert, { mode: 0o600 });
      writeFileSync(join(old, 'tls', 'key.pem'), pems.private, { mode: 0o600 });
      const configured = await loadTls({
        configured: { certPath: join(old, 'tls', 'cert.pem'), keyPath: join(old, 'tls', 'key.pem') },
        dataDir: old,
        hostname: 'mx.test',
        now,
      });
      assert.equal(configured.serverOptions.cert, pems.cert, 'a [tls] certificate is used as given');
      const upgraded = await loadTls({ configured: null, dataDir: old, hostname: 'mx.test', now });
      assert.notEqual(upgraded.serverOptions.cert, pems.cert);
      assert.equal(
        new X509Certificate(upgraded.serverOptions.cert as string).checkIP('127.0.0.1'),
        '127.0.0.1',
      );
      assert.equal(readFileSync(join(old, 'tls', 'cert.pem'), 'utf8'), upgraded.serverOptions.cert);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  test('configured files: used as given; missing or garbage gives one clear line', async () => {
    const given = await loadTls({
      configured: { certPath: material.certPath, keyPath: material.keyPath },
      dataDir: '/nonexistent',
      hostname: 'x.test',
      now,
    });
    assert.equal(given.selfSigned, false);
    await assert.rejects(
      loadTls({
        configured: { certPath: join(dir, 'nope.pem'), keyPath: material.keyPath },
        dataDir: dir,
        hostname: 'x',
        now,
      }),
      /^MailroomError: tls\.cert: cannot read .*nope\.pem: ENOENT$/,
    );
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    await assert.rejects(
      loadTls({
        configured: { certPath: junk, keyPath: material.keyPath },
        dataDir: dir,
        hostname: 'x',
        now,
      }),
      // Checked before use (issue 8 item 8): the line says which file holds what is wrong.
      (error: Error) => /^tls\.cert: .*junk\.pem holds no PEM certificate$/.test(error.message),
    );
  });
});

describe('listener', () => {
  test('admits up to the per-IP limit, refuses the next with the given line, frees slots on close', async () => {
    const refused: string[] = [];
    const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
      maxConnections: 10,
      maxConnectionsPerIp: 2,
      refusal: REFUSAL,
      onConnection: (socket) => socket.write('220 hi\r\n'),
      onRefused: (info) => refused.push(info.reason),
    });
    const port = listener.addresses[0]!.port;
    assert.ok(port > 0);
    const a = netConnect(port, '127.0.0.1');
    const b = netConnect(port, '127.0.0.1');
    await Promise.all([connected(a), connected(b)]);
    const c = netConnect(port, '127.0.0.1');
    assert.equal(await readAll(c), REFUSAL);
    assert.deepEqual(refused, ['per-ip']);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(listener.sockets.size, 2);
    a.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const d = netConnect(port, '127.0.0.1');
    const got = readAll(d);
    await connected(d);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(listener.sockets.size, 2);

    await listener.stopAccepting();
    const e = netConnect(port, '127.0.0.1');
    await assert.rejects(connected(e), /ECONNREFUSED/);
    listener.destroyAll();
    assert.match(await got, /^220 hi\r\n$/);
    b.destroy();
  });

  test('the per-listener total cap refuses too', async () => {
    const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
      maxConnections: 1,
      maxConnectionsPerIp: 5,
      refusal: REFUSAL,
      onConnection: () => undefined,
    });
    const port = listener.addresses[0]!.port;
    const a = netConnect(port, '127.0.0.1');
    await connected(a);
    assert.equal(await readAll(netConnect(port, '127.0.0.1')), REFUSAL);
    await listener.stopAccepting();
    listener.destroyAll();
  });

  test('implicit TLS: handshake first, then the connection; TLS 1.1 refused', async () => {
    const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
      tls: material.serverOptions,
      maxConnections: 1,
      maxConnectionsPerIp: 1,
      refusal: REFUSAL,
      onConnection: (socket) => socket.end('220 secure\r\n'),
    });
    const port = listener.addresses[0]!.port;
    const open = (maxVersion?: 'TLSv1.1') =>
      tlsConnect({
        port,
        host: '127.0.0.1',
        rejectUnauthorized: false,
        servername: 'mx.test',
        ...(maxVersion ? { maxVersion, minVersion: 'TLSv1' } : {}),
      });
    const first = open();
    assert.equal(await readAll(first), '220 secure\r\n');
    // TLS 1.1 is refused at the handshake (RFC 8996).
    const old = open('TLSv1.1');
    await assert.rejects(connected(old, 'secureConnect'));
    await listener.stopAccepting();
    listener.destroyAll();
  });

  test('implicit TLS: limits count a connection from accept, so one address cannot hold every slot in its handshake', async (t) => {
    const refused: string[] = [];
    const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
      tls: material.serverOptions,
      maxConnections: 3,
      maxConnectionsPerIp: 2,
      refusal: REFUSAL,
      onConnection: (socket) => socket.end('220 secure\r\n'),
      onRefused: (info) => refused.push(info.reason),
    });
    const port = listener.addresses[0]!.port;
    // 100 connections that never start TLS. Counted only after their handshake, they held every slot a
    // TLS server has (maxConnections + slack = 67) until its 30 s handshake deadline.
    const hogs = Array.from({ length: 100 }, () => netConnect(port, '127.0.0.1'));
    for (const h of hogs) h.on('error', () => undefined);
    t.after(() => {
      for (const h of hogs) h.destroy();
      listener.destroyAll();
      void listener.stopAccepting();
    });
    await Promise.all(hogs.map((h) => connected(h)));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(listener.sockets.size, 2, 'two admitted: the per-IP limit');
    assert.equal(refused.length, 64, 'the others refused, up to the refusals in progress at once');
    // Another address (tls.connect's types have no localAddress: the TCP socket is made first).
    const other = tlsConnect({
      socket: netConnect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }),
      rejectUnauthorized: false,
      servername: 'mx.test',
    });
    assert.equal(await readAll(other), '220 secure\r\n');
    for (const h of hogs) h.destroy();
    await listener.stopAccepting();
    listener.destroyAll();
  });

  test('implicit TLS: a refusal is said inside TLS; a refused peer that never handshakes is closed after 5 s', async (t) => {
    const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
      tls: material.serverOptions,
      maxConnections: 5,
      maxConnectionsPerIp: 1,
      refusal: REFUSAL,
      onConnection: (socket) => socket.write('220 secure\r\n'),
    });
    assert.equal(listener.acceptHandles, 16, 'a TLS listener gets the extra accept handles too');
    t.after(() => {
      listener.destroyAll();
      void listener.stopAccepting();
    });
    const port = listener.addresses[0]!.port;
    const open = () =>
      tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, servername: 'mx.test' });
    const first = open();
    await new Promise<void>((resolve) => first.once('data', () => resolve()));
    assert.equal(await readAll(open()), REFUSAL, 'the second from the address is told why, encrypted');
    const silent = netConnect(port, '127.0.0.1');
    await connected(silent);
    const started = Date.now();
    assert.equal(await readAll(silent), '');
    const waited = Date.now() - started;
    assert.ok(waited >= 4_000 && waited < 8_000, `closed after ${waited} ms`);
    first.destroy();
    await listener.stopAccepting();
    listener.destroyAll();
  });

  test('implicit TLS: a failed handshake frees its per-IP slot', async () => {
    const failures: string[] = [];
    const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
      tls: material.serverOptions,
      maxConnections: 5,
      maxConnectionsPerIp: 1,
      refusal: REFUSAL,
      onConnection: (socket) => socket.end('220 secure\r\n'),
      onRefused: (info) => failures.push(info.reason),
    });
    const port = listener.addresses[0]!.port;
    const garbage = netConnect(port, '127.0.0.1');
    await connected(garbage);
    garbage.write('EHLO not-tls.test\r\n');
    await readAll(garbage);
    assert.deepEqual(failures, ['tls-handshake']);
    await new Promise((r) => setTimeout(r, 20));
    const next = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, servername: 'mx.test' });
    assert.equal(await readAll(next), '220 secure\r\n');
    await listener.stopAccepting();
    listener.destroyAll();
  });

  test('a port in use fails with one line naming the address', async () => {
    const first = await listen([{ host: '127.0.0.1', port: 0 }], {
      maxConnections: 1,
      maxConnectionsPerIp: 1,
      refusal: REFUSAL,
      onConnection: () => undefined,
    });
    const port = first.addresses[0]!.port;
    await assert.rejects(
      listen([{ host: '127.0.0.1', port }], {
        maxConnections: 1,
        maxConnectionsPerIp: 1,
        refusal: REFUSAL,
        onConnection: () => undefined,
      }),
      { code: 'LISTEN_FAILED', message: `cannot listen on 127.0.0.1:${port}: EADDRINUSE` },
    );
    await first.stopAccepting();
  });
});
