// SEARCH argument parsing (RFC 9051 6.4.4, RFC 3501 6.4.4, RFC 4731 ESEARCH RETURN, RFC 7162 MODSEQ, RFC 5182 "$").
import { ImapSyntaxError } from './types.js';
import { Args, tokenFlag, tokenSearchDate } from './parse-args.js';
import { isSequenceSetSyntax, parseSequenceSet } from './sequence-set.js';
import type { ImapToken } from './tokenizer.js';
import type { SearchKey, SearchReturnOption } from './command-types.js';

/** Nesting of NOT/OR/() accepted: bounds recursion (a 64 KiB line of "NOT " would be 16k deep). */
export const MAX_SEARCH_DEPTH = 64;

export interface ParsedSearch {
  charset: string | null;
  returnOptions: SearchReturnOption[] | null;
  /** RFC 5267 4.4 PARTIAL low:high (1-based positions in the result, low <= high), or null. */
  partial: { first: number; last: number } | null;
  key: SearchKey;
}

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

const HEADER_KEYS: Record<string, string> = {
  BCC: 'Bcc',
  CC: 'Cc',
  FROM: 'From',
  SUBJECT: 'Subject',
  TO: 'To',
};

const DATE_KEYS: Record<string, ['internal' | 'sent' | 'saved', 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
  // RFC 8514 4.
  SAVEDBEFORE: ['saved', 'before'],
  SAVEDON: ['saved', 'on'],
  SAVEDSINCE: ['saved', 'since'],
};

