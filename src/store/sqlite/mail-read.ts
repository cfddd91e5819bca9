// Streaming read of one stored message (head from SQLite, body inline or from its blob file) for POP3 RETR/TOP.
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { MailroomError } from '../../errors.js';
import type { OpenedMessage } from '../mail-store.js';
import type { SqliteContext } from './context.js';

/** Read size for blob files: large enough for few syscalls, small enough that 1000 readers stay in tens of MiB. */
const READ_CHUNK = 64 * 1024;

/**
 * Opens the message: the row is read and the body file opened before this resolves, so a message that
 * another session expunged fails here (NO_SUCH_MESSAGE) and not halfway through a reply. An open file
 * stays readable even if it is unlinked meanwhile (POSIX), so the stream never breaks off for that reason.
 */
export async function openMessage(ctx: SqliteContext, messageId: number): Promise<OpenedMessage> {
  const row = ctx
    .prepare<[number], { head: Buffer; body: Buffer | null; file: string | null; size: number }>(
      'SELECT b.head, b.body, b.file, m.size FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = ?',
    )
    .get(messageId);
  if (!row) throw new MailroomError('NO_SUCH_MESSAGE', `no such message: ${messageId}`);
  return openBlobRow(
    ctx,
    row,
    (cause) =>
      // Collected between our SELECT and open(): the message was expunged meanwhile.
      new MailroomError('NO_SUCH_MESSAGE', `no such message: ${messageId}`, { cause }),
  );
}

/**
 * Opens one blobs row (head, then the inline body or the blob file) for streaming; also used for JMAP
 * uploads (upload-store.ts). `gone` makes the error for a file removed between the SELECT and open().
 */
export async function openBlobRow(
  ctx: SqliteContext,
  row: { head: Buffer; body: Buffer | null; file: string | null; size: number },
  gone: (cause: unknown) => Error,
): Promise<OpenedMessage> {
  let fh: FileHandle | null = null;
  if (row.body === null && row.file !== null) {
    try {
      fh = await open(join(ctx.blobs.blobDir, row.file), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw gone(error);
      throw error;
    }
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await fh?.close();
  };
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      if (row.head.length > 0) yield row.head;
      if (row.body !== null) {
        if (row.body.length > 0) yield row.body;
        return;
      }
      if (!fh) return;
      for (;;) {
        // A fresh buffer per read: the consumer may still hold the previous one (socket write queue).
        const buffer = Buffer.allocUnsafe(READ_CHUNK);
        const { bytesRead } = await fh.read(buffer, 0, READ_CHUNK, null);
        if (bytesRead === 0) return;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await close();
    }
  }
  return { size: row.size, chunks: chunks(), close };
}
