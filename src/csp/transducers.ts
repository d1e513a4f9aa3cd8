/**
 * Transducers after clojure.core, speaking the shared `@@transducer/*` protocol so they run in
 * transducers-js's and Ramda's `transduce` and theirs run here. Every transducer delegates
 * `init` and `result` to the transformer it wraps, and every stateful one creates its state
 * when it is applied to a transformer, so one transducer value can serve many channels.
 */
import { ensureReduced, isReduced, reduced, unreduced } from "./transducer-protocol.js";
import type { Transducer, Transformer } from "./transducer-protocol.js";
import { WirechanRangeError, WirechanTypeError } from "./errors.js";

export {
  completing,
  ensureReduced,
  isReduced,
  reduced,
  unreduced,
} from "./transducer-protocol.js";
export type { Reduced, ReducingFunction, Transducer, Transformer } from "./transducer-protocol.js";

const INIT = "@@transducer/init";
const STEP = "@@transducer/step";
const RESULT = "@@transducer/result";

/** Base for transformers that wrap a downstream one: init and result pass straight through. */
abstract class Wrapping<In, Out> implements Transformer<unknown, In> {
  protected readonly rf: Transformer<unknown, Out>;
  constructor(rf: Transformer<unknown, Out>) {
    this.rf = rf;
  }
  [INIT](): unknown {
    return this.rf[INIT]();
  }
  [RESULT](acc: unknown): unknown {
    return this.rf[RESULT](acc);
  }
  abstract [STEP](acc: unknown, input: In): unknown;
}

function assertFunction(fn: string, arg: string, value: unknown): void {
  if (typeof value !== "function") {
    throw new WirechanTypeError("ERR_INVALID_ARGUMENT", `${fn}: ${arg} must be a function, got ${show(value)}`);
  }
}

function assertCount(fn: string, arg: string, value: unknown, min: 0 | 1): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    const what = min === 0 ? "a non-negative integer" : "a positive integer";
    throw new WirechanRangeError("ERR_INVALID_COUNT", `${fn}: ${arg} must be ${what}, got ${show(value)}`);
  }
}

function show(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean" || value == null) {
    return String(value);
  }
  return typeof value;
}

/** SameValueZero, the equality of `Set`, `Map` and `Array.prototype.includes`. */
function sameValueZero(a: unknown, b: unknown): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** Marks "no previous value yet", distinct from every input including `undefined`. */
const NONE: unique symbol = Symbol("none");

// ---------------------------------------------------------------------------------------------

