// Seeded random texts for the tests that compare two parsers on the same input: every run checks the same texts.

/** A linear congruential generator: `rand(n)` is in [0, n), the same sequence for the same seed. */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

/** `count` texts of 0-29 pieces each, the pieces drawn from `pieces` (header names, colons, folding, line breaks...). */
export function randomTexts(pieces: readonly string[], count: number, seed: number): string[] {
  const rand = seededRandom(seed);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = '';
    const length = rand(30);
    for (let j = 0; j < length; j++) text += pieces[rand(pieces.length)];
    texts.push(text);
  }
  return texts;
}

/**
 * The pieces every header-parser comparison draws from (names, colons, folding, bare CR/LF, junk): each
 * test appends its own (8-bit, encoded words, blank lines...). Appended, not mixed in, so a seed gives the
 * texts it always gave.
 */
export const HEADER_PIECES: readonly string[] = [
  'Subject',
  'X-A',
  ':',
  ': ',
  ' ',
  '\t',
  '\r\n',
  '\n',
  '\r',
  'a',
  'B c',
];
