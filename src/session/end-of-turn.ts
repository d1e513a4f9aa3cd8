// "At the end of the event loop's turn": after every microtask of the current task, before
// anything else waits long. Answers to puts are flushed there (see writer.ts).

/** Runs callbacks once the current task and its microtasks are done. */
export interface EndOfTurn {
  /** Schedules `callback`; returns what `cancel` takes (never undefined). */
  schedule(callback: () => void): unknown;
  /** Drops a scheduled callback where the platform can (Node): true when it will not run. */
  cancel(handle: unknown): boolean;
}

/** What {@link endOfTurnFor} may use; the global scope in practice. */
export interface TurnScope {
  setImmediate?: (callback: () => void) => unknown;
  clearImmediate?: (handle: never) => void;
  MessageChannel?: new () => MessageChannel;
  setTimeout: (callback: () => void, ms: number) => unknown;
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
    return { schedule: (callback) => immediate(callback), cancel: (handle) => cleared(clearImmediate, handle) };
  }
  if (typeof Channel !== "function") {
    return { schedule: (callback) => scope.setTimeout(callback, 0), cancel: (handle) => cleared(scope.clearTimeout, handle) };
  }
  let port: MessagePort | null = null;
  const waiting: Array<() => void> = [];
  const runWaiting = (): void => {
    // Callbacks queued while these run wait for the next message, as they would for the next setImmediate.
    for (const callback of waiting.splice(0)) callback();
  };
  const schedule = (callback: () => void): unknown => {
    if (port === null) {
      const channel = new Channel();
      channel.port1.onmessage = runWaiting;
      port = channel.port2;
    }
    if (waiting.push(callback) === 1) port.postMessage(null);
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

/**
 * Runs `callback` at the end of the current tick, after the code running now and before the
 * next task: a microtask. Not Node's `queueMicrotask`, which wraps each callback in an
 * AsyncResource and a bound function (five times the cost of a promise reaction, measured
 * here); a flush per packet each way made that a visible share of a round trip. `callback`
 * must not throw: it would surface as an unhandled rejection.
 */
export function endOfTick(callback: () => void): void {
  void settled.then(callback);
}
