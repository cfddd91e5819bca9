// A connection compressed both ways with raw DEFLATE (RFC 1951), as IMAP COMPRESS=DEFLATE (RFC 4978) uses it.
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';

/** How hard and with how much memory the outgoing side compresses (src/config/limits.ts IMAP_COMPRESS). */
export interface DeflateSettings {
  level: number;
  windowBits: number;
  memLevel: number;
}

/**
 * Wraps a connected stream (a socket, or a TLS socket over one): what is written is deflated and
 * sync-flushed, what is read is inflated. The caller uses it in place of the stream it wraps.
 *
 * - RFC 4978 4: each write ends with Z_SYNC_FLUSH, so the client can decode all of a response burst
 *   at once (the connection writes one burst per write call) instead of waiting for more output.
 * - RFC 4978 3: raw deflate, no zlib or gzip header. The peer picks its own window, so the inflating
 *   side always has 32 KiB (windowBits 15); the deflating side may use less (settings.windowBits).
 * - Decompression bombs: inflated bytes are only produced while the reader takes them. When this
 *   stream's readable buffer is full, the inflater is paused; when the inflater's input is full,
 *   the socket is paused. So a few KiB that would inflate to gigabytes cost at most a few buffers
 *   here, and the IMAP receiver's line and literal limits judge the inflated text as usual.
 */
export class DeflateConnection extends Duplex {
  private readonly inflater: zlib.InflateRaw;
  private readonly deflater: zlib.DeflateRaw;

  constructor(
    private readonly inner: Duplex,
    settings: DeflateSettings,
    /** Bytes already read from `inner` after compression began: they are inflated first. */
    leftover: Buffer | null = null,
  ) {
    super({ allowHalfOpen: false });
    this.inflater = zlib.createInflateRaw({ windowBits: 15 });
    this.deflater = zlib.createDeflateRaw({
      level: settings.level,
      windowBits: settings.windowBits,
      memLevel: settings.memLevel,
    });

    // In: socket -> inflater -> this stream's readers, with backpressure at both steps.
    this.inflater.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.inflater.pause();
    });
    this.inflater.on('drain', () => inner.resume());
    this.inflater.on('end', () => this.push(null));
    // Bad compressed data (or a trailing garbage block) is the client's error: end the connection.
    this.inflater.on('error', (err) => this.destroy(err));
    if (leftover && leftover.length > 0) this.inflater.write(leftover);
    inner.on('data', this.onInnerData);
    inner.on('end', () => this.inflater.end());
    inner.on('error', (err: Error) => this.destroy(err));
    inner.on('close', () => this.destroy());
    inner.resume();

    // Out: this stream's writes -> deflater -> socket, pausing the deflater while the socket is full.
    this.deflater.on('data', (chunk: Buffer) => {
      if (!inner.write(chunk)) this.deflater.pause();
    });
    inner.on('drain', () => this.deflater.resume());
    this.deflater.on('error', (err) => this.destroy(err));
  }

  private readonly onInnerData = (chunk: Buffer): void => {
    if (!this.inflater.write(chunk)) this.inner.pause();
  };

  override _read(): void {
    this.inflater.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.deflater.write(chunk);
    // The callback fires once the flushed output was handed on: until then this stream reports
    // writableNeedDrain, which is the connection's backpressure signal.
    this.deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    // The deflate stream's final block, then FIN on the socket.
    this.deflater.once('end', () => {
      this.inner.end();
      callback();
    });
    this.deflater.end();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.inner.removeListener('data', this.onInnerData);
    this.inflater.destroy();
    this.deflater.destroy();
    this.inner.destroy();
    callback(err);
  }
}
