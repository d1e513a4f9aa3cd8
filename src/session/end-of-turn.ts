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
  // Callbacks queued while these run wait for the next message, as they would for the next setImmediate.
  const schedule = batched((run) => {
    if (port === null) {
      const channel = new Channel();
      channel.port1.onmessage = run;
      port = channel.port2;
    }
    port.postMessage(null);
  });
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

/**
 * A queue of callbacks run together: `start(run)` is called when the first one of a batch is
 * queued, and `run` runs that batch in order. Queueing returns true (a browser's
 * {@link EndOfTurn.schedule} handle). Callbacks queued while a batch runs make the next
 * batch. A callback that throws does not keep the others from running; the first error is
 * thrown after them. Each callback is followed by its argument in one array, not a closure or
 * an object each; two arrays take turns, and keep their room from batch to batch (emptied with
 * `splice` or `length = 0`, V8 gave their backing stores back, and the next batch's first
 * callback made new ones: about 450 bytes per flush, measured with a sampling heap profile).
 * A batch is bounded by its callers: a Writer queues one flush at a time, so a batch holds at
 * most one entry per session (and the server's sessions are bounded by `maxSessions`); the
 * arrays keep the room of the largest batch, two slots per entry.
 */
function batched(start: (run: () => void) => void): <T>(callback: TurnCallback<T>, arg: T) => true {
  let queued: unknown[] = [];
  let spare: unknown[] = [];
  let queuedLength = 0;
  function run(): void {
    const list = queued;
    const length = queuedLength;
    queued = spare;
    spare = list;
    queuedLength = 0;
    let failure: { error: unknown } | null = null;
    for (let i = 0; i < length; i += 2) {
      const callback = list[i] as TurnCallback<unknown>;
      const arg = list[i + 1];
      // The slots stay for the next batch, without the session in them.
      list[i] = list[i + 1] = null;
      try {
        callback(arg);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== null) throw failure.error;
  }
  return function queue(callback, arg) {
    queued[queuedLength++] = callback;
    queued[queuedLength++] = arg;
    if (queuedLength === 2) start(run);
    return true;
  };
}

/**
 * Runs `callback(arg)` at the end of the current tick, after the code running now and before
 * the next task: in one microtask with every other callback given here since it was queued,
 * in order. Not Node's `queueMicrotask`, which wraps each callback in an AsyncResource and a
 * bound function (five times the cost of a promise reaction, measured here); a flush per
 * packet each way made that a visible share of a round trip. A callback that throws does not
 * keep the others from running; its error surfaces as an unhandled rejection.
 */
export const endOfTick: <T>(callback: TurnCallback<T>, arg: T) => void = batched((run) => {
  void settled.then(run);
});
