// When a session's Writer flushes (see writer.ts): at the end of the event loop's turn (after
// every microtask of the current task, before anything else waits long) for answers to puts,
// and at the end of the tick (a microtask) for everything else. Callbacks take one argument,
// so that a session passes itself to a shared function instead of keeping a closure of its
// own for each of these (an idle server holds thousands of sessions).

/** A callback and the argument it is called with. */
export type TurnCallback<T> = (arg: T) => void;

/** Runs callbacks once the current task and its microtasks are done. */
export interface EndOfTurn {
  /** Schedules `callback(arg)`; returns what `cancel` takes (never undefined). */
  schedule<T>(callback: TurnCallback<T>, arg: T): unknown;
  /** Drops a scheduled callback where the platform can (Node): true when it will not run. */
  cancel(handle: unknown): boolean;
}

/** What {@link endOfTurnFor} may use; the global scope in practice. */
export interface TurnScope {
  setImmediate?: <T>(callback: TurnCallback<T>, arg: T) => unknown;
  clearImmediate?: (handle: never) => void;
  MessageChannel?: new () => MessageChannel;
  setTimeout: <T>(callback: TurnCallback<T>, ms: number, arg: T) => unknown;
  clearTimeout?: (handle: never) => void;
}

/**
 * Node's `setImmediate`; in a browser a `MessageChannel` message, which, unlike a zero timeout,
 * is neither clamped to 4 ms when nested nor held for a second in a background tab (a tab whose
 * answers waited that long would stall every server put to it); a zero timeout where neither
 * exists. The channel is made on first use, so that importing costs nothing. Only Node's
 * immediates and timeouts are cancelled: the one message of a browser's turn serves every
 * callback of that turn, so dropping one would save nothing.
 */
export function endOfTurnFor(scope: TurnScope): EndOfTurn {
  const { setImmediate: immediate, clearImmediate, MessageChannel: Channel } = scope;
  if (typeof immediate === "function") {
    return { schedule: (callback, arg) => immediate(callback, arg), cancel: (handle) => cleared(clearImmediate, handle) };
  }
  if (typeof Channel !== "function") {
    return { schedule: (callback, arg) => scope.setTimeout(callback, 0, arg), cancel: (handle) => cleared(scope.clearTimeout, handle) };
  }
  let port: MessagePort | null = null;
  // Two arrays rather than an object per callback.
  const callbacks: Array<TurnCallback<never>> = [];
  const args: unknown[] = [];
  const runWaiting = (): void => {
    // Callbacks queued while these run wait for the next message, as they would for the next setImmediate.
    const count = callbacks.length;
    const running = callbacks.splice(0, count);
    const given = args.splice(0, count);
    for (let i = 0; i < count; i++) (running[i] as TurnCallback<unknown>)(given[i]);
  };
  const schedule = <T>(callback: TurnCallback<T>, arg: T): unknown => {
    if (port === null) {
      const channel = new Channel();
      channel.port1.onmessage = runWaiting;
      port = channel.port2;
    }
    args.push(arg);
    if (callbacks.push(callback as TurnCallback<never>) === 1) port.postMessage(null);
    return true;
  };
  return { schedule, cancel: () => false };
}

function cleared(clear: ((handle: never) => void) | undefined, handle: unknown): boolean {
  if (clear === undefined) return false;
  clear(handle as never);
  return true;
}

/** The end of the turn where this code runs. */
export const endOfTurn: EndOfTurn = endOfTurnFor(globalThis as unknown as TurnScope);

const settled = Promise.resolve();
/** The callbacks of this tick, run in one microtask: two arrays rather than a closure or an object each. */
const tickCallbacks: Array<TurnCallback<never>> = [];
const tickArgs: unknown[] = [];

/**
 * Runs `callback(arg)` at the end of the current tick, after the code running now and before
 * the next task: in one microtask with every other callback given here since it was queued,
 * in order. Not Node's `queueMicrotask`, which wraps each callback in an AsyncResource and a
 * bound function (five times the cost of a promise reaction, measured here); a flush per
 * packet each way made that a visible share of a round trip. A callback that throws does not
 * keep the others from running; its error surfaces as an unhandled rejection.
 */
export function endOfTick<T>(callback: TurnCallback<T>, arg: T): void {
  tickArgs.push(arg);
  if (tickCallbacks.push(callback as TurnCallback<never>) === 1) void settled.then(runTick);
}

function runTick(): void {
  // Callbacks given while these run (a flush that made another session flush) get a microtask of their own.
  const count = tickCallbacks.length;
  const callbacks = tickCallbacks.splice(0, count);
  const args = tickArgs.splice(0, count);
  let failure: { error: unknown } | null = null;
  for (let i = 0; i < count; i++) {
    try {
      (callbacks[i] as TurnCallback<unknown>)(args[i]);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure !== null) throw failure.error;
}
