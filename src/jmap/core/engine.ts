// The JMAP method engine (RFC 8620 3): dispatches a validated request's calls to registered handlers, pure of I/O.
import { JMAP_REFERENCE_BUDGET_BYTES } from '../../config/limits.js';
import { CORE_CAPABILITY, MethodError } from './errors.js';
import { isObject, type Invocation, type JmapRequest } from './request.js';
import { resolveReference, toResultReference } from './result-reference.js';

/** One JMAP account as a signed-in user sees it (one per mail account; see session.ts for its id). */
export interface JmapAccount {
  /** The JMAP accountId (session.ts accountIdOf). */
  id: string;
  /** The store's account id. */
  storeId: number;
  name: string;
  isPersonal: boolean;
  isReadOnly: boolean;
  /** Capabilities this account supports beyond core (RFC 8620 2 accountCapabilities). */
  capabilities: ReadonlySet<string>;
}

/** Who is making the request: the authenticated user and the accounts they may use. */
export interface JmapUser {
  username: string;
  accounts: ReadonlyMap<string, JmapAccount>;
}

/** What a handler gets besides its arguments. */
export interface MethodContext {
  user: JmapUser;
  /** The account named by args.accountId, already checked (present when the handler declares `account`). */
  account: JmapAccount | null;
  /** Capabilities the request declared in `using`. */
  using: ReadonlySet<string>;
  /**
   * "#creationId" -> the id the server gave it earlier in this request (or in the request's
   * createdIds, RFC 8620 3.3/5.3); null when unknown. Other strings are returned as they are.
   */
  resolveId(id: string): string | null;
  /** Records a creation id's new id for later calls and the response's createdIds. */
  addCreatedId(creationId: string, id: string): void;
  /** Adds a response after this call's own, with the same method call id (implicit calls, e.g. RFC 8621 7.5). */
  followUp(name: string, args: Record<string, unknown>): void;
  /**
   * Values read once for the whole request (e.g. an account's states, mail/request-states.ts): a map the
   * calls of one read-only request share; null when a call may write, so every read sees the writes
   * made before it.
   */
  readOnce: Map<string, unknown> | null;
}

