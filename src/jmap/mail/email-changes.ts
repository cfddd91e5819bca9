// Email/changes (RFC 8621 4.3, RFC 8620 5.2): the account's change log as the store keeps it for every protocol.
import type { Store } from '../../store/store.js';
import type { MethodHandler } from '../core/engine.js';
import { MAIL_CAPABILITY } from './capability.js';
import { changesHandler } from './standard.js';

/**
 * RFC 8620 5.2: sinceState (required String), maxChanges (UnsignedInt > 0 or null). IMAP STORE, EXPUNGE,
 * COPY, POP3 DELE and delivery write the same log (store/jmap-store.ts), so a client sees them all.
 */
export function emailChangesHandler(store: Store): MethodHandler {
  return changesHandler(MAIL_CAPABILITY, store, 'Email');
}
