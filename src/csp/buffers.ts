import { RingQueue } from "./ring-queue.js";
import { WirechanRangeError } from "./errors.js";

/**
 * The storage behind a buffered channel (core.async's `Buffer` protocol). A channel adds to
 * its buffer while `full()` is false and parks puts otherwise; "windowed" buffers
 * (dropping, sliding, promise) are never full, so puts to them never park.
 *
 * Implement this to make a custom buffer; `add` may be called when `full()` is true (a
 * transducer such as `mapcat` can add several values for one put) and must then still
 * accept or drop the value by its own policy.
 */
export interface Buffer<T> {
  /** Whether the next put should park. */
  full(): boolean;
  /** Number of values ready to be taken. */
  count(): number;
  /** Stores a value (or drops it, by the buffer's policy). */
  add(value: T): void;
  /** Removes and returns the next value; only called when `count() > 0`. */
  remove(): T;
  /** Called once, when the channel closes. */
  close(): void;
}

function checkSize(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new WirechanRangeError(
      "ERR_BUFFER_SIZE",
      `${what}(n) needs a positive integer size, got ${String(n)}; use chan() (or chan(0)) for an unbuffered channel`,
    );
  }
}

/** The ring-backed buffers: they differ only in when they are full and what `add` drops. */
abstract class RingBuffer<T> extends RingQueue<T> implements Buffer<T> {
  constructor(
    readonly size: number,
    factory: string,
  ) {
    checkSize(size, factory);
    super(Math.min(size, 32)); // grows on demand: buffer(1e6) costs nothing until it fills
  }

  abstract full(): boolean;
  abstract add(value: T): void;

  count(): number {
    return this.length;
  }

  remove(): T {
    return this.shift() as T;
  }

  close(): void {}
}

/** Holds up to `n` values; puts park while it is full. */
export class FixedBuffer<T> extends RingBuffer<T> {
  constructor(size: number) {
    super(size, "buffer");
  }

  full(): boolean {
    return this.length >= this.size;
  }

  add(value: T): void {
    this.push(value);
  }
}

/** Holds up to `n` values and silently drops new ones when full; puts never park. */
export class DroppingBuffer<T> extends RingBuffer<T> {
  constructor(size: number) {
    super(size, "droppingBuffer");
  }

  full(): boolean {
    return false;
  }

  add(value: T): void {
    if (this.length < this.size) this.push(value);
  }
}

/** Holds the newest `n` values, dropping the oldest when full; puts never park. */
export class SlidingBuffer<T> extends RingBuffer<T> {
  constructor(size: number) {
    super(size, "slidingBuffer");
  }

  full(): boolean {
    return false;
  }

  add(value: T): void {
    if (this.length >= this.size) this.shift();
    this.push(value);
  }
}

/**
 * Keeps the first value forever: every take gets it, later values are dropped. Closed
 * before a value arrived, it hands out `undefined`. Behind {@link promiseChan}.
 */
export class PromiseBuffer<T> implements Buffer<T> {
  #delivered = false;
  #value: T | undefined = undefined;

  full(): boolean {
    return false;
  }

  count(): number {
    return this.#delivered ? 1 : 0;
  }

  add(value: T): void {
    if (this.#delivered) return;
    this.#delivered = true;
    this.#value = value;
  }

  remove(): T {
    return this.#value as T;
  }

  close(): void {
    this.#delivered = true;
  }
}

/** A fixed buffer of `n` (a positive integer): puts park while `n` values wait. */
export function buffer<T>(n: number): Buffer<T> {
  return new FixedBuffer<T>(n);
}

/** A buffer of `n` that drops new values while full; puts never park. */
export function droppingBuffer<T>(n: number): Buffer<T> {
  return new DroppingBuffer<T>(n);
}

/** A buffer of `n` that drops the oldest value to make room; puts never park. */
export function slidingBuffer<T>(n: number): Buffer<T> {
  return new SlidingBuffer<T>(n);
}
