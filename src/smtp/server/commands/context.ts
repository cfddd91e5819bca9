// What a command handler may see and do: the session's facts, its state, and the reply/event/action outboxes.
import type { SmtpPeer, SmtpPolicy, SmtpServices } from '../services.js';
import type { SessionState } from '../session-state.js';
import type { Reply } from '../../reply-codes.js';

/** Things the connection should know about (it logs them); the session itself never logs. */
export type SessionEvent =
  | {
      kind: 'accepted';
      queueId: string;
      size: number;
      sender: string;
      recipients: string[];
      /** The message's Message-ID field (as written, cut for the log), or null when it has none. */
      messageId: string | null;
      /** MX with inbound checks: `spf=pass dkim=pass dmarc=pass ...` (data.ts authVerdicts). */
      auth?: string;
    }
  | {
      kind: 'message-refused';
      reason:
        | 'line-too-long'
        | 'too-big'
        | 'store-error'
        | 'no-space'
        | 'dmarc'
        | 'local-domain'
        | 'inbound-defer'
        | 'burl'
        | 'over-quota';
      domain?: string;
    }
  /**
   * The inbound checks' verdict on a message they refused, or whose forged Authentication-Results fields they
   * removed (MX, src/inbound/). A message they let through without removing anything has its verdicts on
   * its `accepted` event instead: one log line per message, not two.
   */
  | { kind: 'inbound-checked'; action: string; removedForged: number }
  | { kind: 'auth'; outcome: 'ok' | 'failed' | 'throttled' | 'error'; account?: string }
  | { kind: 'service-error'; operation: string; error: unknown }
  /** SMTP_JUNK_COMMAND_LIMIT reached: the session ends with 421. */
  | { kind: 'junk-limit'; commands: number }
  /** A reply >= 400 and the command it answered (null: the greeting). */
  | { kind: 'reply-error'; command: string | null; code: number; enhanced?: string; text: string }
  /** A RCPT got 451 4.7.1 from greylisting. */
  | { kind: 'greylisted'; sender: string; recipient: string }
  /** A RCPT got 554 5.4.6: its aliases loop (the chain of sources, the repeated one last). */
  | { kind: 'routing-loop'; recipient: string; loop: string[] };

/** 'quit': the client's own QUIT was answered (the connection closes without draining input, close-drain.ts). */
export type SessionAction = 'close' | 'quit' | 'start-tls';

export interface SessionCore {
  readonly policy: SmtpPolicy;
  readonly services: SmtpServices;
  readonly peer: SmtpPeer;
  state: SessionState;
  /** 'EHLO' or 'HELO' once greeted in this (TLS) phase; null before. */
  greeting: 'EHLO' | 'HELO' | null;
  heloName: string;
  authenticatedAs: string | null;
  /** The trusted_networks verdict on the peer, once asked (inbound-checks.ts peerTrusted); unset before. */
  peerTrusted?: boolean;
  reply(reply: Reply): void;
  event(event: SessionEvent): void;
  act(action: SessionAction): void;
}

/** RFC 4954 4 + CONTRACT.md: PLAIN/LOGIN only over TLS, or over loopback when the admin allows it. */
export function authAllowed(core: SessionCore): boolean {
  return core.peer.secure || (core.peer.loopback && core.policy.allowLoopbackPlaintext);
}

/** Drops the current transaction (RSET, EHLO, QUIT, errors): any body spool is aborted. */
export function resetTransaction(core: SessionCore): void {
  const s = core.state;
  if ('tx' in s && s.tx.spool) s.tx.spool.abort();
  else if ('spool' in s) s.spool.abort();
  core.state = core.greeting === null ? { kind: 'connected' } : { kind: 'ready' };
}
