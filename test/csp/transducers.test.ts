import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as R from "ramda";
import t from "transducers-js";
import * as xf from "../../src/csp/transducers.js";
import type { Transducer, Transformer } from "../../src/csp/transducers.js";

// ---------------------------------------------------------------------------------------------
// Helpers

/** A transformer collecting into an array, recording what its completion step receives. */
function arrayRf<T>(completed: unknown[] = []): Transformer<T[], T> {
  return {
    "@@transducer/init": () => [],
    "@@transducer/step": (acc, x) => {
      acc.push(x);
      return acc;
    },
    "@@transducer/result": (acc) => {
      completed.push(acc);
      return acc;
    },
  };
}

/** Like {@link arrayRf} but returns reduced once it holds `limit` items. */
function stoppingRf<T>(limit: number, completed: unknown[] = []): Transformer<T[], T> {
  return {
    ...arrayRf<T>(completed),
    "@@transducer/step": (acc, x) => {
      acc.push(x);
      return acc.length >= limit ? xf.reduced(acc) : acc;
    },
  };
}

/** Wraps an iterable so a test can see how many items were pulled and whether it was closed. */
function counted<T>(source: Iterable<T>): { iterable: Iterable<T>; pulled(): number; closed(): boolean } {
  let pulled = 0;
  let closed = false;
  function* gen(): Generator<T> {
    try {
      for (const x of source) {
        pulled++;
        yield x;
      }
    } finally {
      closed = true;
    }
  }
  return { iterable: gen(), pulled: () => pulled, closed: () => closed };
}

/** 0, 1, 2, ... long enough to stand for an endless source, finite so a bug fails instead of hanging. */
function* naturals(): Generator<number> {
  for (let i = 0; i < 100_000; i++) yield i;
}

/** Two applications of one transducer value, stepped alternately over the same inputs. */
function runInterleaved<In, Out>(x: Transducer<In, Out>, inputs: readonly In[]): [Out[], Out[]] {
  const rfs = [x(arrayRf<Out>()), x(arrayRf<Out>())];
  const accs: unknown[] = [[], []];
  const done = [false, false];
  for (const input of inputs) {
    rfs.forEach((rf, i) => {
      if (done[i]) return;
      const next: unknown = rf["@@transducer/step"](accs[i], input);
      done[i] = xf.isReduced(next);
      accs[i] = xf.unreduced(next);
    });
  }
  const results = rfs.map((rf, i): Out[] => rf["@@transducer/result"](accs[i]) as Out[]);
  return [results[0] ?? [], results[1] ?? []];
}

function push<T>(acc: T[], x: T): T[] {
  acc.push(x);
  return acc;
}

/** SameValueZero, written independently of the library: `includes` uses it. */
function sameValueZero(a: unknown, b: unknown): boolean {
  return [a].includes(b);
}

/** Ramda types its transducers as list functions; at run time they dispatch on a transformer. */
function fromRamda<In, Out>(f: unknown): Transducer<In, Out> {
  return f as Transducer<In, Out>;
}
function toRamda<In, Out>(x: Transducer<In, Out>): (list: readonly In[]) => Out[] {
  return x as unknown as (list: readonly In[]) => Out[];
}

// ---------------------------------------------------------------------------------------------
// Reference implementations in plain array code

function chunk<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

function runs<T>(xs: readonly T[], f: (x: T) => unknown): T[][] {
  const out: T[][] = [];
  let key: unknown;
  for (const [i, x] of xs.entries()) {
    const k = f(x);
    const last = out[out.length - 1];
    if (i > 0 && last && sameValueZero(k, key)) last.push(x);
    else out.push([x]);
    key = k;
  }
  return out;
}

function takeWhileRef<T>(xs: readonly T[], p: (x: T) => boolean): T[] {
  const i = xs.findIndex((x) => !p(x));
  return i < 0 ? [...xs] : xs.slice(0, i);
}

function dropWhileRef<T>(xs: readonly T[], p: (x: T) => boolean): T[] {
  const i = xs.findIndex((x) => !p(x));
  return i < 0 ? [] : xs.slice(i);
}

function dedupeRef<T>(xs: readonly T[]): T[] {
  return xs.filter((x, i) => i === 0 || !sameValueZero(xs[i - 1], x));
}

function distinctRef<T>(xs: readonly T[]): T[] {
  const out: T[] = [];
  for (const x of xs) if (!out.includes(x)) out.push(x);
  return out;
}

