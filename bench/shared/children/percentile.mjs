// The percentile of the benchmark children (load generators and servers), one definition for both.

/** The `p` quantile (0..1) of `sorted`, ascending: the sample at floor(p * n), NaN for none. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
