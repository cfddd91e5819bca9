// New connections per minute per IP (Postfix anvil): the pure counter, and the listener refusing with 421 over real sockets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { ConnectionRate } from '../../../src/net/per-ip-limits.js';
import { listen } from '../../../src/net/listener.js';

describe('ConnectionRate', () => {
  test('N per minute pass, the next is refused, a new minute starts afresh', () => {
    const rate = new ConnectionRate(3, 100);
    assert.deepEqual(
      [0, 1, 2, 3].map((t) => rate.admit('192.0.2.1', t)),
      [true, true, true, false],
    );
    assert.equal(rate.admit('192.0.2.2', 10), true); // another client has its own count
    assert.equal(rate.admit('192.0.2.1', 59_999), false); // refused attempts count: still over
    assert.equal(rate.admit('192.0.2.1', 60_000), true);
  });

  test('IPv6 counts per /64 and IPv4-mapped as IPv4', () => {
    const rate = new ConnectionRate(1, 100);
    assert.equal(rate.admit('2001:db8::1', 0), true);
    assert.equal(rate.admit('2001:db8::2', 0), false);
    assert.equal(rate.admit('192.0.2.9', 0), true);
    assert.equal(rate.admit('::ffff:192.0.2.9', 0), false);
  });

  test('memory is bounded: past maxKeys the oldest window is forgotten', () => {
    const rate = new ConnectionRate(1, 10);
    for (let i = 0; i < 1000; i++) rate.admit(`10.0.${i >> 8}.${i & 255}`, i);
    assert.equal(rate.tracked, 10);
  });
});

describe('listener with connection_rate_per_ip', () => {
  async function connectAndRead(port: number): Promise<string> {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    // An admitted socket gets "hi" from onConnection; a refused one the refusal, then the end.
    while (text === '') await new Promise((r) => setTimeout(r, 5));
    socket.destroy();
    return text;
  }

  test('over the rate: the refusal text and the close; exempt addresses are not counted', async () => {
    let now = 0;
    const refused: string[] = [];
    let exempt = false;
    const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
      maxConnections: 100,
      maxConnectionsPerIp: 100,
      refusal: '421 4.7.0 busy\r\n',
      connectionRatePerIp: 2,
      rateExempt: () => exempt,
      rateRefusal: '421 4.7.0 slow down\r\n',
      clock: () => now,
      onConnection: (socket) => socket.end('hi\r\n'),
      onRefused: (info) => refused.push(info.reason),
    });
    const port = listener.addresses[0]!.port;
    try {
      assert.equal(await connectAndRead(port), 'hi\r\n');
      assert.equal(await connectAndRead(port), 'hi\r\n');
      assert.equal(await connectAndRead(port), '421 4.7.0 slow down\r\n');
      assert.deepEqual(refused, ['rate']);
      exempt = true; // loopback in production
      assert.equal(await connectAndRead(port), 'hi\r\n');
      exempt = false;
      now += 60_000;
      assert.equal(await connectAndRead(port), 'hi\r\n');
    } finally {
      await listener.stopAccepting();
      listener.destroyAll();
    }
  });
});
