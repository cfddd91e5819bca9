// SqliteQueueStore: the QueueStore operations on the shared SQLite connection (the scheduler's rows).
import type { QueueStore } from '../queue-store.js';
import type { QueueEntry } from '../store.js';
import type { SqliteContext } from './context.js';
import { listQueueEntries } from './queries.js';

export class SqliteQueueStore implements QueueStore {
  constructor(private readonly ctx: SqliteContext) {}

  list(): QueueEntry[] {
    return listQueueEntries(this.ctx.prepare);
  }
}
