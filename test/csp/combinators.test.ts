import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  chan,
  into,
  merge,
  onto,
  pipe,
  reduce,
  reduced,
  slidingBuffer,
  split,
  toChan,
  transduce,
  type Transformer,
  xf,
} from "../../src/index.js";
import { drainAll as drain, pollAll, settle, track } from "../helpers/async.js";

describe("pipe", () => {
  it("returns `to`", () => {
    const from = chan<number>();
    const to = chan<number>();
    assert.equal(pipe(from, to), to);
  });

  it("moves every value in order and closes `to` when `from` closes", async () => {
    const to = chan<number | null>();
    pipe(toChan<number | null>([1, 2, 3, null]), to);
    assert.deepEqual(await drain(to), [1, 2, 3, null]);
    assert.equal(to.closed, true);
  });

  it("leaves `to` open when close is false", async () => {
    const from = chan<number>();
    const to = chan<number>(10);
    pipe(from, to, false);
    await from.put(1);
    await from.put(2);
    from.close();
    await settle();
    assert.equal(to.closed, false);
    assert.deepEqual(pollAll(to), [1, 2]);
    assert.equal(await to.put(3), true, "to still accepts values");
  });

  it("stops taking from `from` once `to` is closed", async () => {
    const from = chan<number>();
    const to = chan<number>();
    pipe(from, to);
    to.close();
    // The pipe takes this value, fails to put it, and stops.
    assert.equal(await from.put(1), true);
    await settle();
    assert.equal(from.offer(2), false, "nobody takes from `from` any more");
    assert.equal(from.closed, false, "pipe never closes `from`");
  });
});

describe("merge", () => {
  it("delivers every value of every input exactly once, keeping each input's order", async () => {
    const a = toChan(["a1", "a2", "a3", "a4"]);
    const b = toChan(["b1", "b2"]);
    const c = toChan<string>([]);
    const got = await drain(merge([a, b, c]));
    assert.deepEqual([...got].sort(), ["a1", "a2", "a3", "a4", "b1", "b2"]);
    assert.deepEqual(got.filter((v) => v.startsWith("a")), ["a1", "a2", "a3", "a4"]);
    assert.deepEqual(got.filter((v) => v.startsWith("b")), ["b1", "b2"]);
  });

  it("closes the output only after every input closed", async () => {
    const a = chan<number>();
    const b = chan<number>();
    const out = merge([a, b], 10);
    a.close();
    await b.put(1);
    await settle();
    assert.equal(out.closed, false);
    assert.equal(out.poll(), 1);
    b.close();
    await settle();
    assert.equal(out.closed, true);
    assert.equal(await out.take(), undefined);
  });

  it("of no channels is closed at once", async () => {
    const out = merge<number>([]);
    assert.equal(await out.take(), undefined);
    assert.equal(out.closed, true);
  });

  it("is unbuffered by default: one value taken, the next producer waits", async () => {
    const a = chan<number>();
    merge([a]);
    await settle();
    assert.equal(a.offer(1), true, "the merge is taking");
    await settle();
    assert.equal(a.offer(2), false, "the merge holds 1 until someone takes it");
  });

  it("honours a buffer size: n values buffered plus the one being put", async () => {
    const a = chan<number>();
    const out = merge([a], 3);
    let accepted = 0;
    for (let i = 1; i <= 10; i++) {
      await settle();
      if (a.offer(i)) accepted++;
    }
    assert.equal(accepted, 4);
    assert.deepEqual(pollAll(out), [1, 2, 3, 4]);
  });

  it("honours a Buffer object (sliding)", async () => {
    const out = merge([toChan([1, 2, 3, 4, 5])], slidingBuffer<number>(2));
    await settle();
    assert.equal(out.closed, true);
    assert.deepEqual(await drain(out), [4, 5]);
  });

  it("stops once the output is closed", async () => {
    const a = chan<number>();
    const out = merge([a]);
    out.close();
    assert.equal(await a.put(1), true);
    await settle();
    assert.equal(a.offer(2), false, "the merge no longer takes");
  });

  it("property: values are neither lost nor duplicated and per-input order holds", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.integer(), { maxLength: 20 }), { maxLength: 6 }), async (inputs) => {
        const chs = inputs.map((values, i) => toChan(values.map((v) => ({ i, v }))));
        const got = await drain(merge(chs));
        assert.equal(got.length, inputs.reduce((n, vs) => n + vs.length, 0));
        inputs.forEach((values, i) => {
          assert.deepEqual(got.filter((x) => x.i === i).map((x) => x.v), values);
        });
      }),
      { numRuns: 50 },
    );
  });
});

