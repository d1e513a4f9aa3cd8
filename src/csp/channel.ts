import { type Buffer, FixedBuffer, PromiseBuffer } from "./buffers.js";
import { TooManyPendingError, WirechanTypeError } from "./errors.js";
import { RingQueue } from "./ring-queue.js";
import { isReduced, type Transducer, type Transformer } from "./transducer-protocol.js";
import { isInactive, parkWaiter, type Waiter } from "./waiter.js";

/**
 * Most operations that may wait (parked puts, parked takes) on one channel, as in core.async.
 * A producer that needs more than this needs a buffer instead.
 */
export const MAX_PENDING = 1024;

/** Returned by the internal non-blocking attempts when the operation would have to wait. */
export const PENDING: unique symbol = Symbol("wirechan.pending");
export type Pending = typeof PENDING;

/** Options for one `put` or `take`. */
export interface OpOptions {
  /** Aborting it rejects the pending operation with the signal's reason and consumes nothing. */
  signal?: AbortSignal | undefined;
}

/** Called with what a channel's transducer threw; a non-`undefined` result is buffered instead. */
export type ExHandler<T> = (error: unknown) => T | undefined;

const TRUE: Promise<boolean> = Promise.resolve(true);
const FALSE: Promise<boolean> = Promise.resolve(false);
const UNDEFINED: Promise<undefined> = Promise.resolve(undefined);
/** A fresh result each time, as an async generator gives: a caller may keep or change it. */
function done(): Promise<IteratorReturnResult<undefined>> {
  return Promise.resolve({ value: undefined, done: true });
}

function toIteratorResult(value: unknown): IteratorResult<unknown, undefined> {
  return value === undefined ? { value: undefined, done: true } : { value, done: false };
}

/** The transformer at the bottom of every channel transducer: it adds to the buffer. */
const addToBuffer: Transformer<Buffer<unknown>, unknown> = {
  "@@transducer/init": () => {
    throw new WirechanTypeError("ERR_NO_INIT", "a channel transducer cannot ask for an initial value");
  },
  "@@transducer/step": (buf, value) => {
    buf.add(value);
    return buf;
  },
  "@@transducer/result": (buf) => buf,
};

function reportTransducerError(error: unknown): undefined {
  console.error("wirechan: a channel transducer threw; the value was dropped:", error);
  return undefined;
}

export function checkPutValue(value: unknown): void {
  if (value === undefined) {
    throw new WirechanTypeError("ERR_UNDEFINED_PUT", "undefined cannot be put on a channel (it means \"closed\"); use null for an empty value");
  }
}

/**
 * A CSP channel, faithful to Clojure's core.async `ManyToManyChannel`.
 *
 * - `T` is what takes return; `In` is what puts accept (they differ when a transducer maps).
 * - `undefined` marks "closed and drained" and can never be put; `null` is an ordinary value.
 * - Pending puts and pending takes are each served first in, first out, and at most
 *   {@link MAX_PENDING} of each may wait; the next one throws a {@link TooManyPendingError}.
 * - Completions are delivered by settling promises, so no callback ever runs inside the
 *   caller's `put` or `take`.
 *
 * Make channels with {@link chan} or {@link promiseChan}.
 */
export class Channel<T, In = T> {
  #buf: Buffer<unknown> | null;
  readonly #puts = new RingQueue<Waiter>(4);
  readonly #takes = new RingQueue<Waiter>(4);
  readonly #xform: Transformer<Buffer<unknown>, unknown> | null;
  readonly #exHandler: ExHandler<unknown>;
  #isClosed = false;
  /** The transducer's completion step has run (it must run exactly once). */
  #completed = false;
  /** Who wants to know when the channel closes (the wire layer, for proxies on the other side); usually none. */
  #closeWatchers: Array<() => void> | null = null;

  /** Most code calls {@link chan} or {@link promiseChan}, which build the buffer from a size. */
  constructor(
    buf: Buffer<T> | null,
    xform: Transducer<In, T> | undefined,
    exHandler: ExHandler<T> | undefined,
  ) {
    if (xform !== undefined && buf === null) {
      throw new WirechanTypeError("ERR_XFORM_NEEDS_BUFFER", "a channel with a transducer needs a buffer: chan(n, xform) with n >= 1");
    }
    this.#buf = buf as Buffer<unknown> | null;
    this.#xform = xform === undefined ? null : (xform(addToBuffer as Transformer<Buffer<unknown>, T>) as Transformer<Buffer<unknown>, unknown>);
    this.#exHandler = (exHandler as ExHandler<unknown> | undefined) ?? reportTransducerError;
  }

  /** True as soon as `close()` was called, even while values remain to be taken. */
  get closed(): boolean {
    return this.#isClosed;
  }

