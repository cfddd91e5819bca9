// The server's periodic chores on the store: admin actions made by the CLI logged as they appear, and what [retention] no longer keeps deleted.
import { ADMIN_LOG_POLL_MS, RETENTION_PURGE_INTERVAL_MS } from '../config/limits.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { TraceStore } from '../store/trace-store.js';

/** The first purge after start: soon, but not while start-up work and the first sessions run. */
const FIRST_PURGE_DELAY_MS = 60_000;

/** Admin actions logged per poll (a burst from a script is spread over a few seconds, never lost). */
const ADMIN_ROWS_PER_POLL = 200;

export interface Housekeeping {
  /** One poll for admin actions now (tests; the timer calls it every second). */
  pollAdminActions(): void;
  /** One purge now; resolves with the rows deleted. */
  purge(): Promise<number>;
  stop(): void;
}

export function startHousekeeping(options: {
  trace: TraceStore;
  logger: Logger;
  /** The running config (a reload may change [retention]). */
  config: () => Config;
  now: () => Date;
  /** Test hooks: no timers when false. */
  timers?: boolean;
}): Housekeeping {
  const { trace, logger, now } = options;
  const log = logger.child({ component: 'admin' });
  // Actions from before this start are not logged again: they were logged by the server then running.
  let lastId = trace.lastAdminActionId();
  let stopped = false;

  const pollAdminActions = (): void => {
    if (stopped) return;
    let rows;
    try {
      rows = trace.adminActionsAfter(lastId, ADMIN_ROWS_PER_POLL);
    } catch (err) {
      log.warn({ err: String(err) }, 'reading admin actions failed');
      return;
    }
    for (const row of rows) {
      lastId = row.id;
      log.info(
        {
          event: 'admin-action',
          action: row.action,
          target: row.target,
          actor: row.actor,
          ...(row.detail ? { detail: row.detail } : {}),
          at: row.at.toISOString(),
        },
        `admin: ${row.action}${row.target ? ` ${row.target}` : ''}`,
      );
    }
  };

  let purging: Promise<number> | null = null;
  const purge = (): Promise<number> => {
    purging ??= (async () => {
      const { trace: traceMs, adminActions } = options.config().retention;
      const t = now().getTime();
      try {
        const removed = await trace.purge(
          traceMs > 0 ? new Date(t - traceMs) : null,
          adminActions > 0 ? new Date(t - adminActions) : null,
        );
        if (removed > 0)
          log.info({ event: 'retention-purged', removed }, 'old trace steps and admin actions deleted');
        return removed;
      } catch (err) {
        log.warn({ event: 'retention-purge-failed', err: String(err) }, 'retention purge failed');
        return 0;
      } finally {
        purging = null;
      }
    })();
    return purging;
  };

  const handles: NodeJS.Timeout[] = [];
  if (options.timers !== false) {
    handles.push(setInterval(pollAdminActions, ADMIN_LOG_POLL_MS));
    handles.push(
      setTimeout(() => {
        void purge();
        handles.push(setInterval(() => void purge(), RETENTION_PURGE_INTERVAL_MS));
        for (const h of handles) h.unref();
      }, FIRST_PURGE_DELAY_MS),
    );
    for (const h of handles) h.unref();
  }
  return {
    pollAdminActions,
    purge,
    stop() {
      stopped = true;
      for (const h of handles) clearTimeout(h);
    },
  };
}