describe("split", () => {
  it("routes true values to the first channel and false ones to the second", async () => {
    const [evens, odds] = split((x: number) => x % 2 === 0, toChan([1, 2, 3, 4, 5, 6]), 10, 10);
    const [e, o] = await Promise.all([drain(evens), drain(odds)]);
    assert.deepEqual(e, [2, 4, 6]);
    assert.deepEqual(o, [1, 3, 5]);
  });

  it("closes both channels when the source closes", async () => {
    const src = chan<number>();
    const [yes, no] = split((x: number) => x > 0, src);
    src.close();
    assert.equal(await yes.take(), undefined);
    assert.equal(await no.take(), undefined);
    assert.equal(yes.closed, true);
    assert.equal(no.closed, true);
  });

  it("is unbuffered by default: an untaken value holds the source back", async () => {
    const src = chan<number>();
    const [yes, no] = split((x: number) => x > 0, src);
    assert.equal(await src.put(1), true);
    await settle();
    assert.equal(src.offer(-1), false, "the split waits for a taker of 1");
    assert.equal(no.poll(), undefined);
    assert.equal(await yes.take(), 1);
    await settle();
    assert.equal(src.offer(-1), true);
    assert.equal(await no.take(), -1);
  });

  it("stops taking once a value is refused by a closed output, as core.async", async () => {
    const src = chan<number>();
    const [yes, no] = split((x: number) => x > 0, src, 10, 10);
    yes.close();
    assert.equal(await src.put(1), true);
    await settle();
    assert.equal(src.offer(-1), false, "the split no longer takes");
    assert.equal(no.poll(), undefined);
  });
});

describe("into", () => {
  it("resolves a new array: the given items, then the channel's", async () => {
    const given = [1, 2];
    const result = await into(given, toChan([3, 4, 5]));
    assert.deepEqual(result, [1, 2, 3, 4, 5]);
    assert.notEqual(result, given);
    assert.deepEqual(given, [1, 2], "the given array is not modified");
  });

  it("resolves only once the channel closes", async () => {
    const ch = chan<string>();
    const p = track(into([], ch));
    await ch.put("a");
    await settle();
    assert.equal(p.done, false);
    ch.close();
    await settle();
    assert.equal(p.done, true);
    assert.deepEqual(p.value, ["a"]);
  });

  it("of an already closed, empty channel copies the given items", async () => {
    const ch = chan<number>();
    ch.close();
    const given = [7];
    const result = await into(given, ch);
    assert.deepEqual(result, [7]);
    assert.notEqual(result, given);
  });
});

describe("reduce", () => {
  it("folds with a plain (acc, v) => acc function", async () => {
    assert.equal(await reduce((acc: number, v: number) => acc + v, 10, toChan([1, 2, 3])), 16);
  });

  it("resolves to init on an empty channel without calling f", async () => {
    let calls = 0;
    const f = (acc: string, v: string): string => {
      calls++;
      return acc + v;
    };
    assert.equal(await reduce(f, "init", toChan<string>([])), "init");
    assert.equal(calls, 0);
  });

  it("stops early on reduced, leaving the rest in the channel", async () => {
    const ch = toChan([1, 2, 3, 4, 5]);
    const seen: number[] = [];
    const result = await reduce(
      (acc: number, v: number) => {
        seen.push(v);
        return v === 3 ? reduced(acc + v) : acc + v;
      },
      0,
      ch,
    );
    assert.equal(result, 6);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(await drain(ch), [4, 5]);
  });
});

