// Puts in flight by sequence number (src/wire/in-flight.ts): taken in any order, drained in
// the order they were added, and the first one kept without a Map. Counted, not timed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InFlight } from "../../src/wire/in-flight.js";

describe("in flight", () => {
  it("take gives each item once, in any order; an unknown or taken number gives undefined", () => {
    const inFlight = new InFlight<string>();
    inFlight.add(1, "a");
    inFlight.add(2, "b");
    inFlight.add(3, "c");
    assert.equal(inFlight.take(2), "b");
    assert.equal(inFlight.take(2), undefined);
    assert.equal(inFlight.take(1), "a");
    assert.equal(inFlight.take(9), undefined);
    inFlight.add(4, "d");
    assert.deepStrictEqual(inFlight.drain(), ["c", "d"]);
    assert.deepStrictEqual(inFlight.drain(), [], "nothing is kept after a drain");
  });

  it("drain gives what is left in the order it was added, whatever was taken (property)", () => {
    // Sequence numbers grow as items are added; takes come in any order between adds.
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant("add" as const), fc.nat(40)), { maxLength: 60 }), (steps) => {
        const inFlight = new InFlight<number>();
        const kept: number[] = [];
        let seq = 0;
        for (const step of steps) {
          if (step === "add") {
            seq++;
            inFlight.add(seq, seq);
            kept.push(seq);
          } else {
            const at = kept.indexOf(step);
            assert.equal(inFlight.take(step), at === -1 ? undefined : step);
            if (at !== -1) kept.splice(at, 1);
          }
        }
        assert.deepStrictEqual(inFlight.drain(), kept);
      }),
      { seed: 1201, numRuns: 1_000 },
    );
  });
});
