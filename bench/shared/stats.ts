// Small numeric helpers every benchmark's runner and report use.

/** The median; throws on no values (a missing median must be handled, not averaged into NaN). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rotating the order each round keeps any "runs first / runs last" effect from favouring one contender. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** The median of each of `keys` over the runs, as one record (what every report's row of medians is). */
export function mediansOf<K extends string>(runs: ReadonlyArray<Readonly<Record<K, number>>>, keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = median(runs.map((r) => r[k]));
  return out;
}
