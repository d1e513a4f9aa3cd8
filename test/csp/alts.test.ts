import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { alts, chan, type Channel, MAX_PENDING, TooManyPendingError } from "../../src/index.js";
import { isPending } from "../helpers/async.js";

/** A buffered channel already holding `values`. */
function holding<T>(size: number, ...values: T[]): Channel<T> {
  const ch = chan<T>(size);
  for (const v of values) assert.equal(ch.offer(v), true);
  return ch;
}

describe("alts: immediate operations", () => {
  it("a take returns the value and the channel", async () => {
    const a = chan<number>();
    const b = holding(1, 42);
    const result = await alts([a, b]);
    assert.equal(result.value, 42);
    assert.equal(result.channel, b);
  });

  it("a put returns true and the channel", async () => {
    const a = chan<number>(1);
    const b = chan<number>();
    const result = await alts([[b, 1], [a, 2]]);
    assert.equal(result.value, true);
    assert.equal(result.channel, a);
    assert.equal(a.poll(), 2);
    assert.equal(b.poll(), undefined);
  });

  it("a put meets a waiting taker", async () => {
    const ch = chan<string>();
    const take = ch.take();
    const result = await alts([[ch, "hi"]]);
    assert.deepEqual(result, { value: true, channel: ch });
    assert.equal(await take, "hi");
  });

  it("commits exactly one of several ready takes; the others keep their values", async () => {
    for (let i = 0; i < 50; i++) {
      const chans = [holding(1, "a"), holding(1, "b"), holding(1, "c")];
      const result = await alts(chans);
      const winner = chans.indexOf(result.channel as Channel<string>);
      assert.ok(winner >= 0);
      assert.equal(result.value, ["a", "b", "c"][winner]);
      chans.forEach((ch, j) => {
        assert.equal(ch.poll(), j === winner ? undefined : ["a", "b", "c"][j], `channel ${j}`);
      });
    }
  });

  it("commits exactly one of several ready puts; the others are not done", async () => {
    for (let i = 0; i < 50; i++) {
      const chans = [chan<number>(1), chan<number>(1), chan<number>(1)];
      const result = await alts(chans.map((ch, j) => [ch, j] as const));
      assert.equal(result.value, true);
      const winner = chans.indexOf(result.channel as Channel<number>);
      assert.ok(winner >= 0);
      chans.forEach((ch, j) => {
        assert.equal(ch.poll(), j === winner ? j : undefined, `channel ${j}`);
      });
    }
  });

  it("commits exactly one of a ready take and a ready put", async () => {
    for (let i = 0; i < 50; i++) {
      const source = holding(1, "v");
      const sink = chan<string>(1);
      const result = await alts<string>([source, [sink, "w"]]);
      if (result.channel === source) {
        assert.equal(result.value, "v");
        assert.equal(sink.poll(), undefined, "the put was not done");
      } else {
        assert.equal(result.channel, sink);
        assert.equal(result.value, true);
        assert.equal(source.poll(), "v", "the value was not taken");
      }
    }
  });

  it("a put to a closed channel completes at once with false", async () => {
    const closed = chan<number>(5);
    closed.close();
    const idle = chan<number>();
    for (let i = 0; i < 20; i++) {
      const result = await alts([idle, [closed, i]]);
      assert.deepEqual(result, { value: false, channel: closed });
    }
    assert.equal(idle.offer(1), false, "no take was left registered on the idle channel");
    assert.equal(closed.poll(), undefined, "nothing was put");
  });

  it("a take from a closed channel returns undefined", async () => {
    const closed = chan<number>();
    closed.close();
    const idle = chan<number>();
    const result = await alts([idle, closed]);
    assert.deepEqual(result, { value: undefined, channel: closed });
    assert.equal(idle.offer(1), false);
  });

  it("a take from a closed channel still returns its buffered values first", async () => {
    const ch = holding(2, 1, 2);
    ch.close();
    assert.equal((await alts([ch])).value, 1);
    assert.equal((await alts([ch])).value, 2);
    assert.equal((await alts([ch])).value, undefined);
  });

  it("null is an ordinary value to put and take", async () => {
    const ch = chan<number | null>(1);
    assert.deepEqual(await alts<number | null>([[ch, null]]), { value: true, channel: ch });
    assert.deepEqual(await alts([ch]), { value: null, channel: ch });
  });

  it("a put through alts completes a parked put's counterpart: a parked alts take", async () => {
    const ch = chan<number>();
    const waiting = alts([ch]);
    const put = await alts([[ch, 9]]);
    assert.deepEqual(put, { value: true, channel: ch });
    assert.deepEqual(await waiting, { value: 9, channel: ch });
  });
});

