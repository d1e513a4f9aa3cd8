// Topics across nodes on a MemoryBus, what only the bus can show: the subscriptions a node
// that closes gives back, a bus full, maxSubjects, the options refused with a backplane. That a
// put reaches every subscriber of every node once and in order, crosses once and is encoded
// once whatever the number of clients, is tested over every engine, this one included, in
// topics-suite.ts (memory-engine.test.ts, redis-engine.test.ts, nats-engine.test.ts).
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { type Backplane, MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { chan } from "../../src/csp/channel.js";
import { createServer } from "../../src/server/index.js";
import { pollAll, settle } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";
import { topicSubject } from "../../src/server/topic-relay.js";
import { client, countingCodec, type Node, subscribe, take } from "./topics-suite.js";

const TEST = { timeout: 60_000 };

/** `n` servers on one bus, each with the topic `name`, closed after the test. */
async function cluster(t: TestContext, n: number, bus = new MemoryBus(), name = "news"): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    const codec = countingCodec();
    const backplane = memoryBackplane(bus, { nodeId: `node-${i}` });
    // One cluster heartbeat each, at start: the counts below are of a topic's traffic.
    const server = createServer({ backplane, codec, heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000, clusterHeartbeat: 600_000, clusterTimeout: 1_200_000 });
    const topic = server.topic<unknown>(name);
    const handle = await server.listen();
    const close = async (): Promise<void> => {
      await handle.close();
      await backplane.close();
    };
    t.after(close);
    nodes.push({ server, url: handle.url, codec, backplane, topic, close });
  }
  return nodes;
}

/** Messages published on the topic `name`'s subject of `bus`, counted by a subscription of the test's own. */
function topicTraffic(t: TestContext, bus: MemoryBus, name = "news"): { readonly messages: number } {
  const traffic = { messages: 0 };
  t.after(bus.subscribe(topicSubject(name), () => traffic.messages++));
  return traffic;
}

describe("topics across three nodes over a MemoryBus", () => {
  it("a node that closes stops its subscriptions; the others go on; its topic's puts resolve false", TEST, async (t) => {
    const bus = new MemoryBus();
    const traffic = topicTraffic(t, bus);
    const nodes = await cluster(t, 3, bus);
    const inboxes = await Promise.all(nodes.map(async (node) => subscribe(await client(t, node.url))));
    await nodes[0]!.topic.put("before");
    for (const inbox of inboxes) assert.deepEqual(await take(inbox, 1, "before"), ["before"]);
    const subscriptions = bus.subscriptions;
    await nodes[2]!.close();
    assert.equal(bus.subscriptions, subscriptions - 3, "the closed node left the bus: its topic, its own subject, the nodes' heartbeats");
    assert.equal(await nodes[2]!.topic.put("from a closed node"), false);
    await nodes[1]!.topic.put("after");
    for (const inbox of inboxes.slice(0, 2)) assert.deepEqual(await take(inbox, 1, "after"), ["after"]);
    await settle();
    assert.deepEqual(pollAll(inboxes[2]!), [], "nothing reaches the closed node's client");
    assert.equal(traffic.messages, 2, "the closed node's put did not cross");
  });

  it("a put throws the backplane's typed error when the bus is full, and nothing is half sent", TEST, async (t) => {
    const bus = new MemoryBus({ maxQueued: 3 });
    const nodes = await cluster(t, 2, bus);
    await settle(); // the nodes' first heartbeats delivered: the queue is the topic's alone
    const local = chan<unknown>(16);
    nodes[1]!.topic.subscribe(local);
    for (let i = 0; i < 3; i++) void nodes[0]!.topic.put(i);
    assertThrowsCode(() => void nodes[0]!.topic.put(3), "ERR_MEMORY_BUS_FULL", "the fourth put with three waiting");
    assert.deepEqual(await take(local, 3, "the three taken"), [0, 1, 2]);
    await settle();
    assert.deepEqual(pollAll(local), []);
  });

  it("a topic the backplane refuses (maxSubjects reached) leaves its name free", (t) => {
    // Two subjects are the server's own (its node's, and the nodes' heartbeats): one left for topics.
    const backplane = memoryBackplane(new MemoryBus(), { maxSubjects: 3 });
    t.after(() => backplane.close());
    const server = createServer({ backplane });
    server.topic("first");
    assertThrowsCode(() => server.topic("second"), "ERR_BACKPLANE_SUBJECT", "past maxSubjects");
    server.channel("second");
    assertThrowsCode(() => server.topic("first"), "ERR_CHANNEL_NAME", "a name taken");
    assertThrowsCode(() => server.topic("second"), "ERR_CHANNEL_NAME", "the name checked before the backplane is asked");
  });

  it("options: whenFull \"backpressure\" is refused with a backplane; a backplane that is not one is refused", (t) => {
    const backplane = memoryBackplane(new MemoryBus());
    t.after(() => backplane.close());
    const server = createServer({ backplane });
    assertThrowsCode(() => server.topic("t", { whenFull: "backpressure" }), "ERR_TOPIC_OPTION", "backpressure across nodes", TypeError);
    server.topic("t", { whenFull: "drop-oldest" });
    assertThrowsCode(() => createServer({ backplane: {} as Backplane }), "ERR_SERVER_OPTION", "not a backplane", TypeError);
  });
});
