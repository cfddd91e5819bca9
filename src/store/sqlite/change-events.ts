// Emitting the JMAP `changes` event after a commit (StoreEvents.changes), shared by every write path.
import type { JmapStates } from '../jmap-store.js';
import type { SqliteContext } from './context.js';

export function emitChanges(ctx: Pick<SqliteContext, 'emit'>, states: Map<number, JmapStates>): void {
  for (const [accountId, s] of states) ctx.emit('changes', { accountId, states: s });
}
