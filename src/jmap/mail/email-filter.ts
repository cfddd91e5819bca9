// Email/query's filter and sort arguments (RFC 8621 4.4.1, 4.4.2; RFC 8620 5.5) parsed into typed trees, with their errors. Pure.
import { JMAP_QUERY_LIMITS } from '../../config/limits.js';
import { isObject } from '../core/request.js';
import { MethodError } from '../core/errors.js';
import { isSupportedCollation } from '../core/session.js';

/** One FilterCondition (RFC 8621 4.4.1); every property given must hold. Strings are as the client sent them. */
export interface EmailCondition {
  inMailbox?: string;
  inMailboxOtherThan?: string[];
  /** UTCDate as epoch ms: receivedAt < before / receivedAt >= after. */
  before?: number;
  after?: number;
  minSize?: number;
  maxSize?: number;
  /** Keywords, lower case (keywords compare case-insensitively, RFC 8621 4.1.1). */
  allInThreadHaveKeyword?: string;
  someInThreadHaveKeyword?: string;
  noneInThreadHaveKeyword?: string;
  hasKeyword?: string;
  notKeyword?: string;
  hasAttachment?: boolean;
  text?: string;
  from?: string;
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  body?: string;
  /** [name] (the field exists) or [name, value] (a field of that name contains value); name lower case. */
  header?: [string] | [string, string];
}

export type EmailFilter =
  | { kind: 'condition'; condition: EmailCondition }
  | { kind: 'operator'; operator: 'AND' | 'OR' | 'NOT'; conditions: EmailFilter[] };

/** One Comparator (RFC 8620 5.5, RFC 8621 4.4.2). */
export interface EmailComparator {
  property:
    | 'receivedAt'
    | 'size'
    | 'from'
    | 'to'
    | 'subject'
    | 'sentAt'
    | 'hasKeyword'
    | 'allInThreadHaveKeyword'
    | 'someInThreadHaveKeyword';
  isAscending: boolean;
  collation: 'i;ascii-numeric' | 'i;ascii-casemap' | 'i;unicode-casemap';
  /** For the keyword sorts, lower case. */
  keyword?: string;
}

const STRING_PROPS = ['text', 'from', 'to', 'cc', 'bcc', 'subject', 'body'] as const;
const KEYWORD_PROPS = [
  'allInThreadHaveKeyword',
  'someInThreadHaveKeyword',
  'noneInThreadHaveKeyword',
  'hasKeyword',
  'notKeyword',
] as const;
const SORT_PROPS = new Set<string>([
  'receivedAt',
  'size',
  'from',
  'to',
  'subject',
  'sentAt',
  'hasKeyword',
  'allInThreadHaveKeyword',
  'someInThreadHaveKeyword',
]);
const KEYWORD_SORTS = new Set(['hasKeyword', 'allInThreadHaveKeyword', 'someInThreadHaveKeyword']);

/** RFC 3339 date-time in UTC as RFC 8620 1.4 UTCDate has it ("Z", upper case; fractions allowed). */
const UTC_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$/;

/** Epoch ms of a UTCDate, or null when it is not one. */
export function parseUtcDate(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const m = UTC_DATE.exec(value);
  if (!m) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * RFC 8621 4.1.1: a keyword is 1-255 characters of %x21-%x7E except ( ) { ] % * " \ (IMAP's atom
 * specials); returned lower case, or null when invalid.
 */
export function parseKeyword(value: unknown): string | null {
  if (typeof value !== 'string' || value.length < 1 || value.length > 255) return null;
  if (!/^[\x21-\x7e]+$/.test(value) || /[(){\]%*"\\]/.test(value)) return null;
  return value.toLowerCase();
}

/** RFC 8620 1.2 Id: 1-255 of A-Za-z0-9-_. */
export function isJmapId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,255}$/.test(value);
}

const invalid = (text: string): MethodError => new MethodError('invalidArguments', text);

/**
 * Parses RFC 8621 4.4.1's filter: a FilterOperator (has "operator") or a FilterCondition. Wrong types are
 * invalidArguments; a property the server does not know, an operator other than AND/OR/NOT, or a tree
 * deeper or larger than JMAP_QUERY_LIMITS are unsupportedFilter (RFC 8620 5.5).
 */
export function parseEmailFilter(value: unknown): EmailFilter | null {
  if (value === null || value === undefined) return null;
  let nodes = 0;
  const walk = (v: unknown, depth: number): EmailFilter => {
    if (++nodes > JMAP_QUERY_LIMITS.maxFilterNodes) {
      throw new MethodError(
        'unsupportedFilter',
        `the filter has more than ${JMAP_QUERY_LIMITS.maxFilterNodes} conditions; simplify the search`,
      );
    }
    if (depth > JMAP_QUERY_LIMITS.maxFilterDepth) {
      throw new MethodError(
        'unsupportedFilter',
        `the filter nests deeper than ${JMAP_QUERY_LIMITS.maxFilterDepth} levels; simplify the search`,
      );
    }
    if (!isObject(v)) throw invalid('"filter" must be a FilterOperator or FilterCondition object');
    if (Object.hasOwn(v, 'operator')) {
      const { operator, conditions } = v;
      for (const key of Object.keys(v)) {
        if (key !== 'operator' && key !== 'conditions') {
          throw new MethodError('unsupportedFilter', `unknown FilterOperator property "${key}"`);
        }
      }
      if (operator !== 'AND' && operator !== 'OR' && operator !== 'NOT') {
        throw new MethodError('unsupportedFilter', `unknown operator ${JSON.stringify(operator)}`);
      }
      if (!Array.isArray(conditions)) throw invalid('FilterOperator "conditions" must be an array');
      return { kind: 'operator', operator, conditions: conditions.map((c) => walk(c, depth + 1)) };
    }
    return { kind: 'condition', condition: parseCondition(v) };
  };
  return walk(value, 1);
}

