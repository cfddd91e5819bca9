// Keeps the ACME certificate current: orders at start when there is none, renews at two thirds of its life, retries with backoff, hands each new one to the listeners.
import type { AcmeSettings } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { AcmeChallenges } from './challenges.js';
import { orderCertificate, type Issued, type OrderRequest } from './order.js';
import { planCertificate, renewAt, retryDelayMs, timerDelayMs, type AcmePlan } from './renewal.js';
import { acmePaths, factsOf, readStored, storeCertificate } from './storage.js';

/** Sets a one-shot timer; returns its cancel. Injected so tests run the schedule on a fake clock. */
export type SetTimer = (ms: number, run: () => void) => () => void;

export interface AcmeManagerOptions {
  settings: AcmeSettings;
  dataDir: string;
  challenges: AcmeChallenges;
  logger: Logger;
  now: () => Date;
  /** Called after a new certificate is stored: the server re-reads it into every listener (reload.ts refreshTls). */
  onCertificate: () => Promise<unknown>;
  setTimer?: SetTimer;
  /** Only for tests: the order itself (default: acme-client against settings.directory). */
  order?: (request: OrderRequest) => Promise<Issued>;
}

export interface AcmeManager {
  /** Resolves when the current step (a check, or an order in progress) is done: for tests. */
  idle(): Promise<void>;
  /** No more timers; an order in progress is finished but not installed. */
  stop(): void;
}

const realTimer: SetTimer = (ms, run) => {
  const timer = setTimeout(run, ms);
  timer.unref(); // the listeners keep the process alive, not a renewal two months away
  return () => clearTimeout(timer);
};

/** Starts at once: checks the stored certificate and orders, renews or waits as planCertificate says. */
export function startAcmeManager(options: AcmeManagerOptions): AcmeManager {
  const { settings, challenges, now } = options;
  const logger = options.logger.child({ component: 'acme' });
  const setTimer = options.setTimer ?? realTimer;
  const order = options.order ?? orderCertificate;
  const paths = acmePaths(options.dataDir);
  let failures = 0;
  let stopped = false;
  let cancel: (() => void) | null = null;
  let current: Promise<void> = Promise.resolve();

  const schedule = (ms: number): void => {
    if (stopped) return;
    cancel = setTimer(ms, () => {
      cancel = null;
      current = step();
    });
  };

  const obtain = async (plan: Exclude<AcmePlan, { action: 'wait' }>): Promise<void> => {
    const started = now().getTime();
    try {
      const issued = await order({ settings, paths, challenges, logger });
      if (stopped) return;
      const facts = factsOf(issued.cert);
      await storeCertificate(paths, issued.cert, issued.key);
      failures = 0;
      // Every listener, the same way as SIGHUP: new handshakes get it, open sessions keep theirs. A
      // failure here is not the CA's: the stored pair is good, so no new order; the next SIGHUP or
      // restart loads it.
      try {
        await options.onCertificate();
      } catch (error) {
        logger.warn(
          { err: error },
          'acme: the new certificate is stored but not yet in use (it is at the next reload)',
        );
      }
      // Logged once it is served (docs/logs.md: stored and swapped into every listener), so a client that
      // reads the line and connects sees the new certificate.
      const renewed = plan.action === 'renew';
      logger.info(
        {
          event: renewed ? 'acme-renewed' : 'acme-issued',
          domains: settings.domains,
          notAfter: new Date(facts.notAfter).toISOString(),
          renewAt: new Date(renewAt(facts)).toISOString(),
          ms: now().getTime() - started,
        },
        renewed ? 'acme certificate renewed' : 'acme certificate issued',
      );
      await step();
    } catch (error) {
      if (stopped) return;
      failures += 1;
      const delay = retryDelayMs(failures);
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown';
      logger.error(
        {
          event: 'acme-failed',
          domains: settings.domains,
          directory: settings.directory,
          attempt: failures,
          reason,
          retryAt: new Date(now().getTime() + delay).toISOString(),
        },
        `acme order failed, retrying in ${Math.round(delay / 1000)}s: ${reason}`,
      );
      schedule(delay);
    }
  };

  const step = async (): Promise<void> => {
    if (stopped) return;
    let plan: AcmePlan;
    try {
      const stored = await readStored(paths);
      plan = planCertificate(stored, settings.domains, now().getTime());
    } catch (error) {
      // An unreadable data_dir/acme: the order would fail to store too; retry like a failed order.
      plan = { action: 'issue', reason: 'none' };
      logger.warn({ err: error }, 'acme: cannot read the stored certificate');
    }
    if (plan.action === 'wait') {
      schedule(timerDelayMs(plan.until, now().getTime()));
      return;
    }
    await obtain(plan);
  };

  current = step();
  return {
    idle: async () => {
      // A step may schedule the next one immediately (timer 0): wait until the chain settles.
      let seen: Promise<void> | null = null;
      while (seen !== current) {
        seen = current;
        await current;
      }
    },
    stop: () => {
      stopped = true;
      cancel?.();
      cancel = null;
    },
  };
}
