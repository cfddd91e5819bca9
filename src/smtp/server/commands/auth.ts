// AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms; the SASL exchange runs as session state 'auth'.
import { REPLY, challengeReply } from '../../reply-codes.js';
import { decodeSaslPlain } from '../../../auth/sasl/plain.js';
import {
  LOGIN_PASSWORD_PROMPT,
  LOGIN_USERNAME_PROMPT,
  decodeSaslLoginField,
} from '../../../auth/sasl/login.js';
import type { SmtpCommand } from '../command-parser.js';
import type { SessionState } from '../session-state.js';
import { authAllowed, type SessionCore } from './context.js';

export async function handleAuth(
  core: SessionCore,
  cmd: Extract<SmtpCommand, { verb: 'AUTH' }>,
): Promise<void> {
  if (core.authenticatedAs !== null) return core.reply(REPLY.alreadyAuthenticated); // RFC 4954 4
  if (!authAllowed(core)) return core.reply(REPLY.encryptionRequired);
  if (cmd.mechanism === 'PLAIN') {
    if (cmd.initialResponse === undefined) {
      core.state = { kind: 'auth', mechanism: 'PLAIN', username: null, resume: 'ready' };
      return core.reply(challengeReply(''));
    }
    return plain(core, cmd.initialResponse);
  }
  if (cmd.mechanism === 'LOGIN') {
    core.state = { kind: 'auth', mechanism: 'LOGIN', username: null, resume: 'ready' };
    if (cmd.initialResponse === undefined) return core.reply(challengeReply(LOGIN_USERNAME_PROMPT));
    return loginStep(core, core.state, cmd.initialResponse);
  }
  core.reply(REPLY.unknownMechanism);
}

/** One client line during the exchange. "*" cancels it (RFC 4954 4: 501). */
export async function handleAuthResponse(
  core: SessionCore,
  state: Extract<SessionState, { kind: 'auth' }>,
  line: Buffer,
): Promise<void> {
  const text = line.toString('latin1').trim();
  if (text === '*') {
    core.state = { kind: 'ready' };
    return core.reply(REPLY.authCancelled);
  }
  if (state.mechanism === 'PLAIN') return plain(core, text);
  return loginStep(core, state, text);
}

async function plain(core: SessionCore, response: string): Promise<void> {
  core.state = { kind: 'ready' };
  const decoded = decodeSaslPlain(response);
  if (!decoded.ok) {
    return core.reply(decoded.reason === 'bad-base64' ? REPLY.authBadBase64 : REPLY.authFailed);
  }
  // We do not support acting as another user: an authzid must name the same identity (RFC 4616 2).
  if (decoded.authzid !== '' && decoded.authzid !== decoded.authcid) return core.reply(REPLY.authFailed);
  return verify(core, decoded.authcid, decoded.password);
}

async function loginStep(
  core: SessionCore,
  state: Extract<SessionState, { kind: 'auth' }>,
  response: string,
): Promise<void> {
  const decoded = decodeSaslLoginField(response);
  if (!decoded.ok) {
    core.state = { kind: 'ready' };
    return core.reply(decoded.reason === 'bad-base64' ? REPLY.authBadBase64 : REPLY.authFailed);
  }
  if (state.username === null) {
    core.state = { ...state, username: decoded.value };
    return core.reply(challengeReply(LOGIN_PASSWORD_PROMPT));
  }
  core.state = { kind: 'ready' };
  return verify(core, state.username, decoded.value);
}

async function verify(core: SessionCore, username: string, password: string): Promise<void> {
  let result;
  try {
    result = await core.services.authenticate(username, password, core.peer.remoteAddress, 'smtp');
  } catch (error) {
    core.event({ kind: 'service-error', operation: 'authenticate', error });
    core.event({ kind: 'auth', outcome: 'error' });
    return core.reply(REPLY.authServiceError);
  }
  switch (result.kind) {
    case 'ok':
      core.authenticatedAs = result.account;
      core.event({ kind: 'auth', outcome: 'ok', account: result.account });
      return core.reply(REPLY.authOk);
    case 'failed':
      core.event({ kind: 'auth', outcome: 'failed' });
      return core.reply(REPLY.authFailed);
    case 'throttled':
      core.event({ kind: 'auth', outcome: 'throttled' });
      return core.reply(REPLY.authThrottled);
  }
}
