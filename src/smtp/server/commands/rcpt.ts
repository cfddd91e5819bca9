// RCPT TO (RFC 5321 4.1.1.3): one reply per recipient from the router; limits per RFC 5321 4.5.3.1.8.
import { REPLY } from '../../reply-codes.js';
import type { EnvelopeRecipient } from '../../../store/store.js';
import type { SmtpCommand } from '../command-parser.js';
import type { SessionState } from '../session-state.js';
import type { SessionCore } from './context.js';

type TxState = Extract<SessionState, { kind: 'mail' | 'rcpt' }>;

export function handleRcpt(
  core: SessionCore,
  state: TxState,
  cmd: Extract<SmtpCommand, { verb: 'RCPT' }>,
): void {
  const tx = state.tx;
  // RFC 6531 3.4: a non-ASCII recipient needs SMTPUTF8 on this transaction's MAIL.
  if (cmd.to.utf8 && tx.params.smtpUtf8 !== true) return core.reply(REPLY.utf8NotPermitted);
  if (tx.recipients.length >= core.policy.maxRecipients) return core.reply(REPLY.tooManyRecipients);
  // RFC 5321 4.5.1: bare <Postmaster> is our own postmaster; the router picks the domain (hostname
  // when it is local, else the first local domain), so it is passed on without a domain.
  const address = cmd.to.domain === '' ? 'postmaster' : cmd.to.address;
  let route;
  try {
    route = core.services.routeRecipient(address, core.authenticatedAs);
  } catch (error) {
    core.event({ kind: 'service-error', operation: 'routeRecipient', error });
    return core.reply(REPLY.storageError);
  }
  switch (route.kind) {
    case 'unknown-user':
      return core.reply(REPLY.unknownUser);
    case 'relay-denied':
      return core.reply(REPLY.relayDenied);
    case 'routing-loop':
      core.event({ kind: 'routing-loop', recipient: address, loop: route.loop });
      return core.reply(REPLY.routingLoop);
    case 'accept': {
      // SRS reversal is a way back for bounces only; a real sender could use it to relay anywhere.
      if (route.bounceOnly && tx.sender !== '') return core.reply(REPLY.srsBouncesOnly);
      if (greylisted(core, tx.sender, address)) return core.reply(REPLY.greylisted);
      // RFC 3463 4.2.2: every mailbox this address reaches is full, so the message cannot be taken now.
      // Partly full (an alias): decided per account at the end of DATA (sqlite/deliver.ts).
      if (allFull(core, route.local, route.remote.length)) return core.reply(REPLY.mailboxFull);
      const limits = core.services.submissionLimits;
      if (
        core.authenticatedAs !== null &&
        limits &&
        !limits.recipientsAllowed(core.authenticatedAs, tx.recipients.length + 1, 'smtp')
      ) {
        return core.reply(REPLY.recipientLimit);
      }
      if (route.forwardedBy !== undefined && route.remote.length > 0) tx.forwardDomain ??= route.forwardedBy;
      for (const target of route.local) tx.local.set(`${target.accountId}/${target.mailbox ?? ''}`, target);
      for (const target of route.remote) {
        if (tx.remote.has(target)) continue;
        const rcpt: EnvelopeRecipient = { address: target };
        if (cmd.params.notify) rcpt.notify = cmd.params.notify;
        if (cmd.params.orcpt) rcpt.orcpt = cmd.params.orcpt;
        tx.remote.set(target, rcpt);
      }
      tx.recipients.push(address);
      core.state = { kind: 'rcpt', tx };
      return core.reply(REPLY.recipientOk);
    }
  }
}

function allFull(core: SessionCore, local: readonly { accountId: number }[], remote: number): boolean {
  const full = core.services.mailboxFull;
  if (!full || local.length === 0 || remote > 0) return false;
  try {
    return local.every((t) => full(t.accountId));
  } catch (error) {
    // The quota is read from the store; a failure lets RCPT through: DATA's commit checks again.
    core.event({ kind: 'service-error', operation: 'mailboxFull', error });
    return false;
  }
}

/**
 * Greylisting applies on the MX to strangers only: never to an authenticated client (a user) nor to
 * loopback (a local content filter or the admin's tools). Checked after routing, so an unknown user
 * still gets its 550 at once. A store failure lets the mail through: greylisting is a filter, not a gate.
 */
function greylisted(core: SessionCore, sender: string, recipient: string): boolean {
  const check = core.services.greylist;
  if (!check || core.policy.role !== 'mx' || core.authenticatedAs !== null || core.peer.loopback)
    return false;
  try {
    if (check({ ip: core.peer.remoteAddress, sender, recipient }) === 'pass') return false;
  } catch (error) {
    core.event({ kind: 'service-error', operation: 'greylist', error });
    return false;
  }
  core.event({ kind: 'greylisted', sender, recipient });
  return true;
}
