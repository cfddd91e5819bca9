// Authentication-Results (RFC 8601): the authserv-id of a field, and a streaming filter dropping fields that claim ours.
import { AUTH_RESULTS_HOLD_MAX } from '../config/limits.js';

/** RFC 2045 5.1 token characters (RFC 8601 2.2: authserv-id = value = token / quoted-string). */
const TOKEN = /^[^\x00-\x20\x7f()<>@,;:\\"/[\]?=]+/;

/** Skips CFWS (RFC 5322 3.2.2): whitespace, folding and nested comments. Returns the index after it. */
function skipCfws(text: string, from: number): number {
  let i = from;
  for (;;) {
    while (i < text.length && /[ \t\r\n]/.test(text[i]!)) i++;
    if (text[i] !== '(') return i;
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        i++;
        break;
      }
    }
    if (depth > 0) return text.length; // unterminated comment: no id
  }
}

/**
 * The authserv-id of an Authentication-Results field body (after the colon), lower-cased; null when it
 * has none we can read (RFC 8601 2.2: the first item, a token or a quoted-string, after optional CFWS).
 */
export function authservIdOf(fieldBody: string): string | null {
  const i = skipCfws(fieldBody, 0);
  if (fieldBody[i] === '"') {
    let id = '';
    for (let j = i + 1; j < fieldBody.length; j++) {
      const c = fieldBody[j];
      if (c === '"') return id.toLowerCase();
      if (c === '\\') j++;
      id += fieldBody[j] ?? '';
    }
    return null;
  }
  const token = TOKEN.exec(fieldBody.slice(i));
  return token ? token[0].toLowerCase() : null;
}

const AR_NAME = /^authentication-results[ \t]*:/i;

/**
 * Removes, while the message streams in, every Authentication-Results field whose authserv-id is ours
 * (compared without regard to case), and only those (RFC 8601 5: such a field arriving from outside is
 * forged, and a reader that trusts our id would believe it). Works on the header block only; the body
 * and every other field pass through unchanged and in order. Pure: bytes in, bytes out.
 *
 * DKIM is verified on the filtered message: RFC 8601 5 expects these fields to be deleted on the way,
 * which is why signers do not sign them (RFC 8617 4.1.2 says so outright for ARC-Message-Signature).
 */
export class OwnAuthResultsFilter {
  private readonly ownId: string;
  /** The unfinished line (no LF yet), unless it is being passed or dropped as it comes. */
  private partial: Buffer[] = [];
  private partialSize = 0;
  /** The current line's fate once decided before its LF: 'pass' or 'drop' the rest of it. */
  private lineMode: 'undecided' | 'pass' | 'drop' = 'undecided';
  /** Lines of the Authentication-Results field being held, or null. */
  private held: Buffer[] | null = null;
  private heldSize = 0;
  /** Continuation lines of a field already decided: passed or dropped. */
  private fieldMode: 'pass' | 'drop' = 'pass';
  private headerEnded = false;
  /** How many fields were removed (for the log). */
  removed = 0;

  constructor(hostname: string) {
    this.ownId = hostname.toLowerCase();
  }

