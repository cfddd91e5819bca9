// Blob ids of Emails (RFC 8621 4.1.1 blobId: the whole message) and of parts of any message blob (4.1.4: decoded content), per account.
import { MailroomError } from '../../errors.js';
import { bodyStructureOf, findBodyPart, partContent } from '../../mail/jmap-body.js';
import { parseMimeStructure } from '../../mail/mime-structure.js';
import { decodeId } from '../../store/object-ids.js';
import type { Store } from '../../store/store.js';
import {
  composeBlobResolvers,
  uploadBlobResolver,
  type BlobResolver,
  type OpenedBlob,
} from '../core/blobs.js';

/** The blob id of a part: its message's blob id, "_", the part id (RFC 8620 1.2 Id characters). */
export function partBlobId(messageBlobId: string, partId: string): string {
  return `${messageBlobId}_${partId}`;
}

/**
 * Parts of parts nest ("B1_3_2": part 2 of the message that is part 3 of B1) at most this deep: each
 * level reads and parses the level above, so a long id must not make one download parse a message
 * a hundred times. Real mail forwards messages inside messages a few levels at most.
 */
export const MAX_PART_NESTING = 8;

/** The containing blob id and part id of a part blob id, or null (also when nested too deep). */
export function parsePartBlobId(blobId: string): { blobId: string; partId: string } | null {
  const m = /^([A-Za-z0-9-]+(?:_[1-9][0-9]{0,5})*)_([1-9][0-9]{0,5})$/.exec(blobId);
  if (!m || blobId.split('_').length - 1 > MAX_PART_NESTING) return null;
  return { blobId: m[1]!, partId: m[2]! };
}

/**
 * The stored message a message blob id names, when the account has an Email for it (an Email of
 * another account, or one destroyed since, reads as not found: blobs are per account, RFC 8620 6).
 */
function messageOf(store: Store, storeAccountId: number, blobId: string): number | null {
  const messageId = decodeId('blob', blobId);
  if (messageId === null) return null;
  return store.jmap.objectIds(storeAccountId, [messageId])[0] ? messageId : null;
}

export function bufferBlob(data: Buffer, type: string | null): OpenedBlob {
  return {
    size: data.length,
    type,
    chunks: (async function* () {
      yield data;
    })(),
    close: async () => undefined,
  };
}

/** Reads an opened blob whole (messages and parts to parse are bounded by the message size limit). */
export async function readBlob(blob: OpenedBlob): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of blob.chunks) chunks.push(chunk);
  } finally {
    await blob.close();
  }
  return Buffer.concat(chunks);
}

/**
 * Whether a blob can be read as a message (Email/parse, Email/import): it starts with a header field
 * (RFC 5322 2.1, 2.2). Anything else is notParsable / invalidEmail rather than an Email of garbage.
 */
export function looksLikeMessage(data: Buffer): boolean {
  return /^[!-9;-~]+[ \t]*:/.test(data.subarray(0, 1000).toString('latin1'));
}

/** "B…": the messages of the account's Emails, as stored. */
export function messageBlobResolver(store: Store): BlobResolver {
  return {
    async open(storeAccountId, blobId) {
      const messageId = messageOf(store, storeAccountId, blobId);
      if (messageId === null) return null;
      try {
        return { ...(await store.mail.openMessage(messageId)), type: 'message/rfc822' };
      } catch (error) {
        if (error instanceof MailroomError && error.code === 'NO_SUCH_MESSAGE') return null; // collected meanwhile
        throw error;
      }
    },
    copy(from, to, blobId) {
      // One user, one account: a message blob "copied" into its own account is the same blob.
      return from === to && messageOf(store, from, blobId) !== null ? blobId : null;
    },
  };
}

/**
 * Adds part blobs ("<blob>_<partId>") to a resolver: the part of whatever message blob the prefix
 * names (an Email, an upload, a part that is itself a message/rfc822), decoded, with its type. The
 * account check is the containing blob's.
 */
export function withPartBlobs(base: BlobResolver): BlobResolver {
  const self: BlobResolver = {
    async open(storeAccountId, blobId) {
      const part = parsePartBlobId(blobId);
      if (!part) return base.open(storeAccountId, blobId);
      const container = await self.open(storeAccountId, part.blobId);
      if (!container) return null;
      const message = await readBlob(container);
      const found = findBodyPart(bodyStructureOf(parseMimeStructure(message)), part.partId);
      return found && found.subParts === null
        ? bufferBlob(partContent(message, found.mime), found.type)
        : null;
    },
    copy(from, to, blobId) {
      const part = parsePartBlobId(blobId);
      if (!part) return base.copy(from, to, blobId);
      return from === to && self.copy(from, to, part.blobId) !== null ? blobId : null;
    },
  };
  return self;
}

/** Every blob of an account: uploads, Email messages and their parts (what download, Blob/copy, Email/import and Email/parse read). */
export function mailBlobResolver(store: Store): BlobResolver {
  return withPartBlobs(composeBlobResolvers(uploadBlobResolver(store.uploads), messageBlobResolver(store)));
}
