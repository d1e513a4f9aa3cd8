// The reconnect delays: doubling from `initial` to `max`, spread by jitter, and counted from the
// last link that made progress (stayed up `stableAfter` with its downstream delivering), so a
// link that opens and is cut at once never starts them again from the shortest.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Backoff } from "../../src/client/backoff.js";

const OPTIONS = { initial: 100, max: 1_000, jitter: 0, stableAfter: 5_000 };

function delays(backoff: Backoff, count: number): number[] {
  return Array.from({ length: count }, () => backoff.next().delay);
}

describe("Backoff", () => {
  it("doubles from initial up to max, numbering the tries from 1", () => {
    const backoff = new Backoff(OPTIONS);
    assert.deepEqual(backoff.next(), { attempt: 1, delay: 100 });
    assert.deepEqual(delays(backoff, 6), [200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it("never overflows, however many tries", () => {
    const backoff = new Backoff(OPTIONS);
    for (let i = 0; i < 5_000; i++) backoff.next();
    assert.deepEqual(backoff.next(), { attempt: 5_001, delay: 1_000 });
  });

  it("starts again from initial only after a link that stayed up stableAfter and delivered", () => {
    const backoff = new Backoff(OPTIONS);
    delays(backoff, 3);
    backoff.linkEnded(10, true);
    assert.equal(backoff.next().attempt, 4, "cut at once: no progress");
    backoff.linkEnded(60_000, false);
    assert.equal(backoff.next().attempt, 5, "up long, but nothing arrived on it: no progress");
    backoff.linkEnded(5_000, true);
    assert.deepEqual(backoff.next(), { attempt: 1, delay: 100 }, "up stableAfter and delivering: progress");
  });

  it("spreads each delay by at most ± jitter", () => {
    const low = new Backoff({ ...OPTIONS, jitter: 0.5 }, () => 0);
    const high = new Backoff({ ...OPTIONS, jitter: 0.5 }, () => 0.999_999);
    assert.deepEqual(delays(low, 3), [50, 100, 200]);
    assert.deepEqual(delays(high, 3), [150, 300, 600]);
  });
});
