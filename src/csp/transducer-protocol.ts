/**
 * The transducer protocol shared by transducers-js, Ramda and others: a transformer is an
 * object with `@@transducer/init`, `@@transducer/step` and `@@transducer/result`, and early
 * termination is signalled by wrapping the accumulator in a "reduced" box. Speaking this
 * protocol (rather than a private one) lets transducers from those libraries run on our
 * channels, and ours run in their `transduce`.
 */

import { WirechanTypeError } from "./errors.js";

/** A reducing step with its start and completion arities, in the shared protocol. */
export interface Transformer<Acc, In> {
  "@@transducer/init"(): Acc;
  "@@transducer/step"(acc: Acc, input: In): Acc | Reduced<Acc>;
  "@@transducer/result"(acc: Acc): Acc;
}

/**
 * A transducer turns a transformer of `Out` into a transformer of `In`. The accumulator type
 * is left open (`any` inside the protocol only) because one transducer serves many reducers.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the protocol is generic in the accumulator
export type Transducer<In, Out> = (rf: Transformer<any, Out>) => Transformer<any, In>;

/** The box that marks an accumulator as final: no more input will be stepped. */
export interface Reduced<T> {
  readonly "@@transducer/reduced": true;
  readonly "@@transducer/value": T;
}

/** Wraps `value` so that a reduction stops after this step. */
export function reduced<T>(value: T): Reduced<T> {
  return { "@@transducer/reduced": true, "@@transducer/value": value };
}

/** True for a value made by {@link reduced} (or by another library speaking the protocol). */
export function isReduced(x: unknown): x is Reduced<unknown> {
  return (
    typeof x === "object" &&
    x !== null &&
    (x as { "@@transducer/reduced"?: unknown })["@@transducer/reduced"] === true
  );
}

/** The value inside a reduced box, or `x` itself when it is not boxed. */
export function unreduced<T>(x: T | Reduced<T>): T {
  return isReduced(x) ? (x as Reduced<T>)["@@transducer/value"] : (x as T);
}

/** Boxes `x` unless it already is. */
export function ensureReduced<T>(x: T | Reduced<T>): Reduced<T> {
  return isReduced(x) ? (x as Reduced<T>) : reduced(x as T);
}

/** A plain two-argument reducing function, as accepted by `reduce` and `transduce`. */
export type ReducingFunction<Acc, In> = (acc: Acc, input: In) => Acc | Reduced<Acc>;

/**
 * Turns a plain `(acc, v) => acc` function into a transformer whose completion returns the
 * accumulator unchanged (Clojure's `completing`). A transformer passes through untouched.
 */
export function completing<Acc, In>(
  f: ReducingFunction<Acc, In> | Transformer<Acc, In>,
  init?: () => Acc,
): Transformer<Acc, In> {
  if (typeof f !== "function") return f;
  return {
    "@@transducer/init": init ?? noInit,
    "@@transducer/step": f,
    "@@transducer/result": identity,
  };
}

function noInit(): never {
  throw new WirechanTypeError("ERR_NO_INIT", "this reducing function has no init arity: pass an initial value");
}

function identity<T>(x: T): T {
  return x;
}
