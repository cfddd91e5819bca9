// The DKIM-Signature field as mailauth 4.13 writes it, built once per signature: its h= selection, the relaxed form that is hashed, the folded field.
import { createRequire } from 'node:module';
import type { ParsedHeader, RelaxedLineFormatter } from '../inbound/dkim-headers.js';

/** The tags of our signatures other than b=; mailauth adds v=1 and q=dns/txt itself. */
export interface SignatureTags {
  a: string;
  c: string;
  d: string;
  h: string;
  s: string;
  t: number;
  bh: string;
}

interface MailauthFormatting {
  foldLines(text: string): string;
  toASCII(name: string): string;
}
let formatting: MailauthFormatting | null = null;
/** mailauth's own copies of libmime (its line folding) and punycode.js, loaded at the first signature. */
function mailauthFormatting(): MailauthFormatting {
  if (formatting) return formatting;
  const fromMailauth = createRequire(createRequire(import.meta.url).resolve('mailauth'));
  // CommonJS without types: these are the two functions mailauth's tools.js calls.
  const libmime = fromMailauth('libmime') as { foldLines(text: string): string };
  const punycode = fromMailauth('punycode.js') as { toASCII(name: string): string };
  formatting = { foldLines: (text) => libmime.foldLines(text), toASCII: (name) => punycode.toASCII(name) };
  return formatting;
}

/**
 * mailauth's getSigningHeaderLines(parsed, names) for signing: the fields whose name is in `names`, last field
 * first, and h= as their names as written, joined by ': '. `names` is lower-cased once here, not per message.
 */
export function signingFieldsOf(names: readonly string[]): (parsed: readonly ParsedHeader[]) => {
  keys: string;
  headers: ParsedHeader[];
} {
  const wanted = new Set(names.map((n) => n.trim().toLowerCase()).filter((n) => n));
  return (parsed) => {
    const headers: ParsedHeader[] = [];
    for (let i = parsed.length - 1; i >= 0; i--) {
      const field = parsed[i]!;
      if (field.key !== null && wanted.has(field.key)) headers.push(field);
    }
    return { keys: headers.map((f) => f.casedKey).join(': '), headers };
  };
}

/** punycode.toASCII as mailauth applies it to d= and s=: ASCII names are left as they are, so only others load it. */
function aLabel(name: string): string {
  if (!/[^\x00-\x7f]/.test(name)) return name;
  try {
    return mailauthFormatting().toASCII(name);
  } catch {
    return name; // mailauth ignores punycode errors too
  }
}

/**
 * The tags before b=, in mailauth's order (tools.js keyOrderingDKIM: v a c d h i l q s t x z bh b), with the
 * v=1 and q=dns/txt it adds. Our signatures have no i=, l=, x= or z=. Made once per signature: both the
 * hashed form and the folded field below start from it.
 */
export function tagsBeforeB(t: SignatureTags): string {
  return `v=1; a=${t.a}; c=${t.c}; d=${aLabel(t.d)}; h=${t.h}; q=dns/txt; s=${aLabel(t.s)}; t=${t.t}; bh=${t.bh}`;
}

/**
 * The signature field in the relaxed form that is hashed, without b='s value and without a line break: what
 * mailauth's relaxed.js hashes for a field formatSignatureHeaderLine folds. Folding only puts CRLFs before
 * whitespace, which the relaxed form drops, so the unfolded field gives the same bytes; the b= placeholder and
 * the expression that empties it are mailauth's.
 */
export function relaxedSignatureField(tagText: string, relaxedLine: RelaxedLineFormatter): Buffer {
  const field = Buffer.from(`DKIM-Signature: ${tagText}; b=${'a'.repeat(73)}`, 'latin1');
  return Buffer.from(
    relaxedLine(field)
      .toString('latin1')
      .replace(/([;:\s]+b=)[^;]+/, '$1'),
    'latin1',
  );
}

/**
 * The folded DKIM-Signature field with its signature, no final line break: byte for byte what mailauth's
 * formatSignatureHeaderLine('DKIM', tags + b, true) returns, given tagsBeforeB(tags) (b= broken every 75 characters, then libmime's
 * foldLines at 76). test/unit/sender-auth/dkim-signature-header.test.ts compares the two on random tags.
 */
export function foldedSignatureField(tagText: string, b: string): string {
  const bTag = b ? spaceEvery75(`b=${b}`) : 'b=';
  return mailauthFormatting().foldLines(`DKIM-Signature: ${tagText}; ${bTag}`);
}

/**
 * mailauth's `.replace(/.{75}/g, '$& ').trim()` for a b= tag (base64: no line breaks, no spaces), by slices: the
 * regular expression with `$&` was ~10 us of the ~110 us a signature takes outside the key operation.
 */
function spaceEvery75(tag: string): string {
  let out = tag.slice(0, 75);
  for (let i = 75; i < tag.length; i += 75) out += ` ${tag.slice(i, i + 75)}`;
  return out;
}
