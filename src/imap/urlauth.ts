// URLAUTH (RFC 4467): the INTERNAL mechanism (HMAC-SHA256 of the URL rump), access checks, and resolving an authorized URL to message bytes; shared by IMAP URLFETCH and SMTP BURL.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MessageStructure, MimePart } from '../mail/mime-structure.js';
import { findPart } from '../mail/mime-structure.js';
import type { MailboxRef } from '../store/mail-store.js';
import type { Account, Store } from '../store/store.js';
import { normaliseInbox } from './proto/mailbox-name.js';
import { parseImapUrl, type ImapUrl, type UrlAccess } from './proto/imap-url.js';
import { ImapSyntaxError } from './proto/types.js';
import { binaryContent, binaryMessage } from './message-binary.js';
import { applyPartial, sectionBytes } from './message-sections.js';
import { readUnlessExpunged } from '../store/read-unless-expunged.js';

/** The mechanisms we implement (RFC 4467 7: INTERNAL is the one every server must offer). */
export const URLAUTH_MECHANISMS: readonly string[] = ['INTERNAL'];

/** Access key length: 256 bits, the HMAC-SHA256 block-size class (RFC 4467 7 asks for at least 128). */
const KEY_BYTES = 32;

/** A fresh access key (RFC 4467 7: "randomly generated"). */
export function newAccessKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/**
 * The INTERNAL mechanism's token (RFC 4467 7): HMAC-SHA256, keyed by the mailbox's access key,
 * over the URL rump exactly as the client sent it; lower-case hex (64 digits, above the 32 minimum).
 */
export function internalToken(key: Buffer, rump: string): string {
  return createHmac('sha256', key).update(rump, 'utf8').digest('hex');
}

