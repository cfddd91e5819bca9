// Uploaded blobs (JMAP Blob/upload, RFC 8620 6.1): bytes owned by one account until an object references them or they expire.
import type { OpenedMessage } from './mail-store.js';
import type { SpooledBody } from './store.js';

/** One uploaded blob as the store keeps it. `id` is the store's id; JMAP encodes it (jmap/core/blobs.ts). */
export interface UploadedBlob {
  id: number;
  accountId: number;
  size: number;
  /** The media type the client declared at upload (Content-Type), or application/octet-stream. */
  type: string;
  createdAt: Date;
}

export interface UploadStore {
  /**
   * Stores a blob for `accountId` durably (fsynced file and commit before it resolves); takes
   * ownership of a 'file' body. 'NO_SUCH_ACCOUNT' when the account is gone.
   */
  create(accountId: number, body: SpooledBody, type: string): Promise<UploadedBlob>;
  /** The blob, only if it belongs to `accountId` (another account's id reads as absent). */
  get(accountId: number, id: number): UploadedBlob | null;
  /** Opens the bytes for streaming; 'NO_SUCH_BLOB' when absent or another account's. */
  open(accountId: number, id: number): Promise<OpenedMessage>;
  /** Blob/copy (RFC 8620 6.3): a new upload row of `toAccountId` sharing the bytes; null if `id` is not fromAccountId's. */
  copy(fromAccountId: number, toAccountId: number, id: number): UploadedBlob | null;
  /** Deletes uploads created before `before`; returns how many. Their bytes go once nothing else references them. */
  expire(before: Date): Promise<number>;
}
