// Types of percentile.mjs, for the TypeScript runners that share it with the children.

/** The `p` quantile (0..1) of `sorted`, ascending: the sample at floor(p * n), NaN for none. */
export function percentile(sorted: ArrayLike<number>, p: number): number;
