// "At the end of the event loop's turn": after every microtask of the current task, before
// anything else waits long. Answers to puts are flushed there (see writer.ts).

/** Runs `callback` once the current task and its microtasks are done. */
export type EndOfTurn = (callback: () => void) => void;

/** What {@link endOfTurnFor} may use; the global scope in practice. */
export interface TurnScope {
  setImmediate?: (callback: () => void) => unknown;
  MessageChannel?: new () => MessageChannel;
  setTimeout: (callback: () => void, ms: number) => unknown;
}

/**
 * Node's `setImmediate`; in a browser a `MessageChannel` message, which, unlike a zero timeout,
 * is neither clamped to 4 ms when nested nor held for a second in a background tab (a tab whose
 * answers waited that long would stall every server put to it); a zero timeout where neither
 * exists. The channel is made on first use, so that importing costs nothing.
 */
export function endOfTurnFor(scope: TurnScope): EndOfTurn {
  const { setImmediate: immediate, MessageChannel: Channel } = scope;
  if (typeof immediate === "function") return (callback) => void immediate(callback);
  if (typeof Channel !== "function") return (callback) => void scope.setTimeout(callback, 0);
  let port: MessagePort | null = null;
  const waiting: Array<() => void> = [];
  const runWaiting = (): void => {
    // Callbacks queued while these run wait for the next message, as they would for the next setImmediate.
    for (const callback of waiting.splice(0)) callback();
  };
  return (callback) => {
    if (port === null) {
      const channel = new Channel();
      channel.port1.onmessage = runWaiting;
      port = channel.port2;
    }
    if (waiting.push(callback) === 1) port.postMessage(null);
  };
}

/** The end of the turn where this code runs. */
export const endOfTurn: EndOfTurn = endOfTurnFor(globalThis as unknown as TurnScope);
