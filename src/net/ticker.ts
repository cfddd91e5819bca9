// One interval timer shared by many long-lived connections (EventSource pings, WebSocket liveness) instead of a timer each.

/**
 * Why: a per-connection setTimeout costs a Timeout object, its closure and a timer-list entry per
 * connection, and re-arming it on every event churns them; thousands of idle push connections only
 * need someone to look at them now and then. Tasks run every `intervalMs` while any is registered;
 * the timer is unref'd (it never keeps the process alive) and stops when the last task goes.
 */
export class Ticker {
  private readonly tasks = new Set<(now: number) => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly intervalMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Runs `task(now)` on every tick until the returned function is called. */
  add(task: (now: number) => void): () => void {
    this.tasks.add(task);
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.tasks.delete(task);
      if (this.tasks.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  /** Runs every task once (the interval calls this; tests may too). A throwing task does not stop the others. */
  tick(): void {
    const now = this.clock();
    for (const task of [...this.tasks]) {
      try {
        task(now);
      } catch (error) {
        process.emitWarning(error as Error);
      }
    }
  }

  get size(): number {
    return this.tasks.size;
  }
}
