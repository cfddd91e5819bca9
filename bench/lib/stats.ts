// Pure statistics for bench results: percentiles, rates, and the ratio/goal arithmetic.

/** Nearest-rank percentile (p in 0..100) of an unsorted sample; NaN for an empty sample. */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

/** Events per second; NaN when no time passed (never Infinity in a table). */
export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : NaN;
}

/** ours / peer, NaN when either side is missing or the peer is zero. */
export function ratio(ours: number, peer: number): number {
  return Number.isFinite(ours) && Number.isFinite(peer) && peer > 0 ? ours / peer : NaN;
}
