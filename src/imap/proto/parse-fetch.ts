// FETCH and STORE argument parsing (RFC 9051 6.4.5 / 6.4.6, RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC modifiers).
import { ImapSyntaxError } from './types.js';
import { Args, tokenAstring, tokenFlag } from './parse-args.js';
import type { ImapToken } from './tokenizer.js';
import type {
  FetchItem,
  FetchModifiers,
  Section,
  SectionText,
  SimpleFetchItemType as SimpleFetch,
  StoreAction,
} from './command-types.js';

const SIMPLE_ITEMS = new Set<SimpleFetch>([
  'FLAGS',
  'INTERNALDATE',
  'SAVEDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODY',
  'BODYSTRUCTURE',
  'UID',
  'MODSEQ',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
  'EMAILID',
  'THREADID',
]);

/** RFC 9051 6.4.5: the macros, equivalent to their expansions. */
const MACROS: Record<string, SimpleFetch[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

/** Fetch items: a macro, a single item, or a parenthesised list of items (RFC 9051 9 "fetch"). */
export function parseFetchItems(t: ImapToken): FetchItem[] {
  if (t.type === 'atom') {
    const macro = MACROS[t.value.toUpperCase()];
    if (macro) return macro.map((type) => ({ type }));
  }
  const list = t.type === 'list' ? t.items : [t];
  if (list.length === 0) throw new ImapSyntaxError('Empty fetch item list');
  return list.map(parseFetchItem);
}

function parseFetchItem(t: ImapToken): FetchItem {
  if (t.type === 'atom') {
    const name = t.value.toUpperCase();
    if (SIMPLE_ITEMS.has(name as SimpleFetch)) return { type: name as SimpleFetch };
    throw new ImapSyntaxError(`Unknown fetch item "${t.value.slice(0, 40)}"`);
  }
  if (t.type !== 'section') throw new ImapSyntaxError('Invalid fetch item');
  // RFC 9051 9: partial in a command is "<" number "." nz-number ">", both parts required.
  if (t.partial && (t.partial.length === null || t.partial.length === 0)) {
    throw new ImapSyntaxError('Invalid partial: <offset.length> with length > 0 required');
  }
  switch (t.name) {
    case 'BODY':
    case 'BODY.PEEK':
      return {
        type: 'BODY[]',
        peek: t.name === 'BODY.PEEK',
        section: parseSection(t.items),
        partial: t.partial,
      };
    case 'BINARY':
    case 'BINARY.PEEK':
      return {
        type: 'BINARY',
        peek: t.name === 'BINARY.PEEK',
        part: parseBinaryPart(t.items),
        partial: t.partial,
      };
    case 'BINARY.SIZE':
      if (t.partial) throw new ImapSyntaxError('BINARY.SIZE takes no partial');
      return { type: 'BINARY.SIZE', part: parseBinaryPart(t.items) };
    default:
      throw new ImapSyntaxError('Invalid fetch item');
  }
}

/** section-binary = "[" [section-part] "]" (RFC 9051 9). */
function parseBinaryPart(items: ImapToken[]): number[] {
  if (items.length === 0) return [];
  const [first, ...rest] = items;
  if (rest.length > 0 || !first) throw new ImapSyntaxError('Invalid BINARY section');
  const text = first.type === 'number' ? first.raw : first.type === 'atom' ? first.value : null;
  if (text === null || !/^[1-9][0-9]{0,9}(\.[1-9][0-9]{0,9})*$/.test(text)) {
    throw new ImapSyntaxError('Invalid BINARY section');
  }
  return text.split('.').map(Number);
}

/** Most parts of a section path we accept: deeper MIME trees are refused by the MIME parser anyway. */
const MAX_SECTION_DEPTH = 64;

/**
 * section-spec (RFC 9051 9): section-msgtext / (section-part ["." section-text]), where
 * section-text adds MIME, and HEADER.FIELDS[.NOT] takes a header-list of astrings.
 */
export function parseSection(items: ImapToken[]): Section {
  if (items.length === 0) return { part: [], text: null };
  const [first, second, ...rest] = items;
  if (rest.length > 0 || !first) throw new ImapSyntaxError('Invalid section');
  const spec = first.type === 'number' ? first.raw : first.type === 'atom' ? first.value.toUpperCase() : null;
  if (spec === null) throw new ImapSyntaxError('Invalid section');
  const pieces = spec.split('.');
  const part: number[] = [];
  while (pieces.length > 0 && /^[0-9]+$/.test(pieces[0] as string)) {
    const p = pieces.shift() as string;
    if (!/^[1-9][0-9]{0,9}$/.test(p)) throw new ImapSyntaxError('Invalid section part number');
    part.push(Number(p));
  }
  if (part.length > MAX_SECTION_DEPTH) throw new ImapSyntaxError('Section too deep');
  const textName = pieces.join('.');
  let text: SectionText | null = null;
  switch (textName) {
    case '':
      if (spec.endsWith('.') || spec === '') throw new ImapSyntaxError('Invalid section');
      break;
    case 'HEADER':
    case 'TEXT':
      text = { kind: textName };
      break;
    case 'MIME':
      // RFC 9051 6.4.5: MIME refers to a part's MIME header, so it needs a part number.
      if (part.length === 0) throw new ImapSyntaxError('MIME requires a part number');
      text = { kind: 'MIME' };
      break;
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      if (!second || second.type !== 'list' || second.items.length === 0) {
        throw new ImapSyntaxError('HEADER.FIELDS requires a list of header names');
      }
      const fields = second.items.map((f) => tokenAstring(f, 'header name'));
      // Header field names are printable ASCII without ":" (RFC 5322 2.2).
      for (const f of fields)
        if (!/^[\x21-\x39\x3b-\x7e]+$/.test(f)) throw new ImapSyntaxError('Invalid header name');
      return { part, text: { kind: 'HEADER.FIELDS', fields, not: textName === 'HEADER.FIELDS.NOT' } };
    }
    default:
      throw new ImapSyntaxError(`Invalid section "${spec.slice(0, 40)}"`);
  }
  if (second) throw new ImapSyntaxError('Invalid section');
  return { part, text };
}

