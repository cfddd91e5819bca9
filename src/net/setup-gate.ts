// Fair session setup under a connection burst: a few per event-loop turn, one remote address at a time.

/**
 * Setting up a session (its objects, the greeting, the first reads) costs ~0.3-1 ms; a burst of hundreds
 * of connections set up in arrival order keeps every later connection waiting for all of them. The gate
 * sets up at most `perTurn` connections per turn of the event loop. What arrives beyond that waits in a
 * queue per key (the remote address's limit key), and the queues are served round-robin: a client from a
 * quiet address waits for one setup per busy address at most, not for the busy addresses' whole bursts.
 * Outside bursts (fewer than `perTurn` per turn, nothing waiting) a connection is set up at once.
 *
 * Pure: the turn is whatever `schedule` runs its callback after (setImmediate in the server: the check
 * phase, right after the poll phase that accepted the connections).
 */
export class SetupGate<T> {
  private usedThisTurn = 0;
  private scheduled = false;
  /** Keys with something waiting, in service order; `cursor` is the next to serve. */
  private ring: string[] = [];
  private cursor = 0;
  private readonly waiting = new Map<string, T[]>();
  private waitingCount = 0;

  constructor(
    private readonly perTurn: number,
    private readonly setUp: (item: T) => void,
    /** An item that no longer needs setting up (its socket closed while it waited): skipped, not counted. */
    private readonly gone: (item: T) => boolean,
    private readonly schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {}

  /** Items waiting for a turn. */
  get queued(): number {
    return this.waitingCount;
  }

  offer(key: string, item: T): void {
    if (this.waitingCount === 0 && this.usedThisTurn < this.perTurn) {
      this.run(item);
      return;
    }
    let list = this.waiting.get(key);
    if (!list) {
      list = [];
      this.waiting.set(key, list);
      this.ring.push(key);
    }
    list.push(item);
    this.waitingCount++;
    this.arm();
  }

  private run(item: T): void {
    this.usedThisTurn++;
    this.arm();
    this.setUp(item);
  }

  /** The next turn resets the count and serves the queues. */
  private arm(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    this.usedThisTurn = 0;
    while (this.waitingCount > 0 && this.usedThisTurn < this.perTurn) {
      if (this.cursor >= this.ring.length) this.cursor = 0;
      const key = this.ring[this.cursor]!;
      const list = this.waiting.get(key)!;
      const item = list.shift()!;
      this.waitingCount--;
      if (list.length === 0) {
        this.waiting.delete(key);
        this.ring.splice(this.cursor, 1); // the next key slides into the cursor's place
      } else {
        this.cursor++;
      }
      if (!this.gone(item)) this.run(item);
    }
    if (this.waitingCount > 0) this.arm();
  }
}