function parseCondition(v: Record<string, unknown>): EmailCondition {
  const c: EmailCondition = {};
  for (const [key, x] of Object.entries(v)) {
    switch (key) {
      case 'inMailbox':
        if (!isJmapId(x)) throw invalid('"inMailbox" must be a Mailbox id');
        c.inMailbox = x;
        break;
      case 'inMailboxOtherThan':
        if (!Array.isArray(x) || !x.every(isJmapId)) {
          throw invalid('"inMailboxOtherThan" must be an array of Mailbox ids');
        }
        c.inMailboxOtherThan = x;
        break;
      case 'before':
      case 'after': {
        const ms = parseUtcDate(x);
        if (ms === null) throw invalid(`"${key}" must be a UTCDate (e.g. 2014-10-30T06:12:00Z)`);
        c[key] = ms;
        break;
      }
      case 'minSize':
      case 'maxSize':
        if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
          throw invalid(`"${key}" must be an UnsignedInt`);
        }
        c[key] = x;
        break;
      case 'hasAttachment':
        if (typeof x !== 'boolean') throw invalid('"hasAttachment" must be a boolean');
        c.hasAttachment = x;
        break;
      case 'header': {
        if (
          !Array.isArray(x) ||
          x.length < 1 ||
          x.length > 2 ||
          !x.every((s) => typeof s === 'string') ||
          !/^[\x21-\x39\x3b-\x7e]+$/.test(x[0] as string)
        ) {
          throw invalid('"header" must be [name] or [name, value] with a header field name');
        }
        const name = (x[0] as string).toLowerCase();
        c.header = x.length === 1 ? [name] : [name, x[1] as string];
        break;
      }
      default:
        if ((STRING_PROPS as readonly string[]).includes(key)) {
          if (typeof x !== 'string') throw invalid(`"${key}" must be a string`);
          c[key as (typeof STRING_PROPS)[number]] = x;
        } else if ((KEYWORD_PROPS as readonly string[]).includes(key)) {
          const k = parseKeyword(x);
          if (k === null) throw invalid(`"${key}" must be a keyword (RFC 8621 4.1.1)`);
          c[key as (typeof KEYWORD_PROPS)[number]] = k;
        } else {
          throw new MethodError('unsupportedFilter', `unknown FilterCondition property "${key}"`);
        }
    }
  }
  return c;
}

/**
 * Parses "sort" (RFC 8620 5.5 Comparator[]; RFC 8621 4.4.2 properties). An unknown property, a keyword
 * sort without a valid keyword, or a collation not in the session's collationAlgorithms is
 * unsupportedSort; wrong types are invalidArguments. Absent or empty: RFC 8620 5.5 leaves the order to
 * the server; Mailroom then sorts by receivedAt, newest first (the mailbox order, the fast path).
 */
export function parseEmailSort(value: unknown): EmailComparator[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw invalid('"sort" must be an array of Comparators');
  if (value.length > 16) throw new MethodError('unsupportedSort', 'at most 16 sort comparators');
  return value.map((v): EmailComparator => {
    if (!isObject(v)) throw invalid('each Comparator must be an object');
    const { property, isAscending, collation, keyword } = v;
    for (const key of Object.keys(v)) {
      if (!['property', 'isAscending', 'collation', 'keyword'].includes(key)) {
        throw new MethodError('unsupportedSort', `unknown Comparator property "${key}"`);
      }
    }
    if (typeof property !== 'string') throw invalid('Comparator "property" must be a string');
    if (!SORT_PROPS.has(property)) throw new MethodError('unsupportedSort', `cannot sort by "${property}"`);
    if (isAscending !== undefined && typeof isAscending !== 'boolean') {
      throw invalid('Comparator "isAscending" must be a boolean');
    }
    if (collation !== undefined && typeof collation !== 'string') {
      throw invalid('Comparator "collation" must be a string');
    }
    if (collation !== undefined && !isSupportedCollation(collation)) {
      throw new MethodError('unsupportedSort', `unknown collation "${collation}"`);
    }
    const out: EmailComparator = {
      property: property as EmailComparator['property'],
      // RFC 8620 5.5: isAscending defaults to true; RFC 8621 4.4.2: collation to i;unicode-casemap.
      isAscending: isAscending ?? true,
      collation: (collation ?? 'i;unicode-casemap') as EmailComparator['collation'],
    };
    if (KEYWORD_SORTS.has(property)) {
      const k = parseKeyword(keyword);
      if (k === null) throw new MethodError('unsupportedSort', `"${property}" needs a valid "keyword"`);
      out.keyword = k;
    }
    return out;
  });
}
