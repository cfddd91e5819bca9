// Email/changes (RFC 8621 4.3, RFC 8620 5.2): the account's change log as the store keeps it for every protocol.
import type { Store } from '../../store/store.js';
import type { MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { MAIL_CAPABILITY } from './capability.js';

/**
 * RFC 8620 5.2: sinceState (required String), maxChanges (UnsignedInt > 0 or null). IMAP STORE, EXPUNGE,
 * COPY, POP3 DELE and delivery write the same log (store/jmap-store.ts), so a client sees them all.
 */
export function emailChangesHandler(store: Store): MethodHandler {
  return {
    capability: MAIL_CAPABILITY,
    account: 'read',
    handle(args, ctx) {
      const account = ctx.account!; // the engine checked args.accountId (account: 'read')
      const { sinceState, maxChanges } = args;
      if (typeof sinceState !== 'string')
        throw new MethodError('invalidArguments', '"sinceState" must be a string');
      if (
        maxChanges !== undefined &&
        maxChanges !== null &&
        (typeof maxChanges !== 'number' || !Number.isSafeInteger(maxChanges) || maxChanges < 1)
      ) {
        throw new MethodError('invalidArguments', '"maxChanges" must be a positive integer');
      }
      const r = store.jmap.changes(
        account.storeId,
        'Email',
        sinceState,
        (maxChanges as number | null) ?? null,
      );
      if (!r.ok) {
        throw new MethodError('cannotCalculateChanges', `cannot calculate changes since "${sinceState}"`);
      }
      return {
        accountId: account.id,
        oldState: r.oldState,
        newState: r.newState,
        hasMoreChanges: r.hasMoreChanges,
        created: r.created,
        updated: r.updated,
        destroyed: r.destroyed,
      };
    },
  };
}