describe("alts: default", () => {
  it("with nothing ready resolves { value: default, channel: 'default' } and registers nothing", async () => {
    const a = chan<number>();
    const b = chan<number>();
    const result = await alts([a, [b, 1]], { default: "none" });
    assert.deepEqual(result, { value: "none", channel: "default" });
    assert.equal(a.offer(5), false, "no take left on a");
    assert.equal(b.poll(), undefined, "no put left on b");
  });

  it("with something ready does not use the default", async () => {
    const ready = holding(1, 3);
    const result = await alts([chan<number>(), ready], { default: "none" });
    assert.deepEqual(result, { value: 3, channel: ready });
  });

  it("works with no operations at all, and with undefined or null as the default", async () => {
    assert.deepEqual(await alts([], { default: 0 }), { value: 0, channel: "default" });
    assert.deepEqual(await alts([chan<number>()], { default: undefined }), { value: undefined, channel: "default" });
    assert.deepEqual(await alts([chan<number>()], { default: null }), { value: null, channel: "default" });
  });

  it("a closed channel is ready, so the default is not used", async () => {
    const closed = chan<number>();
    closed.close();
    assert.deepEqual(await alts([closed], { default: "none" }), { value: undefined, channel: closed });
  });
});

describe("alts: choice among ready operations", () => {
  it("with priority picks the first ready operation, every time", async () => {
    const idle = chan<number>();
    const b = chan<string>(1);
    const c = chan<string>(1);
    for (let i = 0; i < 100; i++) {
      b.offer("b");
      c.offer("c");
      const result = await alts<string>([idle as Channel<unknown> as Channel<string>, b, c], { priority: true });
      assert.deepEqual(result, { value: "b", channel: b });
    }
    assert.equal(c.poll(), "c");
  });

  it("with priority picks the first ready put too", async () => {
    const full = holding(1, 0);
    const x = chan<number>(1);
    const y = chan<number>(1);
    for (let i = 0; i < 100; i++) {
      const result = await alts([[full, 1], [x, 2], [y, 3]], { priority: true });
      assert.deepEqual(result, { value: true, channel: x });
      assert.equal(x.poll(), 2);
    }
    assert.equal(y.poll(), undefined);
  });

  it("without priority picks among ready operations at random", async () => {
    const a = chan<string>(1);
    const b = chan<string>(1);
    const counts = new Map<unknown, number>([
      [a, 0],
      [b, 0],
    ]);
    for (let i = 0; i < 400; i++) {
      // Start each round with exactly one value in each channel.
      a.poll();
      b.poll();
      a.offer("a");
      b.offer("b");
      const result = await alts([a, b]);
      counts.set(result.channel, (counts.get(result.channel) ?? 0) + 1);
    }
    // Binomial(400, 1/2) falls under 50 with probability around 1e-60.
    assert.ok((counts.get(a) ?? 0) >= 50, `a chosen ${counts.get(a)} times`);
    assert.ok((counts.get(b) ?? 0) >= 50, `b chosen ${counts.get(b)} times`);
    assert.equal((counts.get(a) ?? 0) + (counts.get(b) ?? 0), 400);
  });

  it("without priority each of three ready channels wins sometimes", async () => {
    const chans = [chan<number>(1), chan<number>(1), chan<number>(1)];
    const wins = [0, 0, 0];
    for (let i = 0; i < 300; i++) {
      chans.forEach((ch, j) => {
        ch.poll();
        ch.offer(j);
      });
      const result = await alts(chans);
      wins[chans.indexOf(result.channel as Channel<number>)]! += 1;
    }
    for (const [j, n] of wins.entries()) assert.ok(n >= 30, `channel ${j} won ${n} times`);
  });
});

