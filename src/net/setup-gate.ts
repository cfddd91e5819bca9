// Fair session setup under a connection burst: a few per event-loop turn, quiet addresses first, busy ones in turn.

/**
 * Setting up a session (its objects, the greeting, the first reads) costs ~0.3-1 ms; a burst of hundreds
 * of connections set up in arrival order keeps every later connection waiting for all of them. The gate
 * sets up at most `perTurn` connections per turn of the event loop. What arrives beyond that waits in a
 * queue per key (the remote address's limit key), in one of two classes:
 * - a key with a single connection waiting (a client opening one connection, as honest ones do) is served
 *   first, in arrival order;
 * - a key with more waiting (an address opening many at once) is served round-robin with the other such
 *   keys, and the class gets at least one setup per turn, so a stream of single connections from many
 *   addresses never starves it.
 * A client from a quiet address then waits about one turn, not one setup per busy address (~50 addresses
 * in the soak's opening burst, ~10 turns of a few ms each). Outside bursts (fewer than `perTurn` per turn,
 * nothing waiting) a connection is set up at once.
 *
 * Pure: the turn is whatever `schedule` runs its callback after (setImmediate in the server: the check
 * phase, right after the poll phase that accepted the connections).
 */
export class SetupGate<T> {
  private usedThisTurn = 0;
  private scheduled = false;
  /** Keys with a single connection waiting, and that connection, in arrival order (a Map keeps it). */
  private readonly single = new Map<string, T>();
  /** Keys with several connections waiting, and those connections. */
  private readonly waiting = new Map<string, T[]>();
  private waitingCount = 0;
  /** The keys of `waiting` in service order; `cursor` is the next to serve. */
  private ring: string[] = [];
  private cursor = 0;

  constructor(
    private readonly perTurn: number,
    private readonly setUp: (item: T) => void,
    /** An item that no longer needs setting up (its socket closed while it waited): skipped, not counted. */
    private readonly gone: (item: T) => boolean,
    private readonly schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {
    // One setup per turn is kept for the busy keys: a turn of 1 could serve no single one.
    if (!(perTurn >= 2)) throw new RangeError(`SetupGate: perTurn must be at least 2, got ${perTurn}`);
  }

  /** Items waiting for a turn. */
  get queued(): number {
    return this.waitingCount;
  }

  offer(key: string, item: T): void {
    if (this.waitingCount === 0 && this.usedThisTurn < this.perTurn) {
      this.run(item);
      return;
    }
    const list = this.waiting.get(key);
    if (list) list.push(item);
    else if (this.single.has(key)) {
      // Its second: from the single class to the ring.
      const first = this.single.get(key) as T;
      this.single.delete(key);
      this.waiting.set(key, [first, item]);
      this.ring.push(key);
    } else this.single.set(key, item);
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
    // Singles first, leaving one setup of the turn for the ring when it has keys.
    while (this.usedThisTurn < this.perTurn - (this.ring.length > 0 ? 1 : 0)) {
      const item = this.nextSingle();
      if (item === undefined) break;
      if (!this.gone(item)) this.run(item);
    }
    while (this.usedThisTurn < this.perTurn && this.ring.length > 0) {
      const item = this.nextInRing();
      if (!this.gone(item)) this.run(item);
    }
    if (this.waitingCount > 0) this.arm();
  }

  private nextSingle(): T | undefined {
    for (const [key, item] of this.single) {
      this.single.delete(key);
      this.waitingCount--;
      return item;
    }
    return undefined;
  }

  private nextInRing(): T {
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
    return item;
  }
}
