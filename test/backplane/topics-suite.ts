// Topics across three nodes over any engine (docs/api.md "More than one server"), run by each
// engine's test file: real servers on 127.0.0.1 port 0, real Node clients subscribed on
// different nodes. A put on one node reaches every subscriber of every node once and in order;
// it crosses the engine once and is encoded once in the whole cluster, whatever the number of
// clients; a node that closes leaves and the others go on. Every test has a space of its own.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { Backplane, BackplaneMessage } from "../../src/backplane/index.js";
import { connect, type Session } from "../../src/client/index.js";
import { chan, type Channel } from "../../src/csp/channel.js";
import { type Codec, createServer, jsonCodec, type Topic, type TopicDropped, type TopicRequest, type WirechanServer } from "../../src/server/index.js";
import { topicSubject } from "../../src/server/topic-relay.js";
import { pollAll, settle, until, within } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";
import { type EngineFixture, newSpace } from "./engine-suite.js";

const TEST = { timeout: 60_000 };

/** The JSON codec, counting how often a value is encoded for the wire (once per topic put, on the node that put). */
export function countingCodec(): Codec & { values: number } {
  const counts = {
    ...jsonCodec,
    values: 0,
    encodeValue(value: unknown): string {
      counts.values++;
      return jsonCodec.encodeValue(value);
    },
  };
  return counts;
}

export interface Node {
  readonly server: WirechanServer;
  readonly url: string;
  readonly codec: Codec & { values: number };
  readonly backplane: Backplane;
  readonly topic: Topic<unknown>;
  close(): Promise<void>;
}

export type Inbox = Channel<unknown | TopicDropped>;

/** The next `n` values of `inbox`, failing (not hanging) if they do not come. */
export async function take(inbox: Channel<unknown>, n: number, what: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(await within(inbox.take(), () => `${what}: got ${JSON.stringify(out)}`));
  return out;
}

export async function client(t: TestContext, url: string): Promise<Session> {
  const session = await connect(url, { transports: ["websocket"] });
  t.after(() => session.close());
  return session;
}

/** A client's inbox subscribed to `topic`: resolves once the server has the request. */
export async function subscribe(session: Session, topic = "news"): Promise<Inbox> {
  const inbox = chan<unknown>(1024);
  const request: TopicRequest<unknown> = { subscribe: inbox };
  assert.equal(await session.serverChan<TopicRequest<unknown>>(topic).put(request), true);
  return inbox;
}

