// APPEND bodies built after reading: CATENATE (RFC 4469) parts joined into one, literal8 bodies rewritten (RFC 3516 4.4).
import { createReadStream } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { createBodySpool } from './spool.js';
import type { SpooledBody } from './store.js';

/** One piece of a catenated message: bytes at hand (a URL's section) or a spooled TEXT literal. */
export type CatenatePiece = { kind: 'bytes'; bytes: Buffer } | { kind: 'body'; body: SpooledBody };

/**
 * Joins the pieces, in order, into one body through a BodySpool (in memory while small, else an
 * fsynced spool file on the blobs' filesystem, as a streamed APPEND literal would be), so the store
 * takes it like any other APPEND body. The pieces' spool files are removed whatever the outcome.
 */
export async function catenateBodies(
  pieces: readonly CatenatePiece[],
  spoolDir: string,
  memoryThreshold: number,
): Promise<SpooledBody> {
  const spool = createBodySpool(spoolDir, memoryThreshold);
  try {
    for (const p of pieces) {
      if (p.kind === 'bytes') {
        if (p.bytes.length > 0) await spool.write(p.bytes);
      } else if (p.body.kind === 'memory') {
        for (const c of p.body.chunks) if (c.length > 0) await spool.write(c);
      } else {
        // A large TEXT part was spooled to a file: stream it across (bounded memory, backpressure).
        for await (const c of createReadStream(p.body.path)) await spool.write(c as Buffer);
      }
    }
    return await spool.finish();
  } catch (err) {
    spool.abort();
    throw err;
  } finally {
    await discardPieces(pieces);
  }
}

/** Removes the spool files of TEXT pieces (after catenation, or when the command is refused). */
export async function discardPieces(pieces: readonly CatenatePiece[]): Promise<void> {
  await Promise.all(
    pieces.map((p) =>
      p.kind === 'body' && p.body.kind === 'file' ? unlink(p.body.path).catch(() => undefined) : undefined,
    ),
  );
}

/**
 * A body rewritten by `rewrite` (given the whole message; null: keep it as is), spooled again like a
 * received one; the old body's file is removed once replaced. Bounded by APPENDLIMIT: the whole
 * message is read into memory (only literal8 APPENDs come here).
 */
export async function rewriteBody(
  body: SpooledBody,
  rewrite: (message: Buffer) => Buffer | null,
  spoolDir: string,
  memoryThreshold: number,
): Promise<SpooledBody> {
  const msg = body.kind === 'memory' ? Buffer.concat(body.chunks, body.size) : await readFile(body.path);
  const out = rewrite(msg);
  if (out === null) return body;
  const spool = createBodySpool(spoolDir, memoryThreshold);
  try {
    await spool.write(out);
    const rewritten = await spool.finish();
    if (body.kind === 'file') await unlink(body.path).catch(() => undefined);
    return rewritten;
  } catch (err) {
    spool.abort();
    throw err;
  }
}
