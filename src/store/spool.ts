// The BodySpool: a message body kept in memory while small, spilled to a spool file (async, fsynced) once large.
import type { FileHandle } from 'node:fs/promises';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BodySpool } from '../smtp/server/services.js';
import type { SpooledBody } from './store.js';
import { newOwnedFileName } from './blob-store.js';

/**
 * Creates a spool for one message body. Chunks stay in memory until their total would pass
 * `thresholdBytes`; then everything is written to `spoolDir/<pid>-...spool` and later chunks are
 * appended there. Each write past the threshold returns a promise: the caller reads no more input
 * until it settles (DESIGN habit 7, backpressure), so memory per session stays near the threshold.
 *
 * The file lives in the spool directory of the store (same filesystem as blobs/) so that deliver()
 * can rename it into place instead of copying it. finish() fsyncs it: the bytes are durable before
 * the commit that references them.
 */
export function createBodySpool(
  spoolDir: string,
  thresholdBytes: number,
  newName: () => string = () => newOwnedFileName(),
): BodySpool {
  if (!Number.isSafeInteger(thresholdBytes) || thresholdBytes < 0) {
    throw new RangeError(`spool threshold must be a non-negative integer, got ${thresholdBytes}`);
  }
  let chunks: Buffer[] = [];
  let size = 0;
  let path: string | null = null;
  let fh: FileHandle | null = null;
  // Every file operation is chained on this, so even a caller that ignores backpressure keeps order.
  let tail: Promise<void> = Promise.resolve();
  let failure: unknown = null;
  let state: 'open' | 'finished' | 'aborted' = 'open';

  async function writeAll(handle: FileHandle, buf: Buffer): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await handle.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
  }

  function enqueue(op: () => Promise<void>): Promise<void> {
    tail = tail.then(async () => {
      if (failure !== null || state === 'aborted') return;
      try {
        await op();
      } catch (err) {
        failure = err;
      }
    });
    return tail.then(() => {
      if (failure !== null) throw failure;
    });
  }

  return {
    write(chunk: Buffer): void | Promise<void> {
      if (state !== 'open') throw new Error(`spool is ${state}: write after finish/abort`);
      if (failure !== null) return Promise.reject(failure);
      if (chunk.length === 0) return;
      size += chunk.length;
      if (path === null && size <= thresholdBytes) {
        chunks.push(chunk);
        return;
      }
      if (path === null) {
        // Spill: everything held so far plus this chunk goes to a new file.
        const p = join(spoolDir, `${newName()}.spool`);
        path = p;
        const pending = [...chunks, chunk];
        chunks = [];
        return enqueue(async () => {
          fh = await open(p, 'wx', 0o600);
          for (const c of pending) await writeAll(fh, c);
        });
      }
      return enqueue(async () => {
        if (fh) await writeAll(fh, chunk);
      });
    },

    async finish(): Promise<SpooledBody> {
      if (state !== 'open') throw new Error(`spool is ${state}: finish twice or after abort`);
      state = 'finished';
      if (path === null) return { kind: 'memory', chunks, size };
      const p = path;
      await enqueue(async () => {
        if (!fh) return;
        await fh.sync();
        const h = fh;
        fh = null;
        await h.close();
      });
      return { kind: 'file', path: p, size };
    },

    abort(): void {
      if (state === 'aborted') return;
      state = 'aborted';
      chunks = [];
      const p = path;
      // Runs after any write in flight; never throws (the interface promises it).
      tail = tail
        .then(async () => {
          const h = fh;
          fh = null;
          if (h) await h.close().catch(() => undefined);
          // After finish() the file normally belongs to deliver(), which moves it; if it already did, ENOENT is ignored.
          if (p !== null) await unlink(p).catch(() => undefined);
        })
        .catch(() => undefined);
    },
  };
}
