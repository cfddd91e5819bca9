// SMTP server session state as a tagged union, and the ONE table of which verbs each command state allows.
import type { BodySpool } from './services.js';
import type { EnvelopeRecipient } from '../../store/store.js';
import type { MailParams } from '../esmtp-params.js';
import type { SmtpVerb } from './command-parser.js';
import type { BdatReceiver, DataReceiver } from './receivers.js';
import type { Reply } from '../reply-codes.js';
import type { HeaderScanner } from '../../mail/submission.js';
import type { OwnAuthResultsFilter } from '../../inbound/auth-results.js';

/** One mail transaction (RFC 5321 3.3), from MAIL to the end of the data. */
export interface Transaction {
  sender: string; // '' for the null reverse-path
  params: MailParams;
  /** Accepted recipients, in order, as given (for the Received header and logs). */
  recipients: string[];
  /** Local deliveries, de-duplicated by account and mailbox. */
  local: Map<string, { accountId: number; mailbox?: string }>;
  /** Remote recipients (the address or alias targets), de-duplicated by address. */
  remote: Map<string, EnvelopeRecipient>;
  /** The local domain of the first alias that forwards to a remote address (SRS rewrites the sender there). */
  forwardDomain?: string;
  /** Set once a body starts (DATA or the first BDAT). */
  spool: BodySpool | null;
  /** Octets received over all BDAT chunks so far. */
  bdatSize: number;
  /** Submission roles: watches the header block as it streams for Message-ID and Date (RFC 6409 8.2, 8.3). */
  headerScan?: HeaderScanner;
  /** Every role: the same watcher, for the Message-ID the accepted-message log line names. */
  idScan?: HeaderScanner;
  /** MX with inbound checks: drops forged Authentication-Results with our id as the body streams (RFC 8601 5). */
  inboundFilter?: OwnAuthResultsFilter;
}

export type SessionState =
  /** Connected, greeted by us, no EHLO/HELO yet (also after STARTTLS: RFC 3207 4.2). */
  | { kind: 'connected' }
  /** EHLO/HELO done, no transaction. */
  | { kind: 'ready' }
  /** MAIL accepted, no recipient accepted yet. */
  | { kind: 'mail'; tx: Transaction }
  /** At least one recipient accepted. */
  | { kind: 'rcpt'; tx: Transaction }
  /** Receiving DATA up to <CRLF>.<CRLF>. */
  | { kind: 'data'; tx: Transaction; spool: BodySpool; receiver: DataReceiver }
  /** Receiving one BDAT chunk. */
  | { kind: 'bdat'; tx: Transaction; spool: BodySpool; receiver: BdatReceiver; last: boolean; size: number }
  /** Between BDAT chunks (RFC 3030 2: only BDAT, RSET, NOOP, QUIT and HELP make sense). */
  | { kind: 'bdat-wait'; tx: Transaction; spool: BodySpool }
  /** Consuming and dropping a refused BDAT chunk, then answering `reply` and moving to `next`. */
  | { kind: 'discard'; receiver: BdatReceiver; reply: Reply; next: CommandState }
  /** A SASL exchange (RFC 4954 4): lines are responses, not commands. */
  /** Greeted with 554 (a DNS block list names the client): only QUIT, RFC 5321 3.1. */
  | { kind: 'refused' }
  | { kind: 'auth'; mechanism: 'PLAIN' | 'LOGIN'; username: string | null; resume: 'ready' }
  | { kind: 'closed' };

export type StateKind = SessionState['kind'];

/** The states in which a line is parsed as a command. */
export type CommandState = Extract<
  SessionState,
  { kind: 'connected' | 'ready' | 'mail' | 'rcpt' | 'bdat-wait' | 'refused' }
>;

const always: SmtpVerb[] = ['NOOP', 'QUIT', 'RSET', 'HELP', 'VRFY'];

/**
 * Which verbs each command state allows; the dispatcher checks it and answers 503 5.5.1 otherwise, so
 * handlers never re-check sequence. DATA/BDAT are allowed in 'mail' (no recipient accepted yet) only so
 * they can answer 554 5.5.1 "No valid recipients" (RFC 5321 3.3) rather than a bare 503.
 */
export const ALLOWED_VERBS: Readonly<Record<CommandState['kind'], ReadonlySet<SmtpVerb>>> = {
  connected: new Set<SmtpVerb>([...always, 'EHLO', 'HELO']),
  ready: new Set<SmtpVerb>([...always, 'EHLO', 'HELO', 'MAIL', 'STARTTLS', 'AUTH']),
  mail: new Set<SmtpVerb>([...always, 'EHLO', 'HELO', 'RCPT', 'DATA', 'BDAT', 'BURL']),
  rcpt: new Set<SmtpVerb>([...always, 'EHLO', 'HELO', 'RCPT', 'DATA', 'BDAT', 'BURL']),
  // RFC 4468 3: BURL and BDAT chunks may be mixed to build one message.
  'bdat-wait': new Set<SmtpVerb>(['NOOP', 'QUIT', 'RSET', 'HELP', 'BDAT', 'BURL']),
  // RFC 5321 3.1: after a 554 greeting the client may only QUIT; anything else gets 503.
  refused: new Set<SmtpVerb>(['QUIT']),
};

export function isCommandState(state: SessionState): state is CommandState {
  return state.kind in ALLOWED_VERBS;
}

export function newTransaction(sender: string, params: MailParams): Transaction {
  return { sender, params, recipients: [], local: new Map(), remote: new Map(), spool: null, bdatSize: 0 };
}
