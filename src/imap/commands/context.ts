// What every IMAP command handler gets: the session's data, the services, and an output collector.
import type { Authenticate } from '../../auth/authenticator.js';
import type { StorageLevel } from '../../store/free-space.js';
import type { SpooledBody, Store } from '../../store/store.js';
import {
  taggedStatus,
  untaggedData,
  untaggedStatus,
  type ImapValue,
  type ResponseCode,
  type ResponsePart,
  type StatusKind,
  type WriterOptions,
} from '../proto/response-writer.js';
import type { MailboxIndexCache } from '../mailbox-index-cache.js';
import type { SessionState } from '../session-state.js';
import type { NotifyState } from '../notify.js';

/** The services a session asks for (DESIGN: the session never touches sockets, clocks or disks directly). */
export interface ImapServices {
  store: Store;
  authenticate: Authenticate;
  now: () => Date;
  /** The mailbox indexes SELECT starts from, one cache shared by every session of the server. */
  indexCache: MailboxIndexCache;
  /** data_dir's free-space floor: APPEND gets NO [OVERQUOTA] below it. Absent (tests): never low. */
  storage?: StorageLevel;
  /** Drops a spooled body nobody will store (its file, if any, is removed). */
  discardBody: (body: SpooledBody) => void;
}

export interface ImapPolicy {
  hostname: string;
  /** STARTTLS can be offered (a certificate is loaded and the connection is not TLS yet). */
  tlsAvailable: boolean;
  /** Allow LOGIN/AUTHENTICATE without TLS from loopback (tests, local tools). */
  allowLoopbackPlaintext: boolean;
  /** APPENDLIMIT (RFC 7889), the receiver's maxAppendSize. */
  maxAppendSize: number;
}

export interface ImapPeer {
  remoteAddress: string;
  secure: boolean;
  loopback: boolean;
}

/** Session data commands may read and change. */
export interface SessionData {
  state: SessionState;
  /** ENABLEd extensions (RFC 5161): IMAP4REV2, CONDSTORE, QRESYNC, UTF8=ACCEPT. */
  enabled: Set<string>;
  /** CONDSTORE has been used (RFC 7162 3.1: MODSEQ then appears in FETCH responses). */
  condstoreOn: boolean;
  /** COMPRESS DEFLATE is in force (RFC 4978): a second COMPRESS gets NO [COMPRESSIONACTIVE]. */
  compressed: boolean;
  peer: ImapPeer;
  /** RFC 5465: what NOTIFY SET asked for and what is waiting to be reported; null before NOTIFY and after NONE. */
  notify: NotifyState | null;
  /** The selected mailbox's URLAUTH resetCount last reported (SELECT, then each `* OK [URLMECH]`). */
  urlmechSeen: number;
}

/** Collects the responses of one command, in order. */
export class Out {
  readonly parts: ResponsePart[] = [];
  constructor(readonly opts: WriterOptions) {}

  data(values: ImapValue[]): void {
    this.parts.push(...untaggedData(values, this.opts));
  }

  untagged(status: StatusKind | 'BYE' | 'PREAUTH', code: ResponseCode | null, text: string): void {
    this.parts.push(Buffer.from(untaggedStatus(status, code, text)));
  }

  tagged(tag: string, status: StatusKind, code: ResponseCode | null, text: string): void {
    this.parts.push(Buffer.from(taggedStatus(tag, status, code, text)));
  }

  raw(text: string): void {
    this.parts.push(Buffer.from(text, 'utf8'));
  }

  push(parts: ResponsePart[]): void {
    this.parts.push(...parts);
  }
}

/** A refusal thrown by a handler and written once as `tag NO|BAD [code] text` (DESIGN habit 5). */
export class ImapCommandError extends Error {
  constructor(
    readonly status: 'NO' | 'BAD',
    readonly text: string,
    readonly code: ResponseCode | null = null,
  ) {
    super(text);
    this.name = 'ImapCommandError';
  }
}

export const no = (text: string, code: ResponseCode | null = null): ImapCommandError =>
  new ImapCommandError('NO', text, code);
export const bad = (text: string, code: ResponseCode | null = null): ImapCommandError =>
  new ImapCommandError('BAD', text, code);

/** What the connection must do after a command (besides writing its output). */
export type SessionAction =
  | { kind: 'none' }
  | { kind: 'starttls' }
  /** RFC 4978 3: after the tagged OK just written, both directions are deflated. */
  | { kind: 'compress' }
  | { kind: 'logout' }
  /** Read one raw line and pass it to session.continueLine() (SASL exchange, IDLE's DONE). */
  | { kind: 'read-line'; purpose: 'sasl' | 'idle' };

export interface CommandContext {
  services: ImapServices;
  policy: ImapPolicy;
  session: SessionData;
  out: Out;
  tag: string;
  /** APPEND bodies the connection streamed into spools, in literal order. */
  bodies: SpooledBody[];
  /** UTF-8 mailbox names and strings in force (IMAP4rev2 or UTF8=ACCEPT enabled, RFC 9051 5.1, RFC 6855 3). */
  utf8: boolean;
  /** Brings the selected view up to date and reports changes (expunges only when `expunges`). */
  sync(expunges: boolean): void;
}

/**
 * A CONDSTORE enabling command (RFC 7162 3.1: FETCH MODSEQ or CHANGEDSINCE, SEARCH MODSEQ, STORE
 * UNCHANGEDSINCE, STATUS HIGHESTMODSEQ) makes the session CONDSTORE-aware. The first one run with a
 * mailbox selected also sends `* OK [HIGHESTMODSEQ n]`, as Dovecot does (imap-client.c: "CONDSTORE
 * being enabled while mailbox is selected. Notify client of the latest HIGHESTMODSEQ"): a SELECT without
 * CONDSTORE gave the client no value to resync from later (RFC 7162 6: a client "MUST use" a
 * HIGHESTMODSEQ response code it receives). An untagged OK with a response code may always be sent
 * (RFC 9051 7.1). The value is the one this session has reported up to (knownModseq), never the store's
 * newer one, so a client that trusts it cannot skip changes not yet sent to it. (ENABLE is valid only
 * unselected, RFC 5161 3.1; SELECT/EXAMINE send HIGHESTMODSEQ themselves, RFC 7162 3.1.2.1.)
 */
export function enableCondstore(ctx: CommandContext): void {
  if (ctx.session.condstoreOn) return;
  ctx.session.condstoreOn = true;
  const st = ctx.session.state;
  if (st.kind !== 'selected') return;
  ctx.out.untagged('OK', { name: 'HIGHESTMODSEQ', args: String(st.view.knownModseq) }, 'Highest');
}
