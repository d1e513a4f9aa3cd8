import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { alts, chan, isChannel, MAX_PENDING, MAX_TIMEOUT_MS, promiseChan, timeout, TooManyPendingError, WirechanError, xf } from "../../src/index.js";
import { drainAll, isPending } from "../helpers/async.js";

function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

describe("chan: put and take", () => {
  it("an unbuffered put waits for a taker and resolves true once taken", async () => {
    const ch = chan<number>();
    const put = ch.put(1);
    assert.equal(await isPending(put), true);
    assert.equal(await ch.take(), 1);
    assert.equal(await put, true);
  });

  it("a take waits for a put", async () => {
    const ch = chan<string>();
    const take = ch.take();
    assert.equal(await isPending(take), true);
    assert.equal(await ch.put("x"), true);
    assert.equal(await take, "x");
  });

  it("chan(), chan(0) and chan(null) are unbuffered", async () => {
    for (const ch of [chan<number>(), chan<number>(0), chan<number>(null)]) {
      assert.equal(ch.offer(1), false, "no taker and no buffer");
      const put = ch.put(2);
      assert.equal(await isPending(put), true);
      assert.equal(ch.poll(), 2);
      assert.equal(await put, true);
    }
  });

  it("a buffered channel accepts n puts at once, then parks the next", async () => {
    const ch = chan<number>(2);
    assert.equal(await ch.put(1), true);
    assert.equal(await ch.put(2), true);
    const third = ch.put(3);
    assert.equal(await isPending(third), true);
    assert.equal(await ch.take(), 1);
    assert.equal(await third, true);
    assert.equal(await ch.take(), 2);
    assert.equal(await ch.take(), 3);
  });

  it("null is an ordinary value", async () => {
    const unbuffered = chan<number | null>();
    const put = unbuffered.put(null);
    assert.equal(await unbuffered.take(), null);
    assert.equal(await put, true);

    const buffered = chan<number | null>(2);
    assert.equal(buffered.offer(null), true);
    assert.equal(await buffered.put(null), true);
    assert.equal(buffered.poll(), null);
    assert.equal(await buffered.take(), null);
    assert.equal(buffered.poll(), undefined);
  });

  it("undefined is rejected synchronously with a TypeError by put and offer, and nothing is queued", async () => {
    const ch = chan<number>(1);
    const bad = undefined as unknown as number;
    assert.throws(() => ch.put(bad), TypeError);
    assert.throws(() => ch.offer(bad), TypeError);
    assert.throws(() => ch.put(bad), /null/, "the message suggests null");
    const unbuffered = chan<number>();
    const take = unbuffered.take();
    assert.throws(() => unbuffered.put(bad), TypeError);
    assert.throws(() => unbuffered.offer(bad), TypeError);
    assert.equal(await isPending(take), true, "the waiting taker got nothing");
    assert.equal(ch.poll(), undefined, "nothing was buffered");
    unbuffered.close();
    assert.equal(await take, undefined);
  });

  it("undefined is rejected even on a closed channel", () => {
    const ch = chan<number>();
    ch.close();
    assert.throws(() => ch.put(undefined as unknown as number), TypeError);
  });

  it("isChannel recognises channels", () => {
    assert.equal(isChannel(chan()), true);
    assert.equal(isChannel(promiseChan()), true);
    assert.equal(isChannel({ take() {}, put() {} }), false);
    assert.equal(isChannel(null), false);
  });
});

