// The end of the turn, as the Writer flushes answers there: after the current task's
// microtasks, in order, one wake-up for the callbacks of a turn; in a browser through a
// MessageChannel (Node's own stands in for it here), else a zero timeout.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { MessageChannel as NodeMessageChannel } from "node:worker_threads";
import { type EndOfTurn, endOfTurnFor, type TurnScope } from "../../src/session/end-of-turn.js";

/** Node's MessageChannel, counting the messages posted and closing its ports after the test. */
function countingChannel(t: TestContext): { Channel: new () => MessageChannel; posted: () => number } {
  let posted = 0;
  class CountingChannel extends NodeMessageChannel {
    constructor() {
      super();
      const post = this.port2.postMessage.bind(this.port2);
      this.port2.postMessage = (message: unknown) => {
        posted++;
        post(message);
      };
      t.after(() => {
        this.port1.close();
        this.port2.close();
      });
    }
  }
  return { Channel: CountingChannel as unknown as new () => MessageChannel, posted: () => posted };
}

function noImmediate(extra: Partial<TurnScope>): TurnScope {
  return { setTimeout: (callback, ms) => setTimeout(callback, ms), ...extra };
}

async function order(endOfTurn: EndOfTurn): Promise<string[]> {
  const schedule = (callback: () => void): unknown => endOfTurn.schedule(callback);
  const seen: string[] = [];
  await new Promise<void>((resolve) => {
    schedule(() => seen.push("first"));
    queueMicrotask(() => seen.push("microtask"));
    schedule(() => {
      seen.push("second");
      schedule(() => {
        seen.push("queued while running");
        resolve();
      });
    });
  });
  return seen;
}

describe("end of turn", () => {
  it("Node: setImmediate, after the microtasks, in order", async () => {
    const endOfTurn = endOfTurnFor(globalThis as unknown as TurnScope);
    assert.deepStrictEqual(await order(endOfTurn), ["microtask", "first", "second", "queued while running"]);
  });

  it("a browser: one MessageChannel message per turn, after the microtasks, in order; made on first use", async (t) => {
    const { Channel, posted } = countingChannel(t);
    let made = 0;
    const Counted = class extends Channel {
      constructor() {
        super();
        made++;
      }
    };
    const endOfTurn = endOfTurnFor(noImmediate({ MessageChannel: Counted }));
    assert.equal(made, 0, "no channel before the first use");
    assert.deepStrictEqual(await order(endOfTurn), ["microtask", "first", "second", "queued while running"]);
    assert.equal(made, 1, "one channel for every turn");
    assert.equal(posted(), 2, "one message for the two callbacks of the first turn, one for the callback queued while they ran");
  });

  it("neither: a zero timeout", async () => {
    const delays: number[] = [];
    const endOfTurn = endOfTurnFor({
      setTimeout: (callback, ms) => {
        delays.push(ms);
        return setTimeout(callback, ms);
      },
    });
    assert.deepStrictEqual(await order(endOfTurn), ["microtask", "first", "second", "queued while running"]);
    assert.deepStrictEqual(delays, [0, 0, 0], "a zero timeout each");
  });
});

/** Schedules `dropped` and cancels it, then waits a turn past it; what ran, and what cancel said. */
async function cancelled(endOfTurn: EndOfTurn): Promise<{ ran: string[]; dropped: boolean }> {
  const ran: string[] = [];
  const handle = endOfTurn.schedule(() => ran.push("dropped"));
  assert.notEqual(handle, undefined, "a handle is never undefined (the Writer's mark of none)");
  const dropped = endOfTurn.cancel(handle);
  await new Promise<void>((resolve) => {
    endOfTurn.schedule(() => {
      ran.push("kept");
      resolve();
    });
  });
  // A zero timeout may run after the kept one: one more turn.
  await new Promise((resolve) => setTimeout(resolve, 1));
  return { ran, dropped };
}

describe("end of turn: cancel", () => {
  it("Node: a cancelled callback does not run", async () => {
    assert.deepStrictEqual(await cancelled(endOfTurnFor(globalThis as unknown as TurnScope)), { ran: ["kept"], dropped: true });
  });

  it("a zero timeout with clearTimeout: a cancelled callback does not run", async () => {
    const scope = noImmediate({ clearTimeout: (handle: never) => clearTimeout(handle) });
    assert.deepStrictEqual(await cancelled(endOfTurnFor(scope)), { ran: ["kept"], dropped: true });
  });

  it("a browser: cancel says false and the callback still runs (one message serves the turn)", async (t) => {
    const { Channel } = countingChannel(t);
    assert.deepStrictEqual(await cancelled(endOfTurnFor(noImmediate({ MessageChannel: Channel }))), { ran: ["dropped", "kept"], dropped: false });
  });
});
