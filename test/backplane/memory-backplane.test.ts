// The backplane contract over the in-memory engine (src/backplane/): the framing of what crosses,
// one node over an engine (node id, one handler per subject, the bound on publishes the engine
// has not taken), and the MemoryBus (order, delivery never inside publish, unsubscribe, its
// bounds filled). Topics across nodes: backplane-topics.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BackplaneEngine, BackplaneError, type BackplaneMessage, createBackplane, MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { frameMessage, readMessage } from "../../src/backplane/framing.js";
import { settle, tick } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";

/** Every message a node's handler got on `subject`. */
function record(node: ReturnType<typeof memoryBackplane>, subject: string): BackplaneMessage[] {
  const got: BackplaneMessage[] = [];
  node.subscribe(subject, (message) => got.push(message));
  return got;
}

describe("backplane framing", () => {
  it("a header line with the node id, then the body as it was", () => {
    assert.equal(frameMessage("node-1", 'a\nb {"x":1}'), 'wc1 node-1\na\nb {"x":1}');
    assert.deepEqual(readMessage('wc1 node-1\na\nb {"x":1}'), { from: "node-1", body: 'a\nb {"x":1}' });
    assert.deepEqual(readMessage("wc1 n\n"), { from: "n", body: "" });
  });

  it("text it did not write is null: another version, no header, a bad node id", () => {
    for (const text of ["wc2 n\nx", "hello", "wc1 n", "wc1 \nx", "wc1 a b\nx"]) assert.equal(readMessage(text), null, text);
  });
});

