import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { chan, into, mult, onto, slidingBuffer } from "../../src/index.js";
import { pollAll, settle, track } from "../helpers/async.js";

/** The number of taps, read from the implementation (removal of a closed tap is not otherwise visible). */
function tapCount(m: unknown): number {
  return (m as { size: number }).size;
}

describe("mult", () => {
  it("gives every value to every tap, in order", async () => {
    const src = chan<number>();
    const m = mult(src);
    const a = m.tap(chan<number>());
    const b = m.tap(chan<number>(2));
    const c = m.tap(chan<number>(slidingBuffer<number>(100)));
    const collected = Promise.all([into<number>([], a), into<number>([], b), into<number>([], c)]);
    await onto(src, [1, 2, 3, 4, 5]);
    assert.deepEqual(await collected, [
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5],
    ]);
  });

  it("tap returns the channel it was given", () => {
    const m = mult(chan<number>());
    const ch = chan<number>();
    assert.equal(m.tap(ch), ch);
    const other = chan<number>();
    assert.equal(m.tap(other, false), other);
  });

  it("has every tap accept a value before the next goes out: a slow tap holds back a fast one", async () => {
    const src = chan<number>();
    const m = mult(src);
    const fast = m.tap(chan<number>(10));
    const slow = m.tap(chan<number>());
    const put1 = track(src.put(1));
    const put2 = track(src.put(2));
    await settle();
    assert.equal(put1.done, true, "the mult took 1");
    assert.equal(fast.poll(), 1);
    assert.equal(fast.poll(), undefined, "2 must wait until the slow tap took 1");
    assert.equal(put2.done, false, "the mult is not taking 2 yet");
    assert.equal(await slow.take(), 1);
    await settle();
    assert.equal(put2.done, true);
    assert.equal(fast.poll(), 2);
    assert.equal(await slow.take(), 2);
  });

  it("drops values that arrive while there are no taps", async () => {
    const src = chan<number>();
    const m = mult(src);
    assert.equal(await src.put(1), true, "taken although nobody listens");
    assert.equal(await src.put(2), true);
    await settle();
    const t = m.tap(chan<number>(10));
    await src.put(3);
    await settle();
    assert.deepEqual(pollAll(t), [3]);
  });

  it("removes a closed tap; the others keep receiving", async () => {
    const src = chan<number>();
    const m = mult(src);
    const a = m.tap(chan<number>(10));
    const b = m.tap(chan<number>(10));
    a.close();
    await src.put(1);
    await settle();
    assert.equal(tapCount(m), 1);
    await src.put(2);
    await settle();
    assert.deepEqual(pollAll(b), [1, 2]);
    assert.equal(a.poll(), undefined);
  });

  it("removes a tap closed while the mult was running, without stalling", async () => {
    const src = chan<number>();
    const m = mult(src);
    const a = m.tap(chan<number>(10));
    const b = m.tap(chan<number>(10));
    await src.put(1);
    await settle();
    a.close();
    await src.put(2);
    await src.put(3);
    await settle();
    assert.deepEqual(pollAll(a), [1], "a keeps what it had buffered, gets nothing more");
    assert.deepEqual(pollAll(b), [1, 2, 3]);
  });

  it("untap stops delivery to that tap without closing it", async () => {
    const src = chan<number>();
    const m = mult(src);
    const a = m.tap(chan<number>(10));
    const b = m.tap(chan<number>(10));
    await src.put(1);
    await settle();
    m.untap(a);
    await src.put(2);
    src.close();
    await settle();
    assert.deepEqual(pollAll(a), [1]);
    assert.equal(a.closed, false, "an untapped channel is not closed with the source");
    assert.deepEqual(pollAll(b), [1, 2]);
    assert.equal(b.closed, true);
  });

  it("untapAll removes every tap; later values are dropped", async () => {
    const src = chan<number>();
    const m = mult(src);
    const a = m.tap(chan<number>(10));
    const b = m.tap(chan<number>(10));
    await src.put(1);
    await settle();
    m.untapAll();
    assert.equal(await src.put(2), true);
    src.close();
    await settle();
    assert.deepEqual(pollAll(a), [1]);
    assert.deepEqual(pollAll(b), [1]);
    assert.equal(a.closed, false);
    assert.equal(b.closed, false);
  });

  it("closes taps when the source closes, unless tapped with close = false", async () => {
    const src = chan<number>();
    const m = mult(src);
    const closing = m.tap(chan<number>(10));
    const staying = m.tap(chan<number>(10), false);
    await src.put(1);
    src.close();
    await settle();
    assert.equal(closing.closed, true);
    assert.equal(staying.closed, false);
    assert.equal(await closing.take(), 1, "buffered values survive the close");
    assert.equal(await closing.take(), undefined);
    assert.equal(staying.poll(), 1);
    assert.equal(await staying.put(9), true, "still usable");
  });

  it("closes a tap added after the source closed (close = true), leaves it open otherwise", async () => {
    const src = chan<number>();
    const m = mult(src);
    src.close();
    await settle();
    const late = m.tap(chan<number>());
    assert.equal(late.closed, true);
    const lateOpen = m.tap(chan<number>(), false);
    assert.equal(lateOpen.closed, false);
  });

  it("a tap added while a value is being delivered gets the next values", async () => {
    const src = chan<number>();
    const m = mult(src);
    const slow = m.tap(chan<number>());
    void src.put(1);
    await settle();
    const late = m.tap(chan<number>(10));
    assert.equal(await slow.take(), 1);
    void src.put(2);
    assert.equal(await slow.take(), 2);
    await settle();
    assert.deepEqual(pollAll(late), [2]);
  });

  it("property: every tap gets every value in order, whatever its buffer", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer(), { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 5 }),
        async (values, bufs) => {
          const src = chan<number>();
          const m = mult(src);
          const taps = bufs.map((n) => m.tap(chan<number>(n)));
          const collected = Promise.all(taps.map((t) => into<number>([], t)));
          await onto(src, values);
          const got = await collected;
          for (const g of got) assert.deepEqual(g, values);
        },
      ),
      { numRuns: 50 },
    );
  });
});
