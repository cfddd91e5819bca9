// IMAP command tokenizer (RFC 9051 4, 9): a command's line segments and literals -> a typed token tree.
import { ImapSyntaxError } from './types.js';

/**
 * A literal's data as the receiver hands it over: whole bytes for small literals, or a
 * placeholder for a literal the connection streamed elsewhere (an APPEND message).
 */
export type LiteralData =
  { streamed: false; bytes: Buffer; binary: boolean } | { streamed: true; size: number; binary: boolean };

/**
 * One complete command as received: `segments[i]` (for i < last) ends with a literal
 * announcement (`{n}`, `{n+}`, `~{n}`, `~{n+}`) whose data is `literals[i]`; CRLFs are removed.
 * So segments.length === literals.length + 1.
 */
export interface RawCommand {
  segments: Buffer[];
  literals: LiteralData[];
}

/** Partial range of a BODY[...]<offset.length> fetch item (RFC 9051 6.4.5); length null for `<offset>`. */
export interface TokenPartial {
  offset: number;
  length: number | null;
}

/** One token of the tree. Parsers decide what a token means in its position. */
export type ImapToken =
  /** A bare word: atom, flag (`\Seen`), sequence set (`1:*`), list pattern (`INBOX/%`), `$`. */
  | { type: 'atom'; value: string }
  /** All digits and a safe integer; the raw text is kept for astring use (`SELECT 123`). */
  | { type: 'number'; value: number; raw: string }
  /** The atom NIL in any case (RFC 9051 4.5); an astring position reads it as the text "NIL". */
  | { type: 'nil'; raw: string }
  /** A quoted string with escapes resolved; 8-bit content must be valid UTF-8 (RFC 9051 4.3, RFC 6855). */
  | { type: 'quoted'; value: string }
  /** A literal (RFC 9051 4.3) or literal8 (`~{n}`, RFC 3516 / RFC 9051 4.3.1); bytes null when streamed. */
  | { type: 'literal'; bytes: Buffer | null; size: number; binary: boolean; index: number }
  /** A parenthesised list (RFC 9051 4.4). */
  | { type: 'list'; items: ImapToken[] }
  /** A fetch attribute with a section: BODY[...], BODY.PEEK[...], BINARY[...]<..> (RFC 9051 6.4.5). */
  | { type: 'section'; name: string; items: ImapToken[]; partial: TokenPartial | null };

export interface TokenizerOptions {
  /** Maximum nesting of ( ) and [ ]: bounds recursion in every parser that walks the tree. */
  maxDepth: number;
}

export const DEFAULT_TOKENIZER_OPTIONS: TokenizerOptions = { maxDepth: 16 };

/** Fetch attribute names that may be followed by `[section]` (RFC 9051 6.4.5, RFC 3516). */
const SECTION_NAMES = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

const SP = 0x20;
const DQUOTE = 0x22;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;
const TILDE = 0x7e;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LT = 0x3c;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A literal announcement at the end of a segment: `{12}`, `{12+}`, `~{12}` (RFC 9051 4.3, RFC 7888). */
export const LITERAL_ANNOUNCEMENT = /(~?)\{([0-9]{1,20})(\+?)\}$/;

/**
 * True for bytes allowed in a bare word: CHAR except atom-specials "(" ")" "{" SP CTL DQUOTE "\"
 * (RFC 9051 9 "atom-specials"), but keeping list-wildcards "%" "*" and resp-special "]", which
 * list-mailbox, sequence-set and astring allow; the parsers check each position's stricter grammar.
 */
function isWordByte(b: number): boolean {
  return (
    b > 0x20 && b < 0x7f && b !== LPAREN && b !== RPAREN && b !== LBRACE && b !== DQUOTE && b !== BACKSLASH
  );
}

interface Frame {
  kind: 'root' | 'list' | 'section';
  items: ImapToken[];
  name: string;
}

