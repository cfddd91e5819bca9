// When a deferred recipient is owed its one delay DSN (RFC 3464 Action: delayed) and which Status it reports.
import type { RecipientResult } from '../../smtp/client/client-types.js';
import { dsnStatus, wantsDsn } from './notify.js';

/** What decides a delay warning about one recipient after a deferral. */
export interface DelayWarningInput {
  sender: string;
  notify: readonly string[] | undefined;
  createdAt: Date;
  /** Set once the recipient's delay DSN was owed: there is never a second one. */
  delayWarnedAt: Date | undefined;
  now: Date;
  /** queue.delay_warning in ms; null: warnings are off (the default, as Postfix's delay_warning_time). */
  delayWarningMs: number | null;
}

/**
 * True when this deferral is the one that warns the sender: warnings are on, the message is at least
 * delay_warning old, the recipient was never warned, and NOTIFY allows it (RFC 3461 4.1: no NOTIFY
 * leaves delay DSNs to us, NEVER forbids them, an explicit list must name DELAY; never to the null
 * sender, RFC 3461 6.2). Checked at each recorded deferral, so the warning goes with the first attempt
 * after the threshold (as Postfix, which looks at delay_warning_time when it retries a message).
 */
export function owesDelayWarning(input: DelayWarningInput): boolean {
  if (input.delayWarningMs === null || input.delayWarnedAt !== undefined) return false;
  if (input.now.getTime() - input.createdAt.getTime() < input.delayWarningMs) return false;
  return wantsDsn(input.sender, input.notify, 'delayed');
}

const OUR_ENHANCED = /^4[0-9]{2} (4\.[0-9]{1,3}\.[0-9]{1,3})(?: |$)/;

/**
 * RFC 3464 2.3.4 Status of a delay DSN, from the deferral that triggered it: the peer's RFC 3463 code
 * (or 4.0.0 from its reply code); for our own reasons the code we put in the diagnostic (DNS: "451
 * 4.4.3 ..."), else 4.4.1 "no answer from host" when no connection was made, 4.4.2 "bad connection"
 * when one broke or timed out mid-session (RFC 3463 3.5).
 */
export function delayStatus(result: Pick<RecipientResult, 'reply' | 'diagnostic' | 'stage'>): string {
  if (result.reply) return dsnStatus('delayed', result.reply.code, result.reply.enhanced);
  const ours = OUR_ENHANCED.exec(result.diagnostic)?.[1];
  if (ours) return ours;
  return result.stage === 'connection' ? '4.4.1' : '4.4.2';
}
