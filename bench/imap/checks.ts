// Pure checks of IMAP responses for the bench: each returns null when the response is right, else why not.
import type { Completion } from './client.js';
import type { ImapResponse } from './reader.js';
import { storedMessage } from './messages.js';

const FETCH = /^(\d+) FETCH \((.*)\)$/s;

/** Untagged responses that mean trouble whatever the command (RFC 9051 7.1). */
export function badUntagged(untagged: readonly ImapResponse[]): string | null {
  for (const u of untagged) {
    if (/^(BAD|NO|BYE)\b/i.test(u.text)) return `untagged ${u.text.slice(0, 120)}`;
  }
  return null;
}

/** The tagged status is OK and nothing untagged says otherwise. */
export function checkOk(c: Completion): string | null {
  if (c.status !== 'OK') return `tagged ${c.text.slice(0, 120)}`;
  return badUntagged(c.untagged);
}

/** The FETCH responses of a completion: sequence number, the text inside the parentheses, literals. */
export function fetches(c: Completion): { seq: number; body: string; literals: Buffer[] }[] {
  const out: { seq: number; body: string; literals: Buffer[] }[] = [];
  for (const u of c.untagged) {
    const m = FETCH.exec(u.text);
    if (m) out.push({ seq: Number(m[1]), body: m[2] as string, literals: u.literals });
  }
  return out;
}

/** SELECT/EXAMINE: OK, EXISTS equal to what the mailbox holds, a UIDVALIDITY. */
export function checkSelect(c: Completion, exists: number): string | null {
  const bad = checkOk(c);
  if (bad) return bad;
  const e = c.untagged.find((u) => /^\d+ EXISTS$/i.test(u.text));
  if (!e) return 'no EXISTS';
  if (Number.parseInt(e.text, 10) !== exists) return `EXISTS ${e.text}, expected ${exists}`;
  if (!c.untagged.some((u) => /^OK \[UIDVALIDITY \d+\]/i.test(u.text))) return 'no UIDVALIDITY';
  return null;
}

/**
 * FETCH lo:hi (FLAGS ...): every message in the range has a FETCH response with a FLAGS list. A message
 * may get more than one FETCH response: another session's flag change arrives as an unsolicited FETCH
 * (RFC 9051 7.5.2 allows it during FETCH), so responses are merged by sequence number.
 */
export function checkFlagsRange(c: Completion, lo: number, hi: number): string | null {
  const bad = checkOk(c);
  if (bad) return bad;
  const seen = new Set<number>();
  for (const f of fetches(c)) {
    if (f.seq < lo || f.seq > hi) continue;
    if (/(^| )FLAGS \([^)]*\)/.test(f.body)) seen.add(f.seq);
  }
  return seen.size === hi - lo + 1 ? null : `FLAGS for ${seen.size} of ${hi - lo + 1} messages`;
}

/**
 * FETCH lo:hi (... BODY.PEEK[HEADER.FIELDS (From To Subject Date)]): each message's four header lines,
 * in one of its FETCH responses (others may be unsolicited flag updates, see checkFlagsRange).
 */
export function checkHeaders(c: Completion, lo: number, hi: number): string | null {
  const bad = checkOk(c);
  if (bad) return bad;
  const got = new Set<number>();
  for (const f of fetches(c)) {
    if (f.seq < lo || f.seq > hi) continue;
    const literal = f.literals[0];
    if (!literal) {
      if (/HEADER\.FIELDS/i.test(f.body))
        return `header fields of ${f.seq} not a literal: ${f.body.slice(0, 120)}`;
      continue; // a FETCH without the section: an unsolicited update of this message's flags
    }
    const h = literal.toString('latin1');
    if (!/^From: /m.test(h) || !/^Subject: /m.test(h) || !/^Date: /m.test(h) || !h.endsWith('\r\n\r\n')) {
      return `header fields of ${f.seq}: ${JSON.stringify(h.slice(0, 80))}`;
    }
    if (/^(Message-ID|Return-Path):/im.test(h)) return `header fields of ${f.seq} include unasked fields`;
    got.add(f.seq);
  }
  return got.size === hi - lo + 1 ? null : `header fields for ${got.size} of ${hi - lo + 1} messages`;
}

