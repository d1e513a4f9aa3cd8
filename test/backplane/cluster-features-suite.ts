// A topic's presence and groups across servers over every engine (memory-engine.test.ts,
// redis-engine.test.ts, nats-engine.test.ts call it with their fixture): three servers, each on
// its own node of the engine, with real clients. A join on one node is seen on every node, a
// leave too, a node started late gets the others' entries, a node that dies without a goodbye
// has its entries expire on the others; a group's broadcastEncoded reaches the members of every
// node once. The MemoryBus-only details (bounds, lost deltas, snapshots in parts) are in
// presence-cluster.test.ts and backplane-channel-store.test.ts.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import WebSocket from "ws";
import type { Backplane } from "../../src/backplane/index.js";
import { connect, type Session } from "../../src/client/index.js";
import { chan } from "../../src/csp/channel.js";
import { backplaneChannelStore, createServer, type Topic, type TopicDropped, type TopicRequest, runServer, withChannel } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { type EngineFixture, newSpace } from "./engine-suite.js";

const TEST = { timeout: 60_000 };

interface PresenceNode {
  readonly backplane: Backplane;
  readonly url: string;
  readonly topic: Topic<unknown>;
}

async function presenceNode(t: TestContext, fixture: EngineFixture, space: string, nodeId: string): Promise<PresenceNode> {
  const backplane = await fixture.node(t, space, { nodeId });
  const server = createServer({ backplane, closeTimeout: 1_000, clusterHeartbeat: 100, clusterTimeout: 1_000 });
  const topic = server.topic<unknown>("room", { presence: { heartbeatInterval: 50, timeout: 500 } });
  const handle = await server.listen();
  await backplane.ready();
  t.after(() => handle.close());
  return { backplane, url: handle.url, topic };
}

async function subscribed(t: TestContext, url: string): Promise<Session> {
  const session = await connect(url, { transports: ["websocket"] });
  t.after(() => session.close());
  assert.equal(await session.serverChan<TopicRequest<unknown>>("room").put({ subscribe: chan<unknown | TopicDropped>(16) }), true);
  return session;
}

const sizes = (nodes: readonly PresenceNode[]): number[] => nodes.map((node) => node.topic.presence?.size ?? -1);

export function clusterFeaturesSuite(fixture: EngineFixture): void {
  describe(`presence and groups across three nodes: ${fixture.name}`, () => {
    it("presence: joins and leaves are seen on every node; a late node gets the entries; a node that dies has its entries expire", TEST, async (t) => {
      const space = newSpace();
      const nodes = await Promise.all(["a", "b", "c"].map((id) => presenceNode(t, fixture, space, id)));
      const first = await subscribed(t, nodes[0]!.url);
      await subscribed(t, nodes[1]!.url);
      await until(() => sizes(nodes).every((size) => size === 2), `two entries everywhere: ${sizes(nodes).join()}`, 30_000);
      assert.deepEqual(new Set(nodes[2]!.topic.presence?.list().map((entry) => entry.node)), new Set(["a", "b"]), "each entry names its node");
      first.close();
      await until(() => sizes(nodes).every((size) => size === 1), `a leave seen everywhere: ${sizes(nodes).join()}`, 30_000);
      const late = await presenceNode(t, fixture, space, "late");
      await until(() => late.topic.presence?.size === 1, "the late node has the entry (a snapshot)", 30_000);
      // Node b dies: its engine connection goes, with no goodbye.
      await nodes[1]!.backplane.close();
      await until(() => nodes[0]!.topic.presence?.size === 0 && late.topic.presence?.size === 0, "the dead node's entry expired", 30_000);
    });

    it("groups: broadcastEncoded on one node reaches the members on every node once, in order", TEST, async (t) => {
      const space = newSpace();
      const got: string[][] = [];
      const stores = [];
      for (const id of ["a", "b", "c"]) {
        const backplane = await fixture.node(t, space, { nodeId: id });
        const store = backplaneChannelStore<null>(backplane);
        const handle = await runServer((req) => withChannel(req, (conn) => store.addToGroup("g", conn, null)));
        t.after(async () => {
          store.close();
          await handle.close();
        });
        const received: string[] = [];
        got.push(received);
        const ws = new WebSocket(handle.url.replace("http:", "ws:"));
        t.after(() => ws.terminate());
        ws.on("message", (data: Buffer) => received.push(data.toString("utf8")));
        await within(new Promise((resolve) => ws.once("open", resolve)), "the member's socket opens");
        await until(() => store.members("g") === 1, "the member joined");
        await backplane.ready();
        stores.push(store);
      }
      const texts = ["one", "deux 2", "三 😀"];
      for (const text of texts) stores[0]!.broadcastEncoded("g", text);
      await until(() => got.every((received) => received.length >= texts.length), `every member got all: ${got.map((g) => g.length).join()}`, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(got, [texts, texts, texts], "once each, in order, on every node");
    });
  });
}
