// Argument checks and response shapes the sending methods share (RFC 8620 5.1 /get, 5.3 /set).
import { MethodError } from '../core/errors.js';
import { isObject } from '../core/request.js';
import type { MethodContext } from '../core/engine.js';

/** The store account of a call whose account the engine has checked. */
export function storeAccount(ctx: MethodContext): number {
  if (!ctx.account) throw new MethodError('serverFail', 'no account for this method');
  return ctx.account.storeId;
}

/** RFC 8620 5.1 `ids` (null: all) and `properties` (null: all of `known`; unknown names: invalidArguments). */
export function getArgs(
  args: Record<string, unknown>,
  known: readonly string[],
): { ids: string[] | null; properties: Set<string> } {
  const { ids, properties } = args;
  if (ids !== undefined && ids !== null && !isStringArray(ids)) {
    throw new MethodError('invalidArguments', '"ids" must be null or an array of ids');
  }
  if (properties !== undefined && properties !== null && !isStringArray(properties)) {
    throw new MethodError('invalidArguments', '"properties" must be null or an array of names');
  }
  const wanted = properties ?? known;
  for (const p of wanted) {
    if (!known.includes(p)) throw new MethodError('invalidArguments', `unknown property "${p}"`);
  }
  // "id" is always returned (RFC 8620 5.1).
  return { ids: (ids as string[] | null | undefined) ?? null, properties: new Set(['id', ...wanted]) };
}

/** Only the asked properties of an object. */
export function pick(
  object: Record<string, unknown>,
  properties: ReadonlySet<string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of properties) if (Object.hasOwn(object, p)) out[p] = object[p];
  return out;
}

export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** The create / update / destroy arguments of a /set (RFC 8620 5.3), shape-checked. */
export function setArgs(args: Record<string, unknown>): {
  create: Record<string, Record<string, unknown>>;
  update: Record<string, Record<string, unknown>>;
  destroy: string[];
} {
  const { create, update, destroy } = args;
  for (const [name, value] of [
    ['create', create],
    ['update', update],
  ] as const) {
    if (value !== undefined && value !== null) {
      if (!isObject(value) || !Object.values(value).every(isObject)) {
        throw new MethodError('invalidArguments', `"${name}" must be null or an object of objects`);
      }
    }
  }
  if (destroy !== undefined && destroy !== null && !isStringArray(destroy)) {
    throw new MethodError('invalidArguments', '"destroy" must be null or an array of ids');
  }
  return {
    create: (create as Record<string, Record<string, unknown>> | null | undefined) ?? {},
    update: (update as Record<string, Record<string, unknown>> | null | undefined) ?? {},
    destroy: (destroy as string[] | null | undefined) ?? [],
  };
}