function interposeRef<T, S>(xs: readonly T[], sep: S): (T | S)[] {
  return xs.flatMap((x, i) => (i === 0 ? [x] : [sep, x]));
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** A number-to-number stage with its plain-array meaning, for composition properties. */
interface Op {
  readonly name: string;
  readonly xform: Transducer<number, number>;
  readonly ref: (xs: readonly number[]) => number[];
  toString(): string;
}

function op(name: string, xform: Transducer<number, number>, ref: (xs: readonly number[]) => number[]): Op {
  return { name, xform, ref, toString: () => name };
}

const small = fc.integer({ min: -6, max: 6 });
const count = fc.nat({ max: 10 });
const numbers = fc.array(small, { maxLength: 30 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  small.map((k) => op(`map(+${k})`, xf.map((x: number) => x + k), (xs) => xs.map((x) => x + k))),
  fc.integer({ min: 1, max: 3 }).map((k) =>
    op(`filter(%${k})`, xf.filter((x: number) => x % k === 0), (xs) => xs.filter((x) => x % k === 0)),
  ),
  fc.integer({ min: 1, max: 3 }).map((k) =>
    op(`remove(%${k})`, xf.remove((x: number) => x % k === 0), (xs) => xs.filter((x) => x % k !== 0)),
  ),
  count.map((n) => op(`take(${n})`, xf.take(n), (xs) => xs.slice(0, n))),
  count.map((n) => op(`drop(${n})`, xf.drop(n), (xs) => xs.slice(n))),
  small.map((k) =>
    op(`takeWhile(<${k})`, xf.takeWhile((x: number) => x < k), (xs) => takeWhileRef(xs, (x) => x < k)),
  ),
  small.map((k) =>
    op(`dropWhile(<${k})`, xf.dropWhile((x: number) => x < k), (xs) => dropWhileRef(xs, (x) => x < k)),
  ),
  fc.constant(op("dedupe", xf.dedupe(), dedupeRef)),
  fc.constant(op("distinct", xf.distinct(), distinctRef)),
  fc.constant(
    op(
      "keep",
      xf.keep((x: number) => (x % 2 === 0 ? x * 10 : null)),
      (xs) => xs.filter((x) => x % 2 === 0).map((x) => x * 10),
    ),
  ),
  small.map((s) => op(`interpose(${s})`, xf.interpose(s), (xs) => interposeRef(xs, s))),
  fc.nat({ max: 2 }).map((k) =>
    op(
      `mapcat(repeat ${k})`,
      xf.mapcat((x: number) => Array<number>(k).fill(x)),
      (xs) => xs.flatMap((x) => Array<number>(k).fill(x)),
    ),
  ),
  fc.constant(
    op("cat(x, -x)", xf.comp(xf.map((x: number) => [x, -x]), xf.cat<number>), (xs) => xs.flatMap((x) => [x, -x])),
  ),
  fc.integer({ min: 1, max: 4 }).map((n) =>
    op(`partitionAll(${n})+sum`, xf.comp(xf.partitionAll<number>(n), xf.map(sum)), (xs) => chunk(xs, n).map(sum)),
  ),
  fc.constant(
    op(
      "partitionBy(sign)+length",
      xf.comp(
        xf.partitionBy((x: number) => Math.sign(x)),
        xf.map((run) => run.length),
      ),
      (xs) => runs(xs, Math.sign).map((run) => run.length),
    ),
  ),
);

// ---------------------------------------------------------------------------------------------
// Unit tests

describe("map, filter, remove", () => {
  it("map applies f to every input", () => {
    assert.deepEqual(xf.sequence(xf.map((x: number) => x * 2), [1, 2, 3]), [2, 4, 6]);
  });
  it("filter keeps truthy, remove drops truthy", () => {
    const isOdd = (x: number): boolean => x % 2 === 1;
    assert.deepEqual(xf.sequence(xf.filter(isOdd), [1, 2, 3, 4, 5]), [1, 3, 5]);
    assert.deepEqual(xf.sequence(xf.remove(isOdd), [1, 2, 3, 4, 5]), [2, 4]);
  });
  it("filter narrows with a type guard", () => {
    const out: number[] = xf.sequence(
      xf.filter((x: number | string): x is number => typeof x === "number"),
      [1, "a", 2],
    );
    assert.deepEqual(out, [1, 2]);
  });
});

describe("cat and mapcat", () => {
  it("cat concatenates iterables of any kind", () => {
    const inputs: Iterable<string>[] = [["a", "b"], new Set(["c"]), "de", []];
    assert.deepEqual(xf.sequence(xf.cat<string>, inputs), ["a", "b", "c", "d", "e"]);
  });
  it("cat hands a reduced box from downstream straight up, unwrapped once", () => {
    const rf = xf.cat<number>(stoppingRf<number>(2));
    const ret: unknown = rf["@@transducer/step"]([], [1, 2, 3]);
    assert.equal(xf.isReduced(ret), true, "the step returned a reduced box");
    assert.deepEqual(xf.unreduced(ret), [1, 2]);
  });
  it("cat passes reduced up even when it comes on the last item of an input", () => {
    const rf = xf.cat<number>(stoppingRf<number>(2));
    const ret: unknown = rf["@@transducer/step"]([], [1, 2]);
    assert.equal(xf.isReduced(ret), true, "the step returned a reduced box");
    assert.deepEqual(xf.unreduced(ret), [1, 2]);
  });
  it("a reduced inside cat stops both the inner and the outer iteration", () => {
    const inner = counted([3, 4, 5]);
    const outer = counted<Iterable<number>>([[1, 2], inner.iterable, [6]]);
    assert.deepEqual(xf.sequence(xf.comp(xf.cat<number>, xf.take(3)), outer.iterable), [1, 2, 3]);
    assert.equal(inner.pulled(), 1);
    assert.equal(inner.closed(), true, "the inner iterator is closed");
    assert.equal(outer.pulled(), 2);
  });
  it("mapcat maps then concatenates, and propagates reduced", () => {
    const pairs = xf.mapcat((x: number) => [x, x * 10]);
    assert.deepEqual(xf.sequence(pairs, [1, 2]), [1, 10, 2, 20]);
    const source = counted(naturals());
    assert.deepEqual(xf.sequence(xf.comp(pairs, xf.take(3)), source.iterable), [0, 0, 1]);
    assert.equal(source.pulled(), 2);
  });
  it("stepping a non-iterable input throws TypeError", () => {
    const rf = xf.cat<number>(arrayRf<number>());
    assert.throws(() => rf["@@transducer/step"]([], 5 as unknown as number[]), TypeError);
  });
});

describe("take and drop", () => {
  it("take(n) passes the first n and stops right after the n-th input", () => {
    const source = counted([1, 2, 3, 4, 5]);
    assert.deepEqual(xf.sequence(xf.take(3), source.iterable), [1, 2, 3]);
    assert.equal(source.pulled(), 3);
  });
  it("take returns reduced from the step of the n-th input, not later", () => {
    const rf = xf.take<number>(2)(arrayRf<number>());
    assert.equal(xf.isReduced(rf["@@transducer/step"]([], 1)), false, "not reduced after the first");
    assert.equal(xf.isReduced(rf["@@transducer/step"]([1], 2)), true, "reduced after the second");
  });
  it("take ends an infinite source", () => {
    assert.deepEqual(xf.sequence(xf.take(4), naturals()), [0, 1, 2, 3]);
  });
  it("take(0) yields nothing, stopping at the first input as in Clojure", () => {
    const source = counted([1, 2, 3]);
    assert.deepEqual(xf.sequence(xf.take(0), source.iterable), []);
    assert.equal(source.pulled(), 1);
    assert.deepEqual(xf.sequence(xf.take(0), []), []);
  });
  it("take does not double-box a reduced coming from downstream", () => {
    const rf = xf.take<number>(5)(stoppingRf<number>(1));
    const ret: unknown = rf["@@transducer/step"]([], 7);
    assert.equal(xf.isReduced(ret), true, "the step returned a reduced box");
    assert.deepEqual(xf.unreduced(ret), [7]);
    assert.deepEqual(xf.sequence(xf.comp(xf.take(1), xf.take(5)), [1, 2]), [1]);
  });
  it("drop(n) skips the first n", () => {
    assert.deepEqual(xf.sequence(xf.drop(2), [1, 2, 3, 4]), [3, 4]);
    assert.deepEqual(xf.sequence(xf.drop(0), [1, 2]), [1, 2]);
    assert.deepEqual(xf.sequence(xf.drop(9), [1, 2]), []);
  });
  it("takeWhile stops at the first failing input without passing it", () => {
    const source = counted([1, 2, 3, 1, 2]);
    assert.deepEqual(xf.sequence(xf.takeWhile((x: number) => x < 3), source.iterable), [1, 2]);
    assert.equal(source.pulled(), 3);
  });
  it("dropWhile drops only the leading run", () => {
    assert.deepEqual(xf.sequence(xf.dropWhile((x: number) => x < 3), [1, 2, 3, 1, 4]), [3, 1, 4]);
    assert.deepEqual(xf.sequence(xf.dropWhile((x: number) => x < 3), [1, 2]), []);
  });
});

describe("dedupe and distinct", () => {
  it("dedupe drops consecutive repeats with SameValueZero, even a leading undefined", () => {
    const input = [undefined, undefined, 1, 1, 2, 1, NaN, NaN, 0, -0, 0, null];
    assert.deepEqual(xf.sequence(xf.dedupe(), input), [undefined, 1, 2, 1, NaN, 0, null]);
  });
  it("distinct passes first occurrences only, with SameValueZero", () => {
    const a = {};
    const input = [1, 2, 1, NaN, 3, NaN, -0, 0, a, a, {}];
    assert.deepEqual(xf.sequence(xf.distinct(), input), [1, 2, NaN, 3, -0, a, {}]);
  });
});

describe("partitionAll and partitionBy", () => {
  it("partitionAll emits groups of n and flushes the rest on completion", () => {
    assert.deepEqual(xf.sequence(xf.partitionAll(2), [1, 2, 3, 4, 5]), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(xf.sequence(xf.partitionAll(2), [1, 2, 3, 4]), [[1, 2], [3, 4]]);
    assert.deepEqual(xf.sequence(xf.partitionAll(3), []), []);
  });
  it("partitionAll flushes when an upstream take ends the input", () => {
    assert.deepEqual(xf.sequence(xf.comp(xf.take(3), xf.partitionAll(2)), naturals()), [[0, 1], [2]]);
  });
  it("partitionAll emits fresh arrays", () => {
    const emitted: number[][] = [];
    const rf = xf.partitionAll<number>(2)(arrayRf<number[]>());
    let acc: unknown = emitted;
    for (const x of [1, 2, 3, 4, 5]) acc = rf["@@transducer/step"](acc, x);
    rf["@@transducer/result"](acc);
    assert.deepEqual(emitted, [[1, 2], [3, 4], [5]]);
    assert.equal(new Set(emitted).size, 3);
  });
  it("completion hands the wrapped result an unreduced accumulator", () => {
    for (const partition of [xf.partitionAll<number>(3), xf.partitionBy((x: number) => x > 9)]) {
      const completed: unknown[] = [];
      const rf = partition(stoppingRf<number[]>(1, completed));
      const acc: unknown = rf["@@transducer/step"](rf["@@transducer/step"]([], 1), 2);
      const out: unknown = rf["@@transducer/result"](acc);
      assert.equal(completed.length, 1);
      assert.equal(xf.isReduced(completed[0]), false, "result got an unreduced accumulator");
      assert.deepEqual(completed[0], [[1, 2]]);
      assert.deepEqual(out, [[1, 2]]);
    }
  });
  it("partitionBy splits on a change of f and flushes the last run", () => {
    const isOdd = (x: number): boolean => x % 2 === 1;
    assert.deepEqual(xf.sequence(xf.partitionBy(isOdd), [1, 3, 2, 4, 5]), [[1, 3], [2, 4], [5]]);
    assert.deepEqual(xf.sequence(xf.partitionBy(isOdd), []), []);
  });
  it("partitionBy groups NaN keys together and +0 with -0", () => {
    const items = [
      { k: NaN, v: 1 },
      { k: NaN, v: 2 },
      { k: 0, v: 3 },
      { k: -0, v: 4 },
      { k: 1, v: 5 },
    ];
    const out = xf.sequence(xf.comp(xf.partitionBy((o: { k: number; v: number }) => o.k), xf.map((run) => run.map((o) => o.v))), items);
    assert.deepEqual(out, [[1, 2], [3, 4], [5]]);
  });
  it("partitionBy does not keep the input that met a reduced downstream", () => {
    const isOdd = (x: number): boolean => x % 2 === 1;
    const rf = xf.partitionBy(isOdd)(stoppingRf<number[]>(1));
    let acc: unknown = [];
    for (const x of [1, 3, 2]) acc = rf["@@transducer/step"](acc, x);
    assert.equal(xf.isReduced(acc), true, "the run [1, 3] met a reduced");
    assert.deepEqual(rf["@@transducer/result"](xf.unreduced(acc)), [[1, 3]]);
    assert.deepEqual(xf.sequence(xf.comp(xf.partitionBy(isOdd), xf.take(1)), [1, 3, 2, 4]), [[1, 3]]);
  });
});

describe("keep and interpose", () => {
  it("keep drops null and undefined results but keeps 0, false, '' and NaN", () => {
    const values: unknown[] = [0, null, false, undefined, "", NaN];
    assert.deepEqual(xf.sequence(xf.keep((i: number) => values[i]), [0, 1, 2, 3, 4, 5]), [0, false, "", NaN]);
  });
  it("keep passes on f's result, not the input", () => {
    assert.deepEqual(xf.sequence(xf.keep((x: number) => (x > 1 ? x * 10 : undefined)), [1, 2, 3]), [20, 30]);
  });
  it("interpose puts the separator only between items", () => {
    assert.deepEqual(xf.sequence(xf.interpose<number>(0), [1, 2, 3]), [1, 0, 2, 0, 3]);
    assert.deepEqual(xf.sequence(xf.interpose<number>(0), [1]), [1]);
    assert.deepEqual(xf.sequence(xf.interpose<number>(0), []), []);
    assert.deepEqual(xf.sequence(xf.interpose<string, number>(","), [1, 2]), [1, ",", 2]);
  });
  it("interpose stops when the separator meets a reduced, without stepping the item", () => {
    const rf = xf.interpose<number>(0)(stoppingRf<number>(2));
    const first: unknown = rf["@@transducer/step"]([], 1);
    const second: unknown = rf["@@transducer/step"](first, 2);
    assert.equal(xf.isReduced(second), true, "the separator met a reduced");
    assert.deepEqual(xf.unreduced(second), [1, 0]);
    const source = counted([1, 2, 3]);
    assert.deepEqual(xf.sequence(xf.comp(xf.interpose<number>(0), xf.take(2)), source.iterable), [1, 0]);
    assert.equal(source.pulled(), 2);
    assert.deepEqual(xf.sequence(xf.comp(xf.interpose<number>(0), xf.take(3)), [1, 2, 3]), [1, 0, 2]);
  });
});

describe("comp", () => {
  it("data flows left to right: comp(a, b)(rf) is a(b(rf))", () => {
    const inc = xf.map((x: number) => x + 1);
    const double = xf.map((x: number) => x * 2);
    assert.deepEqual(xf.sequence(xf.comp(inc, double), [1]), [4]);
    assert.deepEqual(xf.sequence(xf.comp(double, inc), [1]), [3]);
    const even = xf.filter((x: number) => x % 2 === 0);
    assert.deepEqual(xf.sequence(xf.comp(even, xf.take(2)), [1, 2, 3, 4, 5, 6]), [2, 4]);
    assert.deepEqual(xf.sequence(xf.comp(xf.take(2), even), [1, 2, 3, 4, 5, 6]), [2]);
  });
  it("comp() is the identity and comp(x) is x", () => {
    assert.deepEqual(xf.sequence(xf.comp<number>(), [1, 2]), [1, 2]);
    const x = xf.take<number>(1);
    assert.equal(xf.comp(x), x);
  });
  it("stages are typed one by one, and the variadic form takes any number", () => {
    const out: string[] = xf.sequence(
      xf.comp(
        xf.map((x: number) => x * 2),
        xf.filter((x) => x > 2),
        xf.partitionAll(2),
        xf.map((xs) => xs.join("+")),
      ),
      [1, 2, 3],
    );
    assert.deepEqual(out, ["4+6"]);
    const inc = xf.map((x: number) => x + 1);
    assert.deepEqual(xf.sequence(xf.comp(inc, inc, inc, inc, inc, inc, inc, inc), [0]), [8]);
    const strings = xf.map((x: number) => String(x));
    // @ts-expect-error -- the second stage wants numbers but receives strings
    const bad = xf.comp(strings, inc);
    assert.equal(typeof bad, "function");
  });
});

describe("argument validation", () => {
  it("take, drop and partitionAll reject bad counts with a RangeError naming the argument", () => {
    for (const bad of [-1, 1.5, NaN, Infinity, "2" as unknown as number]) {
      assert.throws(() => xf.take(bad), { name: "RangeError", message: /^take: n must be a non-negative integer/ });
      assert.throws(() => xf.drop(bad), { name: "RangeError", message: /^drop: n must be a non-negative integer/ });
    }
    for (const bad of [0, -2, 0.5]) {
      assert.throws(() => xf.partitionAll(bad), { name: "RangeError", message: /^partitionAll: n must be a positive integer/ });
    }
  });
  it("function arguments must be functions (TypeError)", () => {
    const notFn = 42 as unknown as (x: unknown) => never;
    const factories: [string, () => unknown][] = [
      ["map", () => xf.map(notFn)],
      ["filter", () => xf.filter(notFn)],
      ["remove", () => xf.remove(notFn)],
      ["mapcat", () => xf.mapcat(notFn)],
      ["takeWhile", () => xf.takeWhile(notFn)],
      ["dropWhile", () => xf.dropWhile(notFn)],
      ["partitionBy", () => xf.partitionBy(notFn)],
      ["keep", () => xf.keep(notFn)],
      ["comp", () => xf.comp(xf.take(1), notFn as unknown as Transducer<unknown, unknown>)],
      ["sequence", () => xf.sequence(notFn as unknown as Transducer<number, number>, [1])],
    ];
    for (const [name, make] of factories) {
      assert.throws(make, { name: "TypeError", message: new RegExp(`^${name}: .* must be a function`) });
    }
  });
  it("sequence rejects a non-iterable", () => {
    assert.throws(() => xf.sequence(xf.take(1), 5 as unknown as number[]), TypeError);
  });
});

describe("protocol", () => {
  const all: [string, Transducer<never, unknown>][] = [
    ["map", xf.map((x: number) => x)],
    ["filter", xf.filter(Boolean)],
    ["remove", xf.remove(Boolean)],
    ["cat", xf.cat],
    ["mapcat", xf.mapcat((x: number[]) => x)],
    ["take", xf.take(2)],
    ["takeWhile", xf.takeWhile(Boolean)],
    ["drop", xf.drop(2)],
    ["dropWhile", xf.dropWhile(Boolean)],
    ["dedupe", xf.dedupe()],
    ["distinct", xf.distinct()],
    ["partitionAll", xf.partitionAll(2)],
    ["partitionBy", xf.partitionBy(Boolean)],
    ["keep", xf.keep((x: number) => x)],
    ["interpose", xf.interpose(0)],
    ["comp", xf.comp(xf.take(1), xf.map((x: number) => x))],
  ];
  it("every transformer delegates init and result to the one it wraps", () => {
    for (const [name, x] of all) {
      const seed = ["seed"];
      const completed: unknown[] = [];
      const rf = x({ ...arrayRf<unknown>(completed), "@@transducer/init": () => seed });
      assert.equal(rf["@@transducer/init"](), seed, `${name} init`);
      const done = ["done"];
      assert.equal(rf["@@transducer/result"](done), done, `${name} result`);
      assert.deepEqual(completed, [done], `${name} result reaches downstream`);
    }
  });
  it("xf re-exports the protocol helpers", () => {
    const box = xf.reduced(1);
    assert.equal(xf.isReduced(box), true, "reduced makes a box");
    assert.equal(xf.unreduced(box), 1);
    assert.equal(xf.ensureReduced(box), box);
    assert.equal(xf.completing((acc: number, x: number) => acc + x)["@@transducer/result"](3), 3);
  });
  it("state is per application: one take(2) serves two reductions at once", () => {
    const take2 = xf.take<number>(2);
    assert.deepEqual(runInterleaved(take2, [1, 2, 3]), [
      [1, 2],
      [1, 2],
    ]);
    assert.deepEqual(xf.sequence(take2, [4, 5, 6]), [4, 5]);
    assert.deepEqual(xf.sequence(take2, [7, 8, 9]), [7, 8]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties against plain array code

describe("properties", () => {
  it("map is Array.prototype.map", () => {
    fc.assert(
      fc.property(numbers, fc.func(fc.integer()), (xs, f) => {
        assert.deepEqual(xf.sequence(xf.map((x: number) => f(x)), xs), xs.map((x) => f(x)));
      }),
    );
  });
  it("filter and remove are Array.prototype.filter and its complement", () => {
    fc.assert(
      fc.property(numbers, fc.func(fc.boolean()), (xs, p) => {
        assert.deepEqual(xf.sequence(xf.filter((x: number) => p(x)), xs), xs.filter((x) => p(x)));
        assert.deepEqual(xf.sequence(xf.remove((x: number) => p(x)), xs), xs.filter((x) => !p(x)));
      }),
    );
  });
  it("mapcat is flatMap and cat is flat", () => {
    const lists = fc.array(small, { maxLength: 4 });
    fc.assert(
      fc.property(numbers, fc.func(lists), fc.array(lists, { maxLength: 8 }), (xs, f, xss) => {
        assert.deepEqual(xf.sequence(xf.mapcat((x: number) => f(x)), xs), xs.flatMap((x) => f(x)));
        assert.deepEqual(xf.sequence(xf.cat<number>, xss), xss.flat());
      }),
    );
  });
  it("take and drop are slice", () => {
    fc.assert(
      fc.property(numbers, fc.nat({ max: 40 }), (xs, n) => {
        assert.deepEqual(xf.sequence(xf.take(n), xs), xs.slice(0, n));
        assert.deepEqual(xf.sequence(xf.drop(n), xs), xs.slice(n));
      }),
    );
  });
  it("take(n) pulls exactly max(n, 1) inputs from a long source", () => {
    fc.assert(
      fc.property(fc.nat({ max: 50 }), (n) => {
        const source = counted(naturals());
        assert.equal(xf.sequence(xf.take(n), source.iterable).length, n);
        assert.equal(source.pulled(), Math.max(n, 1));
      }),
    );
  });
  it("takeWhile and dropWhile split at the first failing input", () => {
    fc.assert(
      fc.property(numbers, fc.func(fc.boolean()), (xs, p) => {
        assert.deepEqual(xf.sequence(xf.takeWhile((x: number) => p(x)), xs), takeWhileRef(xs, p));
        assert.deepEqual(xf.sequence(xf.dropWhile((x: number) => p(x)), xs), dropWhileRef(xs, p));
      }),
    );
  });
  const awkward = fc.array(fc.constantFrom<unknown>(0, -0, NaN, 1, "1", null, undefined, false), { maxLength: 30 });
  it("dedupe drops consecutive SameValueZero repeats", () => {
    fc.assert(
      fc.property(awkward, (xs) => {
        assert.deepEqual(xf.sequence(xf.dedupe(), xs), dedupeRef(xs));
      }),
    );
  });
  it("distinct keeps first SameValueZero occurrences", () => {
    fc.assert(
      fc.property(awkward, (xs) => {
        assert.deepEqual(xf.sequence(xf.distinct(), xs), distinctRef(xs));
      }),
    );
  });
  it("partitionAll is a chunk loop", () => {
    fc.assert(
      fc.property(numbers, fc.integer({ min: 1, max: 8 }), (xs, n) => {
        assert.deepEqual(xf.sequence(xf.partitionAll(n), xs), chunk(xs, n));
      }),
    );
  });
  it("partitionBy is a run loop comparing keys with SameValueZero", () => {
    fc.assert(
      fc.property(numbers, fc.func(fc.constantFrom<unknown>(0, -0, NaN, "a")), (xs, f) => {
        assert.deepEqual(xf.sequence(xf.partitionBy((x: number) => f(x)), xs), runs(xs, f));
      }),
    );
  });
  it("keep is map then a filter of null and undefined", () => {
    const result = fc.constantFrom<unknown>(null, undefined, 0, false, "", 1, "x");
    fc.assert(
      fc.property(numbers, fc.func(result), (xs, f) => {
        const expected = xs.map((x) => f(x)).filter((v) => v !== null && v !== undefined);
        assert.deepEqual(xf.sequence(xf.keep((x: number) => f(x)), xs), expected);
      }),
    );
  });
  it("interpose puts sep between items", () => {
    fc.assert(
      fc.property(numbers, small, (xs, sep) => {
        assert.deepEqual(xf.sequence(xf.interpose(sep), xs), interposeRef(xs, sep));
      }),
    );
  });
  it("every stage matches its plain-array meaning", () => {
    fc.assert(
      fc.property(opArb, numbers, (a, xs) => {
        assert.deepEqual(xf.sequence(a.xform, xs), a.ref(xs));
      }),
    );
  });
  it("comp of a random pair is the composition of their array meanings", () => {
    fc.assert(
      fc.property(opArb, opArb, numbers, (a, b, xs) => {
        assert.deepEqual(xf.sequence(xf.comp(a.xform, b.xform), xs), b.ref(a.ref(xs)));
      }),
      { numRuns: 300 },
    );
  });
  it("comp of a random chain is the composition of their array meanings", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 6 }), numbers, (ops, xs) => {
        const expected = ops.reduce((ys, o) => o.ref(ys), xs);
        assert.deepEqual(xf.sequence(xf.comp(...ops.map((o) => o.xform)), xs), expected);
      }),
    );
  });
  it("one transducer value gives independent state to each application", () => {
    fc.assert(
      fc.property(opArb, numbers, (a, xs) => {
        const expected = a.ref(xs);
        assert.deepEqual(runInterleaved(a.xform, xs), [expected, expected]);
        assert.deepEqual(xf.sequence(a.xform, xs), expected);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Interop with transducers-js and Ramda

describe("interop with transducers-js", () => {
  it("our transducers run in t.transduce and t.into", () => {
    const x = xf.comp(xf.map((n: number) => n + 1), xf.filter((n) => n % 2 === 0), xf.take(2));
    assert.deepEqual(t.transduce(x, push, [] as number[], [1, 2, 3, 4, 5, 6]), [2, 4]);
    assert.deepEqual(t.into([] as number[][], xf.partitionAll<number>(2), [1, 2, 3]), [[1, 2], [3]]);
  });
  it("every stage gives the same result in t.transduce as in sequence", () => {
    fc.assert(
      fc.property(opArb, numbers, (a, xs) => {
        assert.deepEqual(t.transduce(a.xform, push, [] as number[], xs), a.ref(xs));
      }),
    );
  });
  it("their transducers run in our sequence and compose with our comp", () => {
    assert.deepEqual(xf.sequence(t.map((n: number) => n * 3), [1, 2]), [3, 6]);
    assert.deepEqual(xf.sequence(t.take<number>(2), [1, 2, 3]), [1, 2]);
    const mixed = xf.comp(
      t.map((n: number) => n + 1),
      xf.filter((n: number) => n % 2 === 1),
      t.partitionAll<number>(2),
      xf.map(sum),
    );
    assert.deepEqual(xf.sequence(mixed, [0, 1, 2, 3, 4]), [4, 5]);
  });
  it("their reduced boxes stop our cat, and ours stop their cat", () => {
    assert.deepEqual(xf.sequence(xf.comp(xf.cat<number>, t.take<number>(3)), [[1, 2], [3, 4], [5]]), [1, 2, 3]);
    const theirs = t.comp(t.cat, xf.take(3) as Transducer<unknown, unknown>);
    assert.deepEqual(t.transduce(theirs, push, [] as unknown[], [[1, 2], [3, 4], [5]]), [1, 2, 3]);
  });
});

describe("interop with Ramda", () => {
  it("our transducers run in R.transduce and R.into", () => {
    const x = xf.comp(xf.map((n: number) => n * 2), xf.take(3));
    assert.deepEqual(R.transduce(toRamda(x), push, [] as number[], [1, 2, 3, 4, 5]), [2, 4, 6]);
    assert.deepEqual(R.into([], toRamda(xf.partitionAll<number>(2)), [1, 2, 3]), [[1, 2], [3]]);
  });
  it("every stage gives the same result in R.transduce as in sequence", () => {
    fc.assert(
      fc.property(opArb, numbers, (a, xs) => {
        assert.deepEqual(R.transduce(toRamda(a.xform), push, [] as number[], xs), a.ref(xs));
      }),
    );
  });
  it("R.map, R.filter and R.take run in our sequence and compose with our comp", () => {
    const rMap = fromRamda<number, number>(R.map((n: number) => n + 1));
    const rOdd = fromRamda<number, number>(R.filter((n: number) => n % 2 === 1));
    const source = counted(naturals());
    assert.deepEqual(xf.sequence(fromRamda<number, number>(R.take(3)), source.iterable), [0, 1, 2]);
    assert.equal(source.pulled(), 3);
    const mixed = xf.comp(rMap, rOdd, xf.partitionAll<number>(2), xf.map(sum), fromRamda<number, number>(R.take(2)));
    assert.deepEqual(xf.sequence(mixed, [0, 1, 2, 3, 4, 5, 6, 7, 8]), [4, 12]);
    assert.deepEqual(xf.sequence(xf.comp(xf.mapcat((n: number) => [n, n]), rMap, rOdd), [0, 1, 2]), [1, 1, 3, 3]);
  });
  it("their transducers match ours on random inputs", () => {
    fc.assert(
      fc.property(numbers, fc.nat({ max: 10 }), small, (xs, n, k) => {
        const theirs = xf.comp(
          fromRamda<number, number>(R.map((x: number) => x + k)),
          fromRamda<number, number>(R.filter((x: number) => x > 0)),
          fromRamda<number, number>(R.take(n)),
        );
        const ours = xf.comp(
          xf.map((x: number) => x + k),
          xf.filter((x: number) => x > 0),
          xf.take(n),
        );
        assert.deepEqual(xf.sequence(theirs, xs), xf.sequence(ours, xs));
      }),
    );
  });
});
