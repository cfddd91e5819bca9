// The SMTP server over real sockets: serveSmtpConnection on port 0 with fake services, driven by raw sockets and nodemailer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import nodemailer from 'nodemailer';
import { generate } from 'selfsigned';
import { serveSmtpConnection, type SmtpTimeouts } from '../../src/smtp/server/connection.js';
import { silentLogger } from '../../src/observability/logger.js';
import { fakeServices, testPolicy } from '../helpers/smtp-fakes.js';
import type { SmtpPolicy } from '../../src/smtp/server/services.js';

let secureContext: tls.SecureContext;

before(async () => {
  const pems = await generate([{ name: 'commonName', value: 'mx.foo.com' }], { keySize: 2048 });
  secureContext = tls.createSecureContext({ key: pems.private, cert: pems.cert });
});

const servers: net.Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function startServer(policy: Partial<SmtpPolicy> = {}, timeouts: Partial<SmtpTimeouts> = {}) {
  const services = fakeServices();
  const server = net.createServer((socket) =>
    serveSmtpConnection(socket, {
      policy: testPolicy({ tlsAvailable: true, allowLoopbackPlaintext: false, ...policy }),
      services,
      logger: silentLogger(),
      secureContext,
      timeouts,
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return { port: (server.address() as net.AddressInfo).port, services };
}

/** A raw client: collects everything the server says; `until` waits for text matching a pattern. */
function client(socket: net.Socket) {
  let received = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    received += d.toString('utf8');
    waiters.splice(0).forEach((w) => w());
  };
  socket.on('data', onData);
  const closed = once(socket, 'close');
  return {
    socket,
    get text() {
      return received;
    },
    send: (s: string) => socket.write(s),
    async until(pattern: RegExp, timeoutMs = 3000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(received)) {
        if (Date.now() > deadline)
          throw new Error(`timeout waiting for ${pattern}; got ${JSON.stringify(received)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return received;
    },
    closed,
    detach: () => socket.removeListener('data', onData),
  };
}

async function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return client(socket);
}

describe('SMTP server over sockets', () => {
  test('pipelining: a whole transaction in one write, replies in order, message delivered', async () => {
    const { port, services } = await startServer();
    const c = await connect(port);
    await c.until(/^220 /);
    c.send(
      'EHLO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nRCPT TO:<green@foo.com>\r\nDATA\r\n' +
        'Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n',
    );
    await c.closed;
    const codes = c.text
      .split('\r\n')
      .filter((l) => /^\d{3} /.test(l))
      .map((l) => l.slice(0, 3));
    assert.deepEqual(codes, ['220', '250', '250', '250', '550', '354', '250', '221']);
    assert.equal(services.bodies[0], 'Subject: hi\r\n\r\n.dot\r\n');
  });

  test('BDAT chunks split across writes', async () => {
    const { port, services } = await startServer();
    const c = await connect(port);
    c.send('EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nBDAT 10\r\n01234');
    await new Promise((r) => setTimeout(r, 30));
    c.send('56789BDAT 3 LAST\r\nabc');
    await c.until(/queued as Q1/);
    assert.equal(services.bodies[0], '0123456789abc');
    c.send('QUIT\r\n');
    await c.closed;
  });

  test('STARTTLS: commands pipelined before the handshake are discarded; then AUTH works over TLS', async () => {
    const { port, services } = await startServer({ requireAuth: true });
    const c = await connect(port);
    await c.until(/^220 /);
    c.send('EHLO c\r\n');
    await c.until(/250 HELP/);
    c.send('STARTTLS\r\nRSET\r\nMAIL FROM:<a@b.example>\r\n');
    await c.until(/220 2\.0\.0 Ready to start TLS\r\n/);
    c.detach();
    assert.ok(!/Reset OK|Sender OK|503|530/.test(c.text), 'nothing after STARTTLS was run: ' + c.text);
    const secure = tls.connect({ socket: c.socket, rejectUnauthorized: false });
    await once(secure, 'secureConnect');
    const s = client(secure);
    s.send('RSET\r\n');
    await s.until(/^250 Reset OK\r\n/); // no enhanced codes: pre-EHLO state again (RFC 3207 4.2)
    s.send('EHLO c\r\n');
    const ehlo = await s.until(/250 HELP/);
    assert.ok(!ehlo.includes('STARTTLS') && ehlo.includes('AUTH PLAIN LOGIN'));
    s.send(`AUTH PLAIN ${Buffer.from('\0alice@example.test\0alice-secret').toString('base64')}\r\n`);
    await s.until(/235 2\.7\.0/);
    s.send('MAIL FROM:<alice@example.test>\r\nRCPT TO:<x@remote.example>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n');
    await s.closed;
    assert.match(s.text, /queued as Q1/);
    assert.deepEqual(services.delivered[0]?.remote, [{ address: 'x@remote.example' }]);
    assert.match(
      services.delivered[0]?.traceHeaders ?? '',
      /with ESMTPSA id Q1\r\n\t\(version=TLSv1\.[23] cipher=/,
    );
  });

  test('command timeout: 421 4.4.2 and close', async () => {
    const { port } = await startServer({}, { command: 100 });
    const c = await connect(port);
    await c.closed;
    assert.match(c.text, /^220 [^\r]*\r\n421 mx\.foo\.com timeout/);
  });

  test('DATA block timeout: 421 4.4.2 and the partial body is dropped', async () => {
    const { port, services } = await startServer({}, { command: 2000, dataBlock: 100 });
    const c = await connect(port);
    c.send('EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\npartial');
    await c.closed;
    assert.match(c.text, /354 [^\r]*\r\n421 4\.4\.2 /);
    assert.equal(services.delivered.length, 0);
    assert.equal(services.aborted, 1);
  });

  test('a client that never reads replies does not make us buffer without bound', async () => {
    const { port } = await startServer();
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.pause(); // never read
    const line = Buffer.from('NOOP\r\n'.repeat(10_000));
    let writes = 0;
    // Keep writing until our own send buffer fills: the server must have stopped reading.
    while (socket.write(line) && writes < 2000) writes++;
    assert.ok(writes < 2000, 'server kept reading although replies were not read');
    socket.destroy();
  });

  test('nodemailer: STARTTLS + AUTH PLAIN, local and remote recipients', async () => {
    const { port, services } = await startServer({ role: 'submission', requireAuth: true });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      requireTLS: true,
      name: 'client.example.net',
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice@example.test', pass: 'alice-secret', method: 'PLAIN' },
    });
    const info = await transport.sendMail({
      from: 'alice@example.test',
      to: ['bob@example.test', 'nobody@example.test', 'carol@remote.example'],
      subject: 'through nodemailer',
      text: 'line one\n.\nline after a lone dot\n',
    });
    assert.deepEqual(info.accepted.sort(), ['bob@example.test', 'carol@remote.example']);
    assert.deepEqual(info.rejected, ['nobody@example.test']);
    assert.match(info.response, /^250 2\.0\.0 OK queued as Q1/);
    assert.ok(services.bodies[0]?.includes('\r\n.\r\nline after a lone dot'));
    assert.match(services.delivered[0]?.traceHeaders ?? '', /^Received: from client\.example\.net /);
    transport.close();
  });
});
