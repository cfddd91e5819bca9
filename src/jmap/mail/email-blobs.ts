// Blob ids of Emails (RFC 8621 4.1.1 blobId: the whole message) and of their parts (4.1.4: decoded content), for download and Blob/copy.
import { MailroomError } from '../../errors.js';
import { bodyStructureOf, findBodyPart, partContent } from '../../mail/jmap-body.js';
import { parseMimeStructure } from '../../mail/mime-structure.js';
import { decodeId } from '../../store/object-ids.js';
import type { Store } from '../../store/store.js';
import type { BlobResolver, OpenedBlob } from '../core/blobs.js';
import { parsePartBlobId } from './email-get.js';

/**
 * The stored message a message blob id names, when the account has an Email for it (an Email of
 * another account, or one destroyed since, reads as not found: blobs are per account, RFC 8620 6).
 */
function messageOf(store: Store, storeAccountId: number, blobId: string): number | null {
  const messageId = decodeId('blob', blobId);
  if (messageId === null) return null;
  return store.jmap.objectIds(storeAccountId, [messageId])[0] ? messageId : null;
}

function bufferBlob(data: Buffer, type: string): OpenedBlob {
  return {
    size: data.length,
    type,
    chunks: (async function* () {
      yield data;
    })(),
    close: async () => undefined,
  };
}

/** Reads message and part blobs of an account's Emails. */
export function emailBlobResolver(store: Store): BlobResolver {
  const gone = (error: unknown) => error instanceof MailroomError && error.code === 'NO_SUCH_MESSAGE';
  return {
    async open(storeAccountId, blobId) {
      const part = parsePartBlobId(blobId);
      const messageId = messageOf(store, storeAccountId, part ? part.blobId : blobId);
      if (messageId === null) return null;
      try {
        if (!part) return { ...(await store.mail.openMessage(messageId)), type: 'message/rfc822' };
        const message = await store.readMessage(messageId);
        const found = findBodyPart(bodyStructureOf(parseMimeStructure(message)), part.partId);
        if (!found) return null;
        return bufferBlob(partContent(message, found.mime), found.type);
      } catch (error) {
        if (gone(error)) return null; // expunged and collected meanwhile
        throw error;
      }
    },
    copy(from, to, blobId) {
      // One user, one account: a message blob "copied" into its own account is the same blob.
      const part = parsePartBlobId(blobId);
      if (from !== to) return null;
      return messageOf(store, from, part ? part.blobId : blobId) === null ? null : blobId;
    },
  };
}
