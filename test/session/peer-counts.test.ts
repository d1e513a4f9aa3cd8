// A Peer's tables of puts in flight (src/session/peer.ts) in a request and reply exchange. A
// per-target count back at 0 stays in its Map while few do, instead of being deleted and added
// again every round trip (which made the Map rebuild its table every few puts); past
// IDLE_COUNTS_KEPT of them it is deleted, so many targets leave no more entries than before. A
// put in flight alone is kept in two fields, not in the Map by sequence number. Counted through
// Map.prototype.delete and set, not timed.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { chan, type Channel } from "../../src/csp/channel.js";
import { ACK_DELAY_MS } from "../../src/session/peer.js";
import type { RemoteChannel } from "../../src/wire/remote-channel.js";
import { echoExchanges, Pair } from "./harness.js";

/** The string keys Map.prototype.delete is called with while the test runs (targets are strings; sequence numbers are not). */
function stringDeletes(t: TestContext): string[] {
  const keys: string[] = [];
  const original = Map.prototype.delete;
  Map.prototype.delete = function countedDelete(this: Map<unknown, unknown>, key: unknown) {
    if (typeof key === "string") keys.push(key);
    return original.call(this, key);
  };
  t.after(() => {
    Map.prototype.delete = original;
  });
  return keys;
}

/** The number keys Map.prototype.set is called with while the test runs (sequence numbers). */
function numberSets(t: TestContext): number[] {
  const keys: number[] = [];
  const original = Map.prototype.set;
  Map.prototype.set = function countedSet(this: Map<unknown, unknown>, key: unknown, value: unknown) {
    if (typeof key === "number") keys.push(key);
    return original.call(this, key, value);
  };
  t.after(() => {
    Map.prototype.set = original;
  });
  return keys;
}

/**
 * 20 echo round trips (see `echoExchanges`) with `watch` started after the set-up: what it
 * recorded over them, once both sides are quiet and clean.
 */
async function countedEcho<T>(watch: () => T[]): Promise<T[]> {
  let recorded: T[] = [];
  const pair = await echoExchanges(20, () => {
    recorded = watch();
  });
  await pair.quiesce();
  pair.assertClean();
  return recorded;
}

describe("peer: puts in flight", () => {
  it("an echo exchange keeps each side's one put in flight out of the Map", async (t) => {
    const set = await countedEcho(() => numberSets(t));
    // Before: the put's sequence number went into the Peer's Map and the proxy's on each side.
    assert.deepStrictEqual(set, [], "no sequence number set in a Map over 20 round trips");
  });

  it("answers to puts to two targets, the later answered first: each settles its own put", async () => {
    const slow = chan<unknown>();
    const fast = chan<unknown>(8);
    const pair = new Pair({ named: new Map([["slow", { channel: slow as Channel<unknown, unknown> }], ["fast", { channel: fast as Channel<unknown, unknown> }]]) });
    pair.connect();
    const toSlow = pair.client.peer.serverChan<number>("slow").put(1);
    const toFast = pair.client.peer.serverChan<number>("fast").put(2);
    assert.equal(await toFast, true, "the second put, kept in the Map, answered while the first waits");
    assert.equal(await fast.take(), 2);
    const third = pair.client.peer.serverChan<number>("fast").put(3);
    assert.equal(await third, true);
    assert.equal(await slow.take(), 1);
    assert.equal(await toSlow, true, "the first put, answered last");
    await pair.quiesce();
    pair.assertClean();
  });
});

describe("peer: per-target counts", () => {
  it("an echo exchange deletes no target's count: each stays at 0 between round trips, on both sides", async (t) => {
    const deleted = await countedEcho(() => stringDeletes(t));
    // Before: each round trip deleted n:chat on both sides and c.1 on both sides.
    assert.deepStrictEqual(deleted, [], "no count deleted over 20 round trips");
  });

  it("past four counts at 0, a count back at 0 is deleted: a server that put to many client channels keeps no more", async (t) => {
    const pair = new Pair({ ackDelay: ACK_DELAY_MS, window: 128, maxChannels: 64 });
    pair.connect();
    const proxy = pair.client.peer.serverChan<{ reply: Channel<number> }>("chat");
    const replies = Array.from({ length: 10 }, () => chan<number>(1));
    const deleted = stringDeletes(t);
    for (const reply of replies) {
      void proxy.put({ reply });
      const { reply: remote } = (await pair.chat.take()) as { reply: RemoteChannel<number> };
      assert.equal(await remote.put(1), true);
      assert.equal(await reply.take(), 1);
    }
    await pair.quiesce();
    // Counts of puts to c.1 … c.10, the server's of its puts and the client's of the puts it
    // received: on each side the first four stay at 0, the six after are deleted. The counts of
    // puts to n:chat stay.
    const sixAfter = ["c.5", "c.6", "c.7", "c.8", "c.9", "c.10"];
    assert.deepStrictEqual([...deleted].sort(), [...sixAfter, ...sixAfter].sort());
    pair.assertClean();
  });
});
