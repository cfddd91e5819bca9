// IMAP sequence sets (RFC 9051 9 "sequence-set"): parse, resolve against the mailbox size, test membership, format.
import { ImapSyntaxError } from './types.js';

/** nz-number / uniqueid are 32-bit unsigned (RFC 9051 9: "nz-number", 1 <= n < 4,294,967,296). */
export const MAX_UINT32 = 4294967295;

/** '*' is "the largest number in use" (RFC 9051 9 "seq-number"). */
export type SeqNumber = number | '*';

/** One element of a sequence set as sent: a single number is a range with start === end. */
export interface SeqRange {
  start: SeqNumber;
  end: SeqNumber;
}

/** A sequence set as sent by the client, or '$' (RFC 5182 / RFC 9051 6.4.4.4: the saved SEARCH result). */
export type SequenceSet = { kind: 'set'; ranges: SeqRange[] } | { kind: 'saved' };

/** Sorted, merged, non-overlapping inclusive ranges of concrete numbers: [[lo, hi], ...]. */
export type NumberRanges = Array<[number, number]>;

/**
 * Upper bound on elements in one set: a 64 KiB command line cannot hold more than ~32k
 * anyway; the bound keeps the sort in resolve cheap even if the line limit is raised.
 */
export const MAX_SET_ELEMENTS = 100_000;

function parseSeqNumber(text: string): SeqNumber {
  if (text === '*') return '*';
  // RFC 9051 9: nz-number = digit-nz *DIGIT: no leading zero, no sign, no zero.
  if (!/^[1-9][0-9]{0,9}$/.test(text))
    throw new ImapSyntaxError(`Invalid sequence number "${text.slice(0, 20)}"`);
  const n = Number(text);
  if (n > MAX_UINT32) throw new ImapSyntaxError('Sequence number out of range');
  return n;
}

/** Parses `2,4:7,9,12:*` or `$`. Throws ImapSyntaxError on anything else. */
export function parseSequenceSet(text: string): SequenceSet {
  if (text === '$') return { kind: 'saved' };
  if (text.length === 0) throw new ImapSyntaxError('Empty sequence set');
  const parts = text.split(',');
  if (parts.length > MAX_SET_ELEMENTS) throw new ImapSyntaxError('Too many sequence set elements');
  const ranges: SeqRange[] = [];
  for (const part of parts) {
    const colon = part.indexOf(':');
    if (colon < 0) {
      const n = parseSeqNumber(part);
      ranges.push({ start: n, end: n });
    } else {
      ranges.push({
        start: parseSeqNumber(part.slice(0, colon)),
        end: parseSeqNumber(part.slice(colon + 1)),
      });
    }
  }
  return { kind: 'set', ranges };
}

/** True when text looks like a sequence set (used to tell a SEARCH sequence-set key from a keyword). */
export function isSequenceSetSyntax(text: string): boolean {
  return (
    text === '$' || /^(?:[0-9]+|\*)(?::(?:[0-9]+|\*))?(?:,(?:[0-9]+|\*)(?::(?:[0-9]+|\*))?)*$/.test(text)
  );
}

/**
 * Resolves a parsed set against `max` (the largest sequence number or UID in use) into merged
 * ranges clipped to [1, max]. `*` means max; `a:b` equals `b:a` (RFC 9051 9 "seq-range": order
 * does not matter), so `10:*` with max 5 yields [5,5] (RFC 9051 6.4.8 says "*" with an empty
 * mailbox is no message). Numbers above max simply match nothing: callers decide whether that
 * is an error (sequence numbers) or not (UIDs).
 */
export function resolveSequenceSet(set: SeqRange[], max: number): NumberRanges {
  if (max <= 0) return [];
  const raw: NumberRanges = [];
  for (const r of set) {
    const a = r.start === '*' ? max : r.start;
    const b = r.end === '*' ? max : r.end;
    const lo = Math.min(a, b);
    const hi = Math.min(Math.max(a, b), max);
    if (lo <= hi) raw.push([lo, hi]);
  }
  return mergeRanges(raw);
}

/** Sorts and merges overlapping or adjacent ranges. */
export function mergeRanges(ranges: NumberRanges): NumberRanges {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: NumberRanges = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

/** Largest concrete number named in the set ('*' counts as max): to detect "no such message" for sequence numbers. */
export function maxNumberInSet(set: SeqRange[], max: number): number {
  let m = 0;
  for (const r of set) {
    const a = r.start === '*' ? max : r.start;
    const b = r.end === '*' ? max : r.end;
    m = Math.max(m, a, b);
  }
  return m;
}

/** Membership in merged ranges by binary search: O(log n). */
export function inRanges(n: number, ranges: NumberRanges): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid] as [number, number];
    if (n < r[0]) hi = mid - 1;
    else if (n > r[1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Number of members in merged ranges. */
export function countRanges(ranges: NumberRanges): number {
  let c = 0;
  for (const [lo, hi] of ranges) c += hi - lo + 1;
  return c;
}

/** Formats merged ranges as a sequence set (`1:3,5`), for COPYUID, ESEARCH ALL and VANISHED. */
export function formatRanges(ranges: NumberRanges): string {
  return ranges.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}:${hi}`)).join(',');
}

/** Compresses an arbitrary list of numbers (any order, duplicates allowed) into set syntax. */
export function formatNumbers(numbers: Iterable<number>): string {
  return formatRanges(mergeRanges(Array.from(numbers, (n): [number, number] => [n, n])));
}

/** Formats a parsed set back to its wire form (used by tests and logging). */
export function formatSequenceSet(set: SequenceSet): string {
  if (set.kind === 'saved') return '$';
  return set.ranges.map((r) => (r.start === r.end ? String(r.start) : `${r.start}:${r.end}`)).join(',');
}