const RETURN_OPTIONS = new Set<SearchReturnOption>(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE', 'UPDATE']);

/**
 * RFC 5267 4.1: UPDATE keeps a result up to date with ADDTO/REMOVEFROM, which say nothing of a MIN or
 * MAX; a client asking for both is refused with BAD (as Dovecot does) rather than left with a stale MIN.
 */
export function checkUpdateOptions(options: readonly SearchReturnOption[]): void {
  if (options.includes('UPDATE') && (options.includes('MIN') || options.includes('MAX')))
    throw new ImapSyntaxError('UPDATE cannot be combined with MIN or MAX');
}

/** Largest PARTIAL position (RFC 5267 4.4: nz-number, a 32-bit number). */
const MAX_PARTIAL = 4294967295;

/**
 * The RETURN list of SEARCH (RFC 4731 3.1) and SORT (RFC 5267 3): options, with PARTIAL (RFC 5267 4.4,
 * part of CONTEXT=SEARCH) kept apart. `command` names the command in the BAD text.
 */
export function parseReturnOptions(
  items: readonly ImapToken[],
  command: 'SEARCH' | 'SORT',
): { returnOptions: SearchReturnOption[]; partial: ParsedSearch['partial'] } {
  const returnOptions: SearchReturnOption[] = [];
  let partial: ParsedSearch['partial'] = null;
  const r = new Args(items);
  while (r.more()) {
    const t = r.take('RETURN option');
    const name = t.type === 'atom' ? t.value.toUpperCase() : '';
    if (name === 'PARTIAL' && partial === null) {
      // RFC 5267 4.4: PARTIAL low:high, 1-based positions in the result ("partial-range =
      // nz-number ":" nz-number"); like a sequence range, "10:1" is taken as "1:10".
      const range = r.take('PARTIAL range');
      const m = range.type === 'atom' ? /^([1-9][0-9]{0,9}):([1-9][0-9]{0,9})$/.exec(range.value) : null;
      if (!m) throw new ImapSyntaxError('Invalid PARTIAL range');
      const a = Number(m[1]);
      const b = Number(m[2]);
      if (a > MAX_PARTIAL || b > MAX_PARTIAL) throw new ImapSyntaxError('Invalid PARTIAL range');
      partial = { first: Math.min(a, b), last: Math.max(a, b) };
      continue;
    }
    if (!RETURN_OPTIONS.has(name as SearchReturnOption))
      throw new ImapSyntaxError(`Unknown ${command} RETURN option`);
    if (!returnOptions.includes(name as SearchReturnOption)) returnOptions.push(name as SearchReturnOption);
  }
  // RFC 5267 4.4: PARTIAL and ALL together are a BAD.
  if (partial !== null && returnOptions.includes('ALL'))
    throw new ImapSyntaxError('PARTIAL and ALL cannot be combined');
  checkUpdateOptions(returnOptions);
  return { returnOptions, partial };
}

/** Parses everything after SEARCH: [RETURN (...)] [CHARSET x] search-key *(SP search-key). */
export function parseSearchArgs(tokens: ImapToken[]): ParsedSearch {
  let args = new Args(tokens);
  let returnOptions: SearchReturnOption[] | null = null;
  let partial: ParsedSearch['partial'] = null;
  let charset: string | null = null;
  if (args.peekWord() === 'RETURN') {
    args.take('RETURN');
    ({ returnOptions, partial } = parseReturnOptions(args.list('RETURN options'), 'SEARCH'));
  }
  if (args.peekWord() === 'CHARSET') {
    args.take('CHARSET');
    charset = args.astring('charset').toUpperCase();
  }
  // A charset other than UTF-8 is refused by the session with NO [BADCHARSET] (RFC 9051 6.4.4);
  // decode its strings leniently so that refusal, not a BAD, is what the client sees.
  const lenient = charset !== null && charset !== 'UTF-8' && charset !== 'US-ASCII';
  if (lenient) args = reopen(args, tokens);
  const keys: SearchKey[] = [];
  while (args.more()) keys.push(parseKey(args, 0));
  if (keys.length === 0) throw new ImapSyntaxError('Missing search criteria');
  const key: SearchKey = keys.length === 1 ? (keys[0] as SearchKey) : { op: 'and', keys };
  return { charset, returnOptions, partial, key };
}

function reopen(args: Args, tokens: ImapToken[]): Args {
  const fresh = new Args(tokens, true);
  while (fresh.more() && fresh.peek() !== args.peek()) fresh.take('');
  return fresh;
}

function parseKey(args: Args, depth: number): SearchKey {
  if (depth > MAX_SEARCH_DEPTH) throw new ImapSyntaxError('Search criteria nested too deeply');
  const t = args.take('search key');
  if (t.type === 'list') {
    const inner = new Args(t.items, args.lenient);
    const keys: SearchKey[] = [];
    while (inner.more()) keys.push(parseKey(inner, depth + 1));
    if (keys.length === 0) throw new ImapSyntaxError('Empty search key list');
    return keys.length === 1 ? (keys[0] as SearchKey) : { op: 'and', keys };
  }
  if (t.type === 'number') return { op: 'seq', set: parseSequenceSet(t.raw) };
  if (t.type !== 'atom') throw new ImapSyntaxError('Invalid search key');
  if (isSequenceSetSyntax(t.value)) return { op: 'seq', set: parseSequenceSet(t.value) };
  const name = t.value.toUpperCase();
  const flag = FLAG_KEYS[name];
  if (flag) return { op: 'flag', flag: flag[0], set: flag[1] };
  const header = HEADER_KEYS[name];
  if (header) return { op: 'header', field: header, value: args.astring(`${name} value`) };
  const date = DATE_KEYS[name];
  if (date)
    return { op: 'date', field: date[0], cmp: date[1], date: tokenSearchDate(args.take(`${name} date`)) };
  switch (name) {
    // RFC 5032 3: ("OLDER" / "YOUNGER") SP nz-number, an interval in seconds.
    case 'OLDER':
    case 'YOUNGER': {
      const seconds = args.number(`${name} interval`);
      if (seconds === 0) throw new ImapSyntaxError(`${name} needs a non-zero interval`);
      return { op: 'within', older: name === 'OLDER', seconds };
    }
    case 'ALL':
      return { op: 'all' };
    // RFC 8514 4: every message when the mailbox keeps save dates, and every mailbox here does.
    case 'SAVEDATESUPPORTED':
      return { op: 'all' };
    case 'NEW':
      return { op: 'new' };
    case 'OLD':
      return { op: 'old' };
    case 'RECENT':
      return { op: 'recent' };
    case 'BODY':
      return { op: 'body', value: args.astring('BODY value') };
    case 'TEXT':
      return { op: 'text', value: args.astring('TEXT value') };
    case 'HEADER': {
      const field = args.astring('header name');
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(field)) throw new ImapSyntaxError('Invalid header name');
      return { op: 'header', field, value: args.astring('HEADER value') };
    }
    case 'KEYWORD':
    case 'UNKEYWORD': {
      const kw = tokenFlag(args.take('keyword'));
      // RFC 9051 9: KEYWORD takes flag-keyword, not a system flag.
      if (kw.startsWith('\\')) throw new ImapSyntaxError('KEYWORD takes a keyword, not a system flag');
      return { op: 'flag', flag: kw, set: name === 'KEYWORD' };
    }
    case 'LARGER':
    case 'SMALLER':
      // number64 (RFC 9051 9) for sizes.
      return {
        op: 'size',
        cmp: name === 'LARGER' ? 'larger' : 'smaller',
        size: args.number(`${name} size`, Number.MAX_SAFE_INTEGER),
      };
    case 'UID':
      return { op: 'uid', set: args.sequenceSet('UID set') };
    case 'NOT':
      return { op: 'not', key: parseKey(args, depth + 1) };
    case 'OR': {
      const left = parseKey(args, depth + 1);
      const right = parseKey(args, depth + 1);
      return { op: 'or', left, right };
    }
    case 'MODSEQ':
      return parseModseqKey(args);
    case 'EMAILID':
    case 'THREADID': {
      // RFC 8474 6/7: objectid = 1*255(ALPHA / DIGIT / "_" / "-").
      const id = args.astring(`${name} objectid`);
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) throw new ImapSyntaxError('Invalid objectid');
      return { op: 'objectid', kind: name === 'EMAILID' ? 'email' : 'thread', id };
    }
    default:
      throw new ImapSyntaxError(`Unknown search key "${t.value.slice(0, 40)}"`);
  }
}

/**
 * RFC 7162 3.1.5: MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer, where
 * entry-name is a quoted "/flags/<flag>" and entry-type-req is priv / shared / all.
 */
function parseModseqKey(args: Args): SearchKey {
  const next = args.peek();
  let entry: { name: string; type: 'priv' | 'shared' | 'all' } | null = null;
  if (next && next.type === 'quoted') {
    args.take('entry name');
    if (!/^\/flags\/\\?[^\x00-\x20\x7f-\xff(){%*"\\\]]+$/i.test(next.value)) {
      throw new ImapSyntaxError('Invalid MODSEQ entry name');
    }
    const type = args.keyword('entry type').toLowerCase();
    if (type !== 'priv' && type !== 'shared' && type !== 'all')
      throw new ImapSyntaxError('Invalid MODSEQ entry type');
    entry = { name: next.value, type };
  }
  return { op: 'modseq', modseq: args.modseq('MODSEQ value'), entry };
}
