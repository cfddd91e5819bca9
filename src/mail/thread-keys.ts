// The per-message keys JMAP threads are built from (RFC 8621 3; RFC 5256 3 step 1.A): computed here, handed to the store. Pure.
import { headerIndexValues, type HeaderIndex } from '../store/mail-store.js';
import { asciiCasemapKey, extractBaseSubject } from './base-subject.js';
import { messageIds } from './threading.js';
import { THREAD_LIMITS } from '../config/limits.js';

/**
 * What the store needs to put a new Email into a thread of its account: the message's own Message ID
 * and the ones it refers to (References, or In-Reply-To without them), and for messages without any
 * of these its base subject. Message IDs are lower case: they come from the header index, which is
 * lower-cased (mail-store.ts HeaderIndex), and clients are known to change their case.
 */
export interface ThreadKeys {
  messageId: string | null;
  /** Referenced Message IDs, at most THREAD_LIMITS.references, the nearest parent last (RFC 5322 3.6.4). */
  references: string[];
  /**
   * The base subject (RFC 5256 2.1) in collation form, or null when threading by subject is not
   * allowed for this message: only a reply or forward ("Re:", "Fwd:") WITHOUT any reference header may
   * join a thread by subject, so two unrelated "Hello" messages never end up together (a new message
   * always starts its own thread unless its headers link it).
   */
  replySubject: string | null;
  /** The base subject in collation form ("" when empty): the subject a new thread is known by. */
  subject: string;
}

/** Longer Message IDs are not threaded on: no mailer makes them, and each is a key in a store index. */
const MAX_ID_LENGTH = 250;

/** Thread keys from a message's header index (the same text SEARCH uses; built at delivery). */
export function threadKeysOfHeaderIndex(index: HeaderIndex): ThreadKeys {
  const first = (name: string): string | undefined => headerIndexValues(index, name)[0];
  const own = messageIds(first('message-id'), 1)[0] ?? null;
  let refs = messageIds(first('references'), THREAD_LIMITS.references * 4);
  if (refs.length === 0) refs = messageIds(first('in-reply-to'), 1);
  // Keep the nearest ancestors: a References field lists the root first and the parent last.
  if (refs.length > THREAD_LIMITS.references) refs = refs.slice(refs.length - THREAD_LIMITS.references);
  const references = [...new Set(refs.filter((r) => r !== own && r.length <= MAX_ID_LENGTH))];
  const base = extractBaseSubject(first('subject') ?? '');
  const subject = asciiCasemapKey(base.subject);
  return {
    messageId: own !== null && own.length <= MAX_ID_LENGTH ? own : null,
    references,
    replySubject: references.length === 0 && base.isReplyOrForward && subject !== '' ? subject : null,
    subject,
  };
}
