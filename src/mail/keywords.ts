// IMAP flags <-> JMAP keywords (RFC 8621 4.1.1 "keywords": the IMAP system flags have $-names). Pure.

/** RFC 8621 4.1.1: the IMAP system flags and the keywords JMAP gives them. \Deleted is "$deleted" (as Stalwart). */
const SYSTEM: ReadonlyArray<readonly [string, string]> = [
  ['\\seen', '$seen'],
  ['\\flagged', '$flagged'],
  ['\\answered', '$answered'],
  ['\\draft', '$draft'],
  ['\\deleted', '$deleted'],
];
const TO_KEYWORD = new Map(SYSTEM.map(([f, k]) => [f, k]));
const TO_FLAG = new Map(SYSTEM.map(([f, k]) => [k, `\\${f.charAt(1).toUpperCase()}${f.slice(2)}`]));

/**
 * The JMAP keyword of an IMAP flag, or null for \Recent (a session property, never stored). Keywords
 * are case-insensitive and JMAP servers return them lower case (RFC 8621 4.1.1).
 */
export function flagToKeyword(flag: string): string | null {
  const lower = flag.toLowerCase();
  if (lower === '\\recent') return null;
  return TO_KEYWORD.get(lower) ?? lower;
}

/** The IMAP flag a JMAP keyword is stored as: $seen -> \Seen, any other keyword as it is (lower case). */
export function keywordToFlag(keyword: string): string {
  const lower = keyword.toLowerCase();
  return TO_FLAG.get(lower) ?? lower;
}

/** The keywords of a set of flags, de-duplicated, sorted (stable output for tests and clients). */
export function keywordsOfFlags(flags: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const f of flags) {
    const k = flagToKeyword(f);
    if (k !== null) out.add(k);
  }
  return [...out].sort();
}
