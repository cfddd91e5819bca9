// Result references (RFC 8620 3.7): "#arg": {resultOf, name, path}, with JSON Pointer (RFC 6901) plus the "*" array mapping.
import { MethodError } from './errors.js';
import { isObject, type Invocation } from './request.js';

/** A parsed ResultReference object (RFC 8620 3.7). */
export interface ResultReference {
  resultOf: string;
  name: string;
  path: string;
}

/** The value of a "#arg" -> a ResultReference, or invalidArguments when it is not one. */
export function toResultReference(value: unknown): ResultReference {
  if (
    isObject(value) &&
    typeof value.resultOf === 'string' &&
    typeof value.name === 'string' &&
    typeof value.path === 'string'
  ) {
    return { resultOf: value.resultOf, name: value.name, path: value.path };
  }
  throw new MethodError(
    'invalidArguments',
    'a "#" argument must be a ResultReference {resultOf, name, path}',
  );
}

/**
 * Evaluates a JSON Pointer with JMAP's extension (RFC 8620 3.7): when the current value is an array
 * and the token is "*", the rest of the pointer is applied to every item, and item results that are
 * arrays are concatenated (flattened one level) - so "/list/*\/threadId" gives every thread id.
 * Returns undefined when the path does not resolve (the caller answers invalidResultReference).
 */
export function evaluatePointer(value: unknown, path: string): unknown {
  if (path === '') return value;
  if (!path.startsWith('/')) return undefined;
  const tokens = path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  return walk(value, tokens, 0);
}

function walk(value: unknown, tokens: readonly string[], at: number): unknown {
  let current = value;
  for (let i = at; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (Array.isArray(current)) {
      if (token === '*') {
        const out: unknown[] = [];
        for (const item of current) {
          const mapped = walk(item, tokens, i + 1);
          if (mapped === undefined) return undefined;
          if (Array.isArray(mapped)) out.push(...(mapped as unknown[]));
          else out.push(mapped);
        }
        return out;
      }
      // RFC 6901 4: an array index is "0" or digits without a leading zero.
      if (!/^(?:0|[1-9][0-9]{0,8})$/.test(token)) return undefined;
      const index = Number(token);
      if (index >= current.length) return undefined;
      current = current[index];
    } else if (isObject(current)) {
      if (!Object.hasOwn(current, token)) return undefined;
      current = current[token];
    } else {
      return undefined;
    }
  }
  return current;
}

/**
 * Resolves a reference against the responses so far: the FIRST response whose method call id is
 * `resultOf` (RFC 8620 3.7), whose name must equal `name`, then the path. Any failure is
 * invalidResultReference. Only earlier calls can be referenced, so references cannot loop.
 */
export function resolveReference(ref: ResultReference, responses: readonly Invocation[]): unknown {
  const response = responses.find((r) => r[2] === ref.resultOf);
  if (!response) {
    throw new MethodError(
      'invalidResultReference',
      `no earlier response has method call id "${ref.resultOf}"`,
    );
  }
  if (response[0] !== ref.name) {
    throw new MethodError(
      'invalidResultReference',
      `the response "${ref.resultOf}" is "${response[0]}", not "${ref.name}"`,
    );
  }
  const value = evaluatePointer(response[1], ref.path);
  if (value === undefined) {
    throw new MethodError(
      'invalidResultReference',
      `the path "${ref.path}" does not resolve in "${ref.resultOf}"`,
    );
  }
  return value;
}
