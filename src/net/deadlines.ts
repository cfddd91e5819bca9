// Per-connection deadlines that activity does not extend (slow clients): the pure ConnectionDeadlines, and the one timer watching them.
import type { DeadlineSettings } from '../config/schema.js';

export type { DeadlineSettings };

/** What one connection enforces (picked from DeadlineSettings): null switches a deadline off for it. */
export interface DeadlineLimits {
  loginMs: number | null;
  sessionMs: number | null;
  commandLineMs: number;
  transferGraceMs: number;
  transferMinRate: number;
}

/** Which deadline ended a connection (logged as `deadline`). */
export type DeadlineKind = 'login' | 'session' | 'command-line' | 'transfer-rate';

/** What the connection is waiting for: nothing (idle between commands), the rest of a line, or body bytes. */
export type ReadPhase = 'idle' | 'line' | 'transfer';

/**
 * Deadlines for one connection, alongside (not instead of) the idle timers: the idle timer restarts on
 * every byte, so a client trickling one byte at a time would keep a connection forever. Here:
 * - login: a total from connect until login succeeds (Dovecot's login processes allow 60 s);
 * - session: a total for connections that never log in (SMTP MX), checked between transfers;
 * - command-line: once a line's first byte has arrived, all of it must arrive within the limit
 *   (Postfix's smtpd_per_record_deadline: the timeout covers a whole record, not each read);
 * - transfer-rate: a body transfer starts with `transferGraceMs` in hand; time spent waiting uses it up,
 *   each byte received adds 1/transferMinRate s, never above `transferGraceMs` (Postfix's
 *   smtpd_min_data_rate). A sender keeping above the floor rate never runs out; one that stalls for
 *   longer than the grace, or trickles below the floor, does. A burst early cannot buy a long stall
 *   later, because the budget is capped.
 * While the server itself is busy (input paused for storage or authentication), the line and transfer
 * clocks stop: `hold`/`release`. Login and session deadlines are totals and never stop.
 */
export class ConnectionDeadlines {
  private loggedIn = false;
  private phase: ReadPhase = 'idle';
  /** Phase 'line': when the line must be complete. Phase 'transfer': when the budget runs out. */
  private dueAt = 0;
  private heldSince: number | null = null;

  constructor(
    private readonly limits: DeadlineLimits,
    private readonly connectedAt: number,
  ) {}

  /** Login succeeded: the login deadline no longer applies. */
  markLoggedIn(): void {
    this.loggedIn = true;
  }

  get reading(): ReadPhase {
    return this.phase;
  }

  /** What the connection reads next, after processing its input; a phase change starts that phase's clock. */
  setPhase(phase: ReadPhase, now: number): void {
    if (phase === this.phase) return;
    this.phase = phase;
    if (phase === 'line') this.dueAt = now + this.limits.commandLineMs;
    else if (phase === 'transfer') this.dueAt = now + this.limits.transferGraceMs;
    // A new clock started while held: the hold so far belongs to the previous phase.
    if (this.heldSince !== null) this.heldSince = now;
  }

  /** `bytes` arrived at `now`: during a transfer they add to its budget (at most up to the grace). */
  received(bytes: number, now: number): void {
    if (this.phase !== 'transfer' || now >= this.dueAt) return;
    const credit = (bytes * 1000) / this.limits.transferMinRate;
    this.dueAt = Math.min(this.dueAt + credit, now + this.limits.transferGraceMs);
  }

  /** The server stops reading to do work of its own: line and transfer clocks stop. */
  hold(now: number): void {
    if (this.heldSince === null) this.heldSince = now;
  }

  /** Reading resumes: the held time is given back to the line or transfer in progress. */
  release(now: number): void {
    if (this.heldSince === null) return;
    if (this.phase !== 'idle') this.dueAt += Math.max(0, now - this.heldSince);
    this.heldSince = null;
  }

  /** The earliest time at which `expired` may report something (null: nothing pending). */
  nextCheckAt(): number | null {
    let at = Infinity;
    if (this.limits.loginMs !== null && !this.loggedIn) at = this.connectedAt + this.limits.loginMs;
    if (this.limits.sessionMs !== null && this.phase !== 'transfer') {
      at = Math.min(at, this.connectedAt + this.limits.sessionMs);
    }
    if (this.heldSince === null && this.phase !== 'idle') at = Math.min(at, this.dueAt);
    return at === Infinity ? null : at;
  }

  /** The deadline that has passed at `now`, or null. */
  expired(now: number): DeadlineKind | null {
    if (this.limits.loginMs !== null && !this.loggedIn && now >= this.connectedAt + this.limits.loginMs) {
      return 'login';
    }
    if (
      this.limits.sessionMs !== null &&
      this.phase !== 'transfer' &&
      now >= this.connectedAt + this.limits.sessionMs
    ) {
      return 'session';
    }
    if (this.heldSince !== null || now < this.dueAt) return null;
    if (this.phase === 'line') return 'command-line';
    if (this.phase === 'transfer') return 'transfer-rate';
    return null;
  }
}

/** Runs one timer for a connection's deadlines; `update()` after every change, `stop()` when it ends. */
export interface DeadlineWatch {
  readonly deadlines: ConnectionDeadlines;
  update(): void;
  stop(): void;
}

/**
 * The clock side of ConnectionDeadlines: one unref'd timer set to the next check; when it fires and a
 * deadline has passed, `onExpired` is called once. `clock` is monotonic milliseconds (injected by tests).
 * A deadline that moved later (a transfer's budget grows with every chunk) keeps the earlier timer, which
 * then re-checks and re-arms: one timer operation per deadline, not per chunk.
 */
export function watchDeadlines(
  deadlines: ConnectionDeadlines,
  clock: () => number,
  onExpired: (kind: DeadlineKind) => void,
): DeadlineWatch {
  let timer: NodeJS.Timeout | undefined;
  let scheduledAt = Infinity;
  let stopped = false;
  const clear = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    scheduledAt = Infinity;
  };
  const update = (): void => {
    if (stopped) return clear();
    const at = deadlines.nextCheckAt();
    if (at === null) return clear();
    if (timer && scheduledAt <= at) return; // fires early, finds nothing, re-arms for `at`
    clear();
    scheduledAt = at;
    timer = setTimeout(fire, Math.max(0, Math.ceil(at - clock())));
    timer.unref?.();
  };
  const fire = (): void => {
    timer = undefined;
    scheduledAt = Infinity;
    if (stopped) return;
    const kind = deadlines.expired(clock());
    if (kind === null) return update();
    stopped = true;
    onExpired(kind);
  };
  return {
    deadlines,
    update,
    stop(): void {
      stopped = true;
      clear();
    },
  };
}

/** Words for the reply and the log saying which deadline passed. */
export const DEADLINE_TEXT: Readonly<Record<DeadlineKind, string>> = {
  login: 'no login in time',
  session: 'session lasted too long',
  'command-line': 'command line not completed in time',
  'transfer-rate': 'data arriving too slowly',
};

/** The limits a connection enforces: a login deadline where a login is required, else a session total. */
export function deadlineLimits(settings: DeadlineSettings, loginRequired: boolean): DeadlineLimits {
  return {
    loginMs: loginRequired ? settings.loginMs : null,
    sessionMs: loginRequired ? null : settings.mxSessionMs,
    commandLineMs: settings.commandLineMs,
    transferGraceMs: settings.transferGraceMs,
    transferMinRate: settings.transferMinRate,
  };
}
