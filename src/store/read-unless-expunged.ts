// A stored message read by a command that found it a moment ago: another session may have expunged it since.
import { MailroomError } from '../errors.js';
import type { Store } from './store.js';

/**
 * The message's bytes, or null when it is gone. FETCH, SEARCH and URL resolution read the metadata of
 * a chunk of messages first and the bodies one by one after that; between the two awaits another
 * session's EXPUNGE can remove the last copy. That is an ordinary race, not a failure of the session:
 * the caller leaves the message out (IMAP says [EXPUNGEISSUED], RFC 5530 3; JMAP's EmailSubmission/set
 * answers "no such Email").
 */
export async function readUnlessExpunged(
  store: Pick<Store, 'readMessage'>,
  messageId: number,
): Promise<Buffer | null> {
  try {
    return await store.readMessage(messageId);
  } catch (error) {
    if (error instanceof MailroomError && error.code === 'NO_SUCH_MESSAGE') return null;
    throw error;
  }
}
