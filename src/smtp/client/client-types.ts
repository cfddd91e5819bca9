// Types shared by the SMTP client session and its connection: actions, per-recipient results, timeouts.
import { formatReply, type SmtpReply } from './reply-parser.js';

/**
 * RFC 5321 4.5.3.2 timeouts, in ms, as data: the connection arms one timer per `timeout` action.
 * Commands the RFC does not name (EHLO, STARTTLS, AUTH, RSET) get the MAIL value: they are as cheap.
 */
export const CLIENT_TIMEOUTS_MS = {
  greeting: 5 * 60_000, // 4.5.3.2.1 initial 220 message: 5 minutes
  command: 5 * 60_000, // EHLO/HELO/STARTTLS/AUTH/RSET: as MAIL
  mail: 5 * 60_000, // 4.5.3.2.2 MAIL: 5 minutes
  rcpt: 5 * 60_000, // 4.5.3.2.3 RCPT: 5 minutes
  dataInit: 2 * 60_000, // 4.5.3.2.4 DATA initiation: 2 minutes
  dataBlock: 3 * 60_000, // 4.5.3.2.5 data block: 3 minutes (each send)
  dataEnd: 10 * 60_000, // 4.5.3.2.6 DATA termination: 10 minutes
  tlsHandshake: 2 * 60_000, // not in RFC 5321; a handshake is a few round trips
  quit: 60_000, // nothing depends on the QUIT reply; don't hold the connection long for it
} as const;

export type ClientTimeouts = { [K in keyof typeof CLIENT_TIMEOUTS_MS]: number };

/** Where in the session a result was decided; pre-MAIL stages mean "this host", not "this recipient". */
export type ClientStage =
  | 'connection'
  | 'greeting'
  | 'ehlo'
  | 'starttls'
  | 'auth'
  | 'local' // refused by us before sending (size, SMTPUTF8, downgrade, bad address)
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'rset';

export type RecipientOutcome = 'delivered' | 'deferred' | 'failed';

export interface RecipientResult {
  address: string;
  outcome: RecipientOutcome;
  stage: ClientStage;
  /** The reply that decided it (absent for timeouts, lost connections and local refusals without one). */
  reply?: { code: number; enhanced: string | undefined; text: string };
  /** One line for queue last_error and the DSN Diagnostic-Code: "550 5.1.1 no such user" or our reason. */
  diagnostic: string;
  /** True when the decision came from the peer's words (Remote-MTA in the DSN), false when ours. */
  fromPeer: boolean;
  tls: boolean;
}

/** What the connection must do next, in order. */
export type ClientAction =
  /** Write these bytes. `sensitive` ones (AUTH) must never be logged. */
  | { type: 'send'; data: Buffer; sensitive?: boolean }
  /** (Re)arm the single reply/write timer (null: disarm); when it fires call onTimeout(). */
  | { type: 'timeout'; ms: number | null; waitingFor: string }
  /** Upgrade the socket to TLS (RFC 3207), then call onTlsEstablished() or onTlsFailed(). */
  | { type: 'start-tls' }
  /** The peer lacks 8BITMIME (RFC 6152 3): make a 7-bit version, then onDowngraded(size) or onDowngradeFailed(). */
  | { type: 'needs-downgrade'; messageId: string }
  /** Start feeding this message's body (the 7-bit one after a downgrade) with onBodyChunk/onBodyEnd. */
  | { type: 'send-body'; messageId: string; mode: 'data' | 'bdat' }
  /** Feed the next body chunk (or onBodyEnd) once the previous writes have drained. */
  | { type: 'want-body' }
  /** Stop feeding the body: the peer refused it (RFC 3030 4.1: no more BDAT after a failure). */
  | { type: 'abort-body'; messageId: string }
  | { type: 'message-done'; messageId: string; results: RecipientResult[] }
  /** Every message is done and the session was asked to stay open (keepOpen): addMessages() or quit(). */
  | { type: 'idle' }
  /** Close the connection: the session is over. */
  | { type: 'close' };

/** RFC 5321 4.2.1: the first digit decides. 1yz/3yz where a result is due mean a confused peer: retry. */
export function outcomeOf(code: number): RecipientOutcome {
  if (code >= 200 && code < 300) return 'delivered';
  if (code >= 500 && code < 600) return 'failed';
  return 'deferred';
}

export function resultFromReply(
  address: string,
  reply: SmtpReply,
  stage: ClientStage,
  tls: boolean,
): RecipientResult {
  return {
    address,
    outcome: outcomeOf(reply.code),
    stage,
    reply: { code: reply.code, enhanced: reply.enhanced, text: reply.lines.join('\n') },
    diagnostic: formatReply(reply),
    fromPeer: true,
    tls,
  };
}

export function resultFromReason(
  address: string,
  outcome: RecipientOutcome,
  stage: ClientStage,
  diagnostic: string,
  tls: boolean,
): RecipientResult {
  return { address, outcome, stage, diagnostic, fromPeer: false, tls };
}
