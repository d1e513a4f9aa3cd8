/**
 * One producer, many listeners, and no listener able to hold the producer back: a topic's
 * subscribers (topic.ts), and the chat's and the dashboard's broadcast. Each listener (a local channel, or the proxy of a page's channel
 * that arrived over the wire) gets its own bounded queue and its own pump, so `broadcast` only
 * ever appends to queues and returns: it never awaits a listener.
 *
 * Why not `mult`: a mult waits for every tap to accept a value before the next, so one page that
 * stopped reading (a frozen tab, a session waiting to be resumed) stops every other page too.
 * Here such a listener's queue fills instead, and when it is full the listener is dropped, or
 * (`whenFull: "drop-oldest"`) its oldest value is.
 */
import { setMaxListeners } from "node:events";
import { MAX_PENDING } from "../csp/channel.js";
import { TooManyPendingError, WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { RingQueue } from "../csp/ring-queue.js";

/**
 * Where a listener gets its values: anything with `put` and `close`, such as a `Channel` or a
 * `RemoteChannel`. The signal, when the listener takes one, withdraws a put still waiting once
 * the listener is dropped, so its pump does not wait on a channel nobody reads.
 */
export interface Listener<T> {
  put(value: T, options?: ListenerPutOptions): Promise<boolean>;
  close(): unknown;
}

/** What a fan-out passes with each put. */
export interface ListenerPutOptions {
  signal?: AbortSignal;
  /**
   * The fan-out has credit to spare: a remote listener's side may answer this put in a batch
   * with later ones (`RemotePutOptions.lazyAnswer`). Set while the put leaves at most half of
   * `maxInFlight` in flight, so the put that passes half asks for a prompt answer, and with it
   * come those held before it: the pump never waits on a held answer.
   */
  lazyAnswer?: boolean;
}

/** Why a listener left (the reason `onDrop` gets). */
export type DropReason =
  /** Its queue was full when a value came: it fell `queueLength` values behind. */
  | "behind"
  /** Its put resolved `false`: its channel is closed, or its session ended. */
  | "closed"
  /** Its put threw or rejected (a value too large for that client, a session gone …). */
  | "failed"
  /** `remove` or `close` was called. */
  | "removed";

/**
 * What becomes of a listener whose queue is full when another value comes:
 * - `"disconnect"`: it has fallen too far behind: it is dropped (`"behind"`) and its channel
 *   closed (a page then joins again);
 * - `"drop-oldest"`: the oldest value of its queue is dropped to make room, and it stays: it
 *   misses values, never the newest;
 * - `"backpressure"`: nobody misses anything and the producer waits instead:
 *   {@link FanOut.broadcastWhenRoom} resolves once every queue has room, so the slowest
 *   listener sets the pace for all (as a `mult` does, but with a queue each). A listener that
 *   never reads holds every broadcast until it leaves (its session ends, or it is removed).
 *   `send` and `broadcast`, which never wait, still drop a listener whose queue is full.
 */
export type WhenFull = "disconnect" | "drop-oldest" | "backpressure";

/** The policies {@link WhenFull} allows, to check an option against. */
export const WHEN_FULL_POLICIES: readonly WhenFull[] = ["disconnect", "drop-oldest", "backpressure"];

/** The bounds of a {@link FanOut}. */
export interface FanOutOptions {
  /**
   * Values waiting for one listener; what happens when it is full is `whenFull`. Values sent
   * in one burst, before any put is answered, count too (past `maxInFlight`). Default 256.
   */
  queueLength?: number;
  /**
   * Bytes waiting for one listener, as `FanOutHooks.sizeOf` counts them: a queue holding this
   * many is full too, whatever its length, so a listener that stalls holds at most this plus
   * one value (a value is taken while the queue is under it). Default
   * `Number.MAX_SAFE_INTEGER`: without `sizeOf` nothing has a size, and only `queueLength` counts.
   */
  queueBytes?: number;
  /** When a listener's queue is full: see {@link WhenFull}. Default `"disconnect"`. */
  whenFull?: WhenFull;
  /** Listeners at once; a further `add` gets its channel closed and returns false. Default 10,000. */
  maxListeners?: number;
  /**
   * Puts to one listener made and not yet answered. A remote put is answered after a round
   * trip, so several go at once; kept well under the 1,024 puts a channel or a proxy lets wait.
   * Default 64.
   */
  maxInFlight?: number;
}

/** The defaults of {@link FanOutOptions}. */
export const fanOutDefaults: Required<FanOutOptions> = {
  queueLength: 256,
  queueBytes: Number.MAX_SAFE_INTEGER,
  whenFull: "disconnect",
  maxListeners: 10_000,
  maxInFlight: 64,
};

/** Told once per listener that leaves, with why and, for `"failed"`, what was thrown. */
export type DropHandler<T> = (listener: Listener<T>, reason: DropReason, error?: unknown) => void;

/** What a {@link FanOut} tells about the listeners it drops. */
export interface FanOutHooks<T> {
  /** Called once per listener that leaves. */
  onDrop?: DropHandler<T>;
  /**
   * The last value a listener dropped as `"behind"` or `"failed"` is sent, after what it was
   * already sent and before its channel is closed; undefined sends nothing. Why: closing the
   * proxy of a page's channel only releases it (docs/protocol.md section 5: only its owner
   * closes a channel), so without a word the page would never learn to join again.
   */
  farewell?: (reason: DropReason) => T | undefined;
  /** A value's size in bytes, for `queueBytes` (a topic's: its encoded text in UTF-8). Default 0. */
  sizeOf?: (value: T) => number;
}

/** One listener's queue and pump. */
class Outlet<T> {
  readonly queue = new RingQueue<T>(8);
  readonly stop = new AbortController();
  /** Puts made and not answered yet. */
  inFlight = 0;
  /** What the values in `queue` weigh together (`FanOutHooks.sizeOf`). */
  bytes = 0;
  /** Its queue is at `queueLength` (counted in `FanOut.#fullCount`). */
  full = false;
  // Made once per listener rather than per put: on a topic's path they were a good part of
  // what each delivery left to the garbage collector.
  /** The options of a put that may be answered lazily, and of one that asks for a prompt answer. */
  readonly lazyPut: ListenerPutOptions;
  readonly promptPut: ListenerPutOptions;
  /** What its puts' promises call when they settle (set by the fan-out that made it). */
  onAnswer: (taken: boolean) => void = unset;
  onFailure: (error: unknown) => void = unset;

  constructor(
    readonly listener: Listener<T>,
    maxInFlight: number,
  ) {
    // Each put in flight listens on the signal (and stops listening when answered): up to
    // maxInFlight at once is the design, not a leak for Node to warn of.
    setMaxListeners(maxInFlight, this.stop.signal);
    this.lazyPut = { signal: this.stop.signal, lazyAnswer: true };
    this.promptPut = { signal: this.stop.signal, lazyAnswer: false };
  }
}

/**
 * A broadcast to listeners, each with its own bounded queue. `send` and `broadcast` never wait;
 * a listener whose put fails, resolves false, or that falls `queueLength` values (or
 * `queueBytes` bytes) behind is dropped (closed, its pump stopped) and only it. Throws a `RangeError` for a bound that is not
 * a positive integer.
 */
export class FanOut<T> {
  private readonly outlets = new Map<Listener<T>, Outlet<T>>();
  private readonly queueLength: number;
  private readonly queueBytes: number;
  private readonly maxListeners: number;
  private readonly maxInFlight: number;
  private readonly whenFull: WhenFull;
  private closed = false;
  /** Listeners whose queue is full: a waiting broadcast goes once this is 0. */
  #fullCount = 0;
  /** Broadcasts waiting for room in every queue (`"backpressure"`), in order; at most MAX_PENDING. */
  readonly #waiting = new RingQueue<{ value: T; resolve: (sent: boolean) => void }>(4);

  private readonly onDrop: DropHandler<T>;
  private readonly farewell: (reason: DropReason) => T | undefined;
  private readonly sizeOf: (value: T) => number;

  constructor(options: FanOutOptions = {}, hooks: FanOutHooks<T> = {}) {
    this.onDrop = hooks.onDrop ?? ignoreDrop;
    this.farewell = hooks.farewell ?? noFarewell;
    this.sizeOf = hooks.sizeOf ?? sizeless;
    const resolved = { ...fanOutDefaults, ...options };
    this.queueLength = positiveInteger("queueLength", resolved.queueLength);
    this.queueBytes = positiveInteger("queueBytes", resolved.queueBytes);
    this.maxListeners = positiveInteger("maxListeners", resolved.maxListeners);
    this.maxInFlight = positiveInteger("maxInFlight", resolved.maxInFlight);
    if (!WHEN_FULL_POLICIES.includes(resolved.whenFull)) {
      throw new WirechanTypeError("ERR_INVALID_ARGUMENT", `FanOut: whenFull must be one of ${WHEN_FULL_POLICIES.join(", ")}, got ${JSON.stringify(resolved.whenFull)}`);
    }
    this.whenFull = resolved.whenFull;
  }

  /** Listeners now. */
  get size(): number {
    return this.outlets.size;
  }

  /** Whether `listener` is still here. */
  has(listener: Listener<T>): boolean {
    return this.outlets.has(listener);
  }

  /**
   * Adds a listener: true if added (or already here); false if the fan-out is full or closed,
   * and then the listener's channel is closed, so that its reader learns at once.
   */
  add(listener: Listener<T>): boolean {
    if (this.outlets.has(listener)) return true;
    if (this.closed || this.outlets.size >= this.maxListeners) {
      closeQuietly(listener);
      return false;
    }
    const outlet = new Outlet(listener, this.maxInFlight);
    outlet.onAnswer = (taken) => this.answered(outlet, taken);
    outlet.onFailure = (error) => this.failed(outlet, error);
    this.outlets.set(listener, outlet);
    return true;
  }

  /** Queues `value` for one listener; false if it is not here (or was dropped by this value). */
  send(listener: Listener<T>, value: T): boolean {
    const outlet = this.outlets.get(listener);
    return outlet === undefined ? false : this.enqueue(outlet, value);
  }

  /** Queues `value` for every listener; never waits. */
  broadcast(value: T): void {
    for (const outlet of [...this.outlets.values()]) this.enqueue(outlet, value);
  }

  /**
   * Queues `value` for every listener once every queue has room, after the broadcasts already
   * waiting: resolves `true` then, or `false` if the fan-out closes first. Throws a
   * `TooManyPendingError` when {@link MAX_PENDING} broadcasts already wait, as a channel does
   * for puts: a producer should await each.
   */
  broadcastWhenRoom(value: T): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.#waiting.length === 0 && this.#fullCount === 0) {
      this.broadcast(value);
      return Promise.resolve(true);
    }
    if (this.#waiting.length >= MAX_PENDING) throw new TooManyPendingError("puts", MAX_PENDING);
    return new Promise((resolve) => this.#waiting.push({ value, resolve }));
  }

  /** Drops a listener and closes its channel. */
  remove(listener: Listener<T>): void {
    const outlet = this.outlets.get(listener);
    if (outlet !== undefined) this.drop(outlet, "removed");
  }

  /**
   * Drops every listener (each channel closed, after `lastWord` if given: a topic tells its
   * clients it closed); later `add`s are refused.
   */
  close(lastWord?: T): void {
    this.closed = true;
    for (const outlet of [...this.outlets.values()]) this.drop(outlet, "removed", undefined, lastWord);
    while (this.#waiting.length > 0) this.#waiting.shift()?.resolve(false);
  }

  private enqueue(outlet: Outlet<T>, value: T): boolean {
    if (this.#isFull(outlet)) {
      if (this.whenFull === "drop-oldest") {
        // By bytes, one large value may make room for several small ones: as many go as it takes.
        while (this.#isFull(outlet)) this.#shift(outlet);
      } else {
        // "disconnect"; and "backpressure" waits in broadcastWhenRoom, so a send or broadcast that cannot wait may not overfill a queue either.
        this.drop(outlet, "behind");
        return false;
      }
    }
    outlet.queue.push(value);
    outlet.bytes += this.sizeOf(value);
    this.#noteLength(outlet);
    this.pump(outlet);
    return true;
  }

  /** Whether the outlet's queue takes no more: `queueLength` values, or `queueBytes` bytes. */
  #isFull(outlet: Outlet<T>): boolean {
    return outlet.queue.length >= this.queueLength || outlet.bytes >= this.queueBytes;
  }

  /** The oldest queued value, out of the queue and its byte count. */
  #shift(outlet: Outlet<T>): T {
    const value = outlet.queue.shift() as T;
    outlet.bytes -= this.sizeOf(value);
    return value;
  }

  /** Keeps `#fullCount` true to the outlet's queue length and bytes. */
  #noteLength(outlet: Outlet<T>): void {
    const full = this.#isFull(outlet);
    if (full === outlet.full) return;
    outlet.full = full;
    this.#fullCount += full ? 1 : -1;
  }

  /** Sends the waiting broadcasts, in order, while every queue has room. */
  #release(): void {
    if (this.closed) return;
    while (this.#waiting.length > 0 && this.#fullCount === 0) {
      const next = this.#waiting.shift();
      if (next === undefined) return;
      this.broadcast(next.value);
      next.resolve(true);
    }
  }

  /**
   * Puts queued values, in order, keeping at most `maxInFlight` unanswered: a remote put is
   * answered only after a round trip, so one at a time would let a listener that reads at once
   * fall behind a busy room. Both kinds of channel keep the order of puts made one after another.
   */
  private pump(outlet: Outlet<T>): void {
    while (outlet.inFlight < this.maxInFlight && outlet.queue.length > 0 && this.outlets.get(outlet.listener) === outlet) {
      const value = this.#shift(outlet);
      outlet.inFlight++;
      let answer: Promise<boolean>;
      try {
        answer = outlet.listener.put(value, outlet.inFlight <= this.maxInFlight >> 1 ? outlet.lazyPut : outlet.promptPut);
      } catch (error) {
        this.drop(outlet, "failed", error);
        return;
      }
      answer.then(outlet.onAnswer, outlet.onFailure);
    }
    this.#noteLength(outlet);
  }

  private answered(outlet: Outlet<T>, taken: boolean): void {
    outlet.inFlight--;
    if (taken) this.pump(outlet);
    else this.drop(outlet, "closed");
    this.#release();
  }

  private failed(outlet: Outlet<T>, error: unknown): void {
    outlet.inFlight--;
    // A put withdrawn because the listener was dropped already says nothing new.
    if (!outlet.stop.signal.aborted) this.drop(outlet, "failed", error);
  }

  private drop(outlet: Outlet<T>, reason: DropReason, error?: unknown, lastWord?: T): void {
    if (this.outlets.get(outlet.listener) !== outlet) return;
    this.outlets.delete(outlet.listener);
    outlet.queue.clear();
    outlet.bytes = 0;
    this.#noteLength(outlet);
    // Withdraws the puts still waiting (in a channel's or a proxy's queue) before the farewell.
    outlet.stop.abort();
    const last = lastWord ?? (reason === "behind" || reason === "failed" ? this.farewell(reason) : undefined);
    if (last !== undefined) putQuietly(outlet.listener, last);
    closeQuietly(outlet.listener);
    this.onDrop(outlet.listener, reason, error);
    // A listener that was full no longer holds the broadcasts waiting for room.
    this.#release();
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new WirechanRangeError("ERR_INVALID_ARGUMENT", `FanOut: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** A listener's close must not stop the loop that drops it (a proxy of a session already gone …). */
function closeQuietly(listener: Listener<unknown>): void {
  try {
    listener.close();
  } catch {
    // Nothing more to tell it: it is gone either way.
  }
}

/** A put nobody waits for: the listener is being dropped (or refused), whatever becomes of it. */
export function putQuietly<T>(listener: Listener<T>, value: T): void {
  try {
    listener.put(value).catch(ignoreDrop);
  } catch {
    // Too large, or the session is gone: it leaves without the word.
  }
}

function unset(): void {
  // An outlet's handlers before its fan-out sets them: no put is made before.
}

function sizeless(): number {
  return 0;
}

function noFarewell(): undefined {
  return undefined;
}

function ignoreDrop(): void {
  // Nobody asked to hear about drops.
}
