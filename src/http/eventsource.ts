// JMAP push over EventSource (RFC 8620 7.3): one text/event-stream response per client, fed by the state source.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JmapUser } from '../jmap/core/engine.js';
import {
  filterStates,
  parseEventSourceQuery,
  pingEvent,
  stateEvent,
  type StateMap,
  type StateSource,
} from '../jmap/core/push.js';
import { httpProblem, sendProblem } from './responses.js';
import { API_SECURITY_HEADERS } from './security-headers.js';

/**
 * Streams StateChange events for the user's accounts: the current states first (unless closeafter=state,
 * where the client long-polls for the next change), then each change of a wanted type, with a ping after
 * `ping` seconds of silence. `deps.streams` holds each stream's finisher (and its user) so shutdown, and
 * the account check when the user is disabled or removed, can end them.
 */
export function serveEventSource(
  req: IncomingMessage,
  res: ServerResponse,
  user: JmapUser,
  query: URLSearchParams,
  deps: { states: StateSource; streams: Map<() => void, string> },
): void {
  const params = parseEventSourceQuery(query);
  if (typeof params === 'string') {
    sendProblem(res, httpProblem(400, 'Bad Request', params));
    return;
  }
  res.writeHead(200, {
    ...API_SECURITY_HEADERS,
    'Content-Type': 'text/event-stream; charset=utf-8',
    'X-Accel-Buffering': 'no', // a proxy must not hold events back
  });
  // Headers now, not with the first event: a long-polling client (closeafter=state) waits for them.
  res.flushHeaders();
  // No request timeout for a stream that is meant to stay open (ping keeps proxies from closing it).
  req.socket.setTimeout(0);
  const byStoreId = new Map([...user.accounts.values()].map((a) => [a.storeId, a.id]));
  let ping: NodeJS.Timeout | null = null;
  const armPing = () => {
    if (params.pingSeconds === 0) return;
    if (ping) clearTimeout(ping);
    ping = setTimeout(() => {
      res.write(pingEvent(params.pingSeconds));
      armPing();
    }, params.pingSeconds * 1000);
  };
  const send = (changed: StateMap) => {
    const wanted = filterStates(changed, params.types);
    if (!wanted) return;
    res.write(stateEvent(wanted));
    if (params.closeAfterState) return finish();
    armPing();
  };
  const unsubscribe = deps.states.subscribe((storeId, changed) => {
    const accountId = byStoreId.get(storeId);
    if (accountId !== undefined) send({ [accountId]: changed });
  });
  const releases = [...byStoreId.keys()].map((storeId) => deps.states.watch(storeId));
  const finish = () => {
    if (ping) clearTimeout(ping);
    unsubscribe();
    for (const release of releases) release();
    deps.streams.delete(finish);
    if (!res.writableEnded) res.end();
  };
  deps.streams.set(finish, user.username);
  res.once('close', finish);
  // The current states at once, so a (re)connecting client knows whether it missed something (RFC 8620 7.3);
  // with closeafter=state the client long-polls for the next change instead.
  if (!params.closeAfterState) {
    const current: StateMap = {};
    for (const account of user.accounts.values()) current[account.id] = deps.states.current(account.storeId);
    send(current);
  }
  armPing();
}
