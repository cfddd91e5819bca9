// Counts the Sets code makes while it runs: for tests that pin a hot path to making none.

/**
 * Runs `run` with globalThis.Set swapped for a counting subclass (`new Set` reads the global binding when it
 * runs, so every Set made meanwhile is seen), puts the real one back however `run` ends, and returns its
 * result with the count.
 */
export async function countSetsMade<T>(run: () => T | Promise<T>): Promise<{ made: number; result: T }> {
  const RealSet = globalThis.Set;
  let made = 0;
  globalThis.Set = class CountingSet<V> extends RealSet<V> {
    constructor(values?: Iterable<V> | null) {
      super(values);
      made += 1;
    }
  } as SetConstructor;
  try {
    const result = await run();
    return { made, result };
  } finally {
    globalThis.Set = RealSet;
  }
}
