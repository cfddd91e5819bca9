// An account's JMAP states read once per read-only request: the calls of a page (Email/query, then Email/get) share one read.

import type { JmapStates } from '../../store/jmap-store.js';
import type { Store } from '../../store/store.js';
import type { MethodContext } from '../core/engine.js';

/*
 * Why: each state read is its own SQLite read transaction (WAL locks and the shared-memory index), and
 * with the pages and the Email objects kept by state (state-cache.ts) the two reads of issue 9's page
 * (Email/query's queryState, Email/get's state) were a fifth of a JMAP worker's CPU per page.
 * Why it stays correct: the states are read before any data of the request, so every row read after
 * them is as new as they are or newer - what each method already accepts when it reads its state
 * before its rows (a change in between is reported again, never lost; state-cache.ts). Reads after the
 * request's answer (a client's next request) read again. Only in requests without writes
 * (ctx.readOnce is null otherwise): after a /set in the same request the states must be read afresh.
 */
export function requestStates(store: Store, ctx: MethodContext, storeId: number): JmapStates {
  const memo = ctx.readOnce;
  if (memo === null) return store.jmap.states(storeId);
  const key = `states\n${storeId}`;
  let states = memo.get(key) as JmapStates | undefined;
  if (states === undefined) memo.set(key, (states = store.jmap.states(storeId)));
  return states;
}
