// Argument checks and result shapes shared by the standard /get, /changes, /query methods (RFC 8620 5.1, 5.2, 5.5).
import type { JmapType } from '../../store/jmap-store.js';
import type { Store } from '../../store/store.js';
import { MethodError } from '../core/errors.js';
import type { MethodContext, MethodHandler } from '../core/engine.js';

/** RFC 8620 1.2 Id: 1-255 octets of URL-safe base64 characters. */
const ID = /^[A-Za-z0-9_-]{1,255}$/;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

/**
 * /get `ids` (RFC 8620 5.1): null (all) or a list of ids; "#creationId" references are resolved through
 * the context (an unknown one stays as it is, so it reads as notFound). Duplicates are returned once.
 */
export function parseIds(value: unknown, ctx: MethodContext, name = 'ids'): string[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new MethodError('invalidArguments', `"${name}" must be null or an array of ids`);
  }
  return [...new Set((value as string[]).map((id) => ctx.resolveId(id) ?? id))];
}

/**
 * /get `properties` (RFC 8620 5.1): null (the type's defaults) or a list of names the type knows;
 * an unknown one is invalidArguments. `id` is always returned.
 */
export function parseProperties(
  value: unknown,
  known: ReadonlySet<string>,
  defaults: readonly string[],
  name = 'properties',
  isKnown: (p: string) => boolean = (p) => known.has(p),
): string[] {
  if (value === null || value === undefined) return [...defaults];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new MethodError('invalidArguments', `"${name}" must be null or an array of property names`);
  }
  const bad = (value as string[]).filter((p) => !isKnown(p));
  if (bad.length > 0) {
    throw new MethodError('invalidArguments', `unknown ${name}: ${bad.slice(0, 10).join(', ')}`);
  }
  return [...new Set(value as string[])];
}

/** Copies the wanted properties (always `id` for objects of a /get, RFC 8620 5.1). */
export function pick(
  obj: Record<string, unknown>,
  properties: readonly string[],
  withId = true,
): Record<string, unknown> {
  const out: Record<string, unknown> = withId ? { id: obj.id } : {};
  for (const p of properties) if (Object.hasOwn(obj, p)) out[p] = obj[p];
  return out;
}

/** A standard /changes method (RFC 8620 5.2) over the store's change log for one type. */
export function changesMethod(
  store: Store,
  type: JmapType,
  args: Record<string, unknown>,
  ctx: MethodContext,
): Record<string, unknown> & { countsOnly: boolean } {
  const { sinceState, maxChanges } = args;
  if (typeof sinceState !== 'string')
    throw new MethodError('invalidArguments', '"sinceState" must be a string');
  let max: number | null = null;
  if (maxChanges !== undefined && maxChanges !== null) {
    // RFC 8620 5.2: maxChanges is an UnsignedInt greater than 0.
    if (typeof maxChanges !== 'number' || !Number.isSafeInteger(maxChanges) || maxChanges < 1) {
      throw new MethodError('invalidArguments', '"maxChanges" must be a positive integer');
    }
    max = maxChanges;
  }
  const account = ctx.account!;
  const result = store.jmap.changes(account.storeId, type, sinceState, max);
  if (!result.ok) {
    throw new MethodError(
      'cannotCalculateChanges',
      `state "${sinceState.slice(0, 64)}" is too old or unknown`,
    );
  }
  return {
    accountId: account.id,
    oldState: result.oldState,
    newState: result.newState,
    hasMoreChanges: result.hasMoreChanges,
    created: result.created,
    updated: result.updated,
    destroyed: result.destroyed,
    countsOnly: result.countsOnly,
  };
}

/**
 * A Foo/changes method (RFC 8620 5.2) for one type, the same for every type that has one; `extend` adds
 * what a type's /changes says besides (Mailbox/changes' updatedProperties, RFC 8621 2.2).
 */
export function changesHandler(
  capability: string,
  store: Store,
  type: JmapType,
  extend: (countsOnly: boolean) => Record<string, unknown> = () => ({}),
): MethodHandler {
  return {
    capability,
    account: 'read',
    handle(args, ctx) {
      const { countsOnly, ...result } = changesMethod(store, type, args, ctx);
      return { ...result, ...extend(countsOnly) };
    },
  };
}

/** /query position and limit (RFC 8620 5.5): position any Int (negative counts from the end), limit UnsignedInt. */
export function parseWindow(args: Record<string, unknown>): { position: number; limit: number | null } {
  const { position, limit } = args;
  if (
    position !== undefined &&
    position !== null &&
    (typeof position !== 'number' || !Number.isSafeInteger(position))
  ) {
    throw new MethodError('invalidArguments', '"position" must be an integer');
  }
  if (
    limit !== undefined &&
    limit !== null &&
    (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0)
  ) {
    throw new MethodError('invalidArguments', '"limit" must be a non-negative integer');
  }
  return {
    position: (position as number | undefined) ?? 0,
    limit: (limit as number | null | undefined) ?? null,
  };
}

/** Checks ifInState of a /set (RFC 8620 5.3): stateMismatch when the type's state moved on. */
export function checkIfInState(args: Record<string, unknown>, current: string): void {
  const { ifInState } = args;
  if (ifInState === undefined || ifInState === null) return;
  if (typeof ifInState !== 'string')
    throw new MethodError('invalidArguments', '"ifInState" must be a string');
  if (ifInState !== current) throw new MethodError('stateMismatch', 'the state has changed since ifInState');
}
