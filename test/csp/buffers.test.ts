import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  buffer,
  type Buffer,
  chan,
  DroppingBuffer,
  droppingBuffer,
  FixedBuffer,
  PromiseBuffer,
  SlidingBuffer,
  slidingBuffer,
} from "../../src/index.js";
import { RingQueue } from "../../src/csp/ring-queue.js";

/** Removes every value a buffer holds, in order. */
function drain<T>(buf: Buffer<T>): T[] {
  const out: T[] = [];
  while (buf.count() > 0) out.push(buf.remove());
  return out;
}

const BAD_SIZES = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5];

describe("FixedBuffer", () => {
  it("is full at its size and hands values back first in, first out", () => {
    const buf = new FixedBuffer<number>(3);
    assert.equal(buf.size, 3);
    assert.equal(buf.count(), 0);
    assert.equal(buf.full(), false);
    buf.add(1);
    buf.add(2);
    assert.equal(buf.full(), false);
    buf.add(3);
    assert.equal(buf.full(), true);
    assert.equal(buf.count(), 3);
    assert.equal(buf.remove(), 1);
    assert.equal(buf.full(), false);
    assert.equal(buf.count(), 2);
    assert.deepEqual(drain(buf), [2, 3]);
    assert.equal(buf.full(), false);
  });

  it("still accepts a value added while full (a mapcat may add several per put)", () => {
    const buf = new FixedBuffer<number>(1);
    buf.add(1);
    assert.equal(buf.full(), true);
    buf.add(2);
    buf.add(3);
    assert.equal(buf.count(), 3);
    assert.equal(buf.full(), true);
    assert.deepEqual(drain(buf), [1, 2, 3]);
  });

  it("holds more values than its initial ring capacity", () => {
    const buf = new FixedBuffer<number>(100);
    for (let i = 0; i < 100; i++) {
      assert.equal(buf.full(), false, `full after ${i} values`);
      buf.add(i);
    }
    assert.equal(buf.full(), true);
    assert.deepEqual(
      drain(buf),
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it("keeps null and other falsy values", () => {
    const buf = new FixedBuffer<unknown>(4);
    for (const v of [null, 0, false, ""]) buf.add(v);
    assert.deepEqual(drain(buf), [null, 0, false, ""]);
  });

  it("close() keeps the values it holds", () => {
    const buf = new FixedBuffer<number>(2);
    buf.add(7);
    buf.close();
    assert.equal(buf.count(), 1);
    assert.equal(buf.remove(), 7);
  });
});

describe("DroppingBuffer", () => {
  it("is never full and drops new values once it holds n", () => {
    const buf = new DroppingBuffer<number>(2);
    assert.equal(buf.size, 2);
    for (let i = 1; i <= 5; i++) {
      buf.add(i);
      assert.equal(buf.full(), false);
    }
    assert.equal(buf.count(), 2);
    assert.deepEqual(drain(buf), [1, 2]);
    buf.add(6);
    assert.deepEqual(drain(buf), [6]);
  });

  it("takes new values again once room was made", () => {
    const buf = new DroppingBuffer<number>(2);
    buf.add(1);
    buf.add(2);
    buf.add(3);
    assert.equal(buf.remove(), 1);
    buf.add(4);
    buf.add(5);
    assert.deepEqual(drain(buf), [2, 4]);
  });
});

describe("SlidingBuffer", () => {
  it("is never full and drops the oldest values to keep the newest n", () => {
    const buf = new SlidingBuffer<number>(2);
    assert.equal(buf.size, 2);
    for (let i = 1; i <= 5; i++) {
      buf.add(i);
      assert.equal(buf.full(), false);
    }
    assert.equal(buf.count(), 2);
    assert.deepEqual(drain(buf), [4, 5]);
  });

  it("of size 1 keeps only the latest value", () => {
    const buf = new SlidingBuffer<string>(1);
    buf.add("a");
    buf.add("b");
    assert.equal(buf.count(), 1);
    assert.equal(buf.remove(), "b");
    assert.equal(buf.count(), 0);
  });
});

describe("PromiseBuffer", () => {
  it("keeps the first value forever and drops later ones", () => {
    const buf = new PromiseBuffer<number>();
    assert.equal(buf.count(), 0);
    assert.equal(buf.full(), false);
    buf.add(1);
    buf.add(2);
    assert.equal(buf.full(), false);
    assert.equal(buf.count(), 1);
    assert.equal(buf.remove(), 1);
    assert.equal(buf.remove(), 1);
    assert.equal(buf.count(), 1);
    buf.close();
    assert.equal(buf.remove(), 1);
    assert.equal(buf.count(), 1);
  });

  it("keeps null as its value", () => {
    const buf = new PromiseBuffer<number | null>();
    buf.add(null);
    buf.add(3);
    assert.equal(buf.count(), 1);
    assert.equal(buf.remove(), null);
  });

  it("closed before a value, hands out undefined and ignores later values", () => {
    const buf = new PromiseBuffer<number>();
    buf.close();
    assert.equal(buf.count(), 1);
    assert.equal(buf.remove(), undefined);
    buf.add(5);
    assert.equal(buf.remove(), undefined);
  });
});

describe("buffer factories", () => {
  it("buffer(n), droppingBuffer(n) and slidingBuffer(n) make the matching buffers", () => {
    const fixed = buffer<number>(4);
    const dropping = droppingBuffer<number>(5);
    const sliding = slidingBuffer<number>(6);
    assert.ok(fixed instanceof FixedBuffer);
    assert.ok(dropping instanceof DroppingBuffer);
    assert.ok(sliding instanceof SlidingBuffer);
    assert.equal(fixed.size, 4);
    assert.equal(dropping.size, 5);
    assert.equal(sliding.size, 6);
  });

  for (const [name, make] of [
    ["buffer", (n: number) => buffer<number>(n)],
    ["droppingBuffer", (n: number) => droppingBuffer<number>(n)],
    ["slidingBuffer", (n: number) => slidingBuffer<number>(n)],
    ["new FixedBuffer", (n: number) => new FixedBuffer<number>(n)],
    ["new DroppingBuffer", (n: number) => new DroppingBuffer<number>(n)],
    ["new SlidingBuffer", (n: number) => new SlidingBuffer<number>(n)],
  ] as const) {
    it(`${name} throws a RangeError for a size that is not a positive integer`, () => {
      for (const n of BAD_SIZES) {
        assert.throws(() => make(n), RangeError, `size ${n}`);
      }
      assert.throws(() => make(0), /positive integer/);
      assert.doesNotThrow(() => make(1));
    });
  }

  it("chan(n) throws a RangeError for a bad size and accepts a buffer object", async () => {
    for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => chan<number>(n), RangeError, `size ${n}`);
    }
    const ch = chan<number>(slidingBuffer(2));
    for (let i = 1; i <= 4; i++) assert.equal(await ch.put(i), true);
    ch.close();
    assert.equal(await ch.take(), 3);
    assert.equal(await ch.take(), 4);
    assert.equal(await ch.take(), undefined);
  });

  it("a channel uses a custom Buffer implementation", async () => {
    // A buffer that keeps only even values and is full at 2.
    const items: number[] = [];
    const evens: Buffer<number> = {
      full: () => items.length >= 2,
      count: () => items.length,
      add: (v) => {
        if (v % 2 === 0) items.push(v);
      },
      remove: () => items.shift() as number,
      close: () => {},
    };
    const ch = chan<number>(evens);
    for (const v of [1, 2, 3, 4]) assert.equal(ch.offer(v), true);
    assert.equal(ch.offer(6), false, "full at two even values");
    assert.equal(ch.poll(), 2);
    assert.equal(ch.poll(), 4);
    assert.equal(ch.poll(), undefined);
  });
});

describe("RingQueue (internal)", () => {
  it("shift and peek on an empty queue give undefined", () => {
    const q = new RingQueue<number>();
    assert.equal(q.length, 0);
    assert.equal(q.shift(), undefined);
    assert.equal(q.peek(), undefined);
  });

  it("grows past its initial capacity and keeps first-in-first-out order", () => {
    const q = new RingQueue<number>(2);
    for (let i = 0; i < 1000; i++) q.push(i);
    assert.equal(q.length, 1000);
    assert.equal(q.peek(), 0);
    for (let i = 0; i < 1000; i++) assert.equal(q.shift(), i);
    assert.equal(q.length, 0);
  });

  it("wraps around its end and grows correctly while wrapped", () => {
    const q = new RingQueue<number>(4);
    let next = 0;
    let expected = 0;
    // Move the head round the ring several times without growing.
    for (let round = 0; round < 10; round++) {
      q.push(next++);
      q.push(next++);
      q.push(next++);
      assert.equal(q.shift(), expected++);
      assert.equal(q.shift(), expected++);
    }
    assert.equal(q.length, 10);
    // Now grow while the occupied part wraps past the end of the array.
    for (let i = 0; i < 20; i++) q.push(next++);
    const out: number[] = [];
    for (let v = q.shift(); v !== undefined; v = q.shift()) out.push(v);
    assert.deepEqual(
      out,
      Array.from({ length: next - expected }, (_, i) => expected + i),
    );
  });

  it("removeWhere keeps the order of the rest and reports how many it removed, also when wrapped", () => {
    const q = new RingQueue<number>(8);
    for (let i = 0; i < 6; i++) q.push(i);
    for (let i = 0; i < 5; i++) q.shift();
    for (let i = 6; i < 12; i++) q.push(i); // occupies slots 5..7 then 0..2
    assert.equal(
      q.removeWhere((x) => x % 3 === 0),
      2,
    );
    assert.equal(q.length, 5);
    const out: number[] = [];
    for (let v = q.shift(); v !== undefined; v = q.shift()) out.push(v);
    assert.deepEqual(out, [5, 7, 8, 10, 11]);
    // Still usable afterwards.
    q.push(99);
    assert.equal(q.peek(), 99);
  });

  it("delete removes one item by identity, only its first occurrence", () => {
    const a = { id: "a" };
    const b = { id: "b" };
    const q = new RingQueue<{ id: string }>();
    q.push(a);
    q.push(b);
    q.push(a);
    assert.equal(q.delete(a), true);
    assert.equal(q.length, 2);
    assert.equal(q.delete({ id: "a" }), false, "an equal but different object is not there");
    assert.equal(q.shift(), b);
    assert.equal(q.shift(), a);
    assert.equal(q.delete(a), false);
  });

  it("clear empties it and it can be reused", () => {
    const q = new RingQueue<number>(2);
    for (let i = 0; i < 5; i++) q.push(i);
    q.shift();
    q.clear();
    assert.equal(q.length, 0);
    assert.equal(q.shift(), undefined);
    q.push(42);
    assert.equal(q.length, 1);
    assert.equal(q.shift(), 42);
  });

  it("behaves like an array under random pushes, shifts and removals", () => {
    const command = fc.oneof(
      fc.record({ op: fc.constant("push" as const), value: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ op: fc.constant("shift" as const) }),
      fc.record({ op: fc.constant("removeWhere" as const), mod: fc.integer({ min: 2, max: 5 }) }),
      fc.record({ op: fc.constant("delete" as const), value: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ op: fc.constant("clear" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.array(command, { maxLength: 200 }), (initial, commands) => {
        const q = new RingQueue<number>(initial);
        const model: number[] = [];
        for (const c of commands) {
          switch (c.op) {
            case "push":
              q.push(c.value);
              model.push(c.value);
              break;
            case "shift":
              assert.equal(q.shift(), model.shift());
              break;
            case "removeWhere": {
              const before = model.length;
              const kept = model.filter((x) => x % c.mod !== 0);
              assert.equal(
                q.removeWhere((x) => x % c.mod === 0),
                before - kept.length,
              );
              model.splice(0, model.length, ...kept);
              break;
            }
            case "delete": {
              const i = model.indexOf(c.value);
              assert.equal(q.delete(c.value), i >= 0);
              if (i >= 0) model.splice(i, 1);
              break;
            }
            case "clear":
              q.clear();
              model.length = 0;
              break;
          }
          assert.equal(q.length, model.length);
          assert.equal(q.peek(), model[0]);
        }
        const rest: number[] = [];
        while (q.length > 0) rest.push(q.shift() as number);
        assert.deepEqual(rest, model);
      }),
      { numRuns: 300 },
    );
  });
});