export interface MethodHandler {
  /** The capability that defines the method: it must be in `using` (RFC 8620 3.3). */
  capability: string;
  /**
   * 'read'/'write': args.accountId must name one of the user's accounts that supports `capability`
   * (accountNotFound / accountNotSupportedByMethod); 'write' also refuses a read-only account
   * (accountReadOnly). Absent: the method takes no account (Core/echo).
   */
  account?: 'read' | 'write';
  handle(
    args: Record<string, unknown>,
    ctx: MethodContext,
  ): Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** The Response object (RFC 8620 3.4). */
export interface JmapResponse {
  methodResponses: Invocation[];
  createdIds?: Record<string, string>;
  sessionState: string;
}

export interface EngineLimits {
  maxObjectsInGet: number;
  maxObjectsInSet: number;
  /** Bytes result references may copy into arguments per request (limits.ts JMAP_REFERENCE_BUDGET_BYTES). */
  referenceBudgetBytes?: number;
}

/** Method name -> handler. */
export type MethodRegistry = ReadonlyMap<string, MethodHandler>;

/**
 * Runs the calls in order (RFC 8620 3.3: "processed sequentially, in order"), each after its result
 * references are resolved; one call's error never stops the others. A handler's MethodError becomes
 * ["error", ...]; anything else thrown becomes serverFail and is reported to `onServerFail` (logs).
 */
export async function processRequest(
  request: JmapRequest,
  options: {
    user: JmapUser;
    methods: MethodRegistry;
    limits: EngineLimits;
    sessionState: string;
    /**
     * The caller has checked that no call of the request writes (http/jmap-workers.ts WORKER_METHODS):
     * its calls may then share what they read (MethodContext.readOnce).
     */
    readOnly?: boolean;
    onServerFail?: (error: unknown, method: string) => void;
  },
): Promise<JmapResponse> {
  const using = new Set(request.using);
  const createdIds = new Map<string, string>(Object.entries(request.createdIds ?? {}));
  const responses: Invocation[] = [];
  let budget = options.limits.referenceBudgetBytes ?? JMAP_REFERENCE_BUDGET_BYTES;
  const readOnce = options.readOnly === true ? new Map<string, unknown>() : null;

  for (const [name, rawArgs, callId] of request.methodCalls) {
    const followUps: Invocation[] = [];
    try {
      const handler = options.methods.get(name);
      if (!handler) throw new MethodError('unknownMethod', `unknown method "${name}"`);
      if (!using.has(handler.capability)) {
        throw new MethodError('unknownMethod', `"${name}" needs "${handler.capability}" in "using"`);
      }
      const resolved = resolveArguments(rawArgs, responses, budget);
      budget = resolved.budget;
      const args = resolved.args;
      const account = handler.account ? checkAccount(args, handler, options.user) : null;
      checkObjectLimits(name, args, options.limits);
      const ctx: MethodContext = {
        user: options.user,
        account,
        using,
        resolveId: (id) => (id.startsWith('#') ? (createdIds.get(id.slice(1)) ?? null) : id),
        addCreatedId: (creationId, id) => void createdIds.set(creationId, id),
        followUp: (followName, followArgs) => void followUps.push([followName, followArgs, callId]),
        readOnce,
      };
      const result = await handler.handle(args, ctx);
      responses.push([name, result, callId], ...followUps);
    } catch (error) {
      if (error instanceof MethodError) {
        responses.push(['error', error.toArguments(), callId]);
      } else {
        options.onServerFail?.(error, name);
        responses.push(['error', { type: 'serverFail', description: 'internal error' }, callId]);
      }
    }
  }
  const response: JmapResponse = { methodResponses: responses, sessionState: options.sessionState };
  if (request.createdIds !== undefined) response.createdIds = Object.fromEntries(createdIds);
  return response;
}

/**
 * Replaces every "#name" argument by the value its ResultReference points at (RFC 8620 3.7). Giving
 * both "name" and "#name" is invalidArguments. Each resolved value is charged to `budget` by its JSON
 * size, so references cannot multiply a request's size call after call.
 */
function resolveArguments(
  args: Record<string, unknown>,
  responses: readonly Invocation[],
  budget: number,
): { args: Record<string, unknown>; budget: number } {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (!key.startsWith('#')) {
      out[key] = value;
      continue;
    }
    const plain = key.slice(1);
    if (Object.hasOwn(args, plain)) {
      throw new MethodError('invalidArguments', `both "${plain}" and "${key}" are given`);
    }
    const resolved = resolveReference(toResultReference(value), responses);
    budget -= JSON.stringify(resolved).length;
    if (budget < 0) {
      throw new MethodError(
        'invalidResultReference',
        'result references in this request copy more data than the server allows; split the request',
      );
    }
    out[plain] = resolved;
  }
  return { args: out, budget };
}

function checkAccount(args: Record<string, unknown>, handler: MethodHandler, user: JmapUser): JmapAccount {
  const accountId = args.accountId;
  if (typeof accountId !== 'string')
    throw new MethodError('invalidArguments', '"accountId" must be a string');
  // Another user's account and one that does not exist look the same (no enumeration).
  const account = user.accounts.get(accountId);
  if (!account) throw new MethodError('accountNotFound', `no account "${accountId}"`);
  if (handler.capability !== CORE_CAPABILITY && !account.capabilities.has(handler.capability)) {
    throw new MethodError(
      'accountNotSupportedByMethod',
      `account "${accountId}" does not support this method`,
    );
  }
  if (handler.account === 'write' && account.isReadOnly) {
    throw new MethodError('accountReadOnly', `account "${accountId}" is read-only`);
  }
  return account;
}

/**
 * maxObjectsInGet / maxObjectsInSet (RFC 8620 2, 5.1, 5.3), enforced here for every /get and /set
 * so no handler can forget them: requestTooLarge. Counted after references are resolved (ids often
 * come from one).
 */
function checkObjectLimits(name: string, args: Record<string, unknown>, limits: EngineLimits): void {
  if (name.endsWith('/get') && Array.isArray(args.ids) && args.ids.length > limits.maxObjectsInGet) {
    throw new MethodError(
      'requestTooLarge',
      `at most ${limits.maxObjectsInGet} ids in one /get (maxObjectsInGet)`,
    );
  }
  if (name.endsWith('/set')) {
    const count =
      (isObject(args.create) ? Object.keys(args.create).length : 0) +
      (isObject(args.update) ? Object.keys(args.update).length : 0) +
      (Array.isArray(args.destroy) ? args.destroy.length : 0);
    if (count > limits.maxObjectsInSet) {
      throw new MethodError(
        'requestTooLarge',
        `at most ${limits.maxObjectsInSet} objects created, updated and destroyed in one /set (maxObjectsInSet)`,
      );
    }
  }
}
