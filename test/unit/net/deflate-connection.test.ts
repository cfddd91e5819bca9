// DeflateConnection (RFC 4978 framing): round trips through raw deflate, sync flush per write, bounded inflate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { DeflateConnection } from '../../../src/net/deflate-connection.js';
import { IMAP_COMPRESS } from '../../../src/config/limits.js';

/** A fake socket: what the test writes to `wire` is read by the connection; what it writes lands in `sent`. */
function fakeSocket(): { inner: Duplex; wire: PassThrough; sent: PassThrough } {
  const wire = new PassThrough();
  const sent = new PassThrough();
  return { inner: Duplex.from({ readable: wire, writable: sent }), wire, sent };
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (up to 2 s: the machine may be busy) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await tick(10);
}

test('each write is deflated and sync-flushed: the peer inflates it whole without more input', async () => {
  const { inner, sent } = fakeSocket();
  const conn = new DeflateConnection(inner, IMAP_COMPRESS);
  const peer = zlib.createInflateRaw();
  sent.pipe(peer);
  let text = '';
  peer.on('data', (b: Buffer) => (text += b.toString()));
  conn.write('* 1 EXISTS\r\n');
  conn.write('a1 OK done\r\n');
  await until(() => text.length >= 24);
  assert.equal(text, '* 1 EXISTS\r\na1 OK done\r\n');
  conn.destroy();
});

test('what the peer deflates is read inflated, including bytes read before the switch (leftover)', async () => {
  const { inner, wire } = fakeSocket();
  const peer = zlib.createDeflateRaw();
  const all: Buffer[] = [];
  peer.on('data', (b: Buffer) => all.push(b));
  peer.write('a1 NOOP\r\na2 NOOP\r\n');
  await new Promise<void>((r) => peer.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
  const bytes = Buffer.concat(all);
  // The first 3 bytes arrived with the COMPRESS command; the rest come later from the socket.
  const conn = new DeflateConnection(inner, IMAP_COMPRESS, bytes.subarray(0, 3));
  let text = '';
  conn.on('data', (b: Buffer) => (text += b.toString()));
  wire.write(bytes.subarray(3));
  await until(() => text.length >= 18);
  assert.equal(text, 'a1 NOOP\r\na2 NOOP\r\n');
  conn.destroy();
});

test('a decompression bomb is inflated only as fast as it is read: an unread connection holds a few buffers', async () => {
  const { inner, wire } = fakeSocket();
  const conn = new DeflateConnection(inner, IMAP_COMPRESS);
  conn.pause(); // the IMAP connection pauses while it is busy or its client does not read responses
  const mib = zlib.deflateRawSync(Buffer.alloc(1024 * 1024, 0x61), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  for (let i = 0; i < 512; i++) wire.write(mib); // 512 MiB once inflated, ~0.5 MB on the wire
  await tick(100);
  // Inflated and waiting for the reader: at most around the stream's high-water mark, not 512 MiB.
  assert.ok(conn.readableLength <= 64 * 1024, `held ${conn.readableLength} inflated bytes`);
  // The socket side was paused: compressed input is left unread rather than inflated into memory.
  assert.ok(wire.readableLength > 0, 'the compressed input was all taken in');
  // Reading resumes the flow.
  let total = 0;
  conn.on('data', (b: Buffer) => (total += b.length));
  conn.resume();
  for (let i = 0; i < 200 && total < 8 * 1024 * 1024; i++) await tick(10);
  assert.ok(total >= 8 * 1024 * 1024, `read ${total} after resuming`);
  conn.destroy();
});

test('bad compressed input ends the connection with an error', async () => {
  const { inner, wire } = fakeSocket();
  const conn = new DeflateConnection(inner, IMAP_COMPRESS);
  const failed = new Promise<Error>((r) => conn.once('error', r));
  conn.resume();
  wire.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  assert.ok((await failed) instanceof Error);
  assert.ok(conn.destroyed);
});

test('end() finishes the deflate stream, then ends the socket', async () => {
  const { inner, sent } = fakeSocket();
  const conn = new DeflateConnection(inner, IMAP_COMPRESS);
  const got: Buffer[] = [];
  sent.on('data', (b: Buffer) => got.push(b));
  const ended = new Promise<void>((r) => sent.once('end', r));
  conn.end('* BYE bye\r\n');
  await ended;
  assert.equal(zlib.inflateRawSync(Buffer.concat(got)).toString(), '* BYE bye\r\n');
});
