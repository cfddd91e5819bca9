// Thread/get and Thread/changes (RFC 8621 3.1, 3.2): threads as the store assigned them at delivery.
import type { MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { MAIL_CAPABILITY } from './capability.js';
import type { MailMethodDeps } from './index.js';
import { requestStates } from './request-states.js';
import { changesHandler, parseIds, parseProperties, pick } from './standard.js';

const THREAD_PROPERTIES = ['id', 'emailIds'] as const;
const KNOWN = new Set<string>(THREAD_PROPERTIES);

export function threadGet(deps: MailMethodDeps): MethodHandler {
  return {
    capability: MAIL_CAPABILITY,
    account: 'read',
    handle(args, ctx) {
      const account = ctx.account!;
      const ids = parseIds(args.ids, ctx);
      // RFC 8621 3.1: fetching every Thread is not expected; a server may refuse ids null.
      if (ids === null) throw new MethodError('requestTooLarge', 'Thread/get needs "ids"');
      const properties = parseProperties(args.properties, KNOWN, THREAD_PROPERTIES);
      const state = requestStates(deps.store, ctx, account.storeId).Thread;
      const found = deps.store.jmap.getThreads(account.storeId, ids);
      const list: Record<string, unknown>[] = [];
      const notFound: string[] = [];
      found.forEach((t, i) => {
        if (t === null) notFound.push(ids[i]!);
        else list.push(pick({ id: t.id, emailIds: t.emailIds }, properties));
      });
      return { accountId: account.id, state, list, notFound };
    },
  };
}

export function threadChanges(deps: MailMethodDeps): MethodHandler {
  return changesHandler(MAIL_CAPABILITY, deps.store, 'Thread');
}
