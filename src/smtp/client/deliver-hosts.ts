// Host fallback for one destination: its hosts and addresses in order, on pooled idle connections when there are some.
import { isRequireTlsRefusal } from './client-pending.js';
import { resultFromReason, type RecipientResult } from './client-types.js';
import {
  runClientSession,
  type ClientConnectionOptions,
  type PeerInfo,
  type RunOptions,
} from './connection.js';
import { policyEnforced } from './tls-policy/host-policy.js';
import type { PolicyHost } from './tls-policy/resolve-policy.js';

/**
 * Delivers messages to a destination, trying its hosts and their addresses in order (RFC 5321 5.1:
 * "try each ... in turn"). A host that cannot be reached, or fails the session before any message
 * transaction (greeting, EHLO, STARTTLS: a host problem, not a recipient one), passes the messages
 * on to the next; so does a REQUIRETLS message this host cannot take (no validated TLS, no REQUIRETLS:
 * RFC 8689 4.2.1 asks for another MX before the message fails). Results from a transaction are final
 * for this attempt; when no host is left, the last host's result stands.
 */
export async function deliverToHosts(
  hosts: readonly PolicyHost[],
  options: ClientConnectionOptions,
): Promise<void> {
  let remaining = options.messages;
  let lastDeferred = new Map<string, { results: RecipientResult[]; peer: PeerInfo }>();
  const HOST_STAGES = new Set(['connection', 'greeting', 'ehlo', 'starttls']);
  for (const host of hosts) {
    for (const address of host.addresses) {
      if (remaining.length === 0) return;
      const retry = new Map<string, { results: RecipientResult[]; peer: PeerInfo }>();
      await runOnPeer(address, host, options, {
        messages: remaining,
        readBody: options.readBody,
        ...(options.finishBody ? { finishBody: options.finishBody } : {}),
        onMessageDone(id, results, peer) {
          const hostLevel =
            results.every((r) => r.outcome === 'deferred' && HOST_STAGES.has(r.stage)) ||
            isRequireTlsRefusal(results);
          if (hostLevel) retry.set(id, { results, peer });
          else options.onMessageDone(id, results, peer);
        },
      });
      remaining = remaining.filter((m) => retry.has(m.id));
      lastDeferred = retry;
    }
  }
  for (const m of remaining) {
    const last = lastDeferred.get(m.id);
    const peer = last?.peer ?? { host: '', address: '', port: 0, tls: false, dsn: false };
    const results =
      last?.results ??
      m.recipients.map((r) => resultFromReason(r.address, 'deferred', 'connection', 'no host to try', false));
    options.onMessageDone(m.id, results, peer);
  }
}

/** Which idle connections may carry a batch: same address and port, same name, same TLS and AUTH wishes. */
function poolKey(address: string, host: PolicyHost, options: ClientConnectionOptions): string {
  return JSON.stringify([
    host.tlsPolicy ? [host.tlsPolicy.kind, policyEnforced(host.tlsPolicy)] : null,
    address,
    host.port,
    host.host,
    options.hostname,
    options.tls ?? 'opportunistic',
    options.auth?.username ?? '',
  ]);
}

/** One run on one address: on an idle pooled connection when there is one, else a new connection. */
async function runOnPeer(
  address: string,
  host: PolicyHost,
  options: ClientConnectionOptions,
  run: RunOptions,
): Promise<void> {
  const pool = options.pool;
  const key = pool ? poolKey(address, host, options) : '';
  const idle = pool?.take(key);
  if (idle) {
    const outcome = await idle.run(run);
    if (outcome.parked) pool?.put(key, outcome.parked);
    if (outcome.unsent.length === 0) return;
    // The idle connection had died: what it never answered goes on a fresh connection.
    const unsent = new Set(outcome.unsent);
    run = { ...run, messages: run.messages.filter((m) => unsent.has(m.id)) };
  }
  const outcome = await runClientSession(address, host.host, host.port, {
    ...options,
    ...run,
    ...(host.tlsPolicy ? { tlsPolicy: host.tlsPolicy } : {}),
    ...(pool ? { keepOpen: true } : {}),
  });
  if (outcome.parked) pool?.put(key, outcome.parked);
}
