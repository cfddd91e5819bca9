// Parses and validates a JMAP API request body (RFC 8620 3.3): I-JSON, the Request object shape, capabilities, limits.
import { JMAP_MAX_JSON_DEPTH } from '../../config/limits.js';
import { JmapRequestError, REQUEST_ERROR_STATUS } from './errors.js';

/** One method call (RFC 8620 3.2): [name, arguments, method call id]. */
export type Invocation = [name: string, args: Record<string, unknown>, callId: string];

/** A validated Request object (RFC 8620 3.3). */
export interface JmapRequest {
  using: string[];
  methodCalls: Invocation[];
  /** Present only when the client sent it; then the response carries it back (3.4). */
  createdIds?: Record<string, string>;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** application/json, with or without parameters (RFC 8620 3.1: the request "MUST be of type application/json"). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const essence = contentType.split(';')[0]!.trim().toLowerCase();
  return essence === 'application/json';
}

/** True when `value` is a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The nesting depth of a parsed JSON value, computed without recursion (a hostile value may be very deep). */
export function jsonDepth(root: unknown, stopAt: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) max = depth;
    if (max > stopAt) return max;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return max;
}

/**
 * Body bytes -> a validated request, or throws JmapRequestError with the RFC 8620 3.6.1 type:
 * notJSON (wrong content type, bad UTF-8, bad JSON), notRequest (not the Request shape, or nested
 * past JMAP_MAX_JSON_DEPTH), unknownCapability (a `using` entry the server does not support), limit
 * (maxCallsInRequest). Body size and concurrency are checked before (http/jmap-routes.ts).
 */
export function parseRequest(
  body: Uint8Array,
  contentType: string | undefined,
  options: { capabilities: ReadonlySet<string>; maxCallsInRequest: number },
): JmapRequest {
  if (!isJsonContentType(contentType)) {
    throw new JmapRequestError(
      'notJSON',
      REQUEST_ERROR_STATUS.notJSON,
      'the content type must be application/json',
    );
  }
  let value: unknown;
  try {
    // I-JSON (RFC 7493 2.1): UTF-8 only; a bad sequence is an error, not a replacement character.
    value = JSON.parse(fatalUtf8.decode(body));
  } catch {
    throw new JmapRequestError('notJSON', REQUEST_ERROR_STATUS.notJSON, 'the body is not valid UTF-8 JSON');
  }
  return validateRequest(value, options);
}

/**
 * A parsed JSON value -> a validated request (the checks of parseRequest after JSON); JMAP over
 * WebSocket (RFC 8887 4.3.3) parses the message itself, for its "@type" and "id", and validates here.
 */
export function validateRequest(
  value: unknown,
  options: { capabilities: ReadonlySet<string>; maxCallsInRequest: number },
): JmapRequest {
  if (jsonDepth(value, JMAP_MAX_JSON_DEPTH) > JMAP_MAX_JSON_DEPTH) {
    throw notRequest(`the request is nested deeper than ${JMAP_MAX_JSON_DEPTH} levels`);
  }
  if (!isObject(value)) throw notRequest('the request must be a JSON object');
  const { using, methodCalls, createdIds } = value;
  if (!Array.isArray(using) || !using.every((u) => typeof u === 'string')) {
    throw notRequest('"using" must be an array of strings');
  }
  if (!Array.isArray(methodCalls)) throw notRequest('"methodCalls" must be an array');
  // The limit before the shape of each call: 10,000 calls are refused without looking at them.
  if (methodCalls.length > options.maxCallsInRequest) {
    throw new JmapRequestError(
      'limit',
      REQUEST_ERROR_STATUS.limitCalls,
      `at most ${options.maxCallsInRequest} method calls in one request`,
      'maxCallsInRequest',
    );
  }
  const calls: Invocation[] = [];
  for (const [i, call] of methodCalls.entries()) {
    if (
      !Array.isArray(call) ||
      call.length !== 3 ||
      typeof call[0] !== 'string' ||
      !isObject(call[1]) ||
      typeof call[2] !== 'string'
    ) {
      throw notRequest(`methodCalls[${i}] must be [name, arguments object, method call id]`);
    }
    calls.push([call[0], call[1], call[2]]);
  }
  const request: JmapRequest = { using: using as string[], methodCalls: calls };
  if (createdIds !== undefined) {
    if (!isObject(createdIds) || !Object.values(createdIds).every((v) => typeof v === 'string')) {
      throw notRequest('"createdIds" must be an object of creation id to id');
    }
    request.createdIds = { ...(createdIds as Record<string, string>) };
  }
  for (const capability of request.using) {
    if (!options.capabilities.has(capability)) {
      throw new JmapRequestError(
        'unknownCapability',
        REQUEST_ERROR_STATUS.unknownCapability,
        `the request uses the unsupported capability "${capability}"`,
      );
    }
  }
  return request;
}

function notRequest(detail: string): JmapRequestError {
  return new JmapRequestError('notRequest', REQUEST_ERROR_STATUS.notRequest, detail);
}
