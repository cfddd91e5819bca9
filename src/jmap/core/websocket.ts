// JMAP over WebSocket (RFC 8887), the pure parts: client messages -> typed, Response/RequestError/StateChange out, pushState tokens.
import { JMAP_MAX_JSON_DEPTH } from '../../config/limits.js';
import type { JmapResponse } from './engine.js';
import { JmapRequestError, REQUEST_ERROR_STATUS } from './errors.js';
import type { StateMap } from './push.js';
import { isObject, jsonDepth, validateRequest, type JmapRequest } from './request.js';

/** The subprotocol the handshake must offer (RFC 8887 3, IANA "jmap"). */
export const WEBSOCKET_SUBPROTOCOL = 'jmap';

export type WsClientMessage =
  /** RFC 8887 4.3.3: a Request with "@type": "Request" and an optional "id" echoed as requestId. */
  | { kind: 'request'; requestId: string | undefined; request: JmapRequest }
  /** RFC 8887 4.3.5.2: dataTypes null for all; pushState from an earlier StateChange, or null. */
  | { kind: 'pushEnable'; dataTypes: ReadonlySet<string> | null; pushState: string | null }
  | { kind: 'pushDisable' }
  /** Refused as a whole: answered with a RequestError (4.3.4), the connection stays open. */
  | { kind: 'error'; requestId: string | undefined; error: JmapRequestError };

const notRequest = (detail: string) =>
  new JmapRequestError('notRequest', REQUEST_ERROR_STATUS.notRequest, detail);

/** One text message from the client -> what it asks for (RFC 8887 4.3.2: every message has "@type"). */
export function parseClientMessage(
  text: string,
  options: { capabilities: ReadonlySet<string>; maxCallsInRequest: number },
): WsClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      kind: 'error',
      requestId: undefined,
      error: new JmapRequestError('notJSON', REQUEST_ERROR_STATUS.notJSON, 'the message is not JSON'),
    };
  }
  if (jsonDepth(value, JMAP_MAX_JSON_DEPTH) > JMAP_MAX_JSON_DEPTH || !isObject(value)) {
    return { kind: 'error', requestId: undefined, error: notRequest('the message must be a JSON object') };
  }
  const type = value['@type'];
  const id = value.id;
  const requestId = typeof id === 'string' ? id : undefined;
  switch (type) {
    case 'Request': {
      if (id !== undefined && typeof id !== 'string') {
        return { kind: 'error', requestId: undefined, error: notRequest('"id" must be a string') };
      }
      try {
        return { kind: 'request', requestId, request: validateRequest(value, options) };
      } catch (error) {
        if (error instanceof JmapRequestError) return { kind: 'error', requestId, error };
        throw error;
      }
    }
    case 'WebSocketPushEnable': {
      const { dataTypes, pushState } = value;
      let types: Set<string> | null = null;
      if (dataTypes !== null && dataTypes !== undefined) {
        if (!Array.isArray(dataTypes) || !dataTypes.every((t) => typeof t === 'string')) {
          return { kind: 'error', requestId, error: notRequest('"dataTypes" must be null or type names') };
        }
        types = new Set(dataTypes as string[]);
      }
      if (pushState !== undefined && pushState !== null && typeof pushState !== 'string') {
        return { kind: 'error', requestId, error: notRequest('"pushState" must be a string') };
      }
      return { kind: 'pushEnable', dataTypes: types, pushState: pushState ?? null };
    }
    case 'WebSocketPushDisable':
      return { kind: 'pushDisable' };
    default:
      return {
        kind: 'error',
        requestId,
        error: notRequest('"@type" must be Request, WebSocketPushEnable or WebSocketPushDisable'),
      };
  }
}

/** A Response (RFC 8887 4.3.3): the JMAP Response with "@type" and the request's id as requestId. */
export function responseMessage(response: JmapResponse, requestId: string | undefined): string {
  return JSON.stringify({
    '@type': 'Response',
    ...(requestId !== undefined ? { requestId } : {}),
    ...response,
  });
}

/** A RequestError (RFC 8887 4.3.4): the problem details object with "@type" and requestId. */
export function requestErrorMessage(error: JmapRequestError, requestId: string | undefined): string {
  return JSON.stringify({
    '@type': 'RequestError',
    ...(requestId !== undefined ? { requestId } : {}),
    ...error.toProblem(),
  });
}

/** A StateChange push (RFC 8887 4.3.5.1: RFC 8620 7.1's object plus the pushState to resume from). */
export function stateChangeMessage(changed: StateMap, pushState: string): string {
  return JSON.stringify({ '@type': 'StateChange', changed, pushState });
}

/** Longest pushState accepted back from a client (ours are a few hundred bytes). */
const MAX_PUSH_STATE = 8192;

/**
 * The pushState token: every type state of the user's accounts, encoded. A client that reconnects with
 * it gets exactly the types that changed since (RFC 8887 4.3.5.2: "all changes since that state"),
 * without the server keeping anything per client.
 */
export function encodePushState(states: StateMap): string {
  return Buffer.from(JSON.stringify(states), 'utf8').toString('base64url');
}

/** The states in a token, or null when it is not one of ours (then everything counts as changed). */
export function decodePushState(token: string): StateMap | null {
  if (token.length > MAX_PUSH_STATE || !/^[A-Za-z0-9_-]*$/.test(token)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (!isObject(value)) return null;
    for (const states of Object.values(value)) {
      if (!isObject(states) || !Object.values(states).every((s) => typeof s === 'string')) return null;
    }
    return value as StateMap;
  } catch {
    return null;
  }
}

/** The types of `current` whose state differs from `before` (all of them when `before` is null). */
export function changedSince(before: StateMap | null, current: StateMap): StateMap {
  const out: StateMap = {};
  for (const [accountId, states] of Object.entries(current)) {
    const old = before?.[accountId];
    const changed = Object.entries(states).filter(([type, state]) => old?.[type] !== state);
    if (changed.length > 0) out[accountId] = Object.fromEntries(changed);
  }
  return out;
}
