// The MX session's side of the inbound checks (src/inbound/): which sessions are checked, the filtering spool, the verdict.
import type { OwnAuthResultsFilter } from '../../inbound/auth-results.js';
import type { InboundChecks } from '../../inbound/checks.js';
import type { SpooledBody } from '../../store/store.js';
import { dmarcRejectReply, inboundDeferReply, localDomainSpoofReply } from '../reply-codes.js';
import type { BodySpool } from './services.js';
import type { Transaction } from './session-state.js';
import type { SessionCore } from './commands/context.js';

/** Checked: the MX role, a client neither authenticated nor in trusted_networks, and checks configured. */
export function inboundApplies(core: SessionCore): boolean {
  const checks = core.services.inbound;
  return (
    checks !== undefined &&
    core.policy.role === 'mx' &&
    core.authenticatedAs === null &&
    !peerTrusted(core, checks)
  );
}

/**
 * Whether the client is in trusted_networks, asked once per session: the peer address cannot change within
 * a session, and the BlockList lookup (a SocketAddress built per call) on every DATA was ~1.2% of the main thread.
 */
export function peerTrusted(core: SessionCore, checks: Pick<InboundChecks, 'trusted'>): boolean {
  core.peerTrusted ??= checks.trusted(core.peer.remoteAddress);
  return core.peerTrusted;
}

/** Writes the pieces in order, awaiting only when the spool asks for backpressure. */
function writeAll(spool: BodySpool, pieces: Buffer[]): void | Promise<void> {
  for (let i = 0; i < pieces.length; i++) {
    const pending = spool.write(pieces[i]!);
    if (pending) {
      return pending.then(async () => {
        for (const rest of pieces.slice(i + 1)) await spool.write(rest);
      });
    }
  }
}

/** The spool behind the forged Authentication-Results filter (RFC 8601 5): what is stored has none with our id. */
export function filteringSpool(spool: BodySpool, filter: OwnAuthResultsFilter): BodySpool {
  return {
    write: (chunk) => writeAll(spool, filter.write(chunk)),
    async finish() {
      await writeAll(spool, filter.end());
      return spool.finish();
    },
    abort: () => spool.abort(),
  };
}

/** What storeMessage adds to the delivery, or null when the message was refused (the reply is already given). */
export interface InboundOutcome {
  header: string;
  junk: boolean;
}

/**
 * Runs the checks after the final dot, before the 250. A refusal (550 5.7.1) or a deferral (451 4.4.3) drops the
 * spooled body; nothing was stored.
 */
export async function checkInbound(
  core: SessionCore,
  tx: Transaction,
  spool: BodySpool,
  body: SpooledBody,
): Promise<InboundOutcome | null> {
  const checks = core.services.inbound!;
  const verdict = await checks.checkMessage(body, {
    remoteAddress: core.peer.remoteAddress,
    helo: core.heloName,
    sender: tx.sender,
  });
  if (verdict.error !== undefined) {
    core.event({ kind: 'service-error', operation: 'inbound-checks', error: verdict.error });
  }
  const action = verdict.action;
  const removedForged = tx.inboundFilter?.removed ?? 0;
  if (action.kind !== 'deliver' || removedForged > 0) {
    core.event({ kind: 'inbound-checked', action: action.kind, removedForged });
  }
  if (action.kind === 'deliver') return { header: verdict.header, junk: action.junk };
  spool.abort();
  if (action.kind === 'defer') {
    core.event({ kind: 'message-refused', reason: 'inbound-defer', domain: action.domain });
    core.reply(inboundDeferReply(action.domain));
    return null;
  }
  core.event({ kind: 'message-refused', reason: action.reason, domain: action.domain });
  core.reply(
    action.reason === 'dmarc' ? dmarcRejectReply(action.domain) : localDomainSpoofReply(action.domain),
  );
  return null;
}
