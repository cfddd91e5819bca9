// JMAP / IMAP OBJECTID (RFC 8474) ids of stored objects: a letter per type and the row id in base 36.
/*
 * RFC 8620 1.2: ids are 1-255 characters of [A-Za-z0-9_-]; RFC 8474 4 objectid is the same alphabet.
 * The letter keeps ids of different types apart (a Thread id is never taken for an Email id), the row
 * id is an AUTOINCREMENT key that is never reused (sqlite/schema.ts), and base 36 keeps ids short.
 * Decoding accepts only the canonical form (no leading zeros), so one object has exactly one id.
 */

export type ObjectKind = 'email' | 'thread' | 'mailbox' | 'blob' | 'identity' | 'submission';

const PREFIX: Record<ObjectKind, string> = {
  email: 'M',
  thread: 'T',
  mailbox: 'F',
  blob: 'B',
  identity: 'I',
  submission: 'S',
};
const CANONICAL = /^[1-9a-z][0-9a-z]{0,10}$/;

/** The id string of row `n` of `kind`. */
export function encodeId(kind: ObjectKind, n: number): string {
  return PREFIX[kind] + n.toString(36);
}

/** The row id of an id string of `kind`, or null when it is not one (wrong type, not canonical, too big). */
export function decodeId(kind: ObjectKind, id: string): number | null {
  if (id.charAt(0) !== PREFIX[kind]) return null;
  const digits = id.slice(1);
  if (!CANONICAL.test(digits)) return null;
  const n = parseInt(digits, 36);
  return Number.isSafeInteger(n) ? n : null;
}
