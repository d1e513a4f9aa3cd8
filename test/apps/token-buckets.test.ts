// TokenBuckets on a hand-driven clock: the burst, the refill, and the bound on keys.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBuckets } from "../../apps/shared/token-buckets.js";

function takes(buckets: TokenBuckets, key: string, n: number): number {
  let taken = 0;
  for (let i = 0; i < n; i++) if (buckets.take(key)) taken++;
  return taken;
}

describe("TokenBuckets", () => {
  it("gives a key its burst at once, then refills at perSecond, never past the burst", () => {
    let now = 0;
    const buckets = new TokenBuckets(2, 10, 100, () => now);
    assert.equal(takes(buckets, "a", 50), 10);
    now += 1000;
    assert.equal(takes(buckets, "a", 50), 2);
    now += 60_000;
    assert.equal(takes(buckets, "a", 50), 10, "a long pause refills the burst, no more");
    assert.equal(takes(buckets, "b", 50), 10, "every key has its own bucket");
  });

  it("keeps at most maxKeys keys, forgetting the one seen longest ago", () => {
    const buckets = new TokenBuckets(1, 1, 3, () => 0);
    for (const key of ["a", "b", "c"]) buckets.take(key);
    buckets.take("a"); // seen again: now "b" is the oldest
    buckets.take("d");
    assert.equal(buckets.size, 3);
    assert.equal(buckets.take("a"), false, "a is remembered, its bucket empty");
    assert.equal(buckets.take("b"), true, "b was forgotten: a full bucket again");
  });

  it("refuses bounds that are not positive numbers", () => {
    assert.throws(() => new TokenBuckets(0, 1, 1), /perSecond must be a positive number/);
    assert.throws(() => new TokenBuckets(1, Number.NaN, 1), /burst must be a positive number/);
    assert.throws(() => new TokenBuckets(1, 1, -1), /maxKeys must be a positive number/);
  });
});
