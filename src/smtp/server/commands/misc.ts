// The small verbs: RSET, NOOP, QUIT, VRFY, HELP (RFC 5321 4.1.1.5-4.1.1.10) and STARTTLS (RFC 3207).
import { REPLY, quitReply } from '../../reply-codes.js';
import { resetTransaction, type SessionCore } from './context.js';

export function handleRset(core: SessionCore): void {
  resetTransaction(core);
  core.reply(REPLY.resetOk);
}

export function handleNoop(core: SessionCore): void {
  core.reply(REPLY.ok);
}

export function handleQuit(core: SessionCore): void {
  resetTransaction(core);
  core.state = { kind: 'closed' };
  core.reply(quitReply(core.policy.hostname));
  core.act('quit');
}

/** RFC 5321 3.5.3, 7.3: the same 252 for every argument, so VRFY cannot enumerate users. */
export function handleVrfy(core: SessionCore): void {
  core.reply(REPLY.vrfy);
}

export function handleHelp(core: SessionCore): void {
  core.reply(REPLY.help);
}

export function handleStartTls(core: SessionCore): void {
  if (core.peer.secure) return core.reply(REPLY.tlsActive);
  if (!core.policy.tlsAvailable) return core.reply(REPLY.tlsNotAvailable);
  core.reply(REPLY.startTls);
  core.act('start-tls');
}