describe("alts: parked", () => {
  it("is completed by a later put on any of its take channels; its other takes become inert", async () => {
    const a = chan<number>();
    const b = chan<number>();
    const pending = alts([a, b]);
    assert.equal(await isPending(pending), true);
    const put = b.put(2);
    assert.deepEqual(await pending, { value: 2, channel: b });
    assert.equal(await put, true);
    assert.equal(a.offer(1), false, "the finished alts no longer takes from a");
    const laterPut = a.put(3);
    assert.equal(await isPending(laterPut), true, "a later put to a is not consumed");
    assert.equal(await a.take(), 3);
    assert.equal(await laterPut, true);
  });

  it("is completed by a later take on any of its put channels; its other puts become inert", async () => {
    const a = chan<number>();
    const b = chan<number>();
    const pending = alts([
      [a, 1],
      [b, 2],
    ]);
    assert.equal(await isPending(pending), true);
    assert.equal(await a.take(), 1);
    assert.deepEqual(await pending, { value: true, channel: a });
    assert.equal(b.poll(), undefined, "the put to b was not done");
    const laterTake = b.take();
    assert.equal(await isPending(laterTake), true);
    b.close();
    assert.equal(await laterTake, undefined);
  });

  it("is completed by offer and poll", async () => {
    const a = chan<number>();
    const b = chan<number>();
    const takeSide = alts([a, b]);
    assert.equal(a.offer(7), true);
    assert.deepEqual(await takeSide, { value: 7, channel: a });
    assert.equal(b.offer(8), false);

    const putSide = alts([
      [a, 1],
      [b, 2],
    ]);
    assert.equal(b.poll(), 2);
    assert.deepEqual(await putSide, { value: true, channel: b });
    assert.equal(a.poll(), undefined);
  });

  it("a parked take is completed with undefined when its channel closes", async () => {
    const a = chan<number>();
    const b = chan<number>();
    const pending = alts([a, b]);
    a.close();
    assert.deepEqual(await pending, { value: undefined, channel: a });
    assert.equal(b.offer(1), false);
  });

  it("a parked put stays parked when its channel closes and is delivered to a later take", async () => {
    const a = chan<number>();
    const pending = alts([[a, 5]]);
    a.close();
    assert.equal(await isPending(pending), true);
    assert.equal(await a.take(), 5);
    assert.deepEqual(await pending, { value: true, channel: a });
    assert.equal(await a.take(), undefined);
  });

  it("a finished alts is skipped: the value goes to the next waiter in line", async () => {
    const a = chan<number>();
    const b = chan<number>();
    const pending = alts([a, b]);
    const plainTake = a.take();
    await b.put(1);
    assert.deepEqual(await pending, { value: 1, channel: b });
    await a.put(2);
    assert.equal(await plainTake, 2);
  });

  it("a waiting alts and plain takes are served first in, first out", async () => {
    const ch = chan<number>();
    const first = ch.take();
    const viaAlts = alts([ch]);
    const third = ch.take();
    for (const v of [1, 2, 3]) await ch.put(v);
    assert.equal(await first, 1);
    assert.deepEqual(await viaAlts, { value: 2, channel: ch });
    assert.equal(await third, 3);
  });

  it("never resolves inside the put that completes it", async () => {
    const ch = chan<number>();
    const log: string[] = [];
    const pending = alts([ch]).then((r) => log.push(`alts got ${String(r.value)}`));
    void ch.put(1);
    log.push("after put");
    await pending;
    assert.deepEqual(log, ["after put", "alts got 1"]);
  });

  it("two alts meet: one's put completes the other's take", async () => {
    const a = chan<string>();
    const b = chan<string>();
    const taker = alts([a, b]);
    const putter = await alts([[b, "x"]]);
    assert.deepEqual(putter, { value: true, channel: b });
    assert.deepEqual(await taker, { value: "x", channel: b });
  });
});

describe("alts: AbortSignal", () => {
  it("aborting a parked alts rejects with the reason and leaves its channels untouched", async () => {
    const a = chan<number>();
    const b = chan<number>();
    const controller = new AbortController();
    const reason = new Error("cancel");
    const pending = alts([a, [b, 1]], { signal: controller.signal });
    assert.equal(await isPending(pending), true);
    controller.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
    assert.equal(a.offer(2), false, "the take on a is gone");
    assert.equal(b.poll(), undefined, "the put on b is gone");
  });

  it("an already aborted signal rejects at once, even with a ready operation, and consumes nothing", async () => {
    const ready = holding(1, 1);
    const room = chan<number>(1);
    const signal = AbortSignal.abort("no");
    await assert.rejects(alts([ready, [room, 2]], { signal }), (error) => error === "no");
    assert.equal(ready.poll(), 1);
    assert.equal(room.poll(), undefined);
  });

  it("aborting after completion changes nothing", async () => {
    const ch = chan<number>();
    const controller = new AbortController();
    const pending = alts([ch], { signal: controller.signal });
    await ch.put(1);
    controller.abort();
    assert.deepEqual(await pending, { value: 1, channel: ch });
    assert.equal(ch.offer(2), false);
  });
});

