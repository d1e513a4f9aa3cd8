// Delivery of values from the wire into local channels: order, one answer per value, and what
// happens when the channel or the callback fails.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chan } from "../../src/csp/channel.js";
import { xf } from "../../src/csp/index.js";
import { deliver } from "../../src/session/delivery.js";
import { until } from "../helpers/async.js";

describe("deliver", () => {
  it("puts values in arrival order, answering each once: at once when taken, later when parked", async () => {
    const ch = chan<number>();
    const answers: Array<[number, boolean]> = [];
    for (let i = 0; i < 5; i++) deliver(ch, i, (ok) => answers.push([i, ok]));
    assert.deepEqual(answers, [], "nobody takes: nothing answered yet");
    const taken: number[] = [];
    for (let i = 0; i < 5; i++) taken.push((await ch.take()) as number);
    await until(() => answers.length === 5, "five answers");
    assert.deepEqual(taken, [0, 1, 2, 3, 4]);
    assert.deepEqual(answers, [0, 1, 2, 3, 4].map((i) => [i, true]));
  });

  it("answers false for a closed channel", () => {
    const ch = chan<number>(1);
    ch.close();
    const answers: boolean[] = [];
    deliver(ch, 1, (ok) => answers.push(ok));
    assert.deepEqual(answers, [false]);
  });

  it("a transducer that throws, with an exHandler that throws too: the channel drops the value, answered once, reported", (t) => {
    const report = t.mock.method(console, "error", () => {});
    const ch = chan<number>(4, xf.map((): number => {
      throw new Error("boom");
    }), () => {
      throw new Error("handler boom");
    });
    const answers: boolean[] = [];
    deliver(ch, 1, (ok) => answers.push(ok));
    assert.ok(report.mock.callCount() >= 1, "the failure is reported");
    assert.deepEqual(answers, [true], "answered once: the channel took it (its transducer dropped it)");
    assert.equal(ch.poll(), undefined, "nothing was buffered");
  });

  it("a callback that throws is told once and reported; the values behind it still go (regression: it was told false a second time)", (t) => {
    const report = t.mock.method(console, "error", () => {});
    const ch = chan<number>(4);
    const calls: Array<[number, boolean]> = [];
    deliver(ch, 1, (ok) => {
      calls.push([1, ok]);
      throw new Error("callback bug");
    });
    deliver(ch, 2, (ok) => calls.push([2, ok]));
    assert.deepEqual(calls, [[1, true], [2, true]]);
    assert.equal(report.mock.callCount(), 1, "the throw is reported");
    assert.deepEqual([ch.poll(), ch.poll()], [1, 2]);
  });
});