class MapT<A, B> extends Wrapping<A, B> {
  readonly #f: (x: A) => B;
  constructor(f: (x: A) => B, rf: Transformer<unknown, B>) {
    super(rf);
    this.#f = f;
  }
  [STEP](acc: unknown, input: A): unknown {
    return this.rf[STEP](acc, this.#f(input));
  }
}

/** Applies `f` to every input. Throws TypeError if `f` is not a function. */
export function map<A, B>(f: (x: A) => B): Transducer<A, B> {
  assertFunction("map", "f", f);
  return (rf) => new MapT(f, rf);
}

class FilterT<A> extends Wrapping<A, A> {
  readonly #pred: (x: A) => unknown;
  readonly #keepIf: boolean;
  constructor(pred: (x: A) => unknown, keepIf: boolean, rf: Transformer<unknown, A>) {
    super(rf);
    this.#pred = pred;
    this.#keepIf = keepIf;
  }
  [STEP](acc: unknown, input: A): unknown {
    return Boolean(this.#pred(input)) === this.#keepIf ? this.rf[STEP](acc, input) : acc;
  }
}

/**
 * Passes on the inputs for which `pred` returns a truthy value (JavaScript truthiness, as
 * `Array.prototype.filter`). Throws TypeError if `pred` is not a function.
 */
export function filter<A, B extends A>(pred: (x: A) => x is B): Transducer<A, B>;
export function filter<A>(pred: (x: A) => unknown): Transducer<A, A>;
export function filter<A>(pred: (x: A) => unknown): Transducer<A, A> {
  assertFunction("filter", "pred", pred);
  return (rf) => new FilterT(pred, true, rf);
}

/** Drops the inputs for which `pred` returns a truthy value. Throws TypeError if `pred` is not a function. */
export function remove<A>(pred: (x: A) => unknown): Transducer<A, A> {
  assertFunction("remove", "pred", pred);
  return (rf) => new FilterT(pred, false, rf);
}

class CatT<A> extends Wrapping<Iterable<A>, A> {
  [STEP](acc: unknown, input: Iterable<A>): unknown {
    let result = acc;
    for (const x of input) {
      result = this.rf[STEP](result, x);
      // Preserving-reduced: hand the box itself up so the outer reduction stops too.
      if (isReduced(result)) return result;
    }
    return result;
  }
}

/**
 * The transducer that concatenates its inputs, each an iterable. A reduced value from
 * downstream stops the inner iteration and is passed up, so the outer reduction stops too.
 * Stepping a non-iterable input throws TypeError. TypeScript cannot infer the element type
 * of a generic value passed along, so write `cat<T>` where it matters (or use `mapcat`).
 */
export function cat<A>(rf: Transformer<unknown, A>): Transformer<unknown, Iterable<A>> {
  return new CatT<A>(rf);
}

/** Maps each input to an iterable with `f` and concatenates the results (`comp(map(f), cat)`). Throws TypeError if `f` is not a function. */
export function mapcat<A, B>(f: (x: A) => Iterable<B>): Transducer<A, B> {
  assertFunction("mapcat", "f", f);
  return comp(map(f), cat<B>);
}

class TakeT<A> extends Wrapping<A, A> {
  #left: number;
  constructor(n: number, rf: Transformer<unknown, A>) {
    super(rf);
    this.#left = n;
  }
  [STEP](acc: unknown, input: A): unknown {
    const n = this.#left;
    const nn = --this.#left;
    const result = n > 0 ? this.rf[STEP](acc, input) : acc;
    return nn > 0 ? result : ensureReduced(result);
  }
}

/**
 * Passes on the first `n` inputs and signals reduced right after the n-th, as Clojure does;
 * `take(0)` passes nothing on (and stops at the first input). Throws RangeError unless `n` is
 * a non-negative integer.
 */
export function take<A>(n: number): Transducer<A, A> {
  assertCount("take", "n", n, 0);
  return (rf) => new TakeT<A>(n, rf);
}

class TakeWhileT<A> extends Wrapping<A, A> {
  readonly #pred: (x: A) => unknown;
  constructor(pred: (x: A) => unknown, rf: Transformer<unknown, A>) {
    super(rf);
    this.#pred = pred;
  }
  [STEP](acc: unknown, input: A): unknown {
    return this.#pred(input) ? this.rf[STEP](acc, input) : reduced(acc);
  }
}

/** Passes on inputs while `pred` is truthy and stops at the first one for which it is not. Throws TypeError if `pred` is not a function. */
export function takeWhile<A, B extends A>(pred: (x: A) => x is B): Transducer<A, B>;
export function takeWhile<A>(pred: (x: A) => unknown): Transducer<A, A>;
export function takeWhile<A>(pred: (x: A) => unknown): Transducer<A, A> {
  assertFunction("takeWhile", "pred", pred);
  return (rf) => new TakeWhileT(pred, rf);
}

class DropT<A> extends Wrapping<A, A> {
  #left: number;
  constructor(n: number, rf: Transformer<unknown, A>) {
    super(rf);
    this.#left = n;
  }
  [STEP](acc: unknown, input: A): unknown {
    if (this.#left > 0) {
      this.#left--;
      return acc;
    }
    return this.rf[STEP](acc, input);
  }
}

/** Drops the first `n` inputs and passes on the rest. Throws RangeError unless `n` is a non-negative integer. */
export function drop<A>(n: number): Transducer<A, A> {
  assertCount("drop", "n", n, 0);
  return (rf) => new DropT<A>(n, rf);
}

class DropWhileT<A> extends Wrapping<A, A> {
  readonly #pred: (x: A) => unknown;
  #dropping = true;
  constructor(pred: (x: A) => unknown, rf: Transformer<unknown, A>) {
    super(rf);
    this.#pred = pred;
  }
  [STEP](acc: unknown, input: A): unknown {
    if (this.#dropping && this.#pred(input)) return acc;
    this.#dropping = false;
    return this.rf[STEP](acc, input);
  }
}

/** Drops inputs while `pred` is truthy, then passes on everything from the first one for which it is not. Throws TypeError if `pred` is not a function. */
export function dropWhile<A>(pred: (x: A) => unknown): Transducer<A, A> {
  assertFunction("dropWhile", "pred", pred);
  return (rf) => new DropWhileT(pred, rf);
}

class DedupeT<A> extends Wrapping<A, A> {
  #prior: A | typeof NONE = NONE;
  [STEP](acc: unknown, input: A): unknown {
    const prior = this.#prior;
    this.#prior = input;
    return prior !== NONE && sameValueZero(prior, input) ? acc : this.rf[STEP](acc, input);
  }
}

/** Drops an input equal (SameValueZero) to the one just before it. Keeps only the last input in memory. */
export function dedupe<A>(): Transducer<A, A> {
  return (rf) => new DedupeT<A>(rf);
}

class DistinctT<A> extends Wrapping<A, A> {
  readonly #seen = new Set<A>();
  [STEP](acc: unknown, input: A): unknown {
    if (this.#seen.has(input)) return acc;
    this.#seen.add(input);
    return this.rf[STEP](acc, input);
  }
}

/**
 * Passes on only the first occurrence of each value (SameValueZero, as `Set`). It remembers
 * every distinct value it has seen, so its memory grows with the number of distinct inputs
 * for as long as the transformer lives (as in Clojure): avoid it on unbounded streams of
 * ever-new values.
 */
export function distinct<A>(): Transducer<A, A> {
  return (rf) => new DistinctT<A>(rf);
}

/** The partitioning transformers: they collect into a run and flush the last one on completion. */
abstract class Partitioning<A> extends Wrapping<A, A[]> {
  protected run: A[] = [];