/**
 * FETCH modifiers (RFC 7162 3.1.4: CHANGEDSINCE mod-sequence; 3.2.6: VANISHED, only in UID FETCH
 * and only together with CHANGEDSINCE).
 */
export function parseFetchModifiers(items: ImapToken[], uid: boolean): FetchModifiers {
  const out: FetchModifiers = { changedSince: null, vanished: false };
  const args = new Args(items);
  while (args.more()) {
    const name = args.keyword('fetch modifier');
    if (name === 'CHANGEDSINCE' && out.changedSince === null) {
      out.changedSince = args.modseq('CHANGEDSINCE value');
    } else if (name === 'VANISHED' && !out.vanished) {
      out.vanished = true;
    } else {
      throw new ImapSyntaxError(`Unknown or repeated fetch modifier ${name.slice(0, 40)}`);
    }
  }
  if (out.vanished && (!uid || out.changedSince === null)) {
    throw new ImapSyntaxError('VANISHED requires UID FETCH and CHANGEDSINCE');
  }
  return out;
}

/**
 * STORE data (RFC 9051 6.4.6): ["+"/"-"] "FLAGS" [".SILENT"] then a flag list or, as the grammar
 * also allows, flags separated by spaces.
 */
export function parseStoreAction(args: Args): StoreAction {
  const word = args.keyword('store item');
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(word);
  if (!m) throw new ImapSyntaxError(`Invalid store item "${word.slice(0, 40)}"`);
  const op = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
  const silent = m[2] !== undefined;
  const first = args.take('flags');
  const flags: string[] = [];
  if (first.type === 'list') {
    for (const f of first.items) flags.push(tokenFlag(f));
  } else {
    flags.push(tokenFlag(first));
    while (args.more()) flags.push(tokenFlag(args.take('flag')));
  }
  return { op, silent, flags };
}

/** STORE modifiers (RFC 7162 3.1.3): (UNCHANGEDSINCE mod-sequence-valzer). */
export function parseStoreModifiers(items: ImapToken[]): number | null {
  let unchangedSince: number | null = null;
  const args = new Args(items);
  while (args.more()) {
    const name = args.keyword('store modifier');
    if (name !== 'UNCHANGEDSINCE' || unchangedSince !== null) {
      throw new ImapSyntaxError(`Unknown or repeated store modifier ${name.slice(0, 40)}`);
    }
    unchangedSince = args.modseq('UNCHANGEDSINCE value');
  }
  return unchangedSince;
}
