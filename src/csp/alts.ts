import { type Channel, checkPutValue, PENDING } from "./channel.js";
import { AltFlag, Waiter } from "./waiter.js";
import { WirechanTypeError } from "./errors.js";

/** A take from a channel, or a put of a value to it. */
export type AltOp<T> = Channel<T, unknown> | readonly [Channel<unknown, T>, T];

/** Options for {@link alts}. */
export interface AltsOptions<D> {
  /** Try the operations in the order given instead of a random order. Default false. */
  priority?: boolean;
  /** If no operation can complete now, resolve `{ value: default, channel: "default" }` at once. */
  default?: D;
  /** Aborting it rejects a pending `alts` with the signal's reason; no operation happens. */
  signal?: AbortSignal;
}

/**
 * What `alts` did: for a take, the value taken (`undefined` if that channel was closed); for a
 * put, its boolean result. `channel` is the channel of the operation that happened, or
 * `"default"`.
 */
export interface AltsResult<T, D = never> {
  value: T | boolean | undefined | D;
  channel: Channel<T, unknown> | Channel<unknown, T> | "default";
}

/**
 * Completes exactly one of several channel operations (core.async `alts!`). Operations that
 * are ready are chosen at random unless `priority` is set; with `default` and none ready, it
 * resolves at once with the default; otherwise it waits for the first to become possible.
 *
 * Throws synchronously: a `TypeError` for an empty list without `default`, for `undefined` as
 * a put value, and for a channel that is both put to and taken from in the same call (it
 * could only ever meet itself); a `TooManyPendingError` if a channel's pending queue is full.
 */
export function alts<T, D = never>(ops: ReadonlyArray<AltOp<T>>, options?: AltsOptions<D>): Promise<AltsResult<T, D>> {
  const hasDefault = options !== undefined && "default" in options;
  const n = ops.length;
  if (n === 0 && !hasDefault) throw new WirechanTypeError("ERR_ALTS_NO_OPERATIONS", "alts needs at least one operation (or a default)");
  checkOps(ops);
  const signal = options?.signal;
  if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason as unknown);

  const order = options?.priority === true ? null : shuffledIndices(n);
  for (let i = 0; i < n; i++) {
    const op = ops[order === null ? i : (order[i] as number)] as AltOp<T>;
    if (Array.isArray(op)) {
      const [channel, value] = op as readonly [Channel<unknown, T>, T];
      const done = channel.tryPut(value);
      if (done !== PENDING) return Promise.resolve({ value: done, channel });
    } else {
      const channel = op as Channel<T, unknown>;
      const value = channel.tryTake();
      if (value !== PENDING) return Promise.resolve({ value: value as T | undefined, channel });
    }
  }
  if (hasDefault) return Promise.resolve({ value: options.default as D, channel: "default" });
  let flag!: AltFlag;
  const promise = new Promise<AltsResult<T, D>>((resolve, reject) => {
    flag = new AltFlag(resolve as (r: { value: unknown; channel: unknown }) => void, reject);
  });
  // Parked outside the executor: a full queue must throw synchronously, as from put/take,
  // not reject; and the operations parked before it must go inert, or a later put or take
  // on their channels would complete them and its value would vanish into a dead promise.
  try {
    parkAll(ops, flag, order);
  } catch (error) {
    flag.active = false;
    throw error;
  }
  if (signal !== undefined) {
    flag.signal = signal;
    signal.addEventListener("abort", flag);
  }
  return promise;
}

function parkAll<T>(ops: ReadonlyArray<AltOp<T>>, flag: AltFlag, order: Uint32Array | null): void {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[order === null ? i : (order[i] as number)] as AltOp<T>;
    if (Array.isArray(op)) {
      const [channel, value] = op as readonly [Channel<unknown, T>, T];
      channel.parkAlt(new Waiter(value, null, null, flag, channel), true);
    } else {
      const channel = op as Channel<T, unknown>;
      channel.parkAlt(new Waiter(undefined, null, null, flag, channel), false);
    }
  }
}

function checkOps<T>(ops: ReadonlyArray<AltOp<T>>): void {
  let putTo: Set<unknown> | null = null;
  let takeFrom: Set<unknown> | null = null;
  for (const op of ops) {
    if (Array.isArray(op)) {
      const [channel, value] = op as readonly [Channel<unknown, T>, T];
      checkPutValue(value);
      (putTo ??= new Set()).add(channel);
    } else {
      (takeFrom ??= new Set()).add(op);
    }
  }
  if (putTo === null || takeFrom === null) return;
  for (const channel of putTo) {
    if (takeFrom.has(channel)) {
      throw new WirechanTypeError("ERR_ALTS_SAME_CHANNEL", "alts cannot both put to and take from the same channel in one call");
    }
  }
}

function shuffledIndices(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const tmp = order[i] as number;
    order[i] = order[j] as number;
    order[j] = tmp;
  }
  return order;
}
