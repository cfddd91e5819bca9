// SMTP and POP3 after their last reply (issue 8): what the client still sends is dropped, not held by a paused socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { silentLogger } from '../../src/observability/logger.js';
import { servePop3Connection } from '../../src/pop3/connection.js';
import type { Pop3Services } from '../../src/pop3/session.js';
import { serveSmtpConnection } from '../../src/smtp/server/connection.js';
import { fakeServices, testPolicy } from '../helpers/smtp-fakes.js';

/** A socket stand-in: bytes pushed are what the client sent; what the server writes goes nowhere. */
class Peer extends Duplex {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  localAddress = '127.0.0.1';
  localPort = 25;
  override _read(): void {}
  override _write(_chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    done();
  }
  setNoDelay(): this {
    return this;
  }
}

const junk = Buffer.from('\r\n'.repeat(100) + 'x\r\n'.repeat(100));
const more = (peer: Peer): Promise<void> => {
  for (let i = 0; i < 4; i++) peer.push(Buffer.alloc(64_000, 0x41));
  return new Promise((r) => setTimeout(r, 50));
};

test('SMTP: after 421 for too many errors the rest of the input is dropped', async () => {
  const peer = new Peer();
  serveSmtpConnection(peer as unknown as Socket, {
    policy: testPolicy(),
    services: fakeServices(),
    logger: silentLogger(),
    secureContext: null,
  });
  peer.push(junk);
  await more(peer);
  // Before the fix the socket stayed paused until destroyed 5 s later, holding what arrived.
  assert.equal(peer.readableLength, 0);
  peer.destroy();
});

test('POP3: after -ERR too many errors the rest of the input is dropped', async () => {
  const peer = new Peer();
  servePop3Connection(peer as unknown as Socket, {
    policy: { hostname: 'pop.example.test', tlsAvailable: false, allowLoopbackPlaintext: true },
    // Junk lines never reach a service.
    services: {} as Pop3Services,
    store: { openMessage: () => Promise.reject(new Error('unused')) },
    logger: silentLogger(),
    secureContext: null,
  });
  peer.push(Buffer.from('x\r\n'.repeat(100)));
  await more(peer);
  assert.equal(peer.readableLength, 0);
  peer.destroy();
});
