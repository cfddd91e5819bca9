// The outgoing-queue side of the Store: what the scheduler and the `queue` CLI need (issue 3 grows it).
import type { QueueEntry } from './store.js';

export interface QueueStore {
  /** Every queued message with its recipients, oldest first. */
  list(): QueueEntry[];
}
