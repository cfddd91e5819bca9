// Email/import (RFC 8621 4.8: a blob becomes an Email, as IMAP APPEND) and Email/copy (4.7: between accounts, of which a user has one).
import { keywordToFlag } from '../../mail/keywords.js';
import { MailroomError } from '../../errors.js';
import type { MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { isObject } from '../core/request.js';
import { storeIdOf } from '../core/session.js';
import { MAIL_CAPABILITY } from './capability.js';
import { looksLikeMessage, mailBlobResolver, readBlob } from './email-blobs.js';
import type { MailMethodDeps } from './index.js';
import { orNull, setError, SetError } from './set-errors.js';
import { checkIfInState } from './standard.js';
import { parseKeyword, parseUtcDate } from './email-filter.js';
import { isOverQuota } from '../../store/quota.js';

export function emailImport(deps: MailMethodDeps): MethodHandler {
  const blobs = mailBlobResolver(deps.store);
  return {
    capability: MAIL_CAPABILITY,
    account: 'write',
    async handle(args, ctx) {
      const account = ctx.account!;
      const store = deps.store;
      const storeId = account.storeId;
      const oldState = store.jmap.states(storeId).Email;
      checkIfInState(args, oldState);
      if (!isObject(args.emails)) throw new MethodError('invalidArguments', '"emails" must be an object');
      const created: Record<string, unknown> = {};
      const notCreated: Record<string, unknown> = {};
      for (const [cid, spec] of Object.entries(args.emails)) {
        try {
          if (!isObject(spec)) throw new SetError('invalidProperties', 'an EmailImport must be an object');
          const bad = Object.keys(spec).filter(
            (k) => !['blobId', 'mailboxIds', 'keywords', 'receivedAt'].includes(k),
          );
          if (bad.length > 0) throw new SetError('invalidProperties', undefined, { properties: bad });
          if (typeof spec.blobId !== 'string')
            throw new SetError('invalidProperties', undefined, { properties: ['blobId'] });
          // Mailbox ids: at least one, each of this account ("#creationId" of a Mailbox/set create earlier).
          if (!isObject(spec.mailboxIds) || Object.keys(spec.mailboxIds).length === 0) {
            throw new SetError('invalidProperties', 'at least one mailbox', { properties: ['mailboxIds'] });
          }
          const boxes: number[] = [];
          for (const [raw, on] of Object.entries(spec.mailboxIds)) {
            const id = ctx.resolveId(raw);
            const row = on === true && id !== null ? store.jmap.mailboxRowId(storeId, id) : null;
            if (row === null)
              throw new SetError('invalidProperties', undefined, { properties: [`mailboxIds/${raw}`] });
            boxes.push(row);
          }
          const keywords = spec.keywords ?? {};
          if (
            !isObject(keywords) ||
            !Object.entries(keywords).every(([k, v]) => v === true && parseKeyword(k) !== null)
          ) {
            throw new SetError('invalidProperties', undefined, { properties: ['keywords'] });
          }
          const receivedMs =
            spec.receivedAt === undefined ? deps.now().getTime() : parseUtcDate(spec.receivedAt);
          const receivedAt = receivedMs === null ? null : new Date(receivedMs);
          if (receivedAt === null)
            throw new SetError('invalidProperties', undefined, { properties: ['receivedAt'] });
          const blob = await blobs.open(storeId, ctx.resolveId(spec.blobId) ?? spec.blobId);
          if (!blob) throw new SetError('blobNotFound', undefined, { notFound: [spec.blobId] });
          const data = await readBlob(blob);
          if (!looksLikeMessage(data))
            throw new SetError('invalidEmail', 'the blob is not an RFC 5322 message');
          // As IMAP APPEND into the first mailbox (RFC 8621 4.8 "as if ... appended"), placed in the others
          // in the same transaction: over the quota (or a mailbox gone) the Email is not created at all,
          // never left in the first mailbox alone.
          const flags = Object.keys(keywords).map((k) => keywordToFlag(k.toLowerCase()));
          const first = boxes[0]!;
          const before = store.mail.highestModseq(first) ?? 0;
          const {
            uids: [uid],
          } = await store.mail.appendAll(first, [
            {
              body: { kind: 'memory', chunks: [data], size: data.length },
              flags,
              internalDate: receivedAt,
              internalDateOffset: 0,
              alsoInto: boxes.slice(1),
            },
          ]);
          const row = store.mail.changedSince(first, before).find((r) => r.uid === uid);
          const ids = row ? store.jmap.objectIds(storeId, [row.messageId])[0] : null;
          if (!row || !ids) throw new SetError('notFound', 'expunged as soon as imported');
          ctx.addCreatedId(cid, ids.emailId);
          created[cid] = {
            id: ids.emailId,
            blobId: store.jmap.getEmails(storeId, [ids.emailId])[0]?.blobId ?? null,
            threadId: ids.threadId,
            size: data.length,
          };
        } catch (error) {
          if (error instanceof SetError) notCreated[cid] = error.toJSON();
          // RFC 8620 5.3 overQuota: the account's storage quota refused it (store/quota.ts).
          else if (isOverQuota(error)) notCreated[cid] = setError('overQuota', error.message);
          else if (error instanceof MailroomError && error.code === 'NO_SUCH_MAILBOX') {
            notCreated[cid] = setError('invalidProperties', undefined, { properties: ['mailboxIds'] });
          } else throw error;
        }
      }
      return {
        accountId: account.id,
        oldState,
        newState: store.jmap.states(storeId).Email,
        created: orNull(created),
        notCreated: orNull(notCreated),
      };
    },
  };
}

/**
 * Email/copy (RFC 8621 4.7, RFC 8620 5.4): copies Emails from another account of the user. A signed-in
 * user has exactly one account, and 5.4 says fromAccountId MUST differ from accountId, so every
 * call ends in one of the errors 5.4 defines; moving within the account is Email/set mailboxIds.
 */
export const emailCopy: MethodHandler = {
  capability: MAIL_CAPABILITY,
  account: 'write',
  handle(args, ctx) {
    const { fromAccountId } = args;
    if (typeof fromAccountId !== 'string')
      throw new MethodError('invalidArguments', '"fromAccountId" must be a string');
    const from = ctx.user.accounts.get(fromAccountId);
    if (!from || storeIdOf(fromAccountId) === null) {
      throw new MethodError('fromAccountNotFound', `no account "${fromAccountId}"`);
    }
    if (!from.capabilities.has(MAIL_CAPABILITY)) {
      throw new MethodError('fromAccountNotSupportedByMethod', `account "${fromAccountId}" has no mail`);
    }
    if (from.id === ctx.account!.id) {
      throw new MethodError(
        'invalidArguments',
        'fromAccountId must differ from accountId (RFC 8620 5.4); use Email/set',
      );
    }
    // Unreachable with one account per user; kept so a shared account later gets a clear answer.
    throw new MethodError('invalidArguments', 'copying between accounts is not supported');
  },
};
