// The end of the turn, as the Writer flushes answers there: after the current task's
// microtasks, in order, one wake-up for the callbacks of a turn; in a browser through a
// MessageChannel (Node's own stands in for it here), else a zero timeout; cancelled where the
// platform can. And the end of the tick, where it flushes the rest: one microtask for the
// callbacks given before it runs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it, type TestContext } from "node:test";
import { MessageChannel as NodeMessageChannel } from "node:worker_threads";
import { type EndOfTurn, endOfTick, endOfTurnFor, type TurnScope } from "../../src/session/end-of-turn.js";

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

/**
 * Runs `lines` as a module in a process of its own, where `SOURCE` is end-of-turn.ts and
 * `seen` an array they push to; what `seen` holds 50 ms later.
 */
function seenInOwnProcess(lines: readonly string[]): unknown {
  const source = JSON.stringify(new URL("../../src/session/end-of-turn.ts", import.meta.url).href);
  // Imports are hoisted: `seen` may come first.
  const script = [
    "const seen = [];",
    ...lines.map((line) => line.replace("SOURCE", source)),
    "setTimeout(() => { console.log(JSON.stringify(seen)); process.exit(0); }, 50);",
  ];
  const output = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script.join("\n")], { encoding: "utf8", timeout: 30_000 });
  return JSON.parse(output.trim()) as unknown;
}

function noImmediate(extra: Partial<TurnScope>): TurnScope {
  return { setTimeout: (callback, ms, arg) => setTimeout(callback, ms, arg), ...extra };
}

async function order(endOfTurn: EndOfTurn): Promise<string[]> {
  // Each callback gets its argument: the order is read from them.
  const schedule = (callback: () => void): unknown => endOfTurn.schedule((run: () => void) => run(), callback);
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

  it("a browser: a callback that throws does not keep the others of its turn from running; its error is thrown after them", () => {
    // In a process of its own: the error is uncaught there, as in a page.
    const seen = seenInOwnProcess([
      "import { endOfTurnFor } from SOURCE;",
      'import { MessageChannel } from "node:worker_threads";',
      'process.on("uncaughtException", (error) => seen.push("uncaught: " + error.message));',
      "const endOfTurn = endOfTurnFor({ setTimeout, MessageChannel });",
      'endOfTurn.schedule(() => { throw new Error("boom"); }, undefined);',
      'endOfTurn.schedule((what) => seen.push(what), "after the throw");',
    ]);
    assert.deepStrictEqual(seen, ["after the throw", "uncaught: boom"]);
  });

  it("neither: a zero timeout", async () => {
    const delays: number[] = [];
    const endOfTurn = endOfTurnFor({
      setTimeout: (callback, ms, arg) => {
        delays.push(ms);
        return setTimeout(callback, ms, arg);
      },
    });
    assert.deepStrictEqual(await order(endOfTurn), ["microtask", "first", "second", "queued while running"]);
    assert.deepStrictEqual(delays, [0, 0, 0], "a zero timeout each");
  });
});

/** Schedules `dropped` and cancels it, then waits a turn past it; what ran, and what cancel said. */
async function cancelled(endOfTurn: EndOfTurn): Promise<{ ran: string[]; dropped: boolean }> {
  const ran: string[] = [];
  const handle = endOfTurn.schedule((what: string) => ran.push(what), "dropped");
  assert.notEqual(handle, undefined, "a handle is never undefined (the Writer's mark of none)");
  const dropped = endOfTurn.cancel(handle);
  await new Promise<void>((resolve) => {
    endOfTurn.schedule((what: string) => {
      ran.push(what);
      resolve();
    }, "kept");
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

describe("end of tick", () => {
  it("callbacks run with their arguments, in order, in one microtask after the code running now; one given while they run waits for the next", async () => {
    const seen: string[] = [];
    const note = (what: string): void => {
      seen.push(what);
    };
    endOfTick(note, "first");
    queueMicrotask(() => seen.push("a microtask queued between"));
    endOfTick((what: string) => {
      seen.push(what);
      endOfTick(note, "given while running");
    }, "second");
    seen.push("sync");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepStrictEqual(seen, ["sync", "first", "second", "a microtask queued between", "given while running"]);
  });

  it("a callback that throws does not keep the others from running; its error is an unhandled rejection", () => {
    // In a process of its own: the test runner takes every unhandled rejection of its own process as a failure.
    const seen = seenInOwnProcess([
      "import { endOfTick } from SOURCE;",
      'process.on("unhandledRejection", (reason) => seen.push("rejected: " + reason.message));',
      'endOfTick(() => { throw new Error("boom"); }, undefined);',
      'endOfTick((what) => seen.push(what), "after the throw");',
    ]);
    assert.deepStrictEqual(seen, ["after the throw", "rejected: boom"]);
  });
});
