// The session's tables made on first use behave as the Map and Set they stand for, whatever
// the order of calls, and hold no table before the first entry or after a clear.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { LazyMap, LazySet } from "../../src/session/lazy-collections.js";

type MapOp = { op: "set"; key: number; value: string } | { op: "delete"; key: number } | { op: "clear" };

const mapOp: fc.Arbitrary<MapOp> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), key: fc.integer({ min: 0, max: 7 }), value: fc.string({ maxLength: 3 }) }),
  fc.record({ op: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("clear" as const) }),
);

describe("LazyMap", () => {
  it("answers every call as a Map does, over any sequence of sets, deletes and clears", () => {
    fc.assert(
      fc.property(fc.array(mapOp, { maxLength: 40 }), (ops) => {
        const lazy = new LazyMap<number, string>();
        const real = new Map<number, string>();
        for (const op of ops) {
          if (op.op === "set") {
            assert.equal(lazy.set(op.key, op.value), lazy);
            real.set(op.key, op.value);
          } else if (op.op === "delete") assert.equal(lazy.delete(op.key), real.delete(op.key));
          else {
            lazy.clear();
            real.clear();
          }
          assert.equal(lazy.size, real.size);
          for (let key = 0; key < 8; key++) {
            assert.equal(lazy.get(key), real.get(key));
            assert.equal(lazy.has(key), real.has(key));
          }
          assert.deepEqual([...lazy], [...real]);
          assert.deepEqual([...lazy.keys()], [...real.keys()]);
          assert.deepEqual([...lazy.values()], [...real.values()]);
          assert.deepEqual([...lazy.entries()], [...real.entries()]);
        }
      }),
    );
  });

  it("never written, or cleared, it is empty and iterates nothing", () => {
    const map = new LazyMap<string, number>();
    assert.equal(map.size, 0);
    assert.equal(map.get("a"), undefined);
    assert.equal(map.delete("a"), false);
    assert.deepEqual([...map.values()], []);
    map.set("a", 1).set("b", 2);
    map.clear();
    assert.equal(map.size, 0);
    assert.deepEqual([...map], []);
    map.set("c", 3);
    assert.deepEqual([...map], [["c", 3]], "usable again after a clear");
  });
});

describe("LazySet", () => {
  it("answers every call as a Set does, over any sequence of adds, deletes and clears", () => {
    fc.assert(
      fc.property(fc.array(mapOp, { maxLength: 40 }), (ops) => {
        const lazy = new LazySet<number>();
        const real = new Set<number>();
        for (const op of ops) {
          if (op.op === "set") {
            assert.equal(lazy.add(op.key), lazy);
            real.add(op.key);
          } else if (op.op === "delete") assert.equal(lazy.delete(op.key), real.delete(op.key));
          else {
            lazy.clear();
            real.clear();
          }
          assert.equal(lazy.size, real.size);
          for (let key = 0; key < 8; key++) assert.equal(lazy.has(key), real.has(key));
          assert.deepEqual([...lazy], [...real]);
          assert.deepEqual([...lazy.values()], [...real.values()]);
        }
      }),
    );
  });

  it("a clear during iteration ends it, as it ends a Set's", () => {
    const lazy = new LazySet<number>().add(1).add(2);
    const real = new Set<number>().add(1).add(2);
    const seen: number[][] = [[], []];
    for (const value of lazy) {
      seen[0]?.push(value);
      lazy.clear();
    }
    for (const value of real) {
      seen[1]?.push(value);
      real.clear();
    }
    assert.deepEqual(seen, [[1], [1]]);
  });
});
