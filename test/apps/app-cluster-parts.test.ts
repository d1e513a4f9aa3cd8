// The two pieces the apps share across nodes, on their own: EngineLog (an app's bounded log in
// the engine: entries that do not read are skipped, appends in flight are bounded, a read that
// fails starts the node without it) and PresenceTally (server code's entries of a topic's
// presence, every node's, followed again from a fresh list when its watcher is dropped).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineLog, parseJson } from "../../apps/shared/engine-log.js";
import { PresenceTally } from "../../apps/shared/presence-tally.js";
import { type BackplaneEngine, createBackplane, MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { connect } from "../../src/client/index.js";
import { chan } from "../../src/index.js";
import { createServer } from "../../src/server/index.js";
import { settle, until } from "../helpers/async.js";
import { RecordingLogger } from "../helpers/recording-logger.js";

function readNumber(text: string): number | null {
  const value = parseJson(text);
  return typeof value === "number" ? value : null;
}

/** The memory bus as an engine, but for the log calls the test gives. */
function engineWithLog(bus: MemoryBus, log: Pick<BackplaneEngine, "append" | "read">): BackplaneEngine {
  return {
    publish: (subject, text) => bus.publish(subject, text),
    subscribe: (subject, onMessage) => bus.subscribe(subject, onMessage),
    append: log.append,
    read: log.read,
    close: () => Promise.resolve(),
  };
}

describe("EngineLog", () => {
  it("reads back what was appended, oldest first, the newest maxEntries, skipping (and logging) entries that do not read", async () => {
    const backplane = memoryBackplane(new MemoryBus());
    const logger = new RecordingLogger();
    const log = new EngineLog(backplane, "numbers", 3, readNumber, logger);
    log.append("1");
    await backplane.append("numbers", "not json {", 3);
    log.append("2");
    log.append("3");
    await until(() => backplane.pending === 0, "the appends");
    await settle();
    assert.deepEqual(await log.read(), [2, 3], "the newest three entries, one of which does not read");
    assert.match(logger.lines[0]?.message ?? "", /log numbers: an entry that is not one was skipped/);
    await backplane.close();
  });

  it("holds at most 256 appends waiting for the engine: past them an entry is not stored, and a warning says so", async () => {
    const bus = new MemoryBus();
    let appends = 0;
    const stalled = createBackplane(engineWithLog(bus, { append: () => (appends++, new Promise<void>(() => undefined)), read: () => Promise.resolve([]) }));
    const logger = new RecordingLogger();
    const log = new EngineLog(stalled, "stalled", 10, readNumber, logger);
    for (let i = 0; i < 300; i++) log.append(String(i));
    assert.equal(appends, 256);
    assert.match(logger.lines[0]?.message ?? "", /log stalled: an entry was not stored in the engine \(256 appends already wait for the engine\)/);
  });

  it("a read the engine fails starts without the log, and says so", async () => {
    const bus = new MemoryBus();
    const failing = createBackplane(engineWithLog(bus, { append: () => Promise.resolve(), read: () => Promise.reject(new Error("engine down")) }));
    const logger = new RecordingLogger();
    assert.deepEqual(await new EngineLog(failing, "gone", 10, readNumber, logger).read(), []);
    assert.match(logger.lines[0]?.message ?? "", /log gone: reading it from the engine failed/);
  });
});

describe("PresenceTally", () => {
  it("counts server code's entries of every node, not a client's; follows joins and leaves once per turn; reads the list again when its watcher is dropped", async () => {
    const bus = new MemoryBus();
    const logger = new RecordingLogger();
    const a = createServer({ backplane: memoryBackplane(bus, { nodeId: "a" }), logger });
    const b = createServer({ backplane: memoryBackplane(bus, { nodeId: "b" }), logger });
    const topicA = a.topic<never>("apps.t", { presence: true, maxSubscribers: 100_000 });
    const topicB = b.topic<never>("apps.t", { presence: true });
    let changes = 0;
    const tally = new PresenceTally(topicA.presence!, () => changes++, logger);
    const onB = chan<never>(1);
    topicB.subscribe(onB, { principal: "on b" });
    topicB.subscribe(chan<never>(1)); // no principal: no entry at all
    const onA = Array.from({ length: 3 }, () => chan<never>(1));
    for (const channel of onA) topicA.subscribe(channel, { principal: "on a" });
    await until(() => tally.size === 4, `4 entries: ${tally.size}`);
    assert.deepEqual([...tally.entries()].map((entry) => entry.node).sort(), ["a", "a", "a", "b"]);
    // A client's own subscription is an entry of the presence, not of the tally.
    const handle = await b.listen({ port: 0 });
    const session = await connect(handle.url, { transports: ["websocket"] });
    await session.serverChan<unknown>("apps.t").put({ subscribe: chan<unknown>(8) });
    await until(() => topicA.presence?.size === 5, "the client's entry on node a");
    await settle();
    assert.equal(tally.size, 4);
    session.close();
    const before = changes;
    topicB.unsubscribe(onB);
    await until(() => tally.size === 3, "b's entry gone");
    assert.ok(changes > before);
    // A burst past the watcher's queue (4,096) in one turn drops the watcher: the tally reads the list again.
    const burst = Array.from({ length: 5_000 }, () => chan<never>(1));
    for (const channel of burst) topicA.subscribe(channel, { principal: "burst" });
    await until(() => tally.size === 5_003, `every entry after the burst: ${tally.size}`);
    assert.ok(logger.lines.some((line) => /the watcher was dropped; reading the list again/.test(line.message)));
    for (const channel of burst) topicA.unsubscribe(channel);
    await until(() => tally.size === 3, "the burst gone");
    tally.close();
    await a.close();
    await b.close();
  });
});
