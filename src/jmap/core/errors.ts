// JMAP errors (RFC 8620 3.6): request-level problem details (RFC 7807) with their HTTP status, and method-level errors.

/** The capability URNs of RFC 8620/8621 that Mailroom knows by name. */
export const CORE_CAPABILITY = 'urn:ietf:params:jmap:core';

/** Request-level error types (RFC 8620 3.6.1), sent as application/problem+json. */
export type RequestErrorType = 'unknownCapability' | 'notJSON' | 'notRequest' | 'limit';

/** An RFC 7807 problem details object as JMAP sends it (3.6.1: `type` is the JMAP URN). */
export interface ProblemDetails {
  type: string;
  status: number;
  detail: string;
  /** For `limit`: the name of the limit exceeded (RFC 8620 3.6.1). */
  limit?: string;
}

/** A request the engine refuses as a whole; `status` is the HTTP status to send. */
export class JmapRequestError extends Error {
  constructor(
    readonly type: RequestErrorType,
    readonly status: number,
    detail: string,
    readonly limit?: string,
  ) {
    super(detail);
    this.name = 'JmapRequestError';
  }

  toProblem(): ProblemDetails {
    return {
      type: `urn:ietf:params:jmap:error:${this.type}`,
      status: this.status,
      detail: this.message,
      ...(this.limit !== undefined ? { limit: this.limit } : {}),
    };
  }
}

/**
 * The HTTP statuses, one place. RFC 8620 3.6.1 names no status per type beyond its example (400);
 * these follow RFC 9110: a body over maxSizeRequest is 413 Content Too Large, too many requests at
 * once is 429 Too Many Requests, and every other refusal of the request's content is 400.
 */
export const REQUEST_ERROR_STATUS = {
  unknownCapability: 400,
  notJSON: 400,
  notRequest: 400,
  limitSize: 413,
  limitCalls: 400,
  limitConcurrent: 429,
} as const;

/** Method-level error types (RFC 8620 3.6.2, 5.1-5.4, 6.3) a handler may return. */
export type MethodErrorType =
  | 'serverUnavailable'
  | 'serverFail'
  | 'serverPartialFail'
  | 'unknownMethod'
  | 'invalidArguments'
  | 'invalidResultReference'
  | 'forbidden'
  | 'accountNotFound'
  | 'accountNotSupportedByMethod'
  | 'accountReadOnly'
  | 'requestTooLarge'
  | 'cannotCalculateChanges'
  | 'stateMismatch'
  | 'fromAccountNotFound'
  | 'fromAccountNotSupportedByMethod'
  | 'anchorNotFound'
  | 'unsupportedSort'
  | 'unsupportedFilter'
  | 'tooManyChanges';

/** Thrown by a handler (or the engine) to answer one method call with ["error", {...}, id]. */
export class MethodError extends Error {
  constructor(
    readonly type: MethodErrorType,
    description?: string,
    /** Extra properties some errors carry (e.g. none in core; RFC 8621 adds some). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(description ?? type);
    this.name = 'MethodError';
  }

  toArguments(): Record<string, unknown> {
    return {
      ...this.extra,
      type: this.type,
      ...(this.message !== this.type ? { description: this.message } : {}),
    };
  }
}