  /** Hands out the current run (a fresh array each time) and starts a new one. */
  protected takeRun(): A[] {
    const run = this.run;
    this.run = [];
    return run;
  }

  override [RESULT](acc: unknown): unknown {
    const run = this.takeRun();
    return this.rf[RESULT](run.length > 0 ? unreduced(this.rf[STEP](acc, run)) : acc);
  }
}

class PartitionAllT<A> extends Partitioning<A> {
  readonly #n: number;
  constructor(n: number, rf: Transformer<unknown, A[]>) {
    super(rf);
    this.#n = n;
  }
  [STEP](acc: unknown, input: A): unknown {
    this.run.push(input);
    return this.run.length < this.#n ? acc : this.rf[STEP](acc, this.takeRun());
  }
}

/**
 * Groups inputs into arrays of `n` (each a fresh array) and, on completion, emits the
 * shorter rest if any. Throws RangeError unless `n` is a positive integer.
 */
export function partitionAll<A>(n: number): Transducer<A, A[]> {
  assertCount("partitionAll", "n", n, 1);
  return (rf) => new PartitionAllT<A>(n, rf);
}

class PartitionByT<A> extends Partitioning<A> {
  readonly #f: (x: A) => unknown;
  #prior: unknown = NONE;
  constructor(f: (x: A) => unknown, rf: Transformer<unknown, A[]>) {
    super(rf);
    this.#f = f;
  }
  [STEP](acc: unknown, input: A): unknown {
    const prior = this.#prior;
    const key = this.#f(input);
    this.#prior = key;
    if (prior === NONE || sameValueZero(key, prior)) {
      this.run.push(input);
      return acc;
    }
    const result = this.rf[STEP](acc, this.takeRun());
    if (!isReduced(result)) this.run.push(input);
    return result;
  }
}

/**
 * Splits inputs into runs (fresh arrays) on which `f` returns the same value (SameValueZero,
 * so NaN keys group together); emits each run when the next one starts and the last on
 * completion. Throws TypeError if `f` is not a function.
 */
export function partitionBy<A>(f: (x: A) => unknown): Transducer<A, A[]> {
  assertFunction("partitionBy", "f", f);
  return (rf) => new PartitionByT(f, rf);
}

class KeepT<A, B> extends Wrapping<A, NonNullable<B>> {
  readonly #f: (x: A) => B | null | undefined;
  constructor(f: (x: A) => B | null | undefined, rf: Transformer<unknown, NonNullable<B>>) {
    super(rf);
    this.#f = f;
  }
  [STEP](acc: unknown, input: A): unknown {
    const v = this.#f(input);
    return v == null ? acc : this.rf[STEP](acc, v);
  }
}

/**
 * Passes on `f(input)` unless it is `null` or `undefined` (`0`, `false` and `""` are kept).
 * Throws TypeError if `f` is not a function.
 */
export function keep<A, B>(f: (x: A) => B | null | undefined): Transducer<A, NonNullable<B>> {
  assertFunction("keep", "f", f);
  return (rf) => new KeepT(f, rf);
}

class InterposeT<A, S> extends Wrapping<A, A | S> {
  readonly #sep: S;
  #started = false;
  constructor(sep: S, rf: Transformer<unknown, A | S>) {
    super(rf);
    this.#sep = sep;
  }
  [STEP](acc: unknown, input: A): unknown {
    if (!this.#started) {
      this.#started = true;
      return this.rf[STEP](acc, input);
    }
    const afterSep = this.rf[STEP](acc, this.#sep);
    return isReduced(afterSep) ? afterSep : this.rf[STEP](afterSep, input);
  }
}

/** Puts `sep` between consecutive inputs (not before the first nor after the last). */
export function interpose<S, A = S>(sep: S): Transducer<A, A | S> {
  return (rf) => new InterposeT<A, S>(sep, rf);
}

/**
 * Composes transducers so that data flows through them left to right, as Clojure's `comp`:
 * `comp(a, b)(rf)` is `a(b(rf))`. `comp()` is the identity transducer. Up to six stages are
 * typed stage by stage; beyond that (or when spreading an array) every stage must have one
 * type, so nest `comp` calls for longer mixed chains. Throws TypeError if an argument is not
 * a function.
 */
export function comp<A>(): Transducer<A, A>;
export function comp<A, B>(x1: Transducer<A, B>): Transducer<A, B>;
export function comp<A, B, C>(x1: Transducer<A, B>, x2: Transducer<B, C>): Transducer<A, C>;
export function comp<A, B, C, D>(
  x1: Transducer<A, B>,
  x2: Transducer<B, C>,
  x3: Transducer<C, D>,
): Transducer<A, D>;
export function comp<A, B, C, D, E>(
  x1: Transducer<A, B>,
  x2: Transducer<B, C>,
  x3: Transducer<C, D>,
  x4: Transducer<D, E>,
): Transducer<A, E>;
export function comp<A, B, C, D, E, F>(
  x1: Transducer<A, B>,
  x2: Transducer<B, C>,
  x3: Transducer<C, D>,
  x4: Transducer<D, E>,
  x5: Transducer<E, F>,
): Transducer<A, F>;
export function comp<A, B, C, D, E, F, G>(
  x1: Transducer<A, B>,
  x2: Transducer<B, C>,
  x3: Transducer<C, D>,
  x4: Transducer<D, E>,
  x5: Transducer<E, F>,
  x6: Transducer<F, G>,
): Transducer<A, G>;
export function comp<A>(...xforms: Transducer<A, A>[]): Transducer<A, A>;
export function comp(...xforms: Transducer<unknown, unknown>[]): Transducer<unknown, unknown> {
  xforms.forEach((x, i) => assertFunction("comp", `argument ${i}`, x));
  const [only] = xforms;
  if (xforms.length === 1 && only) return only;
  return function composed(rf) {
    return xforms.reduceRight((inner, xform) => xform(inner), rf);
  };
}

class ArrayPush<A> implements Transformer<A[], A> {
  [INIT](): A[] {
    return [];
  }
  [STEP](acc: A[], input: A): A[] {
    acc.push(input);
    return acc;
  }
  [RESULT](acc: A[]): A[] {
    return acc;
  }
}

/**
 * Runs `xform` eagerly over `iterable` into a new array, stopping early on reduced and
 * calling the completion step so stateful transducers flush. Throws TypeError if `xform` is
 * not a function or `iterable` is not iterable.
 */
export function sequence<In, Out>(xform: Transducer<In, Out>, iterable: Iterable<In>): Out[] {
  assertFunction("sequence", "xform", xform);
  if (iterable == null || typeof (iterable as Partial<Iterable<In>>)[Symbol.iterator] !== "function") {
    throw new WirechanTypeError("ERR_NOT_ITERABLE", `sequence: iterable must be iterable, got ${show(iterable)}`);
  }
  const rf: Transformer<unknown, In> = xform(new ArrayPush<Out>());
  let acc: unknown = [];
  for (const input of iterable) {
    acc = rf[STEP](acc, input);
    if (isReduced(acc)) {
      acc = unreduced(acc);
      break;
    }
  }
  return rf[RESULT](acc) as Out[];
}
