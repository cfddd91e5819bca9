// JMAP blobs (RFC 8620 6): blob ids of uploads, the BlobResolver the download route and Blob/copy use, Blob/copy itself.
import type { OpenedMessage } from '../../store/mail-store.js';
import type { UploadedBlob, UploadStore } from '../../store/upload-store.js';
import type { MethodHandler } from './engine.js';
import { CORE_CAPABILITY, MethodError } from './errors.js';
import { storeIdOf } from './session.js';

/**
 * An upload's blob id: "U" + its store id. The id alone grants nothing: every lookup is by (account,
 * id), so a blob id of another account reads as not found (RFC 8620 6: blobs are per account).
 */
export function uploadBlobId(id: number): string {
  return `U${id}`;
}

export function parseUploadBlobId(blobId: string): number | null {
  const m = /^U([1-9][0-9]{0,14})$/.exec(blobId);
  return m ? Number(m[1]) : null;
}

/** A blob opened for download. */
export interface OpenedBlob extends OpenedMessage {
  /** The media type it was stored with (upload Content-Type), or null when unknown. */
  type: string | null;
}

/**
 * Finds blobs of an account by JMAP blob id. Today: uploads. JMAP Mail adds message blobs by
 * composing resolvers (each answers null for ids of a kind it does not know).
 */
export interface BlobResolver {
  open(storeAccountId: number, blobId: string): Promise<OpenedBlob | null>;
  /** Blob/copy: a blob id in `toStoreAccountId` for the same bytes, or null when `blobId` is not fromAccount's. */
  copy(fromStoreAccountId: number, toStoreAccountId: number, blobId: string): string | null;
}

export function uploadBlobResolver(uploads: UploadStore): BlobResolver {
  return {
    async open(storeAccountId, blobId) {
      const id = parseUploadBlobId(blobId);
      const meta = id === null ? null : uploads.get(storeAccountId, id);
      if (id === null || !meta) return null;
      try {
        return { ...(await uploads.open(storeAccountId, id)), type: meta.type };
      } catch (error) {
        if ((error as { code?: string }).code === 'NO_SUCH_BLOB') return null; // expired meanwhile
        throw error;
      }
    },
    copy(from, to, blobId) {
      const id = parseUploadBlobId(blobId);
      const copied = id === null ? null : uploads.copy(from, to, id);
      return copied ? uploadBlobId(copied.id) : null;
    },
  };
}

/** The JSON body of a successful upload (RFC 8620 6.1). */
export function uploadResponse(accountId: string, blob: UploadedBlob): Record<string, unknown> {
  return { accountId, blobId: uploadBlobId(blob.id), type: blob.type, size: blob.size };
}

/**
 * Blob/copy (RFC 8620 6.3): copies blobs between two accounts of the user. fromAccountId must be one
 * of the user's accounts (fromAccountNotFound); accountId is checked by the engine (accountNotFound).
 */
export function blobCopyHandler(blobs: BlobResolver): MethodHandler {
  return {
    capability: CORE_CAPABILITY,
    account: 'write',
    handle(args, ctx) {
      const { fromAccountId, blobIds } = args;
      if (typeof fromAccountId !== 'string')
        throw new MethodError('invalidArguments', '"fromAccountId" must be a string');
      if (!Array.isArray(blobIds) || !blobIds.every((b) => typeof b === 'string')) {
        throw new MethodError('invalidArguments', '"blobIds" must be an array of blob ids');
      }
      const from = ctx.user.accounts.get(fromAccountId);
      if (!from || storeIdOf(fromAccountId) === null) {
        throw new MethodError('fromAccountNotFound', `no account "${fromAccountId}"`);
      }
      const to = ctx.account!; // the engine checked args.accountId (account: 'write')
      const copied: Record<string, string> = {};
      const notCopied: Record<string, unknown> = {};
      for (const blobId of new Set(blobIds as string[])) {
        const newId = blobs.copy(from.storeId, to.storeId, blobId);
        if (newId === null) notCopied[blobId] = { type: 'notFound' };
        else copied[blobId] = newId;
      }
      return {
        fromAccountId,
        accountId: to.id,
        copied: Object.keys(copied).length > 0 ? copied : null,
        notCopied: Object.keys(notCopied).length > 0 ? notCopied : null,
      };
    },
  };
}

/** Several resolvers as one: the first that knows a blob id answers (ids of each kind are disjoint). */
export function composeBlobResolvers(...resolvers: BlobResolver[]): BlobResolver {
  return {
    async open(storeAccountId, blobId) {
      for (const r of resolvers) {
        const blob = await r.open(storeAccountId, blobId);
        if (blob) return blob;
      }
      return null;
    },
    copy(from, to, blobId) {
      for (const r of resolvers) {
        const id = r.copy(from, to, blobId);
        if (id !== null) return id;
      }
      return null;
    },
  };
}