describe("offer and poll", () => {
  it("offer succeeds only when a buffer slot or a waiting taker is there", async () => {
    const unbuffered = chan<number>();
    assert.equal(unbuffered.offer(1), false);
    const take = unbuffered.take();
    assert.equal(unbuffered.offer(2), true);
    assert.equal(await take, 2);
    assert.equal(unbuffered.poll(), undefined, "the failed offer left nothing behind");

    const buffered = chan<number>(1);
    assert.equal(buffered.offer(1), true);
    assert.equal(buffered.offer(2), false);
    assert.equal(buffered.poll(), 1);
    assert.equal(buffered.poll(), undefined);
  });

  it("offer to a closed channel is false", () => {
    const ch = chan<number>(5);
    ch.close();
    assert.equal(ch.offer(1), false);
  });

  it("poll takes from a parked put and completes it", async () => {
    const ch = chan<number>();
    assert.equal(ch.poll(), undefined);
    const put = ch.put(7);
    assert.equal(ch.poll(), 7);
    assert.equal(await put, true);
    assert.equal(ch.poll(), undefined);
  });

  it("poll refills the buffer from a parked put", async () => {
    const ch = chan<string>(1);
    await ch.put("a");
    const parked = ch.put("b");
    assert.equal(ch.poll(), "a");
    assert.equal(await parked, true);
    assert.equal(ch.poll(), "b");
    assert.equal(ch.poll(), undefined);
  });

  it("offer and poll never queue, however often they fail", () => {
    const ch = chan<number>();
    for (let i = 0; i < 3 * MAX_PENDING; i++) {
      assert.equal(ch.offer(i), false);
      assert.equal(ch.poll(), undefined);
    }
    // Had they queued, these would now be over the limit.
    for (let i = 0; i < MAX_PENDING; i++) void ch.put(i);
    assert.equal(ch.poll(), 0);
  });

  it("poll on a closed, drained channel is undefined", () => {
    const ch = chan<number>(2);
    ch.offer(1);
    ch.close();
    assert.equal(ch.poll(), 1);
    assert.equal(ch.poll(), undefined);
    assert.equal(ch.poll(), undefined);
  });
});