describe("alts: misuse", () => {
  it("no operations and no default throws a TypeError synchronously", () => {
    assert.throws(() => alts([]), TypeError);
    assert.throws(() => alts([], {}), TypeError);
    assert.throws(() => alts([], { priority: true }), TypeError);
  });

  it("the same channel both put to and taken from throws a TypeError synchronously, and does nothing", () => {
    const ch = holding(2, 1);
    assert.throws(() => alts<number>([ch, [ch, 2]]), TypeError);
    assert.throws(() => alts<number, number>([[ch, 2], ch], { default: 0 }), TypeError);
    assert.equal(ch.poll(), 1);
    assert.equal(ch.poll(), undefined);
  });

  it("undefined as a put value throws a TypeError synchronously, and does nothing", () => {
    const ready = holding(1, 1);
    const ch = chan<number>(1);
    assert.throws(() => alts([ready, [ch, undefined as unknown as number]]), TypeError);
    assert.throws(() => alts<number, number>([[ch, undefined as unknown as number]], { default: 0 }), TypeError);
    assert.equal(ready.poll(), 1, "the ready take was not done");
    assert.equal(ch.poll(), undefined);
  });

  it("a full take queue throws TooManyPendingError synchronously and leaves no live registration", async () => {
    const a = chan<number>();
    const full = chan<number>();
    const takes = Array.from({ length: MAX_PENDING }, () => full.take());
    // priority: a's take is registered before full's throws.
    assert.throws(() => alts([a, full], { priority: true }), TooManyPendingError);
    assert.equal(a.offer(5), false, "no dead alts takes the value put on a");
    for (let i = 0; i < MAX_PENDING; i++) full.offer(i);
    assert.equal((await Promise.all(takes)).length, MAX_PENDING);
  });

  it("a full put queue throws TooManyPendingError synchronously and leaves no live registration", async () => {
    const a = chan<number>();
    const full = chan<number>();
    const puts = Array.from({ length: MAX_PENDING }, (_, i) => full.put(i));
    assert.throws(() => alts([[a, -1], [full, -2]], { priority: true }), (e) => e instanceof TooManyPendingError && e.kind === "puts");
    assert.equal(a.poll(), undefined, "the put to a is not live");
    for (let i = 0; i < MAX_PENDING; i++) assert.equal(full.poll(), i);
    assert.equal(full.poll(), undefined);
    await Promise.all(puts);
  });
});

describe("alts: losing registrations do not use up the 1024 limit", () => {
  it("2000 lost alts takes on a channel still leave room for 1024 plain takes", async () => {
    const ch = chan<number>();
    for (let i = 0; i < 2000; i++) {
      const other = chan<number>();
      const pending = alts([ch, other]);
      other.close();
      assert.equal((await pending).channel, other);
    }
    const takes = Array.from({ length: MAX_PENDING }, () => ch.take());
    assert.throws(() => ch.take(), TooManyPendingError, "the limit itself still holds");
    for (let i = 0; i < MAX_PENDING; i++) assert.equal(ch.offer(i), true);
    assert.deepEqual(
      await Promise.all(takes),
      Array.from({ length: MAX_PENDING }, (_, i) => i),
      "no lost alts took any value",
    );
  });

  it("2000 lost alts puts on a channel still leave room for 1024 plain puts, and none is delivered", async () => {
    const ch = chan<number>();
    for (let i = 0; i < 2000; i++) {
      const other = chan<number>();
      const pending = alts([
        [ch, -1 - i],
        other,
      ]);
      other.close();
      assert.equal((await pending).channel, other);
    }
    const puts = Array.from({ length: MAX_PENDING }, (_, i) => ch.put(i));
    assert.throws(() => ch.put(-5000), TooManyPendingError);
    ch.close();
    const got: number[] = [];
    for (let v = await ch.take(); v !== undefined; v = await ch.take()) got.push(v);
    assert.deepEqual(
      got,
      Array.from({ length: MAX_PENDING }, (_, i) => i),
    );
    await Promise.all(puts);
  });
});
