// A server topic with local subscribers (src/server/topic.ts): fan-out in one order, the
// policies when a subscriber's queue is full, unsubscribe, close, and the typed errors of its
// limits and options. Clients' subscriptions over real sockets: test/protocol/topic-wire.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chan } from "../../src/csp/channel.js";
import { TooManyPendingError } from "../../src/csp/errors.js";
import { createServer } from "../../src/server/index.js";
import { drainAll, pollAll, settle, tick } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";

describe("topic: local subscribers", () => {
  it("a put reaches every subscriber, in the order of the puts, and never waits for them", async () => {
    const topic = createServer().topic<number>("numbers");
    const inboxes = [chan<number>(100), chan<number>(100), chan<number>(100)];
    for (const inbox of inboxes) assert.equal(topic.subscribe(inbox), true);
    assert.equal(topic.subscriberCount, 3);
    for (let i = 0; i < 50; i++) {
      assert.equal(await topic.put(i), true);
      // Paced by the subscribers' own progress (a turn), not by time.
      await tick();
    }
    for (const inbox of inboxes) assert.deepEqual(pollAll(inbox), Array.from({ length: 50 }, (_, i) => i));
  });

  it("disconnect (the default): a subscriber that stops taking is dropped and its channel closed; the others get every value", async () => {
    const topic = createServer().topic<number>("t", { queueLength: 4, maxInFlight: 2 });
    const stalled = chan<number>();
    const reader = chan<number>(100);
    topic.subscribe(stalled);
    topic.subscribe(reader);
    for (let i = 0; i < 20; i++) {
      void topic.put(i);
      await tick();
    }
    assert.equal(stalled.closed, true, "dropped and closed");
    assert.equal(topic.subscriberCount, 1);
    assert.deepEqual(pollAll(reader), Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(await drainAll(stalled), [], "its parked puts were withdrawn with it");
  });

  it("queueBytes: a subscriber that stops taking large values is dropped once its queue holds that many bytes, long before queueLength", async () => {
    const topic = createServer().topic<string>("t", { queueLength: 256, queueBytes: 64 * 1024, maxInFlight: 1 });
    const stalled = chan<string>();
    const reader = chan<string>(100);
    topic.subscribe(stalled);
    topic.subscribe(reader);
    const value = (i: number): string => `${i}:${"x".repeat(16 * 1024)}`;
    let puts = 0;
    while (!stalled.closed && puts < 100) {
      void topic.put(value(puts++));
      await tick();
    }
    // One parked in the channel, four queued (the fourth taken at 48 KiB and a bit, under 64), and the sixth finds it full.
    assert.equal(puts, 6, "dropped by bytes, with 4 of its 256 values queued");
    assert.equal(topic.subscriberCount, 1);
    assert.deepEqual(pollAll(reader), Array.from({ length: puts }, (_, i) => value(i)), "the others get every value");
  });

  it("drop-oldest: a subscriber that stops taking stays, and what it finally takes ends with the newest values", async () => {
    const topic = createServer().topic<number>("t", { queueLength: 4, maxInFlight: 1, whenFull: "drop-oldest" });
    const stalled = chan<number>();
    topic.subscribe(stalled);
    for (let i = 0; i < 20; i++) void topic.put(i);
    await settle();
    assert.equal(topic.subscriberCount, 1, "still subscribed");
    const got: number[] = [];
    for (let i = 0; i < 5; i++) got.push((await stalled.take()) as number);
    assert.deepEqual(got, [0, 16, 17, 18, 19], "the put in flight, then the newest queueLength");
  });

  it("unsubscribe stops the values and leaves the channel open; close closes the rest and refuses later puts", async () => {
    const topic = createServer().topic<string>("t");
    const leaving = chan<string>(10);
    const staying = chan<string>(10);
    topic.subscribe(leaving);
    topic.subscribe(staying);
    await topic.put("a");
    await settle();
    assert.equal(topic.unsubscribe(leaving), true);
    assert.equal(topic.unsubscribe(leaving), false, "only once");
    await topic.put("b");
    await settle();
    assert.equal(leaving.closed, false, "server code's channel stays open");
    assert.deepEqual(pollAll(leaving), ["a"]);
    topic.close();
    assert.equal(await topic.put("c"), false);
    assert.equal(topic.subscribe(chan<string>()), false);
    assert.deepEqual(await drainAll(staying), ["a", "b"], "closed after what it got");
    assert.equal(topic.subscriberCount, 0);
  });

  it("refuses a subscriber past maxSubscribers (RangeError ERR_TOO_MANY_SUBSCRIBERS), after filling it", () => {
    const topic = createServer().topic<number>("t", { maxSubscribers: 3 });
    for (let i = 0; i < 3; i++) topic.subscribe(chan<number>());
    assertThrowsCode(() => topic.subscribe(chan<number>()), "ERR_TOO_MANY_SUBSCRIBERS", "the fourth", RangeError);
    assert.equal(topic.subscriberCount, 3);
  });

  it("put throws at once for a value no session could be sent, whether or not anyone subscribes", () => {
    const topic = createServer({ maxMessageSize: 1024 }).topic<unknown>("t");
    assertThrowsCode(() => topic.put({ inbox: chan() }), "ERR_WIRE_VALUE", "a channel inside", TypeError);
    assertThrowsCode(() => topic.put(undefined), "ERR_WIRE_VALUE", "undefined", TypeError);
    assertThrowsCode(() => topic.put("x".repeat(2000)), "ERR_MESSAGE_TOO_LARGE", "over maxMessageSize", RangeError);
    const many = Array.from({ length: 20_000 }, () => []);
    assertThrowsCode(() => createServer().topic<unknown>("u").put(many), "ERR_VALUE_TOO_COMPLEX", "too many arrays", RangeError);
  });

  it("backpressure: a put waits until the slowest subscriber's queue has room, and nobody misses a value", async () => {
    const topic = createServer().topic<number>("t", { whenFull: "backpressure", queueLength: 2, maxInFlight: 1 });
    const fast = chan<number>(100);
    const slow = chan<number>(); // unbuffered: each value waits for a take
    topic.subscribe(fast);
    topic.subscribe(slow);
    const puts = Array.from({ length: 10 }, (_, i) => topic.put(i));
    await settle();
    // One in flight and two queued for the slow one: the fourth put and those after it wait.
    const settled = await Promise.all(puts.map((put) => Promise.race([put.then(() => true), tick().then(() => false)])));
    assert.deepEqual(settled, [true, true, true, false, false, false, false, false, false, false]);
    assert.deepEqual(pollAll(fast), [0, 1, 2], "the fast one gets no more than the slow one lets go");
    const slowGot: number[] = [];
    for (let i = 0; i < 10; i++) slowGot.push((await slow.take()) as number);
    assert.deepEqual(slowGot, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(await Promise.all(puts), Array.from({ length: 10 }, () => true));
    await settle();
    assert.deepEqual(pollAll(fast), [3, 4, 5, 6, 7, 8, 9]);
    assert.equal(topic.subscriberCount, 2, "nobody was dropped");
  });

  it("backpressure: a subscriber that leaves lets the waiting puts go; close resolves them false; past 1,024 waiting puts a TooManyPendingError", async () => {
    const topic = createServer().topic<number>("t", { whenFull: "backpressure", queueLength: 1, maxInFlight: 1 });
    const fast = chan<number>(5000);
    const stuck = chan<number>();
    topic.subscribe(fast);
    topic.subscribe(stuck);
    const first = [topic.put(0), topic.put(1), topic.put(2)];
    await settle();
    topic.unsubscribe(stuck);
    assert.deepEqual(await Promise.all(first), [true, true, true]);
    topic.subscribe(stuck);
    const waiting: Array<Promise<boolean>> = [];
    for (let i = 0; i < 1026; i++) waiting.push(topic.put(i));
    assert.throws(() => topic.put(-1), (error: unknown) => error instanceof TooManyPendingError && error.code === "ERR_TOO_MANY_PENDING_PUTS", "the 1,025th waiting put");
    topic.close();
    const outcomes = await Promise.all(waiting);
    assert.equal(outcomes.filter((sent) => !sent).length, 1024, "the waiting ones resolve false at close");
  });

  it("refuses bad options with ERR_TOPIC_OPTION, naming the option, and leaves the name free", () => {
    const server = createServer({ window: 8 });
    assertThrowsCode(() => server.topic("t", { queueLength: 0 }), "ERR_TOPIC_OPTION", "queueLength", RangeError);
    assertThrowsCode(() => server.topic("t", { queueBytes: 0 }), "ERR_TOPIC_OPTION", "queueBytes", RangeError);
    assertThrowsCode(() => server.topic("t", { maxSubscribers: 1.5 }), "ERR_TOPIC_OPTION", "maxSubscribers", RangeError);
    assertThrowsCode(() => server.topic("t", { maxSubscriptionsPerSession: -1 }), "ERR_TOPIC_OPTION", "maxSubscriptionsPerSession", RangeError);
    assertThrowsCode(() => server.topic("t", { maxInFlight: 8 }), "ERR_TOPIC_OPTION", "maxInFlight at the window", RangeError);
    assertThrowsCode(() => server.topic("t", { whenFull: "wait" as never }), "ERR_TOPIC_OPTION", "whenFull", TypeError);
    assert.doesNotThrow(() => server.topic("t"), "the default maxInFlight follows a small window");
    assertThrowsCode(() => server.topic("t"), "ERR_CHANNEL_NAME", "the name is taken", TypeError);
    assertThrowsCode(() => server.channel("t"), "ERR_CHANNEL_NAME", "among channels too", TypeError);
  });
});