describe("close", () => {
  it("is idempotent and closed turns true at once", async () => {
    const ch = chan<number>(3);
    assert.equal(ch.closed, false);
    await ch.put(1);
    ch.close();
    assert.equal(ch.closed, true, "closed while a value is still buffered");
    assert.doesNotThrow(() => ch.close());
    assert.equal(ch.closed, true);
    assert.equal(await ch.take(), 1, "a second close lost nothing");
    assert.equal(await ch.take(), undefined);
  });

  it("later puts resolve false", async () => {
    for (const ch of [chan<number>(), chan<number>(2)]) {
      ch.close();
      assert.equal(await ch.put(1), false);
      assert.equal(await ch.put(2), false);
      assert.equal(await ch.take(), undefined, "a refused put is not delivered");
    }
  });

  it("buffered values stay takeable, then takes resolve undefined, repeatedly", async () => {
    const ch = chan<number>(3);
    await ch.put(1);
    await ch.put(2);
    ch.close();
    assert.equal(await ch.take(), 1);
    assert.equal(ch.poll(), 2);
    assert.equal(await ch.take(), undefined);
    assert.equal(await ch.take(), undefined);
  });

  it("pending takers get undefined, in order, and not inside close()", async () => {
    const ch = chan<number>();
    const log: string[] = [];
    const takes = [1, 2, 3].map((i) => ch.take().then((v) => log.push(`take ${i}: ${String(v)}`)));
    ch.close();
    log.push("after close");
    await Promise.all(takes);
    assert.deepEqual(log, ["after close", "take 1: undefined", "take 2: undefined", "take 3: undefined"]);
  });

  it("pending takers get what a stateful transducer flushes on completion", async () => {
    const ch = chan<number[], number>(10, xf.partitionAll(3));
    const first = ch.take();
    const second = ch.take();
    await ch.put(1);
    await ch.put(2);
    assert.equal(await isPending(first), true, "an incomplete partition is not a value yet");
    ch.close();
    assert.deepEqual(await first, [1, 2]);
    assert.equal(await second, undefined);
  });

  it("a flush on close reaches later takes when no taker waits", async () => {
    const ch = chan<number[], number>(10, xf.partitionAll(2));
    for (const v of [1, 2, 3]) await ch.put(v);
    ch.close();
    assert.deepEqual(await drainAll(ch), [[1, 2], [3]]);
  });

  it("parked puts stay parked and are delivered to later takes (unbuffered)", async () => {
    const ch = chan<number>();
    const p1 = ch.put(1);
    const p2 = ch.put(2);
    ch.close();
    assert.equal(ch.closed, true);
    assert.equal(await isPending(p1), true, "close does not complete parked puts");
    assert.equal(await ch.put(3), false);
    assert.equal(await ch.take(), 1);
    assert.equal(await p1, true);
    assert.equal(ch.poll(), 2);
    assert.equal(await p2, true);
    assert.equal(await ch.take(), undefined);
  });

  it("parked puts stay parked and are delivered after the buffer (buffered)", async () => {
    const ch = chan<number>(1);
    await ch.put(1);
    const p2 = ch.put(2);
    const p3 = ch.put(3);
    ch.close();
    assert.deepEqual(await drainAll(ch), [1, 2, 3]);
    assert.equal(await p2, true);
    assert.equal(await p3, true);
  });

  it("a stateful transducer flushes only after parked puts are delivered", async () => {
    const ch = chan<number[], number>(1, xf.partitionAll(2));
    for (const v of [1, 2]) await ch.put(v); // buffer now holds [1, 2]
    const p3 = ch.put(3);
    const p4 = ch.put(4);
    const p5 = ch.put(5);
    ch.close();
    assert.deepEqual(await drainAll(ch), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(await Promise.all([p3, p4, p5]), [true, true, true]);
  });
});

describe("async iteration", () => {
  it("yields every value in order and ends on close", async () => {
    const ch = chan<number>();
    const producer = (async () => {
      for (let i = 0; i < 5; i++) await ch.put(i);
      ch.close();
    })();
    const seen: number[] = [];
    for await (const v of ch) seen.push(v);
    await producer;
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  });

  it("yields what is buffered on a closed channel, including null, then ends", async () => {
    const ch = chan<number | null>(3);
    await ch.put(null);
    await ch.put(0);
    ch.close();
    const seen: Array<number | null> = [];
    for await (const v of ch) seen.push(v);
    assert.deepEqual(seen, [null, 0]);
  });

  it("breaking out does not close the channel and takes nothing more", async () => {
    const ch = chan<number>(5);
    for (const v of [1, 2, 3]) await ch.put(v);
    for await (const v of ch) {
      assert.equal(v, 1);
      break;
    }
    assert.equal(ch.closed, false);
    assert.equal(await ch.put(4), true);
    assert.equal(await ch.take(), 2);
    assert.equal(await ch.take(), 3);
    assert.equal(await ch.take(), 4);
  });
});

describe("the channel's iterator", () => {
  it("settles next() calls made before any put with the values in order, then done", async () => {
    const ch = chan<number>();
    const it = ch[Symbol.asyncIterator]();
    const first = it.next();
    const second = it.next();
    assert.equal(await ch.put(1), true);
    assert.equal(await ch.put(2), true);
    ch.close();
    assert.deepEqual(await first, { value: 1, done: false });
    assert.deepEqual(await second, { value: 2, done: false });
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    assert.equal(it[Symbol.asyncIterator](), it, "the iterator is its own iterable");
    assert.notEqual(await it.next(), await it.next(), "each result is a fresh object, as a generator's");
  });
});

describe("the limit of 1024 pending operations", () => {
  it("is 1024", () => {
    assert.equal(MAX_PENDING, 1024);
  });

  it("the 1025th pending put throws synchronously, and no accepted value is lost", async () => {
    const ch = chan<number>();
    const puts = range(MAX_PENDING).map((i) => ch.put(i));
    let thrown: unknown;
    try {
      void ch.put(MAX_PENDING);
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof TooManyPendingError, "thrown, not a rejected promise");
    assert.ok(thrown instanceof WirechanError);
    assert.equal(thrown.code, "ERR_TOO_MANY_PENDING_PUTS");
    assert.equal(thrown.kind, "puts");
    assert.equal(thrown.limit, 1024);
    assert.match(thrown.message, /1024/);
    assert.match(thrown.message, /windowed/);
    assert.match(thrown.message, /slidingBuffer|droppingBuffer/);
    assert.throws(() => ch.put(-1), TooManyPendingError, "still full");
    assert.equal(ch.offer(-2), false, "offer does not queue either");

    const taken: number[] = [];
    for (let i = 0; i < MAX_PENDING; i++) taken.push((await ch.take()) as number);
    assert.deepEqual(taken, range(MAX_PENDING));
    assert.deepEqual(new Set(await Promise.all(puts)), new Set([true]));
    assert.equal(ch.poll(), undefined, "the refused values were never queued");
  });

  it("counts only parked puts, not buffered values", async () => {
    const ch = chan<number>(3);
    for (let i = 0; i < 3; i++) assert.equal(await ch.put(i), true);
    const parked = range(MAX_PENDING, 3).map((i) => ch.put(i));
    assert.throws(() => ch.put(-1), TooManyPendingError);
    ch.close();
    assert.deepEqual(await drainAll(ch), range(MAX_PENDING + 3));
    assert.equal((await Promise.all(parked)).every((ok) => ok), true);
  });

  it("the 1025th pending take throws synchronously, and every parked take is served in order", async () => {
    const ch = chan<number>();
    const takes = range(MAX_PENDING).map(() => ch.take());
    let thrown: unknown;
    try {
      void ch.take();
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof TooManyPendingError, "thrown, not a rejected promise");
    assert.equal(thrown.code, "ERR_TOO_MANY_PENDING_TAKES");
    assert.equal(thrown.kind, "takes");
    assert.equal(thrown.limit, 1024);
    assert.match(thrown.message, /1024/);
    assert.match(thrown.message, /windowed/);
    assert.equal(ch.poll(), undefined, "poll does not queue");
    for (let i = 0; i < MAX_PENDING; i++) assert.equal(ch.offer(i), true);
    assert.deepEqual(await Promise.all(takes), range(MAX_PENDING));
  });

  it("frees places as pending operations complete", async () => {
    const ch = chan<number>();
    const puts = range(MAX_PENDING).map((i) => ch.put(i));
    assert.equal(await ch.take(), 0);
    const extra = ch.put(MAX_PENDING);
    assert.throws(() => ch.put(-1), TooManyPendingError);
    ch.close();
    assert.deepEqual(await drainAll(ch), range(MAX_PENDING, 1));
    assert.equal(await extra, true);
    assert.equal((await Promise.all(puts)).length, MAX_PENDING);
  });
});

describe("transducers on channels", () => {
  it("xf.map transforms every value", async () => {
    const ch = chan<number>(3, xf.map((x: number) => x * 10));
    for (const v of [1, 2, 3]) await ch.put(v);
    ch.close();
    assert.deepEqual(await drainAll(ch), [10, 20, 30]);
  });

  it("a transducer also applies for a taker that is already waiting", async () => {
    const ch = chan<string, number>(1, xf.map((x: number) => `#${x}`));
    const take = ch.take();
    await ch.put(5);
    assert.equal(await take, "#5");
  });

  it("xf.filter drops values, their puts still succeed, waiting takers keep waiting", async () => {
    const ch = chan<number>(2, xf.filter((x: number) => x % 2 === 0));
    const take = ch.take();
    assert.equal(await ch.put(1), true);
    assert.equal(await isPending(take), true);
    assert.equal(await ch.put(2), true);
    assert.equal(await take, 2);
    for (const v of [3, 4, 5, 6]) assert.equal(await ch.put(v), true);
    ch.close();
    assert.deepEqual(await drainAll(ch), [4, 6]);
  });

  it("xf.mapcat can add several values past the buffer size; puts park while it is over full", async () => {
    const ch = chan<number>(1, xf.mapcat((x: number) => [x, x + 100, x + 200]));
    assert.equal(await ch.put(1), true, "accepted although it overfills the buffer");
    const second = ch.put(2);
    assert.equal(await isPending(second), true, "the buffer is full");
    assert.equal(await ch.take(), 1);
    assert.equal(await ch.take(), 101);
    assert.equal(await isPending(second), true, "still full");
    assert.equal(await ch.take(), 201);
    assert.equal(await second, true);
    ch.close();
    assert.deepEqual(await drainAll(ch), [2, 102, 202]);
  });

  it("xf.take(n) closes the channel on the n-th value; parked puts complete with true and are dropped", async () => {
    const ch = chan<number>(1, xf.take(2));
    assert.equal(await ch.put(1), true);
    const p2 = ch.put(2);
    const p3 = ch.put(3);
    const p4 = ch.put(4);
    assert.equal(ch.closed, false);
    assert.equal(await ch.take(), 1); // makes room: 2 goes in and is the 2nd value
    assert.equal(ch.closed, true);
    assert.deepEqual(await Promise.all([p2, p3, p4]), [true, true, true]);
    assert.equal(await ch.put(5), false);
    assert.deepEqual(await drainAll(ch), [2], "3 and 4 were dropped");
  });

  it("xf.take(n) reached by a direct put closes at once; a waiting taker still gets the value", async () => {
    const ch = chan<number>(5, xf.take(2));
    const take = ch.take();
    assert.equal(await ch.put(1), true);
    assert.equal(await take, 1);
    assert.equal(ch.closed, false);
    assert.equal(ch.offer(2), true);
    assert.equal(ch.closed, true);
    assert.equal(ch.offer(3), false);
    assert.deepEqual(await drainAll(ch), [2]);
  });

  it("each channel gets its own transducer state", async () => {
    const once = xf.take<number>(1);
    const a = chan<number>(2, once);
    const b = chan<number>(2, once);
    assert.equal(a.offer(1), true);
    assert.equal(a.closed, true);
    assert.equal(b.closed, false);
    assert.equal(b.offer(2), true);
    assert.deepEqual(await drainAll(a), [1]);
    assert.deepEqual(await drainAll(b), [2]);
  });

  it("chan(0, xform) and chan(undefined, xform) throw a TypeError", () => {
    const double = xf.map((x: number) => x * 2);
    assert.throws(() => chan<number>(0, double), TypeError);
    assert.throws(() => chan<number>(undefined, double), TypeError);
    assert.throws(() => chan<number>(null, double), TypeError);
    assert.throws(() => chan<number>(0, double), /buffer/);
  });
});

describe("exHandler", () => {
  const boom = new Error("boom");
  const throwOn3 = xf.map((x: number) => {
    if (x === 3) throw boom;
    return x * 10;
  });

  it("gets the error; its replacement goes straight into the buffer, not through the transducer", async () => {
    const errors: unknown[] = [];
    const ch = chan<number>(5, throwOn3, (error) => {
      errors.push(error);
      return 7;
    });
    for (const v of [1, 3, 2]) assert.equal(await ch.put(v), true);
    ch.close();
    assert.deepEqual(await drainAll(ch), [10, 7, 20]);
    assert.deepEqual(errors, [boom]);
  });

  it("a null replacement counts as a value", async () => {
    const ch = chan<number | null, number>(5, throwOn3, () => null);
    for (const v of [3, 1]) await ch.put(v);
    ch.close();
    assert.deepEqual(await drainAll(ch), [null, 10]);
  });

  it("an undefined replacement drops the value", async () => {
    let calls = 0;
    const ch = chan<number>(5, throwOn3, () => {
      calls++;
      return undefined;
    });
    for (const v of [3, 1, 3, 2]) assert.equal(await ch.put(v), true);
    ch.close();
    assert.deepEqual(await drainAll(ch), [10, 20]);
    assert.equal(calls, 2);
  });

  it("a replacement reaches a taker that is already waiting", async () => {
    const ch = chan<number>(1, throwOn3, () => -1);
    const take = ch.take();
    await ch.put(3);
    assert.equal(await take, -1);
  });

  it("without exHandler the error is reported with console.error and the value dropped", async (t) => {
    const report = t.mock.method(console, "error", () => {});
    const ch = chan<number>(5, throwOn3);
    for (const v of [1, 3, 2]) assert.equal(await ch.put(v), true);
    ch.close();
    assert.deepEqual(await drainAll(ch), [10, 20]);
    assert.equal(report.mock.callCount(), 1);
    const args = report.mock.calls[0]?.arguments ?? [];
    assert.ok(args.includes(boom), "the error itself is reported");
    report.mock.restore();
  });

  it("promiseChan takes an exHandler too", async () => {
    const p = promiseChan<number>(throwOn3, () => 0);
    await p.put(3);
    assert.equal(await p.take(), 0);
    assert.equal(await p.take(), 0);
  });
});

describe("promiseChan", () => {
  it("keeps the first value forever; later puts resolve true and are dropped", async () => {
    const p = promiseChan<number>();
    const early = [p.take(), p.take(), p.take()];
    assert.equal(await isPending(early[0] as Promise<number | undefined>), true);
    assert.equal(await p.put(1), true);
    assert.deepEqual(await Promise.all(early), [1, 1, 1]);
    assert.equal(await p.put(2), true);
    assert.equal(p.offer(3), true);
    assert.equal(await p.take(), 1);
    assert.equal(p.poll(), 1);
    assert.equal(p.poll(), 1);
    p.close();
    assert.equal(await p.take(), 1, "closing keeps the value");
    assert.equal(await p.put(4), false);
    assert.equal(await p.take(), 1);
  });

  it("puts never park", async () => {
    const p = promiseChan<number>();
    for (let i = 0; i < MAX_PENDING + 10; i++) assert.equal(await p.put(i), true);
    assert.equal(await p.take(), 0);
  });

  it("keeps null as its value", async () => {
    const p = promiseChan<number | null>();
    await p.put(null);
    await p.put(5);
    assert.equal(await p.take(), null);
    assert.equal(await p.take(), null);
  });

  it("closed before a value, pending and later takes get undefined", async () => {
    const p = promiseChan<number>();
    const waiting = [p.take(), p.take()];
    p.close();
    assert.equal(p.closed, true);
    assert.deepEqual(await Promise.all(waiting), [undefined, undefined]);
    assert.equal(await p.take(), undefined);
    assert.equal(await p.put(1), false);
    assert.equal(await p.take(), undefined);
  });

  it("applies its transducer to the first value", async () => {
    const p = promiseChan<string, number>(xf.map((x: number) => `v${x}`));
    await p.put(1);
    await p.put(2);
    assert.equal(await p.take(), "v1");
    assert.equal(await p.take(), "v1");
  });
});

describe("order and re-entrancy", () => {
  it("pending puts are served first in, first out", async () => {
    const ch = chan<number>();
    const puts = range(20).map((i) => ch.put(i));
    const got: number[] = [];
    for (let i = 0; i < 20; i++) got.push((await ch.take()) as number);
    assert.deepEqual(got, range(20));
    await Promise.all(puts);
  });

  it("pending puts behind a full buffer are served first in, first out", async () => {
    const ch = chan<number>(2);
    const puts = range(10).map((i) => ch.put(i));
    ch.close();
    assert.deepEqual(await drainAll(ch), range(10));
    await Promise.all(puts);
  });

  it("pending takes are served first in, first out", async () => {
    const ch = chan<number>();
    const order: number[] = [];
    const takes = range(20).map((i) => ch.take().then((v) => order.push(i) && v));
    for (let i = 0; i < 20; i++) assert.equal(await ch.put(i), true);
    assert.deepEqual(await Promise.all(takes), range(20));
    assert.deepEqual(order, range(20));
  });

  it("a put never runs the taker's continuation inside put()", async () => {
    const ch = chan<number>();
    const log: string[] = [];
    const take = ch.take().then((v) => log.push(`taker got ${v}`));
    const put = ch.put(1).then((ok) => log.push(`put resolved ${ok}`));
    log.push("after put");
    assert.deepEqual(log, ["after put"]);
    await Promise.all([take, put]);
    assert.deepEqual(log.slice(1).sort(), ["put resolved true", "taker got 1"]);
  });

  it("a take never runs the putter's continuation inside take()", async () => {
    const ch = chan<number>(1);
    await ch.put(0);
    const log: string[] = [];
    const parked = ch.put(1).then((ok) => log.push(`putter resolved ${ok}`));
    const take = ch.take().then((v) => log.push(`took ${v}`));
    log.push("after take");
    assert.deepEqual(log, ["after take"]);
    await Promise.all([parked, take]);
    assert.equal(log.length, 3);
  });

  it("offer and poll never run a continuation inside the call", async () => {
    const ch = chan<number>();
    const log: string[] = [];
    const take = ch.take().then((v) => log.push(`taker got ${v}`));
    assert.equal(ch.offer(1), true);
    log.push("after offer");
    const put = ch.put(2).then(() => log.push("putter resolved"));
    assert.equal(ch.poll(), 2);
    log.push("after poll");
    assert.deepEqual(log, ["after offer", "after poll"]);
    await Promise.all([take, put]);
    assert.equal(log.length, 4);
  });

  it("a taker that puts back in its continuation does not run inside the original put", async () => {
    const ch = chan<number>();
    const log: string[] = [];
    const echo = ch.take().then(async (v) => {
      log.push(`echo got ${v}`);
      await ch.put((v as number) + 1);
    });
    void ch.put(1);
    log.push("after first put");
    assert.equal(await ch.take(), 2);
    await echo;
    assert.deepEqual(log, ["after first put", "echo got 1"]);
  });
});

describe("AbortSignal", () => {
  it("an aborted pending put rejects with the signal's reason and its value is never taken", async () => {
    const ch = chan<string>();
    const controller = new AbortController();
    const reason = new Error("stop");
    const put = ch.put("cancelled", { signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(put, (error) => error === reason);
    assert.equal(ch.poll(), undefined);
    const later = ch.put("kept");
    assert.equal(await ch.take(), "kept");
    assert.equal(await later, true);
  });

  it("an aborted pending take rejects with the reason and consumes nothing", async () => {
    const ch = chan<number>();
    const controller = new AbortController();
    const take = ch.take({ signal: controller.signal });
    controller.abort("why");
    await assert.rejects(take, (error) => error === "why");
    assert.equal(ch.offer(1), false, "no taker is waiting any more");
    const next = ch.take();
    assert.equal(await ch.put(2), true);
    assert.equal(await next, 2);
  });

  it("abort() without a reason rejects with an AbortError", async () => {
    const ch = chan<number>();
    const controller = new AbortController();
    const take = ch.take({ signal: controller.signal });
    controller.abort();
    await assert.rejects(take, { name: "AbortError" });
  });

  it("aborting one waiter keeps the order of the others", async () => {
    const ch = chan<number>();
    const controller = new AbortController();
    const p0 = ch.put(0);
    const p1 = ch.put(1, { signal: controller.signal });
    const p2 = ch.put(2);
    controller.abort();
    await assert.rejects(p1);
    assert.equal(await ch.take(), 0);
    assert.equal(await ch.take(), 2);
    assert.deepEqual(await Promise.all([p0, p2]), [true, true]);

    const takes = [ch.take(), ch.take({ signal: controller.signal }), ch.take()];
    // The signal is already aborted: the second take rejects at once without queueing.
    await assert.rejects(takes[1] as Promise<unknown>);
    await ch.put(10);
    await ch.put(11);
    assert.equal(await takes[0], 10);
    assert.equal(await takes[2], 11);
  });

  it("an aborted put frees its place in the 1024: the next put parks instead of throwing", async () => {
    const ch = chan<number>();
    const controller = new AbortController();
    const puts = range(MAX_PENDING).map((i) => (i === 500 ? ch.put(i, { signal: controller.signal }) : ch.put(i)));
    assert.throws(() => ch.put(-1), TooManyPendingError);
    controller.abort(new Error("gone"));
    await assert.rejects(puts[500] as Promise<boolean>, /gone/);
    const extra = ch.put(MAX_PENDING);
    assert.throws(() => ch.put(-2), TooManyPendingError, "full again");
    ch.close();
    const expected = [...range(500), ...range(MAX_PENDING - 501, 501), MAX_PENDING];
    assert.deepEqual(await drainAll(ch), expected);
    assert.equal(await extra, true);
  });

  it("an aborted take frees its place in the 1024", async () => {
    const ch = chan<number>();
    const controller = new AbortController();
    const takes = range(MAX_PENDING).map((i) => (i === 7 ? ch.take({ signal: controller.signal }) : ch.take()));
    assert.throws(() => ch.take(), TooManyPendingError);
    controller.abort();
    await assert.rejects(takes[7] as Promise<unknown>);
    const extra = ch.take();
    assert.throws(() => ch.take(), TooManyPendingError);
    for (let i = 0; i < MAX_PENDING; i++) assert.equal(ch.offer(i), true);
    const others = takes.filter((_, i) => i !== 7);
    assert.deepEqual(await Promise.all(others), range(MAX_PENDING - 1));
    assert.equal(await extra, MAX_PENDING - 1);
  });

  it("an already aborted signal rejects at once and consumes nothing, even when the operation could complete", async () => {
    const reason = new Error("already");
    const signal = AbortSignal.abort(reason);
    const ch = chan<number>(1);
    await assert.rejects(ch.put(1, { signal }), (error) => error === reason);
    assert.equal(ch.poll(), undefined, "the put did not go into the buffer");
    await ch.put(2);
    await assert.rejects(ch.take({ signal }), (error) => error === reason);
    assert.equal(ch.poll(), 2, "the take did not remove the value");

    const unbuffered = chan<number>();
    const waiting = unbuffered.take();
    await assert.rejects(unbuffered.put(3, { signal }));
    assert.equal(await isPending(waiting), true, "the waiting taker did not get the value");
    unbuffered.close();
    assert.equal(await waiting, undefined);
  });

  it("aborting after the operation completed changes nothing", async () => {
    const ch = chan<number>();
    const controller = new AbortController();
    const take = ch.take({ signal: controller.signal });
    const put = ch.put(1, { signal: controller.signal });
    assert.equal(await take, 1);
    assert.equal(await put, true);
    controller.abort();
    assert.equal(await take, 1);
    assert.equal(ch.offer(2), false);
  });

  it("a parked put on a closed channel can still be aborted", async () => {
    const ch = chan<number>();
    const controller = new AbortController();
    const put = ch.put(1, { signal: controller.signal });
    ch.close();
    controller.abort();
    await assert.rejects(put);
    assert.equal(await ch.take(), undefined);
  });
});

describe("timeout", () => {
  it("closes after its delay: after a shorter timer and before a longer one", async () => {
    const log: string[] = [];
    const t = timeout(40);
    assert.equal(t.closed, false);
    const timers = [
      new Promise<void>((resolve) => setTimeout(() => resolve(void log.push("1ms timer")), 1)),
      new Promise<void>((resolve) => setTimeout(() => resolve(void log.push("200ms timer")), 200)),
      t.take().then((v) => {
        assert.equal(v, undefined);
        log.push("timeout closed");
      }),
    ];
    // Microtasks only: no timer can fire while they drain, whatever the load.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    assert.equal(t.closed, false, "not closed at once");
    await Promise.all(timers);
    assert.deepEqual(log, ["1ms timer", "timeout closed", "200ms timer"]);
    assert.equal(t.closed, true);
  });

  it("timeout(0) closes", async () => {
    const t = timeout(0);
    assert.equal(await t.take(), undefined);
    assert.equal(t.closed, true);
  });

  it("in alts, wins over a channel that never gets a value", async () => {
    const never = chan<number>();
    const t = timeout(5);
    const result = await alts([never, t]);
    assert.equal(result.channel, t);
    assert.equal(result.value, undefined);
    assert.equal(never.offer(1), false, "the losing take is inert");
  });

  it("in alts, loses to a channel that gets a value sooner", async () => {
    const ch = chan<string>();
    const t = timeout(150);
    setTimeout(() => void ch.put("first"), 1);
    const result = await alts([t, ch]);
    assert.equal(result.channel, ch);
    assert.equal(result.value, "first");
    await t.take(); // let the timer finish
  });

  it("each call makes a new channel", async () => {
    const a = timeout(0);
    const b = timeout(0);
    assert.notEqual(a, b);
    await Promise.all([a.take(), b.take()]);
  });

  it("throws a RangeError for a negative, non-finite or too large delay", () => {
    for (const ms of [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, MAX_TIMEOUT_MS + 1]) {
      assert.throws(() => timeout(ms), RangeError, `ms ${ms}`);
    }
    assert.equal(MAX_TIMEOUT_MS, 2_147_483_647);
  });
});
