// Which nodes are alive (src/server/cluster/node-directory.ts), over a MemoryBus with short
// heartbeats: a node heard is alive; one silent past the timeout is gone, but only once this
// node has run a timeout and hears itself; a node that cannot publish its heartbeat says so
// once, not at every beat, and says when it can again.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { NodeDirectory } from "../../src/server/cluster/node-directory.js";
import { nodeTag } from "../../src/server/cluster/node-tag.js";
import { until } from "../helpers/async.js";
import { RecordingLogger } from "../helpers/recording-logger.js";

function directory(t: TestContext, bus: MemoryBus, nodeId: string, logger = new RecordingLogger()): { directory: NodeDirectory; close: () => Promise<void> } {
  const backplane = memoryBackplane(bus, { nodeId });
  const made = new NodeDirectory(backplane, { tag: nodeTag(nodeId), heartbeat: 20, timeout: 200, maxNodes: 8, logger });
  const close = async (): Promise<void> => {
    made.close();
    await backplane.close();
  };
  t.after(close);
  return { directory: made, close };
}

describe("node directory", () => {
  it("a node heard is alive; silent past the timeout it is gone; a node never heard is unknown until this one has run a timeout", async (t) => {
    const bus = new MemoryBus();
    const a = directory(t, bus, "a");
    const b = directory(t, bus, "b");
    assert.equal(a.directory.stateOf(nodeTag("nobody")), "unknown", "just started: cannot tell");
    await until(() => a.directory.stateOf(nodeTag("b")) === "alive" && a.directory.alive === 2, "b heard, and a itself");
    await b.close();
    await until(() => a.directory.stateOf(nodeTag("b")) === "gone", "b silent: gone");
    assert.equal(a.directory.stateOf(nodeTag("nobody")), "gone", "never heard, after a timeout of hearing itself");
  });

  it("maxNodes: past it the node heard from longest ago is forgotten; the map never grows past it", async (t) => {
    const bus = new MemoryBus();
    const a = directory(t, bus, "a");
    const sender = memoryBackplane(bus, { nodeId: "sender" });
    t.after(() => sender.close());
    const tags = Array.from({ length: 20 }, (_, i) => nodeTag(`n${i}`));
    for (const tag of tags) sender.publish("wirechan.nodes", tag);
    await until(() => a.directory.stateOf(tags[19]!) === "alive", "the last one heard");
    assert.ok(a.directory.alive <= 8, `at most maxNodes (8) remembered, got ${a.directory.alive}`);
    assert.notEqual(a.directory.stateOf(tags[0]!), "alive", "the one heard longest ago forgotten");
    sender.publish("wirechan.nodes", "not a tag");
    sender.publish("wirechan.nodes", "x".repeat(100_000));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(a.directory.alive <= 8, "what is not a tag is not remembered");
  });

  it("a heartbeat that cannot be published is told once per streak, and its return once", async (t) => {
    const bus = new MemoryBus({ maxQueued: 1 });
    const logger = new RecordingLogger();
    const a = directory(t, bus, "a", logger);
    // A full bus: every publish throws while the queue holds a message nobody drains this turn.
    const blocker = memoryBackplane(bus, { nodeId: "blocker" });
    t.after(() => blocker.close());
    let blocking = true;
    t.after(() => {
      blocking = false;
    });
    const block = (): void => {
      if (!blocking) return;
      try {
        blocker.publish("x", "fill");
      } catch {
        // Already full.
      }
      setImmediate(block);
    };
    block();
    await until(() => logger.lines.length >= 1, "the failure told");
    await new Promise((resolve) => setTimeout(resolve, 150));
    const failures = logger.lines.filter((line) => /could not be published/.test(line.message));
    assert.equal(failures.length, 1, "once for the whole streak");
    blocking = false;
    await until(() => logger.lines.some((line) => /published again/.test(line.message)), "the return told");
    void a;
  });
});
