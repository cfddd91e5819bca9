// A running listener following a reload: addresses bound and closed, new limits for new connections, all-or-nothing binding.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { ACCEPT_HANDLE_COPIES } from '../../../src/config/limits.js';
import { listen } from '../../../src/net/listener.js';
import { makeSelfSigned } from '../../../src/net/tls.js';
import { freePorts } from '../../helpers/mailroom-process.js';

/** Connects and reads the first bytes the server sends; 'refused' when nothing listens. */
function connectAndRead(port: number): Promise<string> {
  return new Promise((done) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.endsWith('\r\n')) done(text);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? 'error'));
    socket.once('close', () => done(text));
  });
}

describe('Listener reload', () => {
  test('bindMissing opens added addresses, apply closes removed ones; open sessions stay', async () => {
    const [a, b] = (await freePorts(2)) as [number, number];
    const open: net.Socket[] = [];
    const listener = await listen([{ host: '127.0.0.1', port: a }], {
      name: 'smtp',
      maxConnections: 10,
      maxConnectionsPerIp: 10,
      refusal: '421 busy\r\n',
      onConnection: (socket) => {
        open.push(socket);
        socket.write('hi\r\n');
      },
    });
    try {
      const before = net.connect({ host: '127.0.0.1', port: a });
      await new Promise((done) => before.once('data', done));
      const wanted = [{ host: '127.0.0.1', port: b }];
      await listener.bindMissing(wanted);
      listener.apply(wanted, { maxConnections: 10, maxConnectionsPerIp: 10 });
      assert.deepEqual(listener.addresses, wanted);
      // The address bound by the reload has its extra handles too; the removed one's are closed.
      assert.equal(listener.acceptHandles, 1 + ACCEPT_HANDLE_COPIES);
      assert.equal(await connectAndRead(b), 'hi\r\n');
      assert.equal(await connectAndRead(a), 'ECONNREFUSED');
      // The connection accepted on the removed address is still served and still counted.
      assert.equal(before.destroyed, false);
      assert.equal(listener.sockets.size >= 1, true);
      before.destroy();
    } finally {
      await listener.stopAccepting();
      listener.destroyAll();
    }
  });

  test('new limits apply to the next connection; ones already admitted still count', async () => {
    const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
      maxConnections: 10,
      maxConnectionsPerIp: 10,
      refusal: '421 busy\r\n',
      onConnection: (socket) => socket.write('hi\r\n'),
    });
    const port = listener.addresses[0]!.port;
    const held = net.connect({ host: '127.0.0.1', port });
    try {
      await new Promise((done) => held.once('data', done));
      listener.apply([{ host: '127.0.0.1', port: 0 }], { maxConnections: 10, maxConnectionsPerIp: 1 });
      assert.equal(listener.addresses[0]!.port, port, 'port 0 in the config keeps the bound port');
      assert.equal(await connectAndRead(port), '421 busy\r\n');
    } finally {
      held.destroy();
      await listener.stopAccepting();
      listener.destroyAll();
    }
  });

  test('a bind failure undoes the addresses that call bound, and the error names the address', async () => {
    const blocker = net.createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const busy = (blocker.address() as net.AddressInfo).port;
    const [free] = (await freePorts(1)) as [number];
    const listener = await listen([], {
      maxConnections: 10,
      maxConnectionsPerIp: 10,
      refusal: '',
      onConnection: () => undefined,
    });
    try {
      await assert.rejects(
        listener.bindMissing([
          { host: '127.0.0.1', port: free },
          { host: '127.0.0.1', port: busy },
        ]),
        new RegExp(`cannot listen on 127.0.0.1:${busy}: EADDRINUSE`),
      );
      assert.deepEqual(listener.addresses, []);
      assert.equal(await connectAndRead(free), 'ECONNREFUSED');
      // The undo of a successful call closes what it bound (a later listener of the same reload failed).
      const undo = await listener.bindMissing([{ host: '127.0.0.1', port: free }]);
      undo();
      assert.equal(await connectAndRead(free), 'ECONNREFUSED');
    } finally {
      blocker.close();
      await listener.stopAccepting();
    }
  });

  test('a new certificate reaches new handshakes, also on an address bound after it; start options (ALPN) stay', async () => {
    const now = new Date();
    const [first, second] = await Promise.all([
      makeSelfSigned('one.test', now),
      makeSelfSigned('two.test', now),
    ]);
    const [a, b] = (await freePorts(2)) as [number, number];
    const listener = await listen([{ host: '127.0.0.1', port: a }], {
      tls: { cert: first.cert, key: first.key, ALPNProtocols: ['http/1.1'] },
      maxConnections: 10,
      maxConnectionsPerIp: 10,
      refusal: '',
      onConnection: (socket) => socket.end(),
    });
    const names = async (port: number): Promise<[string, string | false]> => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port,
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      await once(socket, 'secureConnect');
      const result: [string, string | false] = [
        socket.getPeerCertificate().subjectaltname ?? '',
        socket.alpnProtocol ?? false,
      ];
      socket.destroy();
      return result;
    };
    try {
      assert.match((await names(a))[0], /one\.test/);
      const wanted = [
        { host: '127.0.0.1', port: a },
        { host: '127.0.0.1', port: b },
      ];
      listener.apply([wanted[0]!], {
        tls: { cert: second.cert, key: second.key },
        maxConnections: 10,
        maxConnectionsPerIp: 10,
      });
      await listener.bindMissing(wanted);
      for (const port of [a, b]) {
        const [san, alpn] = await names(port);
        assert.match(san, /two\.test/);
        assert.equal(alpn, 'http/1.1');
      }
    } finally {
      await listener.stopAccepting();
      listener.destroyAll();
    }
  });
});
