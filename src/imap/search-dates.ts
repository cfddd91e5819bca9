// The calendar dates SEARCH BEFORE/ON/SINCE and SENTBEFORE/SENTON/SENTSINCE compare (RFC 9051 6.4.4).
//
// RFC 9051 6.4.4 compares "the internal date (disregarding time and timezone)" and the Date: header
// "(disregarding time and timezone)": the day as written, in the zone the date carries, never the UTC
// day. "25-Mar-2007 00:00:00 +0200" is ON 25-Mar-2007 although it is 24 March in UTC. Each date here is
// a day number: that day's midnight as UTC epoch ms, so days compare as numbers. Pure.
import { parseRfc5322Date } from '../mail/headers.js';
import type { SearchDate } from './proto/command-types.js';

const DAY_MS = 86_400_000;

/** The day a search key names (date = date-day "-" date-month "-" date-year, RFC 9051 9). */
export function searchDay(d: SearchDate): number {
  return Date.UTC(d.year, d.month - 1, d.day);
}

/** The calendar day of an internal date in its own zone (`offsetMinutes` east of UTC, as stored). */
export function internalDay(at: Date, offsetMinutes: number): number {
  const local = at.getTime() + offsetMinutes * 60_000;
  return local - (((local % DAY_MS) + DAY_MS) % DAY_MS);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * The calendar day of a Date: header value as written (its own zone), or null when it is not a date
 * parseRfc5322Date accepts (such a message matches no SENT* key). The date fields are read from the text
 * itself rather than from the instant, so every zone form (numeric, "EST", "UT", missing) and a leap
 * second ("23:59:60", which the instant rolls into the next day) keep the day the sender wrote.
 */
export function sentDay(value: string): number | null {
  if (parseRfc5322Date(value) === null) return null;
  // The same normalisation as parseRfc5322Date: comments (CFWS) out, folding white space and commas
  // to one space; then optional day-of-week, day, month, year, and the hour that must follow.
  const text = value
    .slice(0, 200)
    .replace(/\([^()]*\)/g, ' ')
    .replace(/[\s,]+/g, ' ')
    .trim();
  const m = /^(?:[A-Za-z]{3,9}\.? )?(\d{1,2})[ -]?([A-Za-z]{3,9})\.?[ -]?(\d{2,4}) \d{1,2}:/.exec(text);
  if (!m) return null;
  const month = MONTHS.indexOf((m[2] as string).slice(0, 3).toLowerCase());
  if (month < 0) return null;
  const yy = m[3] as string;
  let year = parseInt(yy, 10);
  // RFC 5322 4.3: two-digit years below 50 are 20xx, other two-digit years 19xx; three digits add 1900.
  if (yy.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yy.length === 3) year += 1900;
  return Date.UTC(year, month, parseInt(m[1] as string, 10));
}
