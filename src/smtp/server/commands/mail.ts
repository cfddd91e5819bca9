// MAIL FROM (RFC 5321 4.1.1.2): starts a transaction after checking AUTH policy (RFC 4954 6) and SIZE (RFC 1870).
import { REPLY } from '../../reply-codes.js';
import type { SmtpCommand } from '../command-parser.js';
import { newTransaction } from '../session-state.js';
import type { SessionCore } from './context.js';

export function handleMail(core: SessionCore, cmd: Extract<SmtpCommand, { verb: 'MAIL' }>): void {
  if (core.policy.requireAuth && core.authenticatedAs === null) return core.reply(REPLY.authRequired);
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