describe("transduce", () => {
  it("runs an xform with a plain function", async () => {
    const result = await transduce(
      xf.comp(
        xf.filter((x: number) => x % 2 === 1),
        xf.map((x: number) => x * 10),
      ),
      (acc: number[], v: number) => [...acc, v],
      [] as number[],
      toChan([1, 2, 3, 4, 5]),
    );
    assert.deepEqual(result, [10, 30, 50]);
  });

  it("runs the completion step, so partitionAll flushes its last partition", async () => {
    const result = await transduce(
      xf.partitionAll<number>(2),
      (acc: number[][], v: number[]) => [...acc, v],
      [] as number[][],
      toChan([1, 2, 3, 4, 5]),
    );
    assert.deepEqual(result, [[1, 2], [3, 4], [5]]);
  });

  it("stops early on reduced (xf.take) and still flushes", async () => {
    const ch = toChan([1, 2, 3, 4, 5, 6]);
    const result = await transduce(
      xf.comp(xf.take<number>(3), xf.partitionAll<number>(2)),
      (acc: number[][], v: number[]) => [...acc, v],
      [] as number[][],
      ch,
    );
    assert.deepEqual(result, [[1, 2], [3]]);
    assert.deepEqual(await drain(ch), [4, 5, 6], "take(3) stops on the third input");
  });

  it("stops early when the plain function returns reduced", async () => {
    const ch = toChan([1, 2, 3, 4]);
    const result = await transduce(
      xf.map((x: number) => x * 2),
      (acc: number, v: number) => (v >= 4 ? reduced(acc + v) : acc + v),
      0,
      ch,
    );
    assert.equal(result, 6);
    assert.deepEqual(await drain(ch), [3, 4]);
  });

  it("accepts a transformer object and calls its completion once", async () => {
    let results = 0;
    const joiner: Transformer<string, number> = {
      "@@transducer/init": () => "",
      "@@transducer/step": (acc, v) => (acc === "" ? String(v) : `${acc},${v}`),
      "@@transducer/result": (acc) => {
        results++;
        return `[${acc}]`;
      },
    };
    const result = await transduce(xf.map((x: number) => x + 1), joiner, "", toChan([1, 2, 3]));
    assert.equal(result, "[2,3,4]");
    assert.equal(results, 1);
  });
});

describe("onto", () => {
  it("puts every item then closes the channel; resolves once every item was put", async () => {
    const ch = chan<number>();
    const p = track(onto(ch, [1, 2, 3]));
    assert.equal(await ch.take(), 1);
    assert.equal(await ch.take(), 2);
    await settle();
    assert.equal(p.done, false, "3 is not put yet");
    assert.equal(ch.closed, false);
    assert.equal(await ch.take(), 3);
    await settle();
    assert.equal(p.done, true);
    assert.equal(ch.closed, true);
    assert.equal(await ch.take(), undefined);
  });

  it("leaves the channel open when close is false", async () => {
    const ch = chan<number>(5);
    await onto(ch, [1, 2], false);
    assert.equal(ch.closed, false);
    assert.deepEqual(pollAll(ch), [1, 2]);
  });

  it("resolves at once on a closed channel, putting nothing", async () => {
    const ch = chan<number>(5);
    ch.close();
    await onto(ch, [1, 2, 3]);
    assert.equal(ch.poll(), undefined);
  });

  it("stops pulling from the iterable once the channel closed", async () => {
    const pulled: number[] = [];
    let finished = false;
    function* naturals(): Generator<number> {
      try {
        for (let i = 1; ; i++) {
          pulled.push(i);
          yield i;
        }
      } finally {
        finished = true;
      }
    }
    const ch = chan<number>();
    const p = onto(ch, naturals());
    assert.equal(await ch.take(), 1);
    assert.equal(await ch.take(), 2);
    ch.close();
    // The put of 3 was already parked: a closed channel still delivers it.
    assert.equal(await ch.take(), 3);
    await p;
    assert.equal(await ch.take(), undefined);
    assert.deepEqual(pulled, [1, 2, 3, 4]);
    assert.equal(finished, true, "the generator was closed");
  });
});

describe("toChan", () => {
  it("holds every item, then is closed", async () => {
    const ch = toChan(["x", "y", "z"]);
    assert.deepEqual(await drain(ch), ["x", "y", "z"]);
    assert.equal(ch.closed, true);
  });

  it("of an empty iterable is closed and empty", async () => {
    const ch = toChan<number>([]);
    assert.equal(await ch.take(), undefined);
    assert.equal(ch.closed, true);
  });

  it("takes a generator, even one longer than its buffer", async () => {
    function* gen(): Generator<number> {
      for (let i = 0; i < 250; i++) yield i;
    }
    assert.deepEqual(await drain(toChan(gen())), Array.from({ length: 250 }, (_, i) => i));
  });

  it("buffers a whole (small) array at once", async () => {
    const ch = toChan([1, 2, 3]);
    await settle();
    assert.equal(ch.closed, true);
    assert.deepEqual(pollAll(ch), [1, 2, 3]);
  });
});