  /**
   * Feeds bytes; returns what passes, in order. A line wholly inside `chunk` (nearly all of them) is judged in
   * place and passing lines go out as one slice of `chunk` per run, not a copy each: what is spooled, and every
   * later per-chunk pass over it (the MIME scan, the DKIM hash), sees the pieces the socket gave.
   */
  write(chunk: Buffer): Buffer[] {
    if (this.headerEnded) return [chunk];
    const out: Buffer[] = [];
    let start = 0;
    /** Where the run of passing bytes not yet in `out` starts in `chunk` (-1: none). */
    let run = -1;
    const flush = (to: number) => {
      if (run >= 0 && to > run) out.push(run === 0 && to === chunk.length ? chunk : chunk.subarray(run, to));
      run = -1;
    };
    while (start < chunk.length && !this.headerEnded) {
      const lf = chunk.indexOf(0x0a, start);
      const end = lf < 0 ? chunk.length : lf + 1;
      if (this.lineMode === 'pass') {
        if (run < 0) run = start;
      } else if (this.lineMode === 'drop') flush(start);
      else if (lf >= 0 && this.partial.length === 0) {
        const line = chunk.subarray(start, end);
        if (this.held !== null) flush(start); // classify gives out the held field first (none is held in a run)
        const mode = this.classify(line, line[0], out);
        if (mode === 'pass') {
          if (run < 0) run = start;
        } else flush(start);
        if (mode === 'hold') {
          this.held!.push(line);
          this.heldSize += line.length;
          if (this.heldSize > AUTH_RESULTS_HOLD_MAX) this.settleHeld(out);
        }
      } else {
        flush(start);
        const piece = chunk.subarray(start, end);
        this.partial.push(piece);
        this.partialSize += piece.length;
        if (lf < 0) {
          // A header line longer than the hold bound: decide on its start, then stream the rest.
          if (this.partialSize > AUTH_RESULTS_HOLD_MAX) this.decideLine(out, false);
        } else this.decideLine(out, true);
      }
      start = end;
      if (lf >= 0) this.lineMode = 'undecided';
    }
    // The header ended inside this chunk: the rest is body, passed as it is.
    if (start < chunk.length && run < 0) run = start;
    flush(chunk.length);
    return out;
  }

  /** End of input: the field still held is judged (a message that is all header). */
  end(): Buffer[] {
    const out: Buffer[] = [];
    // A last line without LF (a BDAT body may end so) is judged like any other.
    if (this.partial.length > 0 && this.lineMode === 'undecided') this.decideLine(out, true);
    this.settleHeld(out);
    if (this.partial.length > 0) out.push(...this.partial);
    this.partial = [];
    return out;
  }

  /** The first `partial` bytes of a line are known (the whole line when `complete`): pass, hold or drop it. */
  private decideLine(out: Buffer[], complete: boolean): void {
    const line = Buffer.concat(this.partial, this.partialSize);
    this.partial = [];
    this.partialSize = 0;
    const first = line[0];
    const mode = this.classify(line, first, out);
    if (mode === 'pass') out.push(line);
    else if (mode === 'hold') {
      this.held!.push(line);
      this.heldSize += line.length;
      // Over the bound (the only way an unfinished line gets here): judge on what is held; the rest of the
      // line and its continuation lines follow that verdict (settleHeld sets fieldMode).
      if (this.heldSize > AUTH_RESULTS_HOLD_MAX) this.settleHeld(out);
      if (!complete) this.lineMode = this.fieldMode;
      return;
    }
    if (!complete) this.lineMode = mode;
  }

  private classify(line: Buffer, first: number | undefined, out: Buffer[]): 'pass' | 'drop' | 'hold' {
    if (first === 0x20 || first === 0x09) {
      // A continuation line (RFC 5322 2.2.3) belongs to the field before it.
      if (this.held !== null) return 'hold';
      return this.fieldMode;
    }
    this.settleHeld(out);
    this.fieldMode = 'pass';
    if (first === 0x0d || first === 0x0a) {
      this.headerEnded = true; // the empty line: the body follows, untouched
      return 'pass';
    }
    if (AR_NAME.test(line.subarray(0, 64).toString('latin1'))) {
      this.held = [];
      this.heldSize = 0;
      return 'hold';
    }
    return 'pass';
  }

  /** The held field is complete (or over the bound): drop it if it claims our id, else pass it. */
  private settleHeld(out: Buffer[]): void {
    if (this.held === null) return;
    const field = Buffer.concat(this.held, this.heldSize).toString('utf8');
    const colon = field.indexOf(':');
    const ours = authservIdOf(field.slice(colon + 1)) === this.ownId;
    if (ours) this.removed++;
    else out.push(...this.held);
    this.fieldMode = ours ? 'drop' : 'pass';
    this.held = null;
    this.heldSize = 0;
  }
}
