// Client session bookkeeping as pure functions: pending replies, stages, timers (RFC 5321 4.5.3.2), local refusals.
import { isAscii, type OutboundMessage, type PeerExtensions } from './client-commands.js';
import type { ClientStage, ClientTimeouts, RecipientResult } from './client-types.js';

/** A command sent whose reply we still expect, in order (RFC 2920: replies come in command order). */
export type Pending =
  | { kind: 'ehlo' | 'helo' | 'starttls' | 'auth' | 'auth-login-user' | 'auth-login-pass' | 'quit' | 'rset' }
  | { kind: 'mail' | 'data' | 'data-end' }
  | { kind: 'rcpt'; index: number }
  | { kind: 'bdat'; last: boolean };

/** 'idle': every message is done and the connection is kept for more (keepOpen); nothing is pending. */
export type Phase =
  | 'greeting'
  | 'command'
  | 'tls-handshake'
  | 'downgrade'
  | 'transaction'
  | 'body'
  | 'idle'
  | 'quit'
  | 'closed';

// Addresses come from our own parsers; this is the last guard against command injection on the wire.
const UNSAFE_ADDRESS = /[\x00-\x1f\x7f<>]/;

/** Reasons not to send a message to this peer at all: returned as the DSN diagnostic line. */
export function localRefusal(
  msg: OutboundMessage,
  ext: PeerExtensions,
  tls: { active: boolean; verified: boolean } = { active: false, verified: false },
): string | null {
  // RFC 8689 4.2.1: a REQUIRETLS message goes only over TLS whose certificate was validated (DANE, MTA-STS
  // or PKIX; else X.7.10 "Encryption needed", RFC 5248) to a peer that offers REQUIRETLS (else X.7.30).
  if (msg.requireTls) {
    if (!tls.active) return '550 5.7.10 REQUIRETLS: the receiving server offers no TLS';
    if (!tls.verified)
      return "550 5.7.10 REQUIRETLS: the receiving server's certificate could not be validated";
    if (!ext.requireTls) return '550 5.7.30 REQUIRETLS: the receiving server does not support REQUIRETLS';
  }
  const addresses = [msg.sender, ...msg.recipients.map((r) => r.address)];
  if (msg.recipients.length === 0) return '554 5.5.1 no recipients';
  if (addresses.some((a) => UNSAFE_ADDRESS.test(a))) return '553 5.1.3 address contains forbidden characters';
  const needsUtf8 = msg.smtpUtf8 || addresses.some((a) => !isAscii(a));
  if (needsUtf8 && !ext.smtpUtf8) {
    // RFC 6531 3.2: no SMTPUTF8 at the peer and no downgrade: the message cannot go there.
    return '553 5.6.7 the receiving server does not support SMTPUTF8 (RFC 6531), needed for this message';
  }
  const limit = ext.size;
  if (limit !== undefined && limit > 0 && msg.size > limit) {
    // RFC 1870 6.1: don't send what the peer said it will refuse.
    return `552 5.3.4 message size ${msg.size} exceeds the receiving server's limit of ${limit}`;
  }
  return null;
}

/**
 * Whether a message's results are localRefusal's REQUIRETLS verdict on this peer (X.7.10 no validated TLS,
 * X.7.30 no REQUIRETLS): a property of the host, not of the message, so another MX of the domain may still
 * take it (RFC 8689 4.2.1); only when none does is it final (and the DSN says why).
 */
export function isRequireTlsRefusal(results: readonly RecipientResult[]): boolean {
  return (
    results.length > 0 &&
    results.every(
      (r) =>
        r.stage === 'local' &&
        r.outcome === 'failed' &&
        (r.reply?.enhanced === '5.7.10' || r.reply?.enhanced === '5.7.30'),
    )
  );
}

export function stageNow(phase: Phase, head: Pending | undefined): ClientStage {
  if (phase === 'greeting') return 'greeting';
  if (phase === 'tls-handshake') return 'starttls';
  if (phase === 'body') return 'data';
  return head ? stageOf(head) : 'connection';
}

export function stageOf(head: Pending): ClientStage {
  const map: Record<Pending['kind'], ClientStage> = {
    ehlo: 'ehlo',
    helo: 'ehlo',
    starttls: 'starttls',
    auth: 'auth',
    'auth-login-user': 'auth',
    'auth-login-pass': 'auth',
    quit: 'connection',
    rset: 'rset',
    mail: 'mail',
    rcpt: 'rcpt',
    data: 'data',
    'data-end': 'data',
    bdat: 'data',
  };
  return map[head.kind];
}

export function waitingFor(phase: Phase, head: Pending | undefined): string {
  if (phase === 'greeting') return 'greeting';
  if (phase === 'tls-handshake') return 'TLS handshake';
  if (head) return head.kind === 'data-end' ? 'reply to end of data' : `reply to ${head.kind.toUpperCase()}`;
  return phase === 'body' ? 'body data' : phase;
}

export function timerFor(phase: Phase, head: Pending | undefined, t: ClientTimeouts): number | null {
  if (phase === 'greeting') return t.greeting;
  if (phase === 'tls-handshake') return t.tlsHandshake;
  if (phase === 'downgrade') return null; // our own work; the connection bounds it if it wants
  if (phase === 'idle') return null; // the connection pool decides how long an idle connection is kept
  if (!head) return phase === 'body' ? t.dataBlock : null;
  switch (head.kind) {
    case 'mail':
      return t.mail;
    case 'rcpt':
      return t.rcpt;
    case 'data':
      return t.dataInit;
    case 'data-end':
      return t.dataEnd;
    case 'bdat':
      return head.last ? t.dataEnd : t.dataBlock;
    case 'quit':
      return t.quit;
    default:
      return t.command;
  }
}
