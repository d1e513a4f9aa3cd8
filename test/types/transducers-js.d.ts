/**
 * The few parts of transducers-js (which ships no types) that the interop tests use. It speaks
 * the same `@@transducer/*` protocol as src/csp/transducer-protocol.ts; the types below are
 * that protocol spelled structurally (an ambient module cannot import a relative path), so
 * they are interchangeable with ours.
 */
declare module "transducers-js" {
  interface Transformer<Acc, In> {
    "@@transducer/init"(): Acc;
    "@@transducer/step"(acc: Acc, input: In): Acc | Reduced<Acc>;
    "@@transducer/result"(acc: Acc): Acc;
  }
  interface Reduced<T> {
    readonly "@@transducer/reduced": true;
    readonly "@@transducer/value": T;
  }
  type Transducer<In, Out> = (rf: Transformer<unknown, Out>) => Transformer<unknown, In>;
  type StepFunction<Acc, In> = (acc: Acc, input: In) => Acc | Reduced<Acc>;

  interface TransducersJs {
    map<A, B>(f: (x: A) => B): Transducer<A, B>;
    filter<A>(pred: (x: A) => unknown): Transducer<A, A>;
    take<A>(n: number): Transducer<A, A>;
    partitionAll<A>(n: number): Transducer<A, A[]>;
    cat: Transducer<Iterable<unknown>, unknown>;
    /** Needs at least two arguments. */
    comp(
      first: Transducer<unknown, unknown>,
      second: Transducer<unknown, unknown>,
      ...rest: Transducer<unknown, unknown>[]
    ): Transducer<unknown, unknown>;
    reduced<T>(value: T): Reduced<T>;
    isReduced(x: unknown): boolean;
    transduce<Acc, In, Out>(
      xform: Transducer<In, Out>,
      rf: StepFunction<Acc, Out> | Transformer<Acc, Out>,
      init: Acc,
      coll: Iterable<In>,
    ): Acc;
    into<In, Out>(empty: Out[], xform: Transducer<In, Out>, coll: Iterable<In>): Out[];
  }

  const transducers: TransducersJs;
  export default transducers;
}
