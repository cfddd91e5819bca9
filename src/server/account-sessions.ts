// Ends the open sessions of accounts that may no longer sign in (user disable / user remove, possibly run by the CLI in another process).
import { ACCOUNT_CHECK_MS } from '../config/limits.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';

/** Null while `address` may stay signed in; otherwise the reason its sessions end (shown to the client). */
export type AccountCheck = (address: string) => string | null;

/**
 * What `mailroom serve` keeps of every open session (or, for HTTP, of every listener's sessions): shutdown
 * for SIGTERM, revalidate for the account watch. revalidate ends what belongs to an account `check`
 * refuses (IMAP `* BYE`, POP3 `-ERR`, SMTP `421`, EventSource streams closed) and returns how many ended.
 */
export interface SessionHandle {
  shutdown(): void;
  revalidate(check: AccountCheck): number;
  /**
   * Its connection has closed but a command still runs (a LOGIN waiting for its password hash, a commit):
   * shutdown waits for these before closing the store. Absent for handles that are not one connection.
   */
  finishing?(): boolean;
}

/**
 * The check of one round: each address is looked up once however many sessions it has. getAccount is
 * served by the store's lookup cache, which reloads only after a commit (PRAGMA data_version), so a
 * round with nothing changed costs one pragma.
 */
export function accountCheckOf(store: Pick<Store, 'getAccount'>): AccountCheck {
  const seen = new Map<string, string | null>();
  return (address) => {
    const key = address.toLowerCase();
    let verdict = seen.get(key);
    if (verdict === undefined) {
      const account = store.getAccount(key);
      verdict =
        account === null || account.state === 'removed'
          ? 'Account removed'
          : account.state === 'disabled'
            ? 'Account disabled'
            : null;
      seen.set(key, verdict);
    }
    return verdict;
  };
}

/** The timer functions the watch uses: injected so tests drive it exactly (DESIGN habit 10). */
export interface WatchTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const NODE_TIMERS: WatchTimers = {
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    t.unref?.();
    return t;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export interface AccountWatch {
  /** One round now (the timer runs it every ACCOUNT_CHECK_MS); returns the sessions it ended. */
  check(): number;
  stop(): void;
}

/**
 * Every ACCOUNT_CHECK_MS, asks every open session to check its account. A poll, not an event: the change
 * is usually made by `mailroom user disable` in another process, which only the database tells us about
 * (as change-poller.ts does for JMAP push); one mechanism serves changes made in this process too.
 */
export function startAccountWatch(options: {
  store: Pick<Store, 'getAccount'>;
  sessions: () => Iterable<SessionHandle>;
  logger: Logger;
  intervalMs?: number;
  timers?: WatchTimers;
}): AccountWatch {
  const timers = options.timers ?? NODE_TIMERS;
  const check = (): number => {
    let ended = 0;
    const refused = new Map<string, string>();
    const base = accountCheckOf(options.store);
    const recording: AccountCheck = (address) => {
      const why = base(address);
      if (why !== null) refused.set(address.toLowerCase(), why);
      return why;
    };
    try {
      for (const session of [...options.sessions()]) ended += session.revalidate(recording);
    } catch (err) {
      options.logger.error({ err }, 'account check failed');
    }
    if (ended > 0) {
      for (const [account, reason] of refused)
        options.logger.info(
          { event: 'account-sessions-ended', account, reason },
          'sessions of account ended',
        );
    }
    return ended;
  };
  const timer = timers.setInterval(check, options.intervalMs ?? ACCOUNT_CHECK_MS);
  return { check, stop: () => timers.clearInterval(timer) };
}