describe("MemoryBus and memoryBackplane", () => {
  it("delivers to every subscribed node, this one included, with who published it", async () => {
    const bus = new MemoryBus();
    const [a, b, c] = ["a", "b", "c"].map((nodeId) => memoryBackplane(bus, { nodeId }));
    const got = [a, b, c].map((node) => record(node!, "s"));
    const elsewhere = record(c!, "other");
    a!.publish("s", "hello");
    await settle();
    for (const messages of got) assert.deepEqual(messages, [{ from: "a", body: "hello" }]);
    assert.deepEqual(elsewhere, []);
    assert.equal(bus.published, 1, "one message crossed");
    assert.equal(bus.delivered, 3, "one delivery per subscribed node");
  });

  it("never inside publish: handlers run in a later turn", async () => {
    const bus = new MemoryBus();
    const node = memoryBackplane(bus);
    const got = record(node, "s");
    node.publish("s", "1");
    assert.deepEqual(got, [], "nothing yet, synchronously");
    await Promise.resolve();
    assert.deepEqual(got, [], "nor in the same turn's microtasks");
    await settle();
    assert.equal(got.length, 1);
  });

  it("in publish order per publisher, and one order for every node (the bus orders everything)", async () => {
    const bus = new MemoryBus();
    const a = memoryBackplane(bus, { nodeId: "a" });
    const b = memoryBackplane(bus, { nodeId: "b" });
    const gotA = record(a, "s");
    const gotB = record(b, "s");
    for (let i = 0; i < 100; i++) (i % 3 === 0 ? b : a).publish("s", String(i));
    await settle();
    const expected = Array.from({ length: 100 }, (_, i) => String(i));
    assert.deepEqual(gotA.map((m) => m.body), expected);
    assert.deepEqual(gotB.map((m) => m.body), expected);
  });

  it("unsubscribe stops delivery, also of what was published before it; close stops every subscription", async () => {
    const bus = new MemoryBus();
    const a = memoryBackplane(bus);
    const b = memoryBackplane(bus);
    const got: string[] = [];
    const stop = b.subscribe("s", (m) => got.push(m.body));
    const gotOther = record(b, "t");
    a.publish("s", "queued before unsubscribe");
    stop();
    stop();
    a.publish("t", "before close");
    await settle();
    assert.deepEqual(got, []);
    assert.deepEqual(gotOther.map((m) => m.body), ["before close"]);
    await b.close();
    assert.equal(bus.subscriptions, 0, "the node's subscriptions left the bus");
    a.publish("t", "after close");
    await settle();
    assert.equal(gotOther.length, 1);
    assertThrowsCode(() => b.publish("t", "x"), "ERR_BACKPLANE_CLOSED", "publish after close", BackplaneError);
    assertThrowsCode(() => b.subscribe("u", () => undefined), "ERR_BACKPLANE_CLOSED", "subscribe after close", BackplaneError);
  });

  it("a handler that throws is reported and the others still get the message", async () => {
    const bus = new MemoryBus();
    const errors: string[] = [];
    const logger = { error: (message: string) => errors.push(message), warn: () => undefined };
    const a = memoryBackplane(bus, { logger });
    const b = memoryBackplane(bus);
    a.subscribe("s", () => {
      throw new Error("boom");
    });
    const got = record(b, "s");
    a.publish("s", "x");
    await settle();
    assert.equal(got.length, 1);
    assert.equal(errors.length, 1);
  });

  it("one handler per subject per node, at most maxSubjects", () => {
    const node = memoryBackplane(new MemoryBus(), { maxSubjects: 2 });
    node.subscribe("a", () => undefined);
    assertThrowsCode(() => node.subscribe("a", () => undefined), "ERR_BACKPLANE_SUBJECT", "a second handler", BackplaneError);
    node.subscribe("b", () => undefined);
    assertThrowsCode(() => node.subscribe("c", () => undefined), "ERR_BACKPLANE_SUBJECT", "past maxSubjects", BackplaneError);
  });

  it("the bus's queue filled: maxQueued messages wait, the next publish throws ERR_MEMORY_BUS_FULL, and after delivery there is room", async () => {
    const bus = new MemoryBus({ maxQueued: 5 });
    const node = memoryBackplane(bus);
    const got = record(node, "s");
    for (let i = 0; i < 5; i++) node.publish("s", String(i));
    assert.equal(bus.queued, 5);
    assertThrowsCode(() => node.publish("s", "6th"), "ERR_MEMORY_BUS_FULL", "the bus full", BackplaneError);
    assert.equal(node.pending, 5, "the refused publish is not counted");
    await settle();
    assert.deepEqual(got.map((m) => m.body), ["0", "1", "2", "3", "4"]);
    assert.equal(node.pending, 0);
    node.publish("s", "room again");
    await settle();
    assert.equal(got.length, 6);
  });

  it("the bus's subscriptions filled: maxSubscriptions, then ERR_BACKPLANE_SUBJECT; one leaving makes room", () => {
    const bus = new MemoryBus({ maxSubscriptions: 2 });
    const a = memoryBackplane(bus);
    const b = memoryBackplane(bus);
    const stop = a.subscribe("s", () => undefined);
    b.subscribe("s", () => undefined);
    assertThrowsCode(() => a.subscribe("t", () => undefined), "ERR_BACKPLANE_SUBJECT", "the bus full of subscriptions", BackplaneError);
    stop();
    a.subscribe("t", () => undefined);
    assert.equal(bus.subscriptions, 2);
  });

  it("options: a bad node id or bound is a typed error", () => {
    assertThrowsCode(() => memoryBackplane(new MemoryBus(), { nodeId: "a b" }), "ERR_BACKPLANE_OPTION", "a node id with a space", TypeError);
    assertThrowsCode(() => memoryBackplane(new MemoryBus(), { maxPending: 0 }), "ERR_BACKPLANE_OPTION", "maxPending 0", RangeError);
    assertThrowsCode(() => new MemoryBus({ maxQueued: 1.5 }), "ERR_BACKPLANE_OPTION", "maxQueued 1.5", RangeError);
    assert.match(memoryBackplane(new MemoryBus()).nodeId, /^[0-9a-f-]{36}$/, "a random UUID by default");
  });
});

