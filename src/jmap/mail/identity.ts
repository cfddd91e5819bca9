// Identity/get, /changes, /set (RFC 8621 6): the addresses the user may send from, with name, Reply-To, Bcc and signatures.
import { ownAddresses } from '../../delivery/own-addresses.js';
import { addressBookOf } from '../../delivery/router.js';
import { senderOwnedBy } from '../../mail/submission.js';
import type { AddressValue, IdentityFields, IdentityRecord } from '../../store/sending-store.js';
import type { Store } from '../../store/store.js';
import type { MethodContext, MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { isObject } from '../core/request.js';
import { getArgs, pick, setArgs, storeAccount } from './sending-common.js';
import { changesHandler, checkIfInState } from './standard.js';
import { setError, SetError, setResponse } from './set-errors.js';

export const SUBMISSION_CAPABILITY = 'urn:ietf:params:jmap:submission';

const PROPERTIES = [
  'id',
  'name',
  'email',
  'replyTo',
  'bcc',
  'textSignature',
  'htmlSignature',
  'mayDelete',
] as const;

/** The account's identities, the automatic ones brought up to date with the directory first. */
export function accountIdentities(store: Store, ctx: MethodContext): IdentityRecord[] {
  const accountId = storeAccount(ctx);
  const account = store.getAccountById(accountId);
  if (!account) throw new MethodError('accountNotFound', 'the account is gone');
  return store.sending.identities(accountId, ownAddresses(store, account.address));
}

export function identityObject(i: IdentityRecord): Record<string, unknown> {
  return {
    id: i.id,
    name: i.name,
    email: i.email,
    replyTo: i.replyTo,
    bcc: i.bcc,
    textSignature: i.textSignature,
    htmlSignature: i.htmlSignature,
    // The account's own address and its aliases stay: they are what the directory says (RFC 8621 6).
    mayDelete: !i.auto,
  };
}

export function identityGet(store: Store): MethodHandler {
  return {
    capability: SUBMISSION_CAPABILITY,
    account: 'read',
    handle(args, ctx) {
      const { ids, properties } = getArgs(args, PROPERTIES);
      const all = accountIdentities(store, ctx);
      const state = store.jmap.states(storeAccount(ctx)).Identity;
      const byId = new Map(all.map((i) => [i.id, i]));
      const list: Record<string, unknown>[] = [];
      const notFound: string[] = [];
      // "#creationId" of an identity created earlier in the request (RFC 8620 3.3).
      for (const id of ids?.map((i) => ctx.resolveId(i) ?? i) ?? all.map((i) => i.id)) {
        const i = byId.get(id);
        if (i) list.push(pick(identityObject(i), properties));
        else notFound.push(id);
      }
      return { accountId: ctx.account!.id, state, list, notFound };
    },
  };
}

export function identityChanges(store: Store): MethodHandler {
  return changesHandler(SUBMISSION_CAPABILITY, store, 'Identity');
}

function addressList(value: unknown, property: string): AddressValue[] | null {
  if (value === null) return null;
  if (
    !Array.isArray(value) ||
    !value.every(
      (a) =>
        isObject(a) &&
        typeof a.email === 'string' &&
        /^[^@\s]+@[^@\s]+$/.test(a.email) &&
        (a.name === undefined || a.name === null || typeof a.name === 'string'),
    )
  ) {
    throw new SetError('invalidProperties', `"${property}" must be EmailAddress[] or null`, {
      properties: [property],
    });
  }
  return (value as Array<{ name?: string | null; email: string }>).map((a) => ({
    name: a.name ?? null,
    email: a.email,
  }));
}

/** The settable fields of a create or update patch; email and id are refused by the caller. */
function fieldsOf(patch: Record<string, unknown>): Partial<IdentityFields> {
  const out: Partial<IdentityFields> = {};
  for (const [key, value] of Object.entries(patch)) {
    const bad = (what: string) =>
      new SetError('invalidProperties', `"${key}" must be ${what}`, { properties: [key] });
    switch (key) {
      case 'name':
      case 'textSignature':
      case 'htmlSignature':
        if (typeof value !== 'string') throw bad('a string');
        out[key] = value;
        break;
      case 'replyTo':
      case 'bcc':
        out[key] = addressList(value, key);
        break;
      default:
        throw new SetError('invalidProperties', `"${key}" cannot be set`, { properties: [key] });
    }
  }
  return out;
}

export function identitySet(store: Store): MethodHandler {
  return {
    capability: SUBMISSION_CAPABILITY,
    account: 'write',
    handle(args, ctx) {
      const accountId = storeAccount(ctx);
      const account = store.getAccountById(accountId);
      if (!account) throw new MethodError('accountNotFound', 'the account is gone');
      const { create, update, destroy } = setArgs(args);
      const existing = accountIdentities(store, ctx);
      const oldState = store.jmap.states(accountId).Identity;
      checkIfInState(args, oldState);
      const book = addressBookOf(store);
      const created: Record<string, unknown> = {};
      const notCreated: Record<string, unknown> = {};
      for (const [cid, object] of Object.entries(create)) {
        try {
          const { email, ...rest } = object;
          if (typeof email !== 'string') {
            throw new SetError('invalidProperties', '"email" is required', { properties: ['email'] });
          }
          if ('id' in rest || 'mayDelete' in rest) {
            throw new SetError('invalidProperties', 'server-set properties', {
              properties: ['id', 'mayDelete'].filter((p) => p in rest),
            });
          }
          // RFC 8621 6.3: forbiddenFrom when the user may not send from this address (the SMTP rule).
          if (!senderOwnedBy(book, email, account.address)) {
            throw new SetError('forbiddenFrom', `you may not send as ${email}`);
          }
          const fields: IdentityFields = {
            name: '',
            replyTo: null,
            bcc: null,
            textSignature: '',
            htmlSignature: '',
            ...fieldsOf(rest),
          };
          const identity = store.sending.createIdentity(accountId, email, fields);
          ctx.addCreatedId(cid, identity.id);
          created[cid] = { id: identity.id, mayDelete: true };
        } catch (error) {
          if (!(error instanceof SetError)) throw error;
          notCreated[cid] = error.toJSON();
        }
      }
      // Read again: identities created above may be updated or destroyed by "#creationId" below.
      const known = new Map(
        (Object.keys(created).length > 0 ? accountIdentities(store, ctx) : existing).map((i) => [i.id, i]),
      );
      const updated: Record<string, unknown> = {};
      const notUpdated: Record<string, unknown> = {};
      for (const [rawId, patch] of Object.entries(update)) {
        const id = ctx.resolveId(rawId) ?? rawId;
        try {
          const current = known.get(id);
          if (!current) throw new SetError('notFound');
          // The email of an identity is immutable (RFC 8621 6: "immutable"); the same value is fine.
          const { email, ...rest } = patch;
          if (email !== undefined && email !== current.email) {
            throw new SetError('invalidProperties', '"email" is immutable', { properties: ['email'] });
          }
          const fields = fieldsOf(rest);
          if (!store.sending.updateIdentity(accountId, id, fields)) throw new SetError('notFound');
          updated[id] = null;
        } catch (error) {
          if (!(error instanceof SetError)) throw error;
          notUpdated[id] = error.toJSON();
        }
      }
      const destroyed: string[] = [];
      const notDestroyed: Record<string, unknown> = {};
      for (const rawId of destroy) {
        const id = ctx.resolveId(rawId) ?? rawId;
        const current = known.get(id);
        if (current?.auto) {
          notDestroyed[id] = setError(
            'forbidden',
            'the account address and its aliases cannot be deleted (mayDelete false)',
          );
        } else if (store.sending.destroyIdentity(accountId, id)) destroyed.push(id);
        else notDestroyed[id] = setError('notFound');
      }
      return setResponse(ctx.account!.id, oldState, store.jmap.states(accountId).Identity, {
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
