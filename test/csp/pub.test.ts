import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { chan, into, onto, pub } from "../../src/index.js";
import { pollAll, settle, track } from "../helpers/async.js";

interface Msg {
  topic: string;
  n: number;
}

const msg = (topic: string, n: number): Msg => ({ topic, n });
const byTopic = (m: Msg): string => m.topic;
const ns = (ms: Msg[]): number[] => ms.map((m) => m.n);

describe("pub", () => {
  it("routes each value to the subscribers of its topic", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    const a1 = p.sub("a", chan<Msg>(10));
    const a2 = p.sub("a", chan<Msg>(10));
    const b = p.sub("b", chan<Msg>(10));
    await onto(src, [msg("a", 1), msg("b", 2), msg("a", 3), msg("b", 4)], false);
    await settle();
    assert.deepEqual(ns(pollAll(a1)), [1, 3]);
    assert.deepEqual(ns(pollAll(a2)), [1, 3]);
    assert.deepEqual(ns(pollAll(b)), [2, 4]);
  });

  it("sub returns the channel it was given", () => {
    const p = pub(chan<Msg>(), byTopic);
    const ch = chan<Msg>();
    assert.equal(p.sub("a", ch), ch);
    const other = chan<Msg>();
    assert.equal(p.sub("b", other, false), other);
  });

  it("drops values whose topic has no subscriber, without blocking", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    const a = p.sub("a", chan<Msg>(10));
    assert.equal(await src.put(msg("nobody", 1)), true);
    assert.equal(await src.put(msg("a", 2)), true);
    assert.equal(await src.put(msg("nobody", 3)), true);
    await settle();
    assert.deepEqual(ns(pollAll(a)), [2]);
  });

  it("uses the topic as a Map key (SameValueZero): non-string topics work", async () => {
    const src = chan<number>();
    const p = pub(src, (x: number) => x % 3);
    const zero = p.sub(0, chan<number>(10));
    const one = p.sub(1, chan<number>(10));
    await onto(src, [1, 2, 3, 4, 5, 6], false);
    await settle();
    assert.deepEqual(pollAll(zero), [3, 6]);
    assert.deepEqual(pollAll(one), [1, 4]);
  });

  it("unsub stops delivery to that channel only, without closing it", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    const a1 = p.sub("a", chan<Msg>(10));
    const a2 = p.sub("a", chan<Msg>(10));
    await src.put(msg("a", 1));
    await settle();
    p.unsub("a", a1);
    await src.put(msg("a", 2));
    src.close();
    await settle();
    assert.deepEqual(ns(pollAll(a1)), [1]);
    assert.equal(a1.closed, false);
    assert.deepEqual(ns(pollAll(a2)), [1, 2]);
    assert.equal(a2.closed, true);
  });

  it("unsub of an unknown topic or channel is harmless", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    const a = p.sub("a", chan<Msg>(10));
    p.unsub("zzz", a);
    p.unsub("a", chan<Msg>());
    await src.put(msg("a", 1));
    await settle();
    assert.deepEqual(ns(pollAll(a)), [1]);
  });

  it("unsubAll(topic) unsubscribes everything from that topic only", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    const a1 = p.sub("a", chan<Msg>(10));
    const a2 = p.sub("a", chan<Msg>(10));
    const b = p.sub("b", chan<Msg>(10));
    p.unsubAll("a");
    await onto(src, [msg("a", 1), msg("b", 2)]);
    await settle();
    assert.deepEqual(pollAll(a1), []);
    assert.deepEqual(pollAll(a2), []);
    assert.equal(a1.closed, false, "unsubscribed channels are not closed by the source closing");
    assert.equal(a2.closed, false);
    assert.deepEqual(ns(pollAll(b)), [2]);
    assert.equal(b.closed, true);
  });

  it("unsubAll() unsubscribes every topic", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    const a = p.sub("a", chan<Msg>(10));
    const b = p.sub("b", chan<Msg>(10));
    p.unsubAll();
    await onto(src, [msg("a", 1), msg("b", 2)]);
    await settle();
    assert.deepEqual(pollAll(a), []);
    assert.deepEqual(pollAll(b), []);
    assert.equal(a.closed, false);
    assert.equal(b.closed, false);
  });

  it("keeps working for new subscribers after unsubAll()", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    p.sub("a", chan<Msg>(10));
    p.unsubAll();
    const again = p.sub("a", chan<Msg>(10));
    await src.put(msg("a", 1));
    await settle();
    assert.deepEqual(ns(pollAll(again)), [1]);
  });

  it("closes subscribers when the source closes, unless subscribed with close = false", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    const closing = p.sub("a", chan<Msg>(10));
    const staying = p.sub("a", chan<Msg>(10), false);
    const other = p.sub("b", chan<Msg>(10));
    await src.put(msg("a", 1));
    src.close();
    await settle();
    assert.equal(closing.closed, true);
    assert.equal(other.closed, true);
    assert.equal(staying.closed, false);
    assert.deepEqual(ns(pollAll(closing)), [1], "buffered values survive the close");
    assert.deepEqual(ns(pollAll(staying)), [1]);
  });

  it("closes a subscriber added after the source closed (close = true), leaves it open otherwise", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    src.close();
    await settle();
    assert.equal(p.sub("a", chan<Msg>()).closed, true);
    assert.equal(p.sub("a", chan<Msg>(), false).closed, false);
  });

  it("unbuffered topics: a slow subscriber of one topic holds back every topic", async () => {
    const src = chan<Msg>();
    const p = pub(src, byTopic);
    const slow = p.sub("slow", chan<Msg>());
    const fast = p.sub("fast", chan<Msg>(10));
    void src.put(msg("slow", 1));
    void src.put(msg("slow", 2));
    const fastPut = track(src.put(msg("fast", 3)));
    await settle();
    assert.equal(fastPut.done, false);
    assert.deepEqual(pollAll(fast), []);
    assert.equal((await slow.take())?.n, 1);
    assert.equal((await slow.take())?.n, 2);
    await settle();
    assert.equal(fastPut.done, true);
    assert.deepEqual(ns(pollAll(fast)), [3]);
  });

  it("bufFn gives each topic its own buffer: a slow topic lags without blocking others until it fills", async () => {
    const src = chan<Msg>();
    const asked: string[] = [];
    const p = pub(src, byTopic, (topic) => {
      asked.push(topic);
      return topic === "slow" ? 2 : null;
    });
    const slow = p.sub("slow", chan<Msg>());
    const fast = p.sub("fast", chan<Msg>(10));
    assert.deepEqual(asked, ["slow", "fast"]);
    // slow 1 is held by the topic's mult (waiting for `slow`), slow 2 waits in the topic buffer.
    await src.put(msg("slow", 1));
    await src.put(msg("slow", 2));
    await src.put(msg("fast", 3));
    await settle();
    assert.deepEqual(ns(pollAll(fast)), [3], "the fast topic is not held back");
    // Fill the slow topic's buffer: slow 3 fits, slow 4 parks the pub.
    await src.put(msg("slow", 3));
    void src.put(msg("slow", 4));
    const fastPut = track(src.put(msg("fast", 5)));
    await settle();
    assert.equal(fastPut.done, false, "a full topic buffer holds the pub back");
    assert.deepEqual(pollAll(fast), []);
    const got: number[] = [];
    for (let i = 0; i < 4; i++) got.push((await slow.take())?.n ?? -1);
    assert.deepEqual(got, [1, 2, 3, 4]);
    await settle();
    assert.equal(fastPut.done, true);
    assert.deepEqual(ns(pollAll(fast)), [5]);
  });

  it("a throwing topicFn drops just that value, reports it, and the pub keeps working", async (t) => {
    const error = t.mock.method(console, "error", () => {});
    const src = chan<Msg>();
    const p = pub(src, (m: Msg) => {
      if (m.n < 0) throw new Error("bad message");
      return m.topic;
    });
    const a = p.sub("a", chan<Msg>(10));
    await onto(src, [msg("a", 1), msg("a", -1), msg("a", 2)], false);
    await settle();
    assert.deepEqual(ns(pollAll(a)), [1, 2]);
    assert.equal(error.mock.callCount(), 1);
    src.close();
    await settle();
    assert.equal(a.closed, true, "the pub's loop is still running");
  });

  it("forgets a topic after its last subscriber leaves (a new sub makes a fresh topic)", async () => {
    const src = chan<Msg>();
    const asked: string[] = [];
    const p = pub(src, byTopic, (topic) => {
      asked.push(topic);
      return 1;
    });
    const a1 = p.sub("a", chan<Msg>(10));
    const a2 = p.sub("a", chan<Msg>(10));
    assert.deepEqual(asked, ["a"]);
    p.unsub("a", a1);
    const a3 = p.sub("a", chan<Msg>(10));
    assert.deepEqual(asked, ["a"], "a topic with a subscriber left is kept");
    p.unsub("a", a2);
    p.unsub("a", a3);
    await src.put(msg("a", 1));
    const a4 = p.sub("a", chan<Msg>(10));
    assert.deepEqual(asked, ["a", "a"], "the topic was forgotten and made again");
    await src.put(msg("a", 2));
    await settle();
    assert.deepEqual(ns(pollAll(a4)), [2]);
    assert.deepEqual(pollAll(a1), []);
    assert.deepEqual(pollAll(a2), []);
    assert.deepEqual(pollAll(a3), []);
    assert.equal(a2.closed, false, "forgetting a topic closes no subscriber");
    src.close();
    await settle();
    assert.equal(a4.closed, true);
    assert.equal(a3.closed, false);
  });

  it("keeps a topic while an open subscriber remains, even when another closed", async () => {
    const src = chan<Msg>();
    const asked: string[] = [];
    const p = pub(src, byTopic, (topic) => {
      asked.push(topic);
      return null;
    });
    const a1 = p.sub("a", chan<Msg>(10));
    const a2 = p.sub("a", chan<Msg>(10));
    a1.close();
    await src.put(msg("a", 1));
    await settle();
    p.sub("a", chan<Msg>(10));
    assert.deepEqual(asked, ["a"], "a2 is still subscribed: the topic is kept");
    assert.deepEqual(ns(pollAll(a2)), [1]);
    a2.close();
    await src.put(msg("a", 2));
    await settle();
    assert.deepEqual(asked, ["a"], "the third subscriber keeps it");
  });

  it("forgets a topic once a value finds its only subscriber closed", async () => {
    const src = chan<Msg>();
    const asked: string[] = [];
    const p = pub(src, byTopic, (topic) => {
      asked.push(topic);
      return 1;
    });
    const a = p.sub("a", chan<Msg>(10));
    a.close();
    await src.put(msg("a", 1));
    await settle();
    const again = p.sub("a", chan<Msg>(10));
    assert.deepEqual(asked, ["a", "a"], "the topic was forgotten and made again");
    await src.put(msg("a", 2));
    await settle();
    assert.deepEqual(ns(pollAll(again)), [2]);
  });

  it("property: each subscriber gets exactly its topic's values, in order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom("a", "b", "c", "d"), fc.integer()), { maxLength: 40 }),
        fc.uniqueArray(fc.constantFrom("a", "b", "c", "d")),
        fc.integer({ min: 0, max: 3 }),
        async (values, topics, bufN) => {
          const src = chan<Msg>();
          const p = pub(src, byTopic, () => bufN);
          const subs = topics.map((topic) => ({ topic, ch: p.sub(topic, chan<Msg>()) }));
          const collected = Promise.all(subs.map((s) => into<Msg>([], s.ch)));
          await onto(
            src,
            values.map(([topic, n]) => msg(topic, n)),
          );
          const got = await collected;
          subs.forEach((s, i) => {
            assert.deepEqual(
              got[i],
              values.filter(([topic]) => topic === s.topic).map(([topic, n]) => msg(topic, n)),
            );
          });
        },
      ),
      { numRuns: 50 },
    );
  });
});
