// The fan-out (src/server/fan-out.ts: the apps' broadcast and each topic's subscribers): a queue and a pump per listener, so that the broadcasting loop never waits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DropReason, FanOut, type Listener, type ListenerPutOptions } from "../../src/server/fan-out.js";
import { chan } from "../../src/index.js";
import { drainAll, settle, tick } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";

/** A listener whose puts never settle (a session waiting to be resumed), counting them. */
class StuckListener implements Listener<number> {
  puts = 0;
  closed = false;
  aborted = 0;

  put(_value: number, options?: { signal?: AbortSignal }): Promise<boolean> {
    this.puts++;
    return new Promise<boolean>((_resolve, reject) => {
      options?.signal?.addEventListener("abort", () => {
        this.aborted++;
        reject(new Error("withdrawn"));
      });
    });
  }

  close(): void {
    this.closed = true;
  }
}

function recordDrops(): { drops: Array<[unknown, DropReason]>; onDrop: (listener: unknown, reason: DropReason) => void } {
  const drops: Array<[unknown, DropReason]> = [];
  return { drops, onDrop: (listener, reason) => drops.push([listener, reason]) };
}

describe("FanOut", () => {
  it("gives every listener every value, in order", async () => {
    const fan = new FanOut<number>();
    const a = chan<number>(100);
    const b = chan<number>(100);
    fan.add(a);
    fan.add(b);
    for (let i = 1; i <= 50; i++) fan.broadcast(i);
    await settle(20);
    fan.close();
    const expected = Array.from({ length: 50 }, (_, i) => i + 1);
    assert.deepEqual(await drainAll(a), expected);
    assert.deepEqual(await drainAll(b), expected);
  });

  it("a stuck listener fills its own queue and is dropped when full; the others get every value meanwhile", async () => {
    const { drops, onDrop } = recordDrops();
    const fan = new FanOut<number>({ queueLength: 4, maxInFlight: 2 }, { onDrop });
    const stuck = new StuckListener();
    const fine = chan<number>(100);
    fan.add(stuck);
    fan.add(fine);
    // Two values are in stuck puts, four more fill its queue, the seventh finds it full. The
    // loop lets puts be answered between values, as a room does between lines.
    for (let i = 1; i <= 10; i++) {
      fan.broadcast(i);
      if (i === 6) assert.equal(fan.has(stuck), true, "six values fit: two in its puts, four queued");
      await settle(1);
    }
    assert.equal(fan.has(stuck), false, "dropped once its queue was full");
    assert.equal(stuck.closed, true, "its channel closed");
    assert.deepEqual(drops, [[stuck, "behind"]]);
    await settle();
    assert.equal(stuck.puts, 2, "its pump stopped: no put after the stuck ones");
    assert.equal(stuck.aborted, 2, "its waiting puts were withdrawn");
    fan.close();
    assert.deepEqual(await drainAll(fine), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("a put that throws or rejects drops only that listener", async () => {
    const { drops, onDrop } = recordDrops();
    const fan = new FanOut<number>({}, { onDrop });
    const throwing: Listener<number> = {
      put: () => {
        throw new RangeError("too large for this client");
      },
      close: () => undefined,
    };
    const rejecting: Listener<number> = { put: () => Promise.reject(new Error("session gone")), close: () => undefined };
    const fine = chan<number>(10);
    for (const listener of [throwing, rejecting, fine]) fan.add(listener);
    fan.broadcast(1);
    fan.broadcast(2);
    await settle();
    assert.deepEqual(drops, [
      [throwing, "failed"],
      [rejecting, "failed"],
    ]);
    assert.equal(fan.size, 1);
    fan.close();
    assert.deepEqual(await drainAll(fine), [1, 2]);
  });

  it("a listener whose channel closed is dropped at its next value", async () => {
    const { drops, onDrop } = recordDrops();
    const fan = new FanOut<number>({}, { onDrop });
    const gone = chan<number>(10);
    fan.add(gone);
    gone.close();
    fan.broadcast(1);
    await settle();
    assert.deepEqual(drops, [[gone, "closed"]]);
  });

  it("refuses listeners past maxListeners by closing their channel, and after close", () => {
    const fan = new FanOut<number>({ maxListeners: 2 });
    const [a, b, c] = [chan<number>(1), chan<number>(1), chan<number>(1)];
    assert.equal(fan.add(a), true);
    assert.equal(fan.add(b), true);
    assert.equal(fan.add(a), true, "the same listener again is no new one");
    assert.equal(fan.add(c), false);
    assert.equal(c.closed, true, "the refused listener learns at once");
    assert.equal(fan.size, 2);
    fan.close();
    assert.equal(a.closed && b.closed, true, "close closes every listener");
    const late = chan<number>(1);
    assert.equal(fan.add(late), false);
    assert.equal(late.closed, true);
  });

  it("send reaches one listener only", async () => {
    const fan = new FanOut<string>();
    const a = chan<string>(4);
    const b = chan<string>(4);
    fan.add(a);
    fan.add(b);
    assert.equal(fan.send(a, "just a"), true);
    assert.equal(fan.send(chan<string>(1), "nobody"), false);
    await settle();
    fan.close();
    assert.deepEqual(await drainAll(a), ["just a"]);
    assert.deepEqual(await drainAll(b), []);
  });

  it("keeps the order with many puts in flight to a channel that takes slowly", async () => {
    const fan = new FanOut<number>({ queueLength: 1000, maxInFlight: 64 });
    const slow = chan<number>(0);
    fan.add(slow);
    for (let i = 0; i < 500; i++) fan.broadcast(i);
    const got: number[] = [];
    for (let i = 0; i < 500; i++) got.push((await slow.take()) as number);
    assert.deepEqual(
      got,
      Array.from({ length: 500 }, (_, i) => i),
    );
  });

  it("many puts in flight on one listener's abort signal warn of no leak (MaxListenersExceededWarning)", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      const fan = new FanOut<number>({ queueLength: 100, maxInFlight: 64 });
      const slow = chan<number>(0);
      fan.add(slow);
      for (let i = 0; i < 64; i++) fan.broadcast(i);
      for (let i = 0; i < 64; i++) await slow.take();
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on a later tick
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it("a listener dropped as behind gets the farewell after what it was sent, then its channel closes", async () => {
    const fan = new FanOut<string>({ queueLength: 2, maxInFlight: 1 }, { farewell: (reason) => `dropped: ${reason}` });
    const slow = chan<string>(0);
    fan.add(slow);
    for (const value of ["a", "b", "c", "d"]) fan.broadcast(value);
    assert.equal(fan.has(slow), false, "one put in flight and two queued: the fourth value finds the queue full");
    const got: string[] = [];
    for (let v = await slow.take(); v !== undefined; v = await slow.take()) got.push(v);
    // A local channel's parked put is withdrawn with the rest (a remote put already sent is not:
    // the chat's wire tests see those arrive before the farewell).
    assert.deepEqual(got, ["dropped: behind"], "only the farewell; the values it fell behind on are gone");
    const removed = chan<string>(4);
    fan.add(removed);
    fan.remove(removed);
    assert.deepEqual(await drainAll(removed), [], "no farewell for a listener removed on purpose");
  });

  it("whenFull drop-oldest: a full queue drops its oldest value, keeps the newest and the listener", async () => {
    const fan = new FanOut<number>({ queueLength: 4, maxInFlight: 2, whenFull: "drop-oldest" });
    const slow = new StuckListener();
    const fast = chan<number>(100);
    fan.add(slow);
    fan.add(fast);
    for (let i = 0; i < 20; i++) {
      fan.broadcast(i);
      // The fast channel's puts are answered in a microtask: it keeps up when given the turn.
      await tick();
    }
    assert.equal(fan.has(slow), true, "still here");
    assert.equal(slow.puts, 2, "two in flight; the queue holds the rest, oldest dropped");
    fan.close();
    assert.deepEqual(await drainAll(fast), Array.from({ length: 20 }, (_, i) => i), "the others get every value");
  });

  it("whenFull drop-oldest: what a slow local channel finally takes is the first values put and the newest queueLength", async () => {
    const fan = new FanOut<number>({ queueLength: 3, maxInFlight: 1, whenFull: "drop-oldest" });
    const slow = chan<number>(0);
    fan.add(slow);
    for (let i = 0; i < 10; i++) fan.broadcast(i);
    const got: number[] = [];
    for (let i = 0; i < 4; i++) got.push((await slow.take()) as number);
    assert.deepEqual(got, [0, 7, 8, 9], "the one in flight, then the newest three");
  });

  it("queueBytes: a stuck listener's queue is full at that many bytes however short it is, and it is dropped; it held at most the bound plus one value", async () => {
    const { drops, onDrop } = recordDrops();
    // Each value weighs itself: 100 bytes of queue take two values of 60 (the second while under it), not a third.
    const fan = new FanOut<number>({ queueLength: 100, queueBytes: 100, maxInFlight: 1 }, { onDrop, sizeOf: (value) => value });
    const stuck = new StuckListener();
    const fine = chan<number>(100);
    fan.add(stuck);
    fan.add(fine);
    // A turn between values: the fine channel's puts are answered in a microtask.
    fan.broadcast(60); // in flight
    await tick();
    fan.broadcast(60); // queued: 60
    await tick();
    fan.broadcast(60); // queued: 120, taken while the queue was under 100
    await tick();
    assert.equal(fan.has(stuck), true);
    fan.broadcast(1); // the queue is full by bytes with two values
    assert.equal(fan.has(stuck), false, "dropped by bytes, with 2 of its 100 values queued");
    assert.deepEqual(drops, [[stuck, "behind"]]);
    fan.close();
    assert.deepEqual(await drainAll(fine), [60, 60, 60, 1], "the others get every value");
  });

  it("queueBytes with drop-oldest: as many of the oldest go as it takes to be under the bound again", async () => {
    const fan = new FanOut<number>({ queueLength: 100, queueBytes: 100, maxInFlight: 1, whenFull: "drop-oldest" }, { sizeOf: (value) => value });
    const slow = chan<number>(0);
    fan.add(slow);
    for (const value of [5, 10, 10, 10, 85]) fan.broadcast(value); // 5 in flight; 115 queued, the last taken at 30
    fan.broadcast(1); // full: 10 goes (105, still full), 10 goes (95), then 1 is queued
    const got: number[] = [];
    for (let i = 0; i < 4; i++) got.push((await slow.take()) as number);
    assert.deepEqual(got, [5, 10, 85, 1], "the one in flight, then what was left and the newest");
  });

  it("queueBytes with backpressure: a put waits while a queue is full by bytes, and goes once it drained", async () => {
    const fan = new FanOut<number>({ queueLength: 100, queueBytes: 100, maxInFlight: 1, whenFull: "backpressure" }, { sizeOf: (value) => value });
    const slow = chan<number>(0);
    fan.add(slow);
    assert.equal(await fan.broadcastWhenRoom(50), true); // in flight
    assert.equal(await fan.broadcastWhenRoom(100), true); // queued: full by bytes
    let sent = false;
    const waiting = fan.broadcastWhenRoom(1).then((value) => (sent = value));
    await settle();
    assert.equal(sent, false, "waits while the queue is full by bytes");
    assert.equal(await slow.take(), 50);
    assert.equal(await slow.take(), 100);
    assert.equal(await waiting, true);
    assert.equal(await slow.take(), 1);
  });

  it("asks for lazy answers while a put leaves at most half of maxInFlight in flight, and for a prompt one past that", async () => {
    /** Records each put's lazyAnswer, and answers only when told. */
    class AskingListener implements Listener<number> {
      readonly asked: boolean[] = [];
      readonly answers: Array<(taken: boolean) => void> = [];
      put(_value: number, options?: ListenerPutOptions): Promise<boolean> {
        this.asked.push(options?.lazyAnswer === true);
        return new Promise<boolean>((resolve) => this.answers.push(resolve));
      }
      close(): void {}
    }
    const four = new AskingListener();
    const one = new AskingListener();
    const fanFour = new FanOut<number>({ maxInFlight: 4 });
    const fanOne = new FanOut<number>({ maxInFlight: 1 });
    fanFour.add(four);
    fanOne.add(one);
    for (let i = 1; i <= 6; i++) {
      fanFour.broadcast(i);
      fanOne.broadcast(i);
    }
    assert.deepEqual(four.asked, [true, true, false, false], "two of four lazy: the third put's prompt answer brings the first two's");
    assert.deepEqual(one.asked, [false], "with one in flight every put asks for a prompt answer: the pump waits on each");
    // Each answer frees room at once: the queued values go while three are still in flight.
    for (const answer of four.answers.splice(0)) answer(true);
    await settle(5);
    assert.deepEqual(four.asked.slice(4), [false, false], "values 5 and 6, each leaving four in flight");
    for (const answer of four.answers.splice(0)) answer(true);
    await settle(5);
    fanFour.broadcast(7);
    assert.deepEqual(four.asked.slice(6), [true], "with nothing in flight, lazy again");
    fanFour.close();
    fanOne.close();
  });

  it("rejects bounds that are not positive integers, and an unknown whenFull (typed errors)", () => {
    assertThrowsCode(() => new FanOut({ queueBytes: 0 }), "ERR_INVALID_ARGUMENT", "queueBytes", RangeError);
    assertThrowsCode(() => new FanOut({ maxInFlight: 0 }), "ERR_INVALID_ARGUMENT", "maxInFlight", RangeError);
    assertThrowsCode(() => new FanOut({ queueLength: 0 }), "ERR_INVALID_ARGUMENT", "queueLength", RangeError);
    assertThrowsCode(() => new FanOut({ maxListeners: 1.5 }), "ERR_INVALID_ARGUMENT", "maxListeners", RangeError);
    assertThrowsCode(() => new FanOut({ whenFull: "later" as never }), "ERR_INVALID_ARGUMENT", "whenFull", TypeError);
  });
});
