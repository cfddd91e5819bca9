// MAIL FROM (RFC 5321 4.1.1.2): starts a transaction after checking AUTH policy (RFC 4954 6), the submission sender (RFC 6409) and SIZE (RFC 1870).
import { REPLY } from '../../reply-codes.js';
import type { SmtpCommand } from '../command-parser.js';
import { newTransaction } from '../session-state.js';
import type { SessionCore } from './context.js';

export function handleMail(core: SessionCore, cmd: Extract<SmtpCommand, { verb: 'MAIL' }>): void {
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
  // After HELO no service extensions exist (RFC 5321 4.1.1.1), so no parameter is known.
  if (core.greeting === 'HELO' && Object.keys(cmd.params).length > 0)
    return core.reply(REPLY.unknownParameter);
  // RFC 1870 6: a declared size over the limit is refused at MAIL already.
  if (cmd.params.size !== undefined && cmd.params.size > core.policy.maxMessageSize) {
    return core.reply(REPLY.messageTooBig);
  }
  core.state = { kind: 'mail', tx: newTransaction(cmd.from?.address ?? '', cmd.params) };
  core.reply(REPLY.senderOk);
}
