/**
 * A token bucket per key (a session): `burst` at once, then `perSecond`. Pure: the clock is
 * passed in. The map is bounded by `maxKeys`; when full, the key seen longest ago is forgotten
 * (it starts again with a full bucket, which costs at most one more burst).
 */
export class TokenBuckets {
  /** Insertion order is refreshed on each take, so the first key is the one seen longest ago. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {
    for (const [name, value] of [["perSecond", perSecond], ["burst", burst], ["maxKeys", maxKeys]] as const) {
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`TokenBuckets: ${name} must be a positive number, got ${String(value)}`);
    }
  }

  /** Keys tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token from `key`'s bucket: true if there was one. */
  take(key: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    this.buckets.delete(key);
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    const taken = bucket.tokens >= 1;
    if (taken) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return taken;
  }
}