  /**
   * Puts a value. Resolves `true` once a buffer or a taker accepted it, `false` if the
   * channel was closed. Throws a `TypeError` for `undefined` and a
   * {@link TooManyPendingError} when {@link MAX_PENDING} puts already wait.
   */
  put(value: In, options?: OpOptions): Promise<boolean> {
    checkPutValue(value);
    const signal = options?.signal;
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason as unknown);
    const done = this.tryPut(value);
    if (done === true) return TRUE;
    if (done === false) return FALSE;
    this.#reserve(this.#puts, "puts");
    return parkWaiter<boolean>(this.#puts, value, signal);
  }

  /**
   * Takes a value. Resolves `undefined` once the channel is closed and drained. Throws a
   * {@link TooManyPendingError} when {@link MAX_PENDING} takes already wait.
   */
  take(options?: OpOptions): Promise<T | undefined> {
    const signal = options?.signal;
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason as unknown);
    const value = this.tryTake();
    if (value !== PENDING) return value === undefined ? UNDEFINED : Promise.resolve(value as T);
    this.#reserve(this.#takes, "takes");
    return parkWaiter<T | undefined>(this.#takes, undefined, signal);
  }

  /** Puts only if that can happen now; never waits. True if the value was accepted. */
  offer(value: In): boolean {
    checkPutValue(value);
    return this.tryPut(value) === true;
  }

  /** Takes only if a value is ready now; never waits. `undefined` if none (or closed). */
  poll(): T | undefined {
    const value = this.tryTake();
    return value === PENDING ? undefined : (value as T | undefined);
  }

  /**
   * Closes the channel; idempotent. Later puts resolve `false`; buffered values and parked
   * puts are still delivered to takers; once drained, takes resolve `undefined`.
   */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const buf = this.#buf;
    if (buf !== null && this.#puts.length === 0) this.#complete();
    const takes = this.#takes;
    while (takes.length > 0) {
      const taker = takes.shift() as Waiter;
      if (!taker.isActive()) continue;
      taker.fire(buf !== null && buf.count() > 0 ? buf.remove() : undefined);
    }
    if (buf !== null) buf.close();
    const watchers = this.#closeWatchers;
    this.#closeWatchers = null;
    if (watchers !== null) for (const fn of watchers) fn();
  }

