// Pure submission policy (RFC 6409): which header fields a streaming message lacks, the ones to add, and sender ownership.
import {
  lookupLocal,
  normalizeAddress,
  resolveLocal,
  splitAddress,
  type AddressBook,
} from '../delivery/aliases.js';
import { rfc5322Date } from './received-header.js';

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SP = 0x20;
const HTAB = 0x09;

/**
 * A field name longer than this cannot be one we look for; the scanner stops collecting it (so a
 * hostile 25 MB "header line" costs no memory). RFC 5322 3.6.8: field-name = 1*ftext, no length bound.
 */
const MAX_NAME = 32;
/** A Message-ID longer than this is cut in the log (RFC 5322 2.1.1: a line is at most 998 characters). */
const MAX_ID_LOGGED = 256;

/** What the header block held that submission cares about (RFC 6409 8.2, 8.3). */
export interface HeaderPresence {
  messageId: boolean;
  date: boolean;
}

/**
 * Watches a message as it streams and notes whether its header block (RFC 5322 2.1: everything before
 * the first empty line) has a Message-ID and a Date field. It reads only the header block, byte by byte,
 * keeping O(1) state across chunk boundaries (a chunk may end anywhere, even between CR and LF), and
 * ignores everything after the empty line. Field names are matched case-insensitively (RFC 5322 1.2.2);
 * the obsolete white space before the colon (RFC 5322 4.5) is allowed. Continuation lines (starting with
 * SP/HTAB, RFC 5322 2.2.3) never start a field. Bare LF counts as a line end, as the stored message may
 * carry one.
 */
export class HeaderScanner {
  private found: HeaderPresence = { messageId: false, date: false };
  private done = false;
  /** At the first byte of a line. */
  private lineStart = true;
  /** A CR seen at the start of a line: a following LF makes the empty line that ends the header. */
  private crAtLineStart = false;
  /** The field name collected so far on this line, or null while skipping to the end of the line. */
  private name: string | null = '';
  /** The first Message-ID field's value while it is being read (it may be folded), then kept for the log. */
  private idValue: string | null = null;
  private readingId = false;

  /** True once the empty line ending the header block has been seen. */
  get headerEnded(): boolean {
    return this.done;
  }

  get presence(): HeaderPresence {
    return { ...this.found };
  }

  /** The first Message-ID field's value, unfolded and trimmed (at most MAX_ID_LOGGED chars), or null. */
  get messageId(): string | null {
    return this.idValue === null ? null : this.idValue.replace(/[ \t]+/g, ' ').trim();
  }

  write(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length && !this.done; i++) this.step(chunk[i] as number);
  }

  private step(c: number): void {
    if (this.crAtLineStart) {
      this.crAtLineStart = false;
      if (c === LF) {
        this.done = true;
        return;
      }
      // A CR alone at a line start: not an empty line; treat the rest of the line as junk.
      this.lineStart = false;
      this.name = null;
    }
    if (this.lineStart) {
      this.lineStart = false;
      if (c === CR) {
        this.crAtLineStart = true;
        return;
      }
      if (c === LF) {
        this.done = true; // bare-LF empty line
        return;
      }
      // A continuation line belongs to the previous field.
      this.name = c === SP || c === HTAB ? null : '';
      if (this.name === '') this.readingId = false;
    }
    if (c === LF) {
      this.lineStart = true;
      this.name = '';
      return;
    }
    if (this.readingId) {
      // Kept for the log line only: bounded, control characters dropped (the log stays one line).
      if (c !== CR && c >= 0x20 && this.idValue!.length < MAX_ID_LOGGED)
        this.idValue += String.fromCharCode(c);
      return;
    }
    if (this.name === null) return;
    if (c === COLON) {
      this.match(this.name.replace(/[ \t]+$/, '').toLowerCase());
      this.name = null;
      return;
    }
    if (this.name.length >= MAX_NAME || c === CR) {
      this.name = null;
      return;
    }
    this.name += String.fromCharCode(c);
  }

  private match(name: string): void {
    if (name === 'message-id') {
      if (!this.found.messageId) {
        this.idValue = '';
        this.readingId = true;
      }
      this.found.messageId = true;
    } else if (name === 'date') this.found.date = true;
  }
}

/** RFC 5322 3.6.4 id-right as dot-atom-text; a hostname that is not one (odd config) falls back to a literal-safe form. */
function idRight(hostname: string): string {
  const atext = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
  if (atext.test(hostname)) return hostname.toLowerCase();
  const cleaned = hostname
    .replace(/[^A-Za-z0-9.-]/g, '')
    .replace(/^\.+|\.+$/g, '')
    .replace(/\.{2,}/g, '.');
  return cleaned === '' ? 'localhost' : cleaned.toLowerCase();
}

/**
 * The header lines submission adds to a message that lacks them, CRLF-terminated, to be prepended to the
 * stored copy like trace headers (no body is rewritten). RFC 6409 8.2: a missing Message-ID MAY be added;
 * 8.3: a missing Date MAY be added (RFC 5322 3.6 requires Date, 3.6.4 says Message-ID SHOULD be present).
 * The Message-ID's left part is the queue id (time-ordered plus 50 random bits: unique per server), the
 * right part our hostname, so the id is globally unique as RFC 5322 3.6.4 asks.
 */
export function submissionHeaders(
  presence: HeaderPresence,
  facts: { queueId: string; hostname: string; date: Date },
): string {
  let out = '';
  if (!presence.messageId) {
    const left = facts.queueId.replace(/[^A-Za-z0-9.-]/g, '') || 'id';
    out += `Message-ID: <${left}@${idRight(facts.hostname)}>\r\n`;
  }
  if (!presence.date) out += `Date: ${rfc5322Date(facts.date)}\r\n`;
  return out;
}

/**
 * May the user authenticated as `account` use `sender` as the envelope sender (MAIL FROM) on submission?
 * RFC 6409 4.3 / 8.1 lets the MSA check the sender against the authenticated identity; RFC 5321 4.2.2
 * gives 553 for a refused mailbox name. Allowed: the account's own address, the same with a `+tag`
 * (subaddress), and any local address that resolves (aliases, recursively, as delivery resolves them) to
 * this account. Refused: the null sender (only the MTA itself sends bounces), other people's addresses,
 * remote addresses, and anything unparsable.
 */
export function senderOwnedBy(book: AddressBook, sender: string, account: string): boolean {
  if (sender === '') return false;
  const address = normalizeAddress(sender.trim());
  const own = normalizeAddress(account);
  if (address === null || own === null) return false;
  if (address === own) return true;
  const parts = splitAddress(address);
  if (parts === null || parts.domain.startsWith('[') || !book.isLocalDomain(parts.domain)) return false;
  const plus = parts.local.indexOf('+');
  if (plus > 0 && `${parts.local.slice(0, plus)}@${parts.domain}` === own) return true;
  const accountId = book.accountId(own);
  if (accountId === null) return false;
  // Another account's own address is theirs, even if some alias elsewhere points to us.
  const hit = lookupLocal(book, parts.local, parts.domain);
  if (hit === null || (hit.kind === 'account' && hit.id !== accountId)) return false;
  const resolved = resolveLocal(book, parts.local, parts.domain);
  return resolved !== null && resolved.local.includes(accountId);
}