/** UID FETCH uid (BODY.PEEK[]): the message's bytes exactly as filled (found by its Message-ID). */
export function checkBody(c: Completion, uid: number): string | null {
  const bad = checkOk(c);
  if (bad) return bad;
  const mine = fetches(c).filter((x) => new RegExp(`(^| )UID ${uid}( |\\)|$)`).test(x.body));
  if (mine.length === 0) return `no FETCH for UID ${uid}`;
  // Another FETCH for the same UID may be an unsolicited flag update; the one with BODY[] counts.
  const body = mine.find((x) => x.literals.length > 0)?.literals[0];
  if (!body) return `no BODY[] literal for UID ${uid}`;
  const id = /^Message-ID: <(\d+)@remote\.example>/im.exec(body.toString('latin1'));
  if (!id) return `BODY[] of UID ${uid} has no bench Message-ID`;
  return body.equals(storedMessage(Number(id[1])))
    ? null
    : `BODY[] of UID ${uid} differs from the filled bytes`;
}

/** SEARCH: exactly `hits` numbers in the SEARCH response(s). */
export function checkSearch(c: Completion, hits: number): string | null {
  const bad = checkOk(c);
  if (bad) return bad;
  let n = 0;
  let found = false;
  for (const u of c.untagged) {
    if (!/^SEARCH( |$)/i.test(u.text)) continue;
    found = true;
    const nums = u.text.slice(6).trim();
    if (nums !== '' && !/^\d+( \d+)*$/.test(nums)) return `malformed SEARCH: ${u.text.slice(0, 80)}`;
    n += nums === '' ? 0 : nums.split(' ').length;
  }
  if (!found) return 'no SEARCH response';
  return n === hits ? null : `SEARCH found ${n}, expected ${hits}`;
}

/** UID STORE uid ±FLAGS (\Seen): OK; a FETCH for that UID, if sent, shows the change. */
export function checkStore(c: Completion, uid: number, seen: boolean): string | null {
  const bad = checkOk(c);
  if (bad) return bad;
  // The last FETCH for the UID: an earlier one may be another session's unsolicited update.
  const f = fetches(c)
    .filter((x) => new RegExp(`(^| )UID ${uid}( |\\)|$)`).test(x.body))
    .pop();
  if (!f) return null; // RFC 9051 6.4.6: the untagged FETCH is a SHOULD, not a MUST
  const flags = /(?:^| )FLAGS \(([^)]*)\)/.exec(f.body);
  if (!flags) return `STORE FETCH without FLAGS: ${f.body.slice(0, 80)}`;
  const has = /(^| )\\Seen( |$)/i.test(flags[1] as string);
  return has === seen ? null : `FLAGS after STORE: (${flags[1]})`;
}

/** APPEND: OK, and an APPENDUID (RFC 4315) that is well formed when the server sends one. */
export function checkAppend(c: Completion): string | null {
  const bad = checkOk(c);
  if (bad) return bad;
  if (/\[APPENDUID/i.test(c.text) && !/\[APPENDUID \d+ \d+\]/i.test(c.text)) {
    return `malformed APPENDUID: ${c.text.slice(0, 80)}`;
  }
  return null;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An IMAP date-time (RFC 9051 9: "23-Nov-2026 10:00:00 +0100") as epoch ms; NaN when malformed. */
export function parseImapDateTime(s: string): number {
  const m = /^ ?(\d{1,2})-([A-Z][a-z]{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return NaN;
  const month = MONTHS.indexOf(m[2] as string);
  if (month < 0) return NaN;
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === '-' ? -1 : 1);
  return utc - offset;
}

/** INTERNALDATE of message `seq` in a FETCH completion is the instant `want` (any zone). */
export function checkInternalDate(c: Completion, seq: number, want: Date): string | null {
  const f = fetches(c).find((x) => x.seq === seq);
  const d = f && /INTERNALDATE "([^"]+)"/.exec(f.body);
  if (!d) return `no INTERNALDATE for ${seq}`;
  return parseImapDateTime(d[1] as string) === want.getTime()
    ? null
    : `INTERNALDATE of ${seq} is ${d[1]}, expected ${want.toISOString()}`;
}
