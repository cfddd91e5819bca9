// Email/set (RFC 8621 4.6, RFC 8620 5.3): create (built message, appended), update of keywords and mailboxIds (patches), destroy.
import { MailroomError } from '../../errors.js';
import { keywordToFlag } from '../../mail/keywords.js';
import type { StorageLevel } from '../../store/free-space.js';
import { encodeId } from '../../store/object-ids.js';
import type { Store } from '../../store/store.js';
import { isOverQuota } from '../../store/quota.js';
import type { MethodContext, MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { isObject } from '../core/request.js';
import { MAIL_CAPABILITY } from './capability.js';
import { prepareEmail, type BlobSource } from './email-create.js';
import { mailBlobResolver, readBlob } from './email-blobs.js';
import { parseKeyword } from './email-filter.js';
import { setError, SetError, setResponse } from './set-errors.js';

export interface EmailSetDeps {
  store: Store;
  hostname: string;
  now: () => Date;
  /** data_dir's free-space floor: creates get overQuota below it (IMAP APPEND's NO [OVERQUOTA]). */
  storage?: StorageLevel;
}

/**
 * Blobs a create may use: every blob of the account that download and Email/import read (uploads U…,
 * stored messages B…, and their parts "<blob>_<partId>": a forward carries the original's attachments
 * by the blob ids Email/get gave them, RFC 8621 4.1.4 / 4.6), through the same resolver.
 */
export function accountBlobs(store: Store, storeAccountId: number): BlobSource {
  const blobs = mailBlobResolver(store);
  return {
    async read(blobId) {
      const blob = await blobs.open(storeAccountId, blobId);
      return blob ? readBlob(blob) : null;
    },
  };
}

/** The new keywords or mailboxIds of a patch (RFC 8620 5.3 PatchObject): whole value or "prop/key" paths. */
function patchSet(
  current: readonly string[],
  patch: Record<string, unknown>,
  prop: 'keywords' | 'mailboxIds',
  normalise: (key: string) => string | null,
): string[] | null {
  const whole = Object.hasOwn(patch, prop);
  const paths = Object.keys(patch).filter((k) => k.startsWith(`${prop}/`));
  if (!whole && paths.length === 0) return null;
  if (whole && paths.length > 0) {
    throw new SetError('invalidPatch', `"${prop}" and "${prop}/..." together`);
  }
  const bad = (): SetError => new SetError('invalidProperties', `bad ${prop}`, { properties: [prop] });
  if (whole) {
    const v = patch[prop];
    if (!isObject(v)) throw bad();
    const out = new Set<string>();
    for (const [k, on] of Object.entries(v)) {
      const n = normalise(k);
      if (n === null || on !== true) throw bad();
      out.add(n);
    }
    return [...out];
  }
  const out = new Set(current);
  for (const path of paths) {
    const n = normalise(path.slice(prop.length + 1));
    const on = patch[path];
    if (n === null || (on !== true && on !== null)) throw bad();
    if (on === true) out.add(n);
    else out.delete(n);
  }
  return [...out];
}

const MUTABLE = /^(keywords|mailboxIds)(\/|$)/;

export function emailSetHandler(deps: EmailSetDeps): MethodHandler {
  const { store } = deps;
  return {
    capability: MAIL_CAPABILITY,
    account: 'write',
    async handle(args, ctx: MethodContext) {
      const account = ctx.account!; // checked by the engine (account: 'write')
      const a = account.storeId;
      const { ifInState, create, update, destroy } = args;
      if (create != null && !isObject(create))
        throw new MethodError('invalidArguments', '"create" must be an object');
      if (update != null && !isObject(update))
        throw new MethodError('invalidArguments', '"update" must be an object');
      if (destroy != null && (!Array.isArray(destroy) || !destroy.every((d) => typeof d === 'string'))) {
        throw new MethodError('invalidArguments', '"destroy" must be an array of ids');
      }
      const oldState = store.jmap.states(a).Email;
      if (ifInState != null && ifInState !== oldState) {
        throw new MethodError('stateMismatch', `the Email state is "${oldState}"`);
      }
      const created: Record<string, unknown> = {};
      const notCreated: Record<string, unknown> = {};
      const updated: Record<string, unknown> = {};
      const notUpdated: Record<string, unknown> = {};
      const destroyed: string[] = [];
      const notDestroyed: Record<string, unknown> = {};

      // RFC 8620 5.3: creates first, then updates, then destroys.
      for (const [creationId, value] of Object.entries((create as Record<string, unknown> | null) ?? {})) {
        try {
          if (await deps.storage?.check()) throw new SetError('overQuota', 'the server is low on disk space');
          const prepared = await prepareEmail(value, {
            blobs: accountBlobs(store, a),
            now: deps.now(),
            hostname: deps.hostname,
            resolveId: (id) => ctx.resolveId(id),
          });
          const rows = prepared.mailboxIds.map((m) => store.jmap.mailboxRowId(a, m));
          if (rows.some((r) => r === null)) {
            throw new SetError('invalidProperties', 'no such Mailbox', { properties: ['mailboxIds'] });
          }
          const [first, ...others] = rows as number[];
          // Every mailbox in one transaction (as Email/import): over the quota, no copy is kept anywhere.
          const {
            uids: [uid],
          } = await store.mail.appendAll(first!, [
            {
              body: { kind: 'memory', chunks: [prepared.message], size: prepared.message.length },
              flags: prepared.keywords.map(keywordToFlag),
              internalDate: prepared.receivedAt,
              internalDateOffset: 0,
              alsoInto: others,
            },
          ]);
          const [meta] = await store.mail.messageMeta(first!, uid!, uid!, false);
          const ids = meta ? store.jmap.objectIds(a, [meta.messageId])[0] : null;
          if (!meta || !ids) throw new SetError('serverFail', 'the new Email vanished');
          ctx.addCreatedId(creationId, ids.emailId);
          created[creationId] = {
            id: ids.emailId,
            blobId: encodeId('blob', meta.messageId),
            threadId: ids.threadId,
            size: prepared.message.length,
          };
        } catch (error) {
          notCreated[creationId] = setErrorOf(error);
        }
      }

      for (const [rawId, patch] of Object.entries((update as Record<string, unknown> | null) ?? {})) {
        const id = ctx.resolveId(rawId) ?? rawId;
        try {
          if (!isObject(patch)) throw new SetError('invalidPatch', 'a PatchObject is needed');
          const immutable = Object.keys(patch).filter((k) => !MUTABLE.test(k));
          if (immutable.length > 0) {
            throw new SetError('invalidProperties', 'only keywords and mailboxIds can change', {
              properties: immutable,
            });
          }
          const [email] = store.jmap.getEmails(a, [id]);
          if (!email) throw new SetError('notFound', `no Email ${id}`);
          const keywords = patchSet(email.keywords, patch, 'keywords', parseKeyword);
          const mailboxIds = patchSet(email.mailboxIds, patch, 'mailboxIds', (m) => ctx.resolveId(m));
          if (mailboxIds !== null) {
            if (mailboxIds.length === 0 || mailboxIds.some((m) => store.jmap.mailboxRowId(a, m) === null)) {
              throw new SetError('invalidProperties', 'an Email is in one or more existing Mailboxes', {
                properties: ['mailboxIds'],
              });
            }
          }
          if (keywords !== null && keywords.sort().join(' ') !== email.keywords.join(' ')) {
            await store.jmap.setKeywords(a, [id], keywords);
          }
          if (mailboxIds !== null && mailboxIds.sort().join(' ') !== email.mailboxIds.join(' ')) {
            const r = await store.jmap.setMailboxes(a, id, mailboxIds);
            if (r.notFound.length > 0) throw new SetError('notFound', `no Email ${id}`);
          }
          updated[id] = null;
        } catch (error) {
          notUpdated[id] = setErrorOf(error);
        }
      }

      if (Array.isArray(destroy) && destroy.length > 0) {
        const ids = (destroy as string[]).map((d) => ctx.resolveId(d) ?? d);
        const r = await store.jmap.destroyEmails(a, ids);
        destroyed.push(...r.destroyed);
        for (const id of r.notFound) notDestroyed[id] = setError('notFound');
      }

      return setResponse(account.id, oldState, store.jmap.states(a).Email, {
        created,
        updated,
        destroyed,
        notCreated,
        notUpdated,
        notDestroyed,
      });
    },
  };
}

/** A thrown problem as a SetError object; store errors that are the client's fault keep their meaning. */
function setErrorOf(error: unknown): Record<string, unknown> {
  if (error instanceof SetError) return error.toJSON();
  if (error instanceof MailroomError && error.code === 'INVALID_MAILBOXES') {
    return setError('invalidProperties', error.message, { properties: ['mailboxIds'] });
  }
  if (error instanceof MailroomError && error.code === 'NO_SUCH_MAILBOX') {
    return setError('invalidProperties', error.message, { properties: ['mailboxIds'] });
  }
  if ((error as { code?: string }).code === 'ENOSPC') return setError('overQuota');
  // RFC 8620 5.3 overQuota: the account's storage quota (store/quota.ts) refused the create or update.
  if (isOverQuota(error)) return setError('overQuota', error.message);
  throw error;
}
