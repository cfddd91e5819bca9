// VacationResponse/get and /set (RFC 8621 8): the account's one automatic reply, id "singleton".
import type { VacationRecord } from '../../store/sending-store.js';
import type { Store } from '../../store/store.js';
import type { MethodHandler } from '../core/engine.js';
import { getArgs, pick, setArgs, storeAccount } from './sending-common.js';
import { setError, setResponse } from './set-errors.js';
import { checkIfInState } from './standard.js';

export const VACATION_CAPABILITY = 'urn:ietf:params:jmap:vacationresponse';
const SINGLETON = 'singleton';
const PROPERTIES = ['id', 'isEnabled', 'fromDate', 'toDate', 'subject', 'textBody', 'htmlBody'] as const;

const utc = (d: Date | null): string | null =>
  d === null ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function vacationObject(v: VacationRecord): Record<string, unknown> {
  return {
    id: SINGLETON,
    isEnabled: v.isEnabled,
    fromDate: utc(v.fromDate),
    toDate: utc(v.toDate),
    subject: v.subject,
    textBody: v.textBody,
    htmlBody: v.htmlBody,
  };
}

/** An RFC 8620 1.4 UTCDate (RFC 3339 date-time in UTC, "Z"), or undefined when the value is not one. */
function utcDate(value: unknown): Date | null | undefined {
  if (value === null) return null;
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** Applies a patch to the VacationResponse; the names of the properties it could not set. */
function applyPatch(
  current: VacationRecord,
  patch: Record<string, unknown>,
): { next: VacationRecord; bad: string[] } {
  const next = { ...current };
  const bad: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    switch (key) {
      case 'id':
        if (value !== SINGLETON) bad.push(key);
        break;
      case 'isEnabled':
        if (typeof value === 'boolean') next.isEnabled = value;
        else bad.push(key);
        break;
      case 'fromDate':
      case 'toDate': {
        const d = utcDate(value);
        if (d === undefined) bad.push(key);
        else next[key] = d;
        break;
      }
      case 'subject':
      case 'textBody':
      case 'htmlBody':
        if (value === null || typeof value === 'string') next[key] = value;
        else bad.push(key);
        break;
      default:
        bad.push(key);
    }
  }
  return { next, bad };
}

export function vacationGet(store: Store): MethodHandler {
  return {
    capability: VACATION_CAPABILITY,
    account: 'read',
    handle(args, ctx) {
      const { ids, properties } = getArgs(args, PROPERTIES);
      const accountId = storeAccount(ctx);
      const object = vacationObject(store.sending.vacation(accountId));
      const wanted = ids ?? [SINGLETON];
      return {
        accountId: ctx.account!.id,
        state: store.jmap.states(accountId).VacationResponse,
        list: wanted.includes(SINGLETON) ? [pick(object, properties)] : [],
        notFound: wanted.filter((id) => id !== SINGLETON),
      };
    },
  };
}

/** VacationResponse/set: only update of "singleton"; create and destroy get the `singleton` SetError (RFC 8621 8.2). */
export function vacationSet(store: Store): MethodHandler {
  return {
    capability: VACATION_CAPABILITY,
    account: 'write',
    handle(args, ctx) {
      const accountId = storeAccount(ctx);
      const { create, update, destroy } = setArgs(args);
      const oldState = store.jmap.states(accountId).VacationResponse;
      checkIfInState(args, oldState);
      const notCreated = Object.fromEntries(
        Object.keys(create).map((cid) => [cid, setError('singleton', 'the VacationResponse always exists')]),
      );
      const notDestroyed = Object.fromEntries(
        destroy.map((id) => [id, setError('singleton', 'the VacationResponse cannot be destroyed')]),
      );
      const updated: Record<string, unknown> = {};
      const notUpdated: Record<string, unknown> = {};
      for (const [id, patch] of Object.entries(update)) {
        if (id !== SINGLETON) {
          notUpdated[id] = setError('notFound');
          continue;
        }
        const { next, bad } = applyPatch(store.sending.vacation(accountId), patch);
        if (bad.length > 0) {
          notUpdated[id] = setError('invalidProperties', 'invalid values', { properties: bad });
          continue;
        }
        store.sending.setVacation(accountId, next);
        updated[id] = null;
      }
      return setResponse(ctx.account!.id, oldState, store.jmap.states(accountId).VacationResponse, {
        created: {},
        updated,
        destroyed: [],
        notCreated,
        notUpdated,
        notDestroyed,
      });
    },
  };
}