function tokenMatches(key: Buffer, rump: string, token: string): boolean {
  const want = Buffer.from(internalToken(key, rump), 'hex');
  const got = Buffer.from(token, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * A URL user as an account address: RFC 5092 3.2 leaves the form to the server; ours are
 * local@domain, and a bare local part means "at the URL's host" (imaptest writes user@domain
 * as "imap://user@domain/...": user "user", host "domain").
 */
export function qualifyUser(user: string, host: string | null): string {
  const u = user.toLowerCase();
  return u.includes('@') || host === null ? u : `${u}@${host.toLowerCase()}`;
}

/** Who presents the URL: an IMAP session's user (URLFETCH) or the submission server for one (BURL). */
export type UrlRequester = { kind: 'imap'; address: string } | { kind: 'submit'; address: string };

/**
 * RFC 4467 3: "authuser" is any authenticated user of this server, "anonymous" anyone, "user+X"
 * only X, "submit+X" only a submission server acting for X (here: our BURL, never IMAP URLFETCH).
 */
export function accessAllows(access: UrlAccess, host: string | null, who: UrlRequester): boolean {
  switch (access.kind) {
    case 'anonymous':
    case 'authuser':
      return who.kind === 'imap';
    case 'user':
      return who.kind === 'imap' && qualifyUser(access.user, host) === who.address.toLowerCase();
    case 'submit':
      return who.kind === 'submit' && qualifyUser(access.user, host) === who.address.toLowerCase();
  }
}

/** What an authorized URL names: the owner's mailbox and message, its bytes and structure. */
export interface ResolvedUrl {
  owner: Account;
  mailbox: MailboxRef;
  uid: number;
  message: Buffer;
  structure: MessageStructure;
}

/** The mailbox a URL names, in its owner's account (INBOX in any case is the inbox). */
export function urlMailbox(store: Store, owner: Account, url: ImapUrl): MailboxRef | null {
  if (url.mailbox === null) return null;
  const mb = store.mail.findMailbox(owner.id, normaliseInbox(url.mailbox));
  if (!mb) return null;
  // RFC 5092 6: a URL with ;UIDVALIDITY= names the mailbox only while it still has that value.
  if (url.uidvalidity !== null && url.uidvalidity !== mb.uidValidity) return null;
  return mb;
}

/** The URL's owner: its user (RFC 4467 3: an authorized URL must name one) as an active account. */
export function urlOwner(store: Store, url: ImapUrl): Account | null {
  if (url.user === null) return null;
  const owner = store.getAccount(qualifyUser(url.user, url.host));
  return owner && owner.state === 'active' ? owner : null;
}

/**
 * Checks a full URLAUTH URL (RFC 4467 6.3, 7) and finds what it names, or null for any reason
 * (the caller answers NIL / 554 without saying which: a reason would help guessing tokens).
 * Checks, in order: a token with a known mechanism, not expired, access allowed for `who`, the
 * owner and mailbox exist, the mailbox has a key and the token matches it, the message exists.
 */
export async function resolveUrlAuth(
  store: Store,
  url: ImapUrl,
  who: UrlRequester,
  now: Date,
): Promise<ResolvedUrl | null> {
  const ua = url.urlauth;
  if (!ua || ua.mechanism === null || ua.token === null || url.uid === null) return null;
  if (!URLAUTH_MECHANISMS.includes(ua.mechanism)) return null;
  if (ua.expire !== null && now.getTime() >= ua.expire.getTime()) return null;
  if (!accessAllows(ua.access, url.host, who)) return null;
  const owner = urlOwner(store, url);
  if (!owner) return null;
  const mailbox = urlMailbox(store, owner, url);
  if (!mailbox) return null;
  const key = store.urlauth.existingKey(mailbox.id);
  if (!key || !tokenMatches(key, ua.rump, ua.token)) return null;
  const [meta] = await store.mail.messageMeta(mailbox.id, url.uid, url.uid, true);
  if (!meta || meta.uid !== url.uid || !meta.structure) return null;
  const message = await readUnlessExpunged(store, meta.messageId);
  if (!message) return null;
  return { owner, mailbox, uid: url.uid, message, structure: meta.structure };
}

/** The bytes a URL names (RFC 5092: the section, then the partial range), or null: no such part. */
export function urlBytes(r: ResolvedUrl, url: ImapUrl): Buffer | null {
  const bytes = url.sectionSpec ? sectionBytes(r.message, r.structure, url.sectionSpec) : r.message;
  return bytes ? applyPartial(bytes, url.partial) : null;
}

/**
 * URLAUTH=BINARY (RFC 5524 3): the named part with its content-transfer-encoding removed. Null
 * when it cannot be: a section with a text specifier (HEADER, MIME...), or no such part.
 */
export function urlBinaryBytes(r: ResolvedUrl, url: ImapUrl): Buffer | null {
  const part = urlPart(r, url);
  if (!part) return null;
  // Composite parts too: every part inside is decoded and its header says "binary" (as Dovecot does).
  const bytes = part === r.structure.root ? binaryMessage(r.message, part) : binaryContent(r.message, part);
  return applyPartial(bytes, url.partial);
}

/** The MIME part a URL names (the whole message's root without a section), for BODYPARTSTRUCTURE (RFC 5524 3). */
export function urlPart(r: ResolvedUrl, url: ImapUrl): MimePart | null {
  const spec = url.sectionSpec;
  if (!spec || spec.part.length === 0) return spec && spec.text !== null ? null : r.structure.root;
  if (spec.text !== null) return null;
  return findPart(r.structure, spec.part);
}

/** What SMTP BURL gets for a URL (RFC 4468 6 decides the reply from the kind). */
export type BurlFetch =
  | { kind: 'ok'; bytes: Buffer }
  /** Not an IMAP URL, not a full URLAUTH URL, or not submit+<this user>: 554 5.7.0. */
  | { kind: 'not-authorized' }
  /** A URLAUTH URL for this user that does not resolve (token, expiry, RESETKEY, message gone): 554 5.6.6. */
  | { kind: 'unavailable' };

/**
 * BURL's fetch (RFC 4468 3, 5): the submission server acts for `account`, so only submit+<account>
 * URLs are honoured, verified against the same keys as URLFETCH (one process, no IMAP round trip).
 */
export async function fetchForSubmit(
  store: Store,
  text: string,
  account: string,
  now: Date,
): Promise<BurlFetch> {
  let url: ImapUrl;
  try {
    url = parseImapUrl(text);
  } catch (err) {
    if (err instanceof ImapSyntaxError) return { kind: 'not-authorized' };
    throw err;
  }
  const ua = url.urlauth;
  if (!ua || ua.token === null || !accessAllows(ua.access, url.host, { kind: 'submit', address: account })) {
    return { kind: 'not-authorized' };
  }
  const r = await resolveUrlAuth(store, url, { kind: 'submit', address: account }, now);
  const bytes = r ? urlBytes(r, url) : null;
  return bytes ? { kind: 'ok', bytes } : { kind: 'unavailable' };
}
