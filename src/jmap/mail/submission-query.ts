// EmailSubmission/get, /changes, /query, /queryChanges (RFC 8621 7.1-7.4): reading submissions and their delivery status.
import type { SubmissionRecord } from '../../store/sending-store.js';
import type { Store } from '../../store/store.js';
import type { MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { isObject } from '../core/request.js';
import { SUBMISSION_CAPABILITY } from './identity.js';
import { getArgs, isStringArray, pick, storeAccount } from './sending-common.js';
import { changesHandler } from './standard.js';
import { submissionObject } from './submission.js';

const PROPERTIES = [
  'id',
  'identityId',
  'emailId',
  'threadId',
  'envelope',
  'sendAt',
  'undoStatus',
  'deliveryStatus',
  'dsnBlobIds',
  'mdnBlobIds',
] as const;

export function submissionGet(store: Store): MethodHandler {
  return {
    capability: SUBMISSION_CAPABILITY,
    account: 'read',
    handle(args, ctx) {
      const { ids: asked, properties } = getArgs(args, PROPERTIES);
      // "#creationId" of a submission created earlier in the request (RFC 8620 3.3).
      const ids = asked?.map((id) => ctx.resolveId(id) ?? id) ?? null;
      const accountId = storeAccount(ctx);
      const state = store.jmap.states(accountId).EmailSubmission;
      const found = store.sending.getSubmissions(accountId, ids);
      const list: Record<string, unknown>[] = [];
      const notFound: string[] = [];
      found.forEach((s, i) => {
        if (s) list.push(pick(submissionObject(s), properties));
        else notFound.push(ids![i]!);
      });
      return { accountId: ctx.account!.id, state, list, notFound };
    },
  };
}

export function submissionChanges(store: Store): MethodHandler {
  return changesHandler(SUBMISSION_CAPABILITY, store, 'EmailSubmission');
}

type Filter = (s: SubmissionRecord) => boolean;

/** RFC 8621 7.3 FilterCondition and RFC 8620 5.5 FilterOperator (AND, OR, NOT), compiled to a predicate. */
function compileFilter(value: unknown, depth = 0): Filter {
  if (value === undefined || value === null) return () => true;
  if (!isObject(value) || depth > 10) throw new MethodError('invalidArguments', '"filter" must be an object');
  if ('operator' in value) {
    const { operator, conditions } = value;
    if (!Array.isArray(conditions))
      throw new MethodError('invalidArguments', 'a FilterOperator needs "conditions"');
    const parts = conditions.map((c) => compileFilter(c, depth + 1));
    if (operator === 'AND') return (s) => parts.every((p) => p(s));
    if (operator === 'OR') return (s) => parts.some((p) => p(s));
    if (operator === 'NOT') return (s) => !parts.some((p) => p(s));
    throw new MethodError('unsupportedFilter', `unknown operator ${String(operator)}`);
  }
  const tests: Filter[] = [];
  for (const [key, v] of Object.entries(value)) {
    const ids = (field: 'identityId' | 'emailId' | 'threadId'): Filter => {
      if (!isStringArray(v)) throw new MethodError('invalidArguments', `"${key}" must be an array of ids`);
      const set = new Set(v);
      return (s) => set.has(s[field]);
    };
    const date = (): number => {
      const t = typeof v === 'string' && /Z$/.test(v) ? Date.parse(v) : NaN;
      if (Number.isNaN(t)) throw new MethodError('invalidArguments', `"${key}" must be a UTCDate`);
      return t;
    };
    switch (key) {
      case 'identityIds':
        tests.push(ids('identityId'));
        break;
      case 'emailIds':
        tests.push(ids('emailId'));
        break;
      case 'threadIds':
        tests.push(ids('threadId'));
        break;
      case 'undoStatus':
        if (typeof v !== 'string') throw new MethodError('invalidArguments', '"undoStatus" must be a string');
        tests.push(() => v === 'final');
        break;
      case 'before': {
        const t = date();
        tests.push((s) => s.sendAt.getTime() < t);
        break;
      }
      case 'after': {
        const t = date();
        tests.push((s) => s.sendAt.getTime() >= t);
        break;
      }
      default:
        throw new MethodError('unsupportedFilter', `unknown filter "${key}"`);
    }
  }
  return (s) => tests.every((t) => t(s));
}

type Compare = (a: SubmissionRecord, b: SubmissionRecord) => number;

/** RFC 8621 7.3 sort properties: emailId, threadId, sentAt. */
function compileSort(value: unknown): Compare {
  if (value === undefined || value === null) return (a, b) => a.sendAt.getTime() - b.sendAt.getTime();
  if (!Array.isArray(value)) throw new MethodError('invalidArguments', '"sort" must be an array');
  const parts: Compare[] = value.map((c) => {
    if (!isObject(c) || typeof c.property !== 'string') {
      throw new MethodError('invalidArguments', 'a Comparator needs "property"');
    }
    const sign = c.isAscending === false ? -1 : 1;
    const by: Record<string, Compare> = {
      emailId: (a, b) => (a.emailId < b.emailId ? -1 : a.emailId > b.emailId ? 1 : 0),
      threadId: (a, b) => (a.threadId < b.threadId ? -1 : a.threadId > b.threadId ? 1 : 0),
      sentAt: (a, b) => a.sendAt.getTime() - b.sendAt.getTime(),
    };
    const f = by[c.property];
    if (!f) throw new MethodError('unsupportedSort', `cannot sort by "${c.property}"`);
    return (a, b) => sign * f(a, b);
  });
  // Ties: creation order, so the result is stable between calls.
  return (a, b) => {
    for (const p of parts) {
      const d = p(a, b);
      if (d !== 0) return d;
    }
    return a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  };
}

function queryIds(store: Store, accountId: number, args: Record<string, unknown>): string[] {
  const filter = compileFilter(args.filter);
  const sort = compileSort(args.sort);
  const all = store.sending.getSubmissions(accountId, null).filter((s): s is SubmissionRecord => s !== null);
  return all
    .filter(filter)
    .sort(sort)
    .map((s) => s.id);
}

const nonNegative = (v: unknown, name: string, fallback: number | null): number | null => {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new MethodError('invalidArguments', `"${name}" must be an integer`);
  return v;
};

/** EmailSubmission/query (RFC 8620 5.5): position / anchor paging, calculateTotal. */
export function submissionQuery(store: Store): MethodHandler {
  return {
    capability: SUBMISSION_CAPABILITY,
    account: 'read',
    handle(args, ctx) {
      const accountId = storeAccount(ctx);
      const ids = queryIds(store, accountId, args);
      let position = nonNegative(args.position, 'position', 0)!;
      const limit = nonNegative(args.limit, 'limit', null);
      if (limit !== null && limit < 0)
        throw new MethodError('invalidArguments', '"limit" must not be negative');
      if (typeof args.anchor === 'string') {
        const at = ids.indexOf(args.anchor);
        if (at < 0) throw new MethodError('anchorNotFound', 'the anchor is not in the results');
        position = Math.max(0, at + (nonNegative(args.anchorOffset, 'anchorOffset', 0) ?? 0));
      } else if (position < 0) position = Math.max(0, ids.length + position);
      const page = ids.slice(position, limit === null ? undefined : position + limit);
      return {
        accountId: ctx.account!.id,
        queryState: store.jmap.states(accountId).EmailSubmission,
        canCalculateChanges: true,
        position,
        ids: page,
        ...(args.calculateTotal === true ? { total: ids.length } : {}),
        ...(limit !== null ? { limit } : {}),
      };
    },
  };
}

/**
 * EmailSubmission/queryChanges (RFC 8620 5.6) from the change log: every submission changed since is
 * "removed" (the RFC allows ids that were not in the old results) and re-added at its place now if it
 * still matches, which is exact for any filter and sort.
 */
export function submissionQueryChanges(store: Store): MethodHandler {
  return {
    capability: SUBMISSION_CAPABILITY,
    account: 'read',
    handle(args, ctx) {
      const accountId = storeAccount(ctx);
      if (typeof args.sinceQueryState !== 'string') {
        throw new MethodError('invalidArguments', '"sinceQueryState" must be a string');
      }
      const maxChanges = nonNegative(args.maxChanges, 'maxChanges', null);
      const changes = store.jmap.changes(accountId, 'EmailSubmission', args.sinceQueryState, null);
      if (!changes.ok) throw new MethodError('cannotCalculateChanges', 'that state is too old or unknown');
      const changed = [...changes.created, ...changes.updated, ...changes.destroyed];
      if (maxChanges !== null && changed.length > maxChanges) {
        throw new MethodError('tooManyChanges', `more than ${maxChanges} changes`);
      }
      const ids = queryIds(store, accountId, args);
      const changedSet = new Set(changed);
      const added = ids.flatMap((id, index) => (changedSet.has(id) ? [{ id, index }] : []));
      return {
        accountId: ctx.account!.id,
        oldQueryState: args.sinceQueryState,
        newQueryState: changes.newState,
        removed: [...changes.updated, ...changes.destroyed],
        added,
        ...(args.calculateTotal === true ? { total: ids.length } : {}),
      };
    },
  };
}