  /**
   * Calls `fn` once when the channel closes (at once, in a microtask, if it is closed already).
   * Returns a function that cancels the watch.
   *
   * @internal For the wire layer, which tells proxies on the other side; not part of the API.
   */
  watchClose(fn: () => void): () => void {
    if (this.#isClosed) {
      queueMicrotask(fn);
      return noop;
    }
    (this.#closeWatchers ??= []).push(fn);
    return () => {
      const watchers = this.#closeWatchers;
      const at = watchers === null ? -1 : watchers.indexOf(fn);
      if (at !== -1) watchers?.splice(at, 1);
    };
  }

  /**
   * Iterates the values until the channel is closed and drained. Breaking out does not close it.
   *
   * A plain iterator rather than an async generator: each `next()` is one take whose promise
   * settles with the iterator result itself, where a generator adds several promise hops per
   * value (this is the loop of every server channel).
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new ChannelIterator(this);
  }

  /** @internal A take that settles with an iterator result (`done` once closed and drained). */
  takeResult(): Promise<IteratorResult<T, undefined>> {
    const value = this.tryTake();
    if (value !== PENDING) return value === undefined ? done() : Promise.resolve({ value: value as T, done: false });
    this.#reserve(this.#takes, "takes");
    return parkWaiter<IteratorResult<T, undefined>>(this.#takes, undefined, undefined, toIteratorResult);
  }

  /**
   * @internal A put that never parks: `true`/`false` when it completed now, else
   * {@link PENDING} and nothing changed.
   */
  tryPut(value: unknown): boolean | Pending {
    if (this.#isClosed) return false;
    const buf = this.#buf;
    if (buf !== null && !buf.full()) {
      const done = this.#add(value);
      if (this.#takes.length > 0) this.#serveTakersFromBuffer(buf);
      if (done) this.#abort();
      return true;
    }
    const takes = this.#takes;
    while (takes.length > 0) {
      const taker = takes.shift() as Waiter;
      if (!taker.isActive()) continue;
      taker.fire(value);
      return true;
    }
    return PENDING;
  }

  /**
   * @internal A take that never parks: the value (or `undefined` when closed and drained)
   * when it completed now, else {@link PENDING} and nothing changed.
   */
  tryTake(): unknown {
    const buf = this.#buf;
    if (buf !== null && buf.count() > 0) {
      const value = buf.remove();
      if (this.#puts.length > 0) this.#refillFromPuts(buf);
      return value;
    }
    const puts = this.#puts;
    while (puts.length > 0) {
      const putter = puts.shift() as Waiter;
      if (!putter.isActive()) continue;
      putter.fire(true);
      return putter.value;
    }
    if (!this.#isClosed) return PENDING;
    if (buf === null) return undefined;
    this.#complete();
    return buf.count() > 0 ? buf.remove() : undefined;
  }

  /** @internal Parks an `alts` operation (after `tryPut`/`tryTake` said it must wait). */
  parkAlt(waiter: Waiter, isPut: boolean): void {
    const queue = isPut ? this.#puts : this.#takes;
    this.#reserve(queue, isPut ? "puts" : "takes");
    queue.push(waiter);
  }

  /** Makes room for one more waiter, dropping dead `alts` entries first; throws at the limit. */
  #reserve(queue: RingQueue<Waiter>, kind: "puts" | "takes"): void {
    if (queue.length < MAX_PENDING) return;
    queue.removeWhere(isInactive);
    if (queue.length >= MAX_PENDING) throw new TooManyPendingError(kind, MAX_PENDING);
  }

  /** Adds through the transducer. Returns true when the transducer said "reduced". */
  #add(value: unknown): boolean {
    const buf = this.#buf as Buffer<unknown>;
    const xform = this.#xform;
    if (xform === null) {
      buf.add(value);
      return false;
    }
    try {
      return isReduced(xform["@@transducer/step"](buf, value));
    } catch (error) {
      this.#handle(error);
      return false;
    }
  }

  /** Runs the transducer's completion step, once, so stateful transducers flush. */
  #complete(): void {
    if (this.#completed) return;
    this.#completed = true;
    const xform = this.#xform;
    if (xform === null) return;
    try {
      xform["@@transducer/result"](this.#buf as Buffer<unknown>);
    } catch (error) {
      this.#handle(error);
    }
  }

  #handle(error: unknown): void {
    let replacement: unknown;
    try {
      replacement = this.#exHandler(error);
    } catch (handlerError) {
      replacement = reportTransducerError(handlerError);
    }
    if (replacement !== undefined) (this.#buf as Buffer<unknown>).add(replacement);
  }

  #serveTakersFromBuffer(buf: Buffer<unknown>): void {
    const takes = this.#takes;
    while (takes.length > 0 && buf.count() > 0) {
      const taker = takes.shift() as Waiter;
      if (taker.isActive()) taker.fire(buf.remove());
    }
  }

  #refillFromPuts(buf: Buffer<unknown>): void {
    const puts = this.#puts;
    while (puts.length > 0 && !buf.full()) {
      const putter = puts.shift() as Waiter;
      if (!putter.isActive()) continue;
      putter.fire(true);
      if (this.#add(putter.value)) {
        this.#abort();
        return;
      }
    }
  }

  /** A transducer said "reduced": parked puts succeed (their values dropped), then close. */
  #abort(): void {
    const puts = this.#puts;
    while (puts.length > 0) {
      const putter = puts.shift() as Waiter;
      if (putter.isActive()) putter.fire(true);
    }
    this.close();
  }
}

function noop(): void {}

/** The iterator of {@link Channel}'s `for await`. */
class ChannelIterator<T> implements AsyncIterableIterator<T> {
  readonly #channel: Channel<T, unknown>;

  constructor(channel: Channel<T, unknown>) {
    this.#channel = channel;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    return this.#channel.takeResult();
  }

  /** Leaving the loop early: the channel stays open, nothing is taken. */
  return(): Promise<IteratorResult<T, undefined>> {
    return done();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/**
 * Makes a channel.
 *
 * @param bufOrN `undefined`, `null` or `0` for an unbuffered channel (a put waits for a
 *   taker); a positive integer `n` for `buffer(n)`; or any {@link Buffer}.
 * @param xform a transducer applied to every put value (needs a buffer, else `TypeError`).
 * @param exHandler called with what the transducer throws; a non-`undefined` result is put
 *   in the buffer instead. Without one the error is logged with `console.error` and the value
 *   dropped.
 */
export function chan<T, In = T>(
  bufOrN?: number | Buffer<T> | null,
  xform?: Transducer<In, T>,
  exHandler?: ExHandler<T>,
): Channel<T, In> {
  let buf: Buffer<T> | null;
  if (bufOrN === undefined || bufOrN === null || bufOrN === 0) buf = null;
  else if (typeof bufOrN === "number") buf = new FixedBuffer<T>(bufOrN);
  else buf = bufOrN;
  return new Channel<T, In>(buf, xform, exHandler);
}

/**
 * A channel that keeps the first value put on it forever: every take, now or later, gets it;
 * later puts resolve `true` and are dropped. Closed before a value, takes get `undefined`.
 */
export function promiseChan<T, In = T>(xform?: Transducer<In, T>, exHandler?: ExHandler<T>): Channel<T, In> {
  return new Channel<T, In>(new PromiseBuffer<T>(), xform, exHandler);
}

/** True for a channel made by this library. */
export function isChannel(x: unknown): x is Channel<unknown, unknown> {
  return x instanceof Channel;
}
