import { alts } from "./alts.js";
import type { Buffer } from "./buffers.js";
import { type Channel, chan } from "./channel.js";
import { spawn } from "./spawn.js";
import {
  completing,
  isReduced,
  type ReducingFunction,
  type Transducer,
  type Transformer,
  unreduced,
} from "./transducer-protocol.js";

/**
 * Takes from `from` and puts onto `to` until `from` closes (then closes `to` unless `close`
 * is false) or `to` refuses a put because it is closed. Returns `to`.
 */
export function pipe<T, C extends Channel<unknown, T>>(from: Channel<T, unknown>, to: C, close = true): C {
  spawn(pipeLoop(from, to, close), "pipe");
  return to;
}

async function pipeLoop<T>(from: Channel<T, unknown>, to: Channel<unknown, T>, close: boolean): Promise<void> {
  for (;;) {
    const value = await from.take();
    if (value === undefined) {
      if (close) to.close();
      return;
    }
    if (!(await to.put(value))) return;
  }
}

/**
 * One channel carrying the values of all of `chs` (taken fairly, at random, as core.async's
 * `merge`), closed once every input is closed. If the output is closed, merging stops.
 */
export function merge<T>(chs: ReadonlyArray<Channel<T, unknown>>, bufOrN?: number | Buffer<T>): Channel<T> {
  const out = chan<T>(bufOrN);
  spawn(mergeLoop(chs, out), "merge");
  return out;
}

async function mergeLoop<T>(chs: ReadonlyArray<Channel<T, unknown>>, out: Channel<T>): Promise<void> {
  let open = [...chs];
  while (open.length > 0) {
    const { value, channel } = await alts<T>(open);
    if (value === undefined) {
      open = open.filter((c) => c !== channel);
    } else if (!(await out.put(value as T))) {
      return;
    }
  }
  out.close();
}

/**
 * Splits `ch` by `pred`: values for which it is true go to the first channel, the others to
 * the second. Both close when `ch` closes. Buffers default to unbuffered. As core.async, the
 * split stops taking from `ch` (closing neither output) once a put is refused because its
 * target is closed, like {@link pipe}.
 */
export function split<T>(
  pred: (value: T) => boolean,
  ch: Channel<T, unknown>,
  tBufOrN?: number | Buffer<T>,
  fBufOrN?: number | Buffer<T>,
): [Channel<T>, Channel<T>] {
  const yes = chan<T>(tBufOrN);
  const no = chan<T>(fBufOrN);
  spawn(splitLoop(pred, ch, yes, no), "split");
  return [yes, no];
}

async function splitLoop<T>(pred: (value: T) => boolean, ch: Channel<T, unknown>, yes: Channel<T>, no: Channel<T>): Promise<void> {
  for (;;) {
    const value = await ch.take();
    if (value === undefined) {
      yes.close();
      no.close();
      return;
    }
    if (!(await (pred(value) ? yes : no).put(value))) return;
  }
}

/**
 * Reduces the values of `ch` with `f` until it closes (or `f` returns `reduced`). Resolves
 * to the final accumulator.
 */
export async function reduce<Acc, T>(f: ReducingFunction<Acc, T>, init: Acc, ch: Channel<T, unknown>): Promise<Acc> {
  let acc = init;
  for (;;) {
    const value = await ch.take();
    if (value === undefined) return acc;
    const next = f(acc, value);
    if (isReduced(next)) return unreduced(next);
    acc = next as Acc;
  }
}

/**
 * Reduces the values of `ch` through a transducer: `f` may be a plain `(acc, v) => acc`
 * function (its completion returns the accumulator unchanged) or a transformer. The
 * completion step runs once at the end, so stateful transducers flush.
 */
export async function transduce<Acc, In, Out>(
  xform: Transducer<In, Out>,
  f: ReducingFunction<Acc, Out> | Transformer<Acc, Out>,
  init: Acc,
  ch: Channel<In, unknown>,
): Promise<Acc> {
  const rf = xform(completing(f)) as Transformer<Acc, In>;
  const acc = await reduce<Acc, In>(rf["@@transducer/step"].bind(rf), init, ch);
  return rf["@@transducer/result"](acc);
}

/** Resolves to a new array: the items of `array`, then every value of `ch` until it closes. */
export function into<T>(array: ReadonlyArray<T>, ch: Channel<T, unknown>): Promise<T[]> {
  return reduce<T[], T>(pushInto, [...array], ch);
}

function pushInto<T>(acc: T[], value: T): T[] {
  acc.push(value);
  return acc;
}

/**
 * Puts the items of `iterable` onto `ch`, one after the other, then closes it unless `close`
 * is false. Resolves when every item was put or the channel closed.
 */
export async function onto<T>(ch: Channel<unknown, T>, iterable: Iterable<T>, close = true): Promise<void> {
  for (const item of iterable) {
    if (!(await ch.put(item))) return;
  }
  if (close) ch.close();
}

/**
 * A channel holding the items of `iterable`, closed after the last. Its buffer is sized to
 * an array's length (at most 100), as core.async's `to-chan!`.
 */
export function toChan<T>(iterable: Iterable<T>): Channel<T> {
  const n = Array.isArray(iterable) ? Math.min(iterable.length, 100) : 100;
  const ch = chan<T>(n);
  spawn(onto(ch, iterable), "toChan");
  return ch;
}