export function topicsSuite(fixture: EngineFixture): void {
  /** `n` servers in one space, each with the topic "news", its subscription in effect, closed after the test. */
  async function cluster(t: TestContext, n: number, space: string): Promise<Node[]> {
    const nodes: Node[] = [];
    for (let i = 0; i < n; i++) {
      const codec = countingCodec();
      const backplane = await fixture.node(t, space, { nodeId: `node-${i}` });
      const server = createServer({ backplane, codec, heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000 });
      const topic = server.topic<unknown>("news");
      await backplane.ready();
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

  /** Every backplane message of the topic "news" in `space`, seen by a node that is no server. */
  async function observe(t: TestContext, space: string): Promise<BackplaneMessage[]> {
    const observer = await fixture.node(t, space, { nodeId: "observer" });
    const seen: BackplaneMessage[] = [];
    observer.subscribe(topicSubject("news"), (message) => seen.push(message));
    await observer.ready();
    return seen;
  }

  describe(`topics across three nodes: ${fixture.name}`, () => {
    it("one node cut from the engine: its clients still reach its named channels, its topic's puts throw ERR_BACKPLANE_FULL past maxPending; once back, its puts reach every node again", TEST, async (t) => {
      const space = newSpace();
      const [other] = await cluster(t, 1, space);
      const { node: backplane, cut, restore } = await fixture.cuttableNode(t, space, { nodeId: "cut", maxPending: 3 });
      const server = createServer({ backplane, heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000 });
      const topic = server.topic<unknown>("news");
      const say = server.channel<unknown>("say", 8);
      await backplane.ready();
      const handle = await server.listen();
      t.after(() => handle.close());
      const near = await client(t, handle.url);
      const nearInbox = await subscribe(near);
      const farInbox = await subscribe(await client(t, other!.url));

      await cut();
      assert.equal(await near.serverChan("say").put("still here"), true);
      assert.equal(await within(say.take(), "the named channel's put"), "still here");
      for (let i = 0; i < 3; i++) assert.equal(await topic.put(`during ${i}`), true, "published: waits in the engine");
      assertThrowsCode(() => void topic.put("one too many"), "ERR_BACKPLANE_FULL", "maxPending puts wait");

      restore();
      await within(backplane.ready(), "subscribed again", 30_000);
      // Poll: what was put during the cut may or may not have crossed (docs/api.md "When Redis or NATS is down").
      const heard = async (inbox: Inbox, what: string): Promise<void> => {
        for (let i = 0; ; i++) {
          assert.ok(i < 200, `${what} never heard the cut node again`);
          const value = await within(inbox.take(), what, 30_000);
          if (String(value).startsWith("after")) return;
        }
      };
      let done = false;
      const probing = (async () => {
        for (let i = 0; !done && i < 1_000; i++) {
          if (backplane.pending === 0) void topic.put(`after ${i}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      await Promise.all([heard(nearInbox, "the cut node's client"), heard(farInbox, "the other node's client")]);
      done = true;
      await probing;
    });

    it("a put on one node reaches every client and local subscriber on every node, once and in order; one message and one encoding per put", TEST, async (t) => {
      const space = newSpace();
      const nodes = await cluster(t, 3, space);
      const seen = await observe(t, space);
      const inboxes: Array<{ inbox: Inbox; what: string }> = [];
      for (const [i, node] of nodes.entries()) {
        for (let c = 0; c < 2; c++) inboxes.push({ inbox: await subscribe(await client(t, node.url)), what: `client ${c} of node ${i}` });
        const local = chan<unknown>(1024);
        node.topic.subscribe(local);
        inboxes.push({ inbox: local, what: `local subscriber of node ${i}` });
      }
      const values = Array.from({ length: 30 }, (_, i) => ({ n: i, text: `message ${i} é 🙂` }));
      for (const value of values) assert.equal(await nodes[0]!.topic.put(value), true);
      for (const { inbox, what } of inboxes) assert.deepEqual(await take(inbox, values.length, what), values, what);
      await until(() => seen.length >= values.length, "the observer saw every put");
      await settle();
      for (const { inbox, what } of inboxes) assert.deepEqual(pollAll(inbox), [], `${what}: nothing twice`);
      assert.equal(seen.length, values.length, "one backplane message per put");
      assert.deepEqual(
        nodes.map((node) => node.codec.values),
        [values.length, 0, 0],
        "encoded on the publishing node only: the receiving nodes frame the text they got",
      );
    });

    it("backplane messages per put do not depend on the number of clients", TEST, async (t) => {
      const space = newSpace();
      const nodes = await cluster(t, 3, space);
      const seen = await observe(t, space);
      const first = await subscribe(await client(t, nodes[1]!.url));
      await nodes[0]!.topic.put("one client");
      assert.deepEqual(await take(first, 1, "the one client"), ["one client"]);
      const more: Inbox[] = [];
      for (const node of nodes) for (let c = 0; c < 3; c++) more.push(await subscribe(await client(t, node.url)));
      await nodes[2]!.topic.put("ten clients");
      for (const inbox of [first, ...more]) assert.deepEqual(await take(inbox, 1, "each of ten clients"), ["ten clients"]);
      await until(() => seen.length >= 2, "the observer saw both puts");
      await settle();
      assert.deepEqual(seen.map((m) => m.from), ["node-0", "node-2"], "one message per put");
    });

    it(`producers on two nodes: each producer's order holds for every subscriber${fixture.ordersAcrossPublishers ? ", and all see one order" : ""}`, TEST, async (t) => {
      const nodes = await cluster(t, 3, newSpace());
      const inboxes = await Promise.all(nodes.map(async (node) => subscribe(await client(t, node.url))));
      const locals = nodes.map((node) => {
        const local = chan<unknown>(1024);
        node.topic.subscribe(local);
        return local;
      });
      for (let i = 0; i < 40; i++) void nodes[i % 2]!.topic.put(`${i % 2 === 0 ? "a" : "b"}${i}`);
      const seen = await Promise.all([...inboxes, ...locals].map((inbox, i) => take(inbox, 40, `subscriber ${i}`)));
      for (const order of seen) {
        assert.deepEqual(order.filter((v) => String(v).startsWith("a")), Array.from({ length: 20 }, (_, i) => `a${2 * i}`));
        assert.deepEqual(order.filter((v) => String(v).startsWith("b")), Array.from({ length: 20 }, (_, i) => `b${2 * i + 1}`));
      }
      if (fixture.ordersAcrossPublishers) for (const order of seen.slice(1)) assert.deepEqual(order, seen[0]);
    });

    it("a local subscriber of the publishing node gets a copy parsed from the wire text, as every node's do", TEST, async (t) => {
      const nodes = await cluster(t, 2, newSpace());
      const local = chan<unknown>(8);
      nodes[0]!.topic.subscribe(local);
      const value = { nested: { list: [1, "two", null] }, "~key": true };
      await nodes[0]!.topic.put(value);
      const got = await within(local.take(), "the value");
      assert.deepEqual(got, value);
      assert.notEqual(got, value, "a copy, not the object put");
    });

    it("a node that closes stops its subscriptions; the others go on; its topic's puts resolve false", TEST, async (t) => {
      const space = newSpace();
      const nodes = await cluster(t, 3, space);
      const seen = await observe(t, space);
      const inboxes = await Promise.all(nodes.map(async (node) => subscribe(await client(t, node.url))));
      await nodes[0]!.topic.put("before");
      for (const inbox of inboxes) assert.deepEqual(await take(inbox, 1, "before"), ["before"]);
      await nodes[2]!.close();
      assert.equal(await nodes[2]!.topic.put("from a closed node"), false);
      await nodes[1]!.topic.put("after");
      for (const inbox of inboxes.slice(0, 2)) assert.deepEqual(await take(inbox, 1, "after"), ["after"]);
      await until(() => seen.length >= 2, "the observer saw both puts");
      await settle();
      assert.deepEqual(pollAll(inboxes[2]!), [], "nothing reaches the closed node's client");
      assert.deepEqual(seen.map((m) => m.from), ["node-0", "node-1"], "the closed node's put did not cross");
    });
  });
}
