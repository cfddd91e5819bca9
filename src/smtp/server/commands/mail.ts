// MAIL FROM (RFC 5321 4.1.1.2): starts a transaction after checking AUTH policy (RFC 4954 6), the submission sender (RFC 6409), SIZE (RFC 1870) and free space.
import { REPLY } from '../../reply-codes.js';
import type { SmtpCommand } from '../command-parser.js';
import { newTransaction } from '../session-state.js';
import type { SessionCore } from './context.js';

export async function handleMail(
  core: SessionCore,
  cmd: Extract<SmtpCommand, { verb: 'MAIL' }>,
): Promise<void> {
  if (core.policy.requireAuth && core.authenticatedAs === null) return core.reply(REPLY.authRequired);
  // RFC 6409 4.3 / RFC 5321 4.2.2: on submission the envelope sender must be the user's own (the null
  // sender included: only the MTA sends bounces). The MX role takes any sender.
  if (core.policy.role !== 'mx' && core.authenticatedAs !== null) {
    let allowed: boolean;
    try {
      allowed = core.services.senderAllowed(cmd.from?.address ?? '', core.authenticatedAs);
    } catch (error) {
      core.event({ kind: 'service-error', operation: 'senderAllowed', error });
      return core.reply(REPLY.storageError);
    }
    if (!allowed) return core.reply(REPLY.senderNotOwned);
  }
  // A stolen password must not send a flood: messages per hour of the account (any role, once AUTHed).
  const limits = core.services.submissionLimits;
  if (core.authenticatedAs !== null && limits && !limits.messageAllowed(core.authenticatedAs, 'smtp')) {
    return core.reply(REPLY.messageLimit);
  }
  // After HELO no service extensions exist (RFC 5321 4.1.1.1), so no parameter is known.
  if (core.greeting === 'HELO' && Object.keys(cmd.params).length > 0)
    return core.reply(REPLY.unknownParameter);
  // RFC 8689 3: REQUIRETLS is only valid over TLS (and only offered there, helo.ts).
  if (cmd.params.requireTls && !core.peer.secure) return core.reply(REPLY.requireTlsWithoutTls);
  // RFC 1870 6: a declared size over the limit is refused at MAIL already.
  if (cmd.params.size !== undefined && cmd.params.size > core.policy.maxMessageSize) {
    return core.reply(REPLY.messageTooBig);
  }
  // Below the free-space floor no new message starts (RFC 3463 4.3.1; Postfix refuses here too): a
  // temporary refusal, so the client retries later rather than bouncing, and no body is read at all.
  // No event (log line) per refusal: the guard logs the crossing once, and a log line per refused MAIL
  // would itself fill the disk under a flood.
  if (await core.services.storageLow?.()) return core.reply(REPLY.insufficientStorage);
  core.state = { kind: 'mail', tx: newTransaction(cmd.from?.address ?? '', cmd.params) };
  core.reply(REPLY.senderOk);
}
