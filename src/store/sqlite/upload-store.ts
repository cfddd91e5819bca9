// SqliteUploadStore: JMAP uploads (RFC 8620 6.1) as blobs rows (inline or a file) owned by one account in `uploads`.
import { unlink } from 'node:fs/promises';
import { MailroomError } from '../../errors.js';
import type { OpenedMessage } from '../mail-store.js';
import type { SpooledBody } from '../store.js';
import type { UploadedBlob, UploadStore } from '../upload-store.js';
import type { SqliteContext } from './context.js';
import { openBlobRow } from './mail-read.js';
import { collectUnusedBlobs } from './queries.js';

interface UploadRow {
  id: number;
  account_id: number;
  size: number;
  type: string;
  created_at: number;
}

const SELECT_UPLOAD =
  'SELECT u.id, u.account_id, b.size, u.type, u.created_at FROM uploads u JOIN blobs b ON b.id = u.blob_id ' +
  'WHERE u.id = ? AND u.account_id = ?';

function toUpload(row: UploadRow): UploadedBlob {
  return {
    id: row.id,
    accountId: row.account_id,
    size: row.size,
    type: row.type,
    createdAt: new Date(row.created_at),
  };
}

export class SqliteUploadStore implements UploadStore {
  constructor(private readonly ctx: SqliteContext) {}

  async create(accountId: number, body: SpooledBody, type: string): Promise<UploadedBlob> {
    const { ctx } = this;
    // Small blobs inline in SQLite, larger ones as a file (the same rule as message bodies, deliver.ts).
    let inline: Buffer | null = null;
    let file: string | null = null;
    try {
      if (body.kind === 'memory' && body.size <= ctx.inlineMaxBytes) {
        inline = Buffer.concat(body.chunks, body.size);
      } else {
        file =
          body.kind === 'memory'
            ? await ctx.blobs.writeChunks(body.chunks)
            : await ctx.blobs.adopt(body.path);
        // The file's directory entry is durable before the row that names it commits (DESIGN "Durability").
        await ctx.blobs.syncDir();
      }
    } catch (error) {
      if (body.kind === 'file') await unlink(body.path).catch(() => undefined);
      if (file !== null) await ctx.blobs.remove([file]);
      throw error;
    }
    const createdAt = ctx.clock().getTime();
    try {
      const id = ctx.write(() => {
        const account = ctx
          .prepare<[number], { id: number }>('SELECT id FROM accounts WHERE id = ?')
          .get(accountId);
        if (!account) throw new MailroomError('NO_SUCH_ACCOUNT', `no such account: ${accountId}`);
        const blobId = Number(
          ctx
            .prepare('INSERT INTO blobs (size, head, body, file) VALUES (?, ?, ?, ?)')
            .run(body.size, Buffer.alloc(0), inline ?? null, file).lastInsertRowid,
        );
        return Number(
          ctx
            .prepare('INSERT INTO uploads (account_id, blob_id, type, created_at) VALUES (?, ?, ?, ?)')
            .run(accountId, blobId, type, createdAt).lastInsertRowid,
        );
      });
      return { id, accountId, size: body.size, type, createdAt: new Date(createdAt) };
    } catch (error) {
      if (file !== null) await ctx.blobs.remove([file]);
      throw error;
    }
  }

  get(accountId: number, id: number): UploadedBlob | null {
    const row = this.ctx.prepare<[number, number], UploadRow>(SELECT_UPLOAD).get(id, accountId);
    return row ? toUpload(row) : null;
  }

  async open(accountId: number, id: number): Promise<OpenedMessage> {
    const row = this.ctx
      .prepare<[number, number], { head: Buffer; body: Buffer | null; file: string | null; size: number }>(
        'SELECT b.head, b.body, b.file, b.size FROM uploads u JOIN blobs b ON b.id = u.blob_id ' +
          'WHERE u.id = ? AND u.account_id = ?',
      )
      .get(id, accountId);
    const missing = (cause?: unknown) =>
      new MailroomError('NO_SUCH_BLOB', `no such blob: ${id}`, cause === undefined ? undefined : { cause });
    if (!row) throw missing();
    return openBlobRow(this.ctx, row, missing);
  }

  copy(fromAccountId: number, toAccountId: number, id: number): UploadedBlob | null {
    const createdAt = this.ctx.clock().getTime();
    const newId = this.ctx.write(() => {
      const source = this.ctx
        .prepare<[number, number], { blob_id: number; type: string }>(
          'SELECT blob_id, type FROM uploads WHERE id = ? AND account_id = ?',
        )
        .get(id, fromAccountId);
      if (!source) return null;
      // The bytes are shared, not copied: a new owner row for the same blobs row.
      return Number(
        this.ctx
          .prepare('INSERT INTO uploads (account_id, blob_id, type, created_at) VALUES (?, ?, ?, ?)')
          .run(toAccountId, source.blob_id, source.type, createdAt).lastInsertRowid,
      );
    });
    return newId === null ? null : this.get(toAccountId, newId);
  }

  async expire(before: Date): Promise<number> {
    const { result, durable } = this.ctx.writeLazy(() => {
      const rows = this.ctx
        .prepare<[number], { id: number; blob_id: number }>(
          'SELECT id, blob_id FROM uploads WHERE created_at < ?',
        )
        .all(before.getTime());
      const remove = this.ctx.prepare('DELETE FROM uploads WHERE id = ?');
      for (const r of rows) remove.run(r.id);
      return {
        count: rows.length,
        files: collectUnusedBlobs(
          this.ctx.prepare,
          rows.map((r) => r.blob_id),
        ),
      };
    });
    // Files go only once the rows that named them are gone for good.
    await durable;
    await this.ctx.blobs.remove(result.files);
    return result.count;
  }
}
