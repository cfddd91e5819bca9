// The implicit Email/set of EmailSubmission/set (RFC 8621 7.5 onSuccessUpdateEmail / onSuccessDestroyEmail), on the store API.
/*
 * Email/set itself is another file's; this applies only what the RFC's submission examples use (keywords
 * and mailboxIds, whole or by "keywords/x" / "mailboxIds/x" patch paths, and destroy) through the same store
 * calls, and returns the Email/set-shaped response the client expects after the EmailSubmission/set one.
 */
import { MailroomError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { MethodContext } from '../core/engine.js';
import { isObject } from '../core/request.js';
import { storeAccount } from './sending-common.js';
import { setError, setResponse } from './set-errors.js';

/** Applies one patch to the Email's keywords and mailboxIds; a SetError object when it cannot. */
async function patchEmail(
  store: Store,
  accountId: number,
  emailId: string,
  patch: Record<string, unknown>,
): Promise<Record<string, unknown> | null> {
  const [email] = store.jmap.getEmails(accountId, [emailId]);
  if (!email) return setError('notFound');
  let keywords: Set<string> | null = null;
  let mailboxes: Set<string> | null = null;
  for (const [path, value] of Object.entries(patch)) {
    const [head, key, ...more] = path.split('/');
    const bad = () => setError('invalidPatch', `cannot apply "${path}"`);
    if (more.length > 0) return bad();
    if (head === 'keywords') {
      keywords ??= new Set(email.keywords);
      if (key === undefined) {
        if (!isObject(value) || !Object.values(value).every((v) => v === true)) return bad();
        keywords = new Set(Object.keys(value).map((k) => k.toLowerCase()));
      } else if (value === true) keywords.add(key.toLowerCase());
      else if (value === null) keywords.delete(key.toLowerCase());
      else return bad();
    } else if (head === 'mailboxIds') {
      mailboxes ??= new Set(email.mailboxIds);
      if (key === undefined) {
        if (!isObject(value) || !Object.values(value).every((v) => v === true)) return bad();
        mailboxes = new Set(Object.keys(value));
      } else if (value === true) mailboxes.add(key);
      else if (value === null) mailboxes.delete(key);
      else return bad();
    } else {
      return setError('invalidProperties', `"${head}" cannot be changed here`, { properties: [head] });
    }
  }
  if (keywords) await store.jmap.setKeywords(accountId, [emailId], [...keywords]);
  if (mailboxes) {
    try {
      await store.jmap.setMailboxes(accountId, emailId, [...mailboxes]);
    } catch (error) {
      if (error instanceof MailroomError) {
        return setError('invalidProperties', error.message, { properties: ['mailboxIds'] });
      }
      throw error;
    }
  }
  return null;
}

/**
 * Runs the implicit Email/set for the submissions that were created (`emailOf`: "#creationId" and
 * submission id -> Email id). Entries naming a submission that did not succeed are skipped (RFC 8621 7.5:
 * "if the create/update/destroy succeeds"). Returns null when there was nothing to do.
 */
export async function applyImplicitEmailSet(
  store: Store,
  ctx: MethodContext,
  emailOf: ReadonlyMap<string, string>,
  onUpdate: Record<string, Record<string, unknown>> | null,
  onDestroy: readonly string[] | null,
): Promise<Record<string, unknown> | null> {
  const accountId = storeAccount(ctx);
  const updates = Object.entries(onUpdate ?? {}).filter(([k]) => emailOf.has(k));
  const destroys = (onDestroy ?? []).filter((k) => emailOf.has(k));
  if (updates.length === 0 && destroys.length === 0) return null;
  const oldState = store.jmap.states(accountId).Email;
  const updated: Record<string, unknown> = {};
  const notUpdated: Record<string, unknown> = {};
  for (const [key, patch] of updates) {
    const emailId = emailOf.get(key)!;
    const error = await patchEmail(store, accountId, emailId, patch);
    if (error) notUpdated[emailId] = error;
    else updated[emailId] = null;
  }
  const ids = [...new Set(destroys.map((k) => emailOf.get(k)!))];
  const result =
    ids.length > 0 ? await store.jmap.destroyEmails(accountId, ids) : { destroyed: [], notFound: [] };
  return setResponse(ctx.account!.id, oldState, store.jmap.states(accountId).Email, {
    created: {},
    updated,
    destroyed: result.destroyed,
    notCreated: {},
    notUpdated,
    notDestroyed: Object.fromEntries(result.notFound.map((id) => [id, setError('notFound')])),
  });
}
