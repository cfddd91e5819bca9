// `mailroom serve`'s free-space guard of data_dir: the statfs probe, one log line per floor crossing, and polling while low.
import type { Config } from '../config/schema.js';
import { FREE_SPACE_REFRESH_MS } from '../config/limits.js';
import type { Logger } from '../observability/logger.js';
import { StorageGuard, statfsProbe, type FreeSpaceProbe } from '../store/free-space.js';

export interface RunningStorageGuard {
  guard: StorageGuard;
  stop(): void;
}

/**
 * Starts the guard of [limits] min_free_space, probed once before the listeners start so the first
 * MAIL already knows. While below the floor it probes every FREE_SPACE_REFRESH_MS on its own, so
 * recovery is seen (and logged, and the queue woken for the DSNs it holds back) even when no client
 * asks; above it, probes happen only when a client asks, at most once a refresh period.
 */
export async function startStorageGuard(options: {
  config: Config;
  logger: Logger;
  probe?: FreeSpaceProbe;
  onRecovered: () => void;
  refreshMs?: number;
}): Promise<RunningStorageGuard> {
  const { config } = options;
  const log = options.logger.child({ component: 'storage' });
  const refreshMs = options.refreshMs ?? FREE_SPACE_REFRESH_MS;
  let poll: NodeJS.Timeout | undefined;
  const stopPolling = (): void => {
    if (poll) clearInterval(poll);
    poll = undefined;
  };
  const guard = new StorageGuard({
    probe: options.probe ?? statfsProbe(config.dataDir),
    min: config.limits.minFreeSpace,
    now: () => performance.now(),
    refreshMs,
    onCrossing: ({ low, free, floor }) => {
      const fields = { dataDir: config.dataDir, freeBytes: free, floorBytes: floor };
      if (low) {
        log.warn(
          { event: 'storage-low', ...fields },
          'free space below limits.min_free_space: refusing new mail (452 4.3.1, APPEND NO [OVERQUOTA])',
        );
        poll ??= setInterval(() => void guard.refresh(), refreshMs);
        poll.unref();
      } else {
        log.info(
          { event: 'storage-ok', ...fields },
          'free space above limits.min_free_space: accepting mail',
        );
        stopPolling();
        options.onRecovered();
      }
    },
    onProbeError: (err) =>
      log.warn(
        { event: 'storage-probe-failed', dataDir: config.dataDir, err: String(err) },
        'free-space probe failed',
      ),
  });
  await guard.refresh();
  return { guard, stop: stopPolling };
}
