// SORT and THREAD argument parsing (RFC 5256 3/4, RFC 5957 DISPLAYFROM/DISPLAYTO, RFC 5267 ESORT RETURN and PARTIAL).
import type { SortCriterion, SortKey } from '../../mail/sort.js';
import { ImapSyntaxError } from './types.js';
import { Args } from './parse-args.js';
import { parseReturnOptions, parseSearchArgs } from './parse-search.js';
import type { ImapToken } from './tokenizer.js';
import type { SearchKey, SearchReturnOption, ThreadAlgorithm } from './command-types.js';

/** RFC 5256 3 sort-key names (and RFC 5957's) -> the engine's keys (src/mail/sort.ts). */
const SORT_KEYS: Record<string, SortKey> = {
  ARRIVAL: 'arrival',
  CC: 'cc',
  DATE: 'date',
  FROM: 'from',
  SIZE: 'size',
  SUBJECT: 'subject',
  TO: 'to',
  DISPLAYFROM: 'displayfrom',
  DISPLAYTO: 'displayto',
};

const THREAD_ALGORITHMS = new Set<ThreadAlgorithm>(['ORDEREDSUBJECT', 'REFERENCES']);

export interface ParsedSort {
  criteria: SortCriterion[];
  /** null: no RETURN (a `* SORT` reply); [] is RETURN () which means ALL (RFC 4731 3.1 via RFC 5267 3). */
  returnOptions: SearchReturnOption[] | null;
  /** RFC 5267 4.4 PARTIAL low:high (1-based positions in the sorted result, low <= high), or null. */
  partial: { first: number; last: number } | null;
  charset: string;
  key: SearchKey;
}

export interface ParsedThread {
  algorithm: ThreadAlgorithm;
  charset: string;
  key: SearchKey;
}

/**
 * The search part after the sort criteria or the thread algorithm: a mandatory charset (RFC 5256 3/4,
 * "SORT (criteria) charset searching-criteria") then search keys, parsed by the SEARCH parser as if
 * "CHARSET charset" had been written, so a charset other than UTF-8 is refused the same way.
 */
function searchPart(args: Args, rest: readonly ImapToken[]): { charset: string; key: SearchKey } {
  const charsetToken = args.take('charset');
  if (charsetToken.type === 'list') throw new ImapSyntaxError('Invalid charset');
  const keys = rest.slice(rest.indexOf(charsetToken) + 1);
  if (keys.length === 0) throw new ImapSyntaxError('Missing search criteria');
  const parsed = parseSearchArgs([{ type: 'atom', value: 'CHARSET' }, charsetToken, ...keys]);
  return { charset: parsed.charset ?? 'UTF-8', key: parsed.key };
}

function parseCriteria(items: readonly ImapToken[]): SortCriterion[] {
  if (items.length === 0) throw new ImapSyntaxError('Empty sort criteria');
  const out: SortCriterion[] = [];
  let reverse = false;
  for (const t of items) {
    const name = t.type === 'atom' ? t.value.toUpperCase() : '';
    if (name === 'REVERSE') {
      // sort-criterion = ["REVERSE" SP] sort-key (RFC 5256 5): once, before a key.
      if (reverse) throw new ImapSyntaxError('REVERSE twice');
      reverse = true;
      continue;
    }
    const key = SORT_KEYS[name];
    if (key === undefined) throw new ImapSyntaxError('Unknown sort criterion');
    out.push({ key, reverse });
    reverse = false;
  }
  if (reverse) throw new ImapSyntaxError('REVERSE without a sort key');
  return out;
}

/** Everything after SORT: [RETURN (options)] (criteria) charset search-key *(SP search-key). */
export function parseSortArgs(tokens: readonly ImapToken[]): ParsedSort {
  const args = new Args(tokens);
  let ret: Pick<ParsedSort, 'returnOptions' | 'partial'> = { returnOptions: null, partial: null };
  if (args.peekWord() === 'RETURN') {
    args.take('RETURN');
    ret = parseReturnOptions(args.list('RETURN options'), 'SORT');
  }
  const criteria = parseCriteria(args.list('sort criteria'));
  return { criteria, ...ret, ...searchPart(args, tokens) };
}

/** Everything after THREAD: algorithm charset search-key *(SP search-key) (RFC 5256 4). */
export function parseThreadArgs(tokens: readonly ImapToken[]): ParsedThread {
  const args = new Args(tokens);
  const algorithm = args.keyword('thread algorithm');
  if (!THREAD_ALGORITHMS.has(algorithm as ThreadAlgorithm))
    throw new ImapSyntaxError('Unknown thread algorithm');
  return { algorithm: algorithm as ThreadAlgorithm, ...searchPart(args, tokens) };
}