describe("createBackplane over an engine that does not answer (slow or down)", () => {
  /** An engine that takes publishes and never says it took them, until `release`. */
  function stuckEngine(): BackplaneEngine & { release: () => void; texts: string[] } {
    const waiting: Array<() => void> = [];
    const texts: string[] = [];
    return {
      texts,
      publish: (_subject, text) => {
        texts.push(text);
        return new Promise<void>((resolve) => waiting.push(resolve));
      },
      subscribe: () => () => undefined,
      append: () => Promise.resolve(),
      read: () => Promise.resolve([]),
      close: () => Promise.resolve(),
      release: () => {
        for (const resolve of waiting.splice(0)) resolve();
      },
    };
  }

  it("maxPending publishes wait for the engine; the next throws ERR_BACKPLANE_FULL at once; once taken there is room", async () => {
    const engine = stuckEngine();
    const node = createBackplane(engine, { nodeId: "n1", maxPending: 3 });
    for (let i = 0; i < 3; i++) node.publish("s", String(i));
    assert.equal(node.pending, 3);
    assertThrowsCode(() => node.publish("s", "4th"), "ERR_BACKPLANE_FULL", "the engine has not taken maxPending", BackplaneError);
    assert.deepEqual(engine.texts, ["wc1 n1\n0", "wc1 n1\n1", "wc1 n1\n2"], "handed over framed, in order, nothing queued past the bound");
    engine.release();
    await tick();
    assert.equal(node.pending, 0);
    node.publish("s", "room again");
    assert.equal(node.pending, 1);
  });

  it("a publish the engine rejects is reported and frees its place", async () => {
    const errors: string[] = [];
    const engine: BackplaneEngine = {
      publish: () => Promise.reject(new Error("connection lost")),
      subscribe: () => () => undefined,
      append: () => Promise.resolve(),
      read: () => Promise.resolve([]),
      close: () => Promise.resolve(),
    };
    const node = createBackplane(engine, { maxPending: 1, logger: { error: (m) => errors.push(m), warn: () => undefined } });
    node.publish("s", "x");
    await tick();
    assert.equal(node.pending, 0);
    assert.equal(errors.length, 1);
    node.publish("s", "y");
  });
});

describe("logs on a MemoryBus: kept for every node, trimmed, bounded", () => {
  it("a log written by one node is read by another, oldest first, trimmed to the newest maxEntries", async () => {
    const bus = new MemoryBus();
    const a = memoryBackplane(bus, { nodeId: "a" });
    const b = memoryBackplane(bus, { nodeId: "b" });
    for (let i = 0; i < 5; i++) await a.append("history", `line ${i} é😀`, 3);
    assert.deepEqual(await b.read("history", 3), ["line 2 é😀", "line 3 é😀", "line 4 é😀"]);
    assert.deepEqual(await b.read("history", 2), ["line 3 é😀", "line 4 é😀"], "a reader asks for fewer");
    assert.deepEqual(await b.read("nobody wrote this", 10), []);
    await a.close();
    assert.deepEqual(await b.read("history", 3), ["line 2 é😀", "line 3 é😀", "line 4 é😀"], "the log outlives the node that wrote it");
    await assert.rejects(a.append("history", "x", 3), (error: unknown) => error instanceof BackplaneError && error.code === "ERR_BACKPLANE_CLOSED");
    await assert.rejects(a.read("history", 3), (error: unknown) => error instanceof BackplaneError && error.code === "ERR_BACKPLANE_CLOSED");
    assertThrowsCode(() => void b.append("history", "x", 0), "ERR_BACKPLANE_OPTION", "maxEntries 0", RangeError);
    await b.close();
  });

  it("past maxLogs an append to a new log rejects ERR_MEMORY_BUS_FULL; the logs kept are kept", async () => {
    const bus = new MemoryBus({ maxLogs: 2 });
    const node = memoryBackplane(bus);
    await node.append("one", "1", 10);
    await node.append("two", "2", 10);
    await assert.rejects(node.append("three", "3", 10), (error: unknown) => error instanceof BackplaneError && error.code === "ERR_MEMORY_BUS_FULL");
    await node.append("one", "1 again", 10);
    assert.deepEqual(await node.read("one", 10), ["1", "1 again"]);
    assert.deepEqual(await node.read("three", 10), []);
    await node.close();
  });
});
