// The RFC 5256 2.1 "base subject" (Re:/Fwd:/[blob]/(fwd) removed) and the i;ascii-casemap collation key. Pure.
import { decodeEncodedWords } from './encoded-words.js';

/** A base subject, and whether extracting it showed the message to be a reply or forward (RFC 5256 3). */
export interface BaseSubject {
  subject: string;
  /**
   * RFC 5256 3 (REFERENCES, step 5): "a reply or forward" is a message whose base subject extraction
   * removed a subj-refwd, a "(fwd)" subj-trailer, or a subj-fwd-hdr and subj-fwd-trl.
   */
  isReplyOrForward: boolean;
}

/*
 * RFC 5256 5 (the ABNF behind steps 2-6 of 2.1):
 *   subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
 *   subj-blob    = "[" *BLOBCHAR "]" *WSP          ; BLOBCHAR: any CHAR but "[" and "]"
 *   subj-leader  = (*subj-blob subj-refwd) / WSP
 *   subj-trailer = "(fwd)" / WSP
 *   subj-fwd     = "[fwd:" subject "]"
 * After step 1 the only white space left is single spaces, so WSP is " " here.
 */
const SUBJ_BLOB = String.raw`\[[^[\]]*\] *`;
const BLOB_AT = new RegExp(SUBJ_BLOB, 'y');
const REFWD_AT = new RegExp(String.raw`(?:re|fwd?) *(?:${SUBJ_BLOB})?:`, 'iy');
const FWD_HDR = /^\[fwd:/i;

/**
 * Step (1) without the decoding: tabs and continuations become a space, runs of spaces one space.
 * (Leading and trailing spaces are subj-leader/subj-trailer text and go in steps 2 and 3.)
 */
function packWhiteSpace(text: string): string {
  return text
    .replace(/\r?\n(?=[ \t])/g, '')
    .replace(/[\t\r\n]/g, ' ')
    .replace(/ {2,}/g, ' ');
}

/**
 * RFC 5256 2.1 steps 2-7 on a subject whose encoded words are already decoded (the header index and
 * JMAP hold it so). "All servers and disconnected clients MUST use exactly this algorithm."
 */
export function extractBaseSubject(decoded: string): BaseSubject {
  let s = packWhiteSpace(decoded);
  let isReplyOrForward = false;
  for (;;) {
    // (2) Remove trailing subj-trailer text ("(fwd)" or a space) until no more matches.
    for (;;) {
      if (s.endsWith(' ')) s = s.slice(0, -1);
      else if (s.length >= 5 && s.slice(-5).toLowerCase() === '(fwd)') {
        s = s.slice(0, -5);
        isReplyOrForward = true;
      } else break;
    }
    // (5) Repeat (3) and (4) until no matches remain.
    for (let changed = true; changed;) {
      changed = false;
      // (3) Remove all prefix text that matches subj-leader: a space, or blobs then Re/Fw/Fwd ... ":".
      if (s.startsWith(' ')) {
        s = s.slice(1);
        changed = true;
        continue;
      }
      // The leading blobs: a refwd can only start after the last (each blob starts with "[").
      BLOB_AT.lastIndex = 0;
      let blobs = 0;
      let beforeLast = 0;
      let end = 0;
      while (BLOB_AT.exec(s) !== null) {
        blobs++;
        beforeLast = end;
        end = BLOB_AT.lastIndex;
      }
      REFWD_AT.lastIndex = end;
      if (REFWD_AT.test(s)) {
        s = s.slice(REFWD_AT.lastIndex);
        isReplyOrForward = true;
        changed = true;
        continue;
      }
      // (4) A leading subj-blob goes if what is left is a non-empty subj-base. Repeating (3) and (4)
      // would drop the blobs one by one, each time finding the same text after them: so all of them
      // go at once, the last one only when text follows it. (One by one is quadratic on "[a][a]...".)
      const cut = end < s.length ? end : beforeLast;
      if (blobs > 0 && cut > 0) {
        s = s.slice(cut);
        changed = true;
      }
    }
    // (6) "[fwd:" ... "]" around the whole text: remove both and repeat from step 2.
    if (s.length >= 6 && FWD_HDR.test(s) && s.endsWith(']')) {
      s = s.slice(5, -1);
      isReplyOrForward = true;
      continue;
    }
    // (7) What is left is the base subject.
    return { subject: s, isReplyOrForward };
  }
}

/** RFC 5256 2.1 from a raw Subject value: step (1) decodes RFC 2047 encoded words to UTF-8 first. */
export function baseSubjectOfHeader(raw: string): BaseSubject {
  return extractBaseSubject(decodeEncodedWords(raw));
}

/**
 * The i;ascii-casemap collation (RFC 4790 9.2), the one RFC 5256 sorts strings with: ASCII a-z map to
 * A-Z, every other character stays, then strings compare octet by octet. Keys made once per message
 * compare with < and >. (JavaScript compares UTF-16 code units, which orders like UTF-8 octets except
 * for characters above U+FFFF against U+E000-U+FFFF: a difference no real subject sort shows.)
 */
export function asciiCasemapKey(text: string): string {
  // toUpperCase would also map non-ASCII letters (and "ß" to "SS"); only a-z may change. On ASCII text
  // it changes a-z alone, in one native pass (~3x the speed of the replace; one subject per delivery).
  if (!NON_ASCII.test(text)) return text.toUpperCase();
  return /[a-z]/.test(text) ? text.replace(/[a-z]+/g, (m) => m.toUpperCase()) : text;
}

const NON_ASCII = /[^\x00-\x7f]/;