/** Tokenizes a whole command (tag and name included). Throws ImapSyntaxError. */
export function tokenize(
  cmd: RawCommand,
  options: TokenizerOptions = DEFAULT_TOKENIZER_OPTIONS,
): ImapToken[] {
  if (cmd.segments.length !== cmd.literals.length + 1) throw new ImapSyntaxError('Malformed command');
  const root: Frame = { kind: 'root', items: [], name: '' };
  const stack: Frame[] = [root];
  const top = (): Frame => stack[stack.length - 1] as Frame;

  for (let s = 0; s < cmd.segments.length; s++) {
    const seg = cmd.segments[s] as Buffer;
    const isLast = s === cmd.segments.length - 1;
    let i = 0;
    while (i < seg.length) {
      const b = seg[i] as number;
      if (b === SP) {
        i++;
        continue;
      }
      if (b === LPAREN) {
        if (stack.length > options.maxDepth) throw new ImapSyntaxError('Too deeply nested');
        const frame: Frame = { kind: 'list', items: [], name: '' };
        top().items.push({ type: 'list', items: frame.items });
        stack.push(frame);
        i++;
        continue;
      }
      if (b === RPAREN) {
        if (top().kind !== 'list') throw new ImapSyntaxError('Unexpected ")"');
        stack.pop();
        i++;
        continue;
      }
      if (b === RBRACKET && top().kind === 'section') {
        const frame = stack.pop() as Frame;
        i++;
        let partial: TokenPartial | null = null;
        if (seg[i] === LT) {
          const m = /^<([0-9]{1,10})(?:\.([0-9]{1,10}))?>/.exec(
            seg.toString('latin1', i, Math.min(seg.length, i + 24)),
          );
          if (!m) throw new ImapSyntaxError('Invalid partial specifier');
          partial = { offset: Number(m[1]), length: m[2] === undefined ? null : Number(m[2]) };
          i += m[0].length;
        }
        top().items.push({ type: 'section', name: frame.name, items: frame.items, partial });
        continue;
      }
      if (b === DQUOTE) {
        const { value, end } = readQuoted(seg, i);
        top().items.push({ type: 'quoted', value });
        i = end;
        continue;
      }
      if (b === LBRACE || (b === TILDE && seg[i + 1] === LBRACE)) {
        const m = LITERAL_ANNOUNCEMENT.exec(seg.toString('latin1', i));
        if (!m || m.index !== 0) throw new ImapSyntaxError('Invalid literal announcement');
        if (isLast) throw new ImapSyntaxError('Literal announced without data');
        const lit = cmd.literals[s] as LiteralData;
        const size = Number(m[2]);
        const bytes = lit.streamed ? null : lit.bytes;
        if ((bytes ? bytes.length : lit.streamed ? lit.size : -1) !== size) {
          throw new ImapSyntaxError('Literal size mismatch');
        }
        // RFC 9051 4.3: a literal (not literal8) cannot contain NUL; RFC 3516 4.2 uses literal8 for that.
        if (bytes && m[1] !== '~' && bytes.includes(0))
          throw new ImapSyntaxError('NUL in literal; use literal8');
        top().items.push({ type: 'literal', bytes, size, binary: m[1] === '~', index: s });
        i = seg.length;
        continue;
      }
      if (b === BACKSLASH || isWordByte(b)) {
        const start = i;
        i++;
        while (i < seg.length) {
          const c = seg[i] as number;
          if (c === RBRACKET && top().kind === 'section') break;
          if (c === LBRACKET) {
            const name = seg.toString('latin1', start, i).toUpperCase();
            if (SECTION_NAMES.has(name)) break;
          }
          if (!isWordByte(c)) break;
          i++;
        }
        const word = seg.toString('latin1', start, i);
        if (seg[i] === LBRACKET && SECTION_NAMES.has(word.toUpperCase())) {
          if (stack.length > options.maxDepth) throw new ImapSyntaxError('Too deeply nested');
          stack.push({ kind: 'section', items: [], name: word.toUpperCase() });
          i++;
          continue;
        }
        // A word ends at SP, ")" or the section's "]"; "(" is tolerated too (HEADER.FIELDS(FROM) is
        // seen from real clients). Anything else glued on ("{", a quote, "\\", CTL, 8-bit) is an error.
        const next = seg[i];
        if (next !== undefined && next !== SP && next !== RPAREN && next !== LPAREN && next !== RBRACKET) {
          throw new ImapSyntaxError(`Invalid character after "${word.slice(0, 40)}"`);
        }
        top().items.push(wordToken(word));
        continue;
      }
      if (b === 0) throw new ImapSyntaxError('NUL in command');
      if (b >= 0x80) throw new ImapSyntaxError('8-bit data outside a string');
      throw new ImapSyntaxError('Invalid character in command');
    }
  }
  if (stack.length !== 1) throw new ImapSyntaxError(top().kind === 'list' ? 'Missing ")"' : 'Missing "]"');
  return root.items;
}

function wordToken(word: string): ImapToken {
  if (/^[0-9]{1,16}$/.test(word)) {
    const value = Number(word);
    if (Number.isSafeInteger(value)) return { type: 'number', value, raw: word };
  }
  if (word.length === 3 && word.toUpperCase() === 'NIL') return { type: 'nil', raw: word };
  return { type: 'atom', value: word };
}

/** Reads a quoted string starting at the opening quote; RFC 9051 9: only \" and \\ are escapes. */
function readQuoted(seg: Buffer, open: number): { value: string; end: number } {
  const out: number[] = [];
  let i = open + 1;
  for (;;) {
    if (i >= seg.length) throw new ImapSyntaxError('Unterminated quoted string');
    const c = seg[i] as number;
    if (c === DQUOTE) break;
    if (c === BACKSLASH) {
      const n = seg[i + 1];
      if (n !== DQUOTE && n !== BACKSLASH) throw new ImapSyntaxError('Invalid escape in quoted string');
      out.push(n);
      i += 2;
      continue;
    }
    if (c === 0 || c === 0x0d || c === 0x0a) throw new ImapSyntaxError('Invalid character in quoted string');
    out.push(c);
    i++;
  }
  let value: string;
  try {
    value = utf8.decode(Uint8Array.from(out));
  } catch {
    throw new ImapSyntaxError('Quoted string is not valid UTF-8');
  }
  return { value, end: i + 1 };
}

/** Convenience for tests and simple callers: one line without literals. */
export function tokenizeLine(line: string, options?: TokenizerOptions): ImapToken[] {
  return tokenize({ segments: [Buffer.from(line, 'utf8')], literals: [] }, options);
}
