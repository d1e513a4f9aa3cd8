// A topic's presence across nodes (docs/api.md "Presence"): three servers in one process, each on
// 127.0.0.1 port 0, one MemoryBus between them, real Node clients. A join on one node is seen on
// all, a leave too; a node that starts late gets the others' entries (a snapshot, in parts of
// bounded size); a node that closes says goodbye; a node that dies (its backplane gone, no
// goodbye) has its entries expire on the others; a lost delta is repaired by a snapshot; the
// bounds (maxEntries, maxMessageBytes) hold. Small heartbeats keep it quick; nothing asserts a
// duration: every wait polls until the state is reached.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { type Backplane, type BackplaneEngine, createBackplane, MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import WebSocket from "ws";
import { connect, type Session } from "../../src/client/index.js";
import type { WebSocketLike } from "../../src/client/link.js";
import { chan, type Channel } from "../../src/csp/channel.js";
import { createServer, type PresenceAnswer, type PresenceEvent, type PresenceOptions, type Topic, type TopicDropped, type TopicRequest, type WirechanServer } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { RecordingLogger } from "../helpers/recording-logger.js";

const TEST = { timeout: 60_000 };
const FAST: PresenceOptions = { heartbeatInterval: 20, timeout: 100 };

interface Node {
  readonly server: WirechanServer;
  readonly url: string;
  readonly backplane: Backplane;
  readonly topic: Topic<unknown>;
  readonly logger: RecordingLogger;
  close(): Promise<void>;
}

interface NodeOptions {
  presence?: PresenceOptions;
  backplane?: Backplane;
  maxSubscribers?: number;
}

/** One server on `bus` with the topic "room" and its presence; the principal is the client's `x-user` header. */
async function node(t: TestContext, bus: MemoryBus, id: string, options: NodeOptions = {}): Promise<Node> {
  const backplane = options.backplane ?? memoryBackplane(bus, { nodeId: id });
  const logger = new RecordingLogger();
  const server = createServer({
    backplane,
    logger,
    heartbeat: 30_000,
    heartbeatTimeout: 60_000,
    closeTimeout: 1_000,
    authenticate: (req) => ({ user: req.headers["x-user"] ?? "anonymous" }),
  });
  const topic = server.topic<unknown>("room", { presence: { ...FAST, ...options.presence }, maxSubscribers: options.maxSubscribers ?? 10_000 });
  const handle = await server.listen();
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close();
    await backplane.close();
  };
  t.after(close);
  return { server, url: handle.url, backplane, topic, logger, close };
}

async function cluster(t: TestContext, n: number, bus = new MemoryBus(), options: NodeOptions = {}): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) nodes.push(await node(t, bus, `node-${i}`, options));
  return nodes;
}

/** The `ws` WebSocket, saying who the client is in a header `authenticate` reads. */
function webSocketAs(user: string): WebSocketLike {
  return class UserWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { headers: { "x-user": user } });
    }
  } as unknown as WebSocketLike;
}

async function client(t: TestContext, url: string, user: string): Promise<Session> {
  const session = await connect(url, { transports: ["websocket"], WebSocket: webSocketAs(user) });
  t.after(() => session.close());
  return session;
}

/** Subscribes a new inbox of `session` to "room"; resolves once the server has the request. */
async function join(session: Session): Promise<Channel<unknown>> {
  const inbox = chan<unknown>(64);
  const request: TopicRequest<unknown> = { subscribe: inbox };
  assert.equal(await session.serverChan<TopicRequest<unknown>>("room").put(request), true);
  return inbox;
}

function users(topic: Topic<unknown>): string[] {
  return (topic.presence?.list() ?? []).map((entry) => (entry.principal as { user: string }).user).sort();
}

/** The next event of a watcher, failing (not hanging) if none comes. */
function next(events: Channel<PresenceEvent>, what: string): Promise<PresenceEvent | undefined> {
  return within(events.take(), what);
}

function watch(topic: Topic<unknown>): Channel<PresenceEvent> {
  const events = chan<PresenceEvent>(1024);
  topic.presence?.watch(events);
  return events;
}

describe("presence across three nodes over a MemoryBus", () => {
  it("a join on one node is seen on every node (list and a join event), with its session, principal and node", TEST, async (t) => {
    const nodes = await cluster(t, 3);
    const watchers = nodes.map((n) => watch(n.topic));
    const ann = await client(t, nodes[0]!.url, "ann");
    await join(ann);
    await until(() => nodes.every((n) => n.topic.presence?.size === 1), "every node lists ann");
    for (const [i, events] of watchers.entries()) {
      const event = await next(events, `node ${i}'s join event`);
      assert.equal(event?.type, "join");
      assert.deepEqual(event.entry.principal, { user: "ann" }, "the principal, as JSON carries it");
      assert.equal(event.entry.node, "node-0");
      assert.equal(typeof event.entry.session, "string");
    }
    const bob = await client(t, nodes[2]!.url, "bob");
    await join(bob);
    await until(() => nodes.every((n) => n.topic.presence?.size === 2), "every node lists ann and bob");
    for (const n of nodes) {
      assert.deepEqual(users(n.topic), ["ann", "bob"]);
      assert.equal(n.topic.presence?.nodes, 2);
    }
  });

  it("a client asking { presence } on one node learns who is subscribed on every node", TEST, async (t) => {
    const nodes = await cluster(t, 3);
    await join(await client(t, nodes[0]!.url, "ann"));
    await join(await client(t, nodes[1]!.url, "bob"));
    await until(() => nodes[2]!.topic.presence?.size === 2, "node 2 lists both");
    const inbox = chan<PresenceAnswer | TopicDropped>(1);
    const asker = await client(t, nodes[2]!.url, "cyd");
    assert.equal(await asker.serverChan<TopicRequest<unknown>>("room").put({ presence: inbox }), true);
    const answer = await within(inbox.take(), "the answer");
    assert.ok(answer !== undefined && "presence" in answer && answer.presence !== null);
    assert.equal(answer.presence.count, 2);
    assert.deepEqual(answer.presence.entries.map((e) => [e.node, (e.principal as { user: string }).user]).sort(), [
      ["node-0", "ann"],
      ["node-1", "bob"],
    ]);
  });

  it("a leave on one node (unsubscribe, a session that ends) is seen on every node, reason left", TEST, async (t) => {
    const nodes = await cluster(t, 3);
    const ann = await client(t, nodes[1]!.url, "ann");
    const inbox = await join(ann);
    const bob = await client(t, nodes[1]!.url, "bob");
    await join(bob);
    await until(() => nodes.every((n) => n.topic.presence?.size === 2), "both listed everywhere");
    const watchers = nodes.map((n) => watch(n.topic));
    assert.equal(await ann.serverChan<TopicRequest<unknown>>("room").put({ unsubscribe: inbox }), true);
    for (const [i, events] of watchers.entries()) {
      const event = await next(events, `node ${i}: ann leaves`);
      assert.equal(event?.type, "leave");
      assert.equal(event.type === "leave" ? event.reason : null, "left");
      assert.deepEqual(event.entry.principal, { user: "ann" });
    }
    await bob.close();
    for (const [i, events] of watchers.entries()) {
      const event = await next(events, `node ${i}: bob's session ended`);
      assert.deepEqual(event?.type === "leave" ? [event.reason, event.entry.principal] : null, ["left", { user: "bob" }]);
    }
    for (const n of nodes) assert.equal(n.topic.presence?.size, 0);
  });

  it("a node that starts late gets every other node's entries (a snapshot), and theirs get its own", TEST, async (t) => {
    const bus = new MemoryBus();
    const nodes = await cluster(t, 2, bus);
    await join(await client(t, nodes[0]!.url, "ann"));
    await join(await client(t, nodes[1]!.url, "bob"));
    await until(() => nodes.every((n) => n.topic.presence?.size === 2), "two nodes list both");
    const late = await node(t, bus, "late");
    await until(() => late.topic.presence?.size === 2, "the late node lists the entries made before it started");
    assert.deepEqual(users(late.topic), ["ann", "bob"]);
    await join(await client(t, late.url, "cyd"));
    await until(() => [...nodes, late].every((n) => n.topic.presence?.size === 3), "every node lists the late node's entry");
  });

  it("a node killed (its backplane gone, no goodbye): its entries expire on the others, reason expired", TEST, async (t) => {
    const nodes = await cluster(t, 3);
    await join(await client(t, nodes[0]!.url, "ann"));
    await join(await client(t, nodes[2]!.url, "zed"));
    await join(await client(t, nodes[2]!.url, "zoe"));
    await until(() => nodes.every((n) => n.topic.presence?.size === 3), "all three listed everywhere");
    const watchers = nodes.slice(0, 2).map((n) => watch(n.topic));
    // Its heartbeats stop and nothing more of it crosses, as when a process dies.
    await nodes[2]!.backplane.close();
    for (const [i, events] of watchers.entries()) {
      const left = [await next(events, `node ${i}: first expiry`), await next(events, `node ${i}: second expiry`)];
      assert.deepEqual(
        left.map((e) => (e?.type === "leave" ? [e.reason, e.entry.node] : null)),
        [
          ["expired", "node-2"],
          ["expired", "node-2"],
        ],
      );
    }
    for (const n of nodes.slice(0, 2)) assert.deepEqual(users(n.topic), ["ann"]);
    for (const n of nodes.slice(0, 2)) assert.equal(n.logger.lines.length, 0, "nothing to report on the living nodes");
  });

  it("a node that closes says goodbye: its entries leave the others at once, reason node-left", TEST, async (t) => {
    // A timeout no test waits for: the leave can only come from the goodbye.
    const nodes = await cluster(t, 3, new MemoryBus(), { presence: { heartbeatInterval: 20, timeout: 600_000 } });
    await join(await client(t, nodes[1]!.url, "ann"));
    await until(() => nodes.every((n) => n.topic.presence?.size === 1), "ann listed everywhere");
    const events = watch(nodes[0]!.topic);
    await nodes[1]!.close();
    const event = await next(events, "the goodbye's leave");
    assert.deepEqual(event?.type === "leave" ? [event.reason, event.entry.node] : null, ["node-left", "node-1"]);
    assert.equal(nodes[2]!.topic.presence?.size, 0);
  });

  it("a delta the engine lost (as NATS core may) is repaired: the next heartbeat shows the gap and a snapshot follows", TEST, async (t) => {
    const bus = new MemoryBus();
    let dropNextJoin = true;
    const lossy: BackplaneEngine = {
      publish(subject, text) {
        // The first presence join of this node never reaches anyone; the engine says it took it.
        if (dropNextJoin && subject === "wirechan.presence.room" && text.includes('"k":"join"')) {
          dropNextJoin = false;
          return Promise.resolve();
        }
        return bus.publish(subject, text);
      },
      subscribe: (subject, onMessage) => bus.subscribe(subject, onMessage),
      append: (log, text, maxEntries) => bus.append(log, text, maxEntries),
      read: (log, maxEntries) => bus.read(log, maxEntries),
      close: () => Promise.resolve(),
    };
    const a = await node(t, bus, "lossy", { backplane: createBackplane(lossy, { nodeId: "lossy" }) });
    const b = await node(t, bus, "b");
    const local = chan<unknown>(8);
    a.topic.subscribe(local, { principal: { user: "server" } });
    await until(() => !dropNextJoin, "the join was lost");
    await until(() => b.topic.presence?.size === 1, "b lists the entry whose join was lost");
    assert.deepEqual(users(b.topic), ["server"]);
  });

  it("a snapshot of 2,000 entries crosses in parts of at most maxMessageBytes, and a late node lists them all", TEST, async (t) => {
    const bus = new MemoryBus();
    const presence: PresenceOptions = { ...FAST, maxMessageBytes: 4_096 };
    const first = await node(t, bus, "first", { presence });
    for (let i = 0; i < 2_000; i++) first.topic.subscribe(chan<unknown>(1), { principal: { user: `u${i}`, pad: "é".repeat(20) } });
    const spy = memoryBackplane(bus, { nodeId: "spy" });
    t.after(() => spy.close());
    const sizes: number[] = [];
    spy.subscribe("wirechan.presence.room", (message) => sizes.push(Buffer.byteLength(message.body, "utf8")));
    const late = await node(t, bus, "late", { presence });
    await until(() => late.topic.presence?.size === 2_000, "the late node lists 2,000 entries");
    assert.ok(sizes.length > 10, `many messages (${sizes.length})`);
    assert.ok(Math.max(...sizes) <= 4_096, `every presence message within maxMessageBytes (largest ${Math.max(...sizes)})`);
  });

  it("maxEntries: a node keeps at most that many, its own always; other nodes' joins past it are left out, counted and logged once", TEST, async (t) => {
    const bus = new MemoryBus();
    const big = await node(t, bus, "big");
    const small = await node(t, bus, "small", { presence: { ...FAST, maxEntries: 3 } });
    const own = chan<unknown>(1);
    small.topic.subscribe(own, { principal: "mine" });
    for (let i = 0; i < 5; i++) big.topic.subscribe(chan<unknown>(1), { principal: `theirs ${i}` });
    await until(() => big.topic.presence?.size === 6, "the big node lists all six");
    await until(() => (small.topic.presence?.leftOut ?? 0) >= 3, "the small node left three out (a snapshot that lists them again counts them again)");
    assert.equal(small.topic.presence?.size, 3, "three kept: its own and two of the other node's");
    assert.ok((small.topic.presence?.list() ?? []).some((e) => e.principal === "mine"));
    assert.equal(small.logger.lines.filter((l) => l.message.includes("maxEntries")).length, 1, "one warning per fill");
    // Its own subscriptions are always kept, full or not.
    small.topic.subscribe(chan<unknown>(1), { principal: "mine too" });
    assert.equal(small.topic.presence?.size, 4);
  });

  it("maxNodes: a node keeps the entries of at most that many others; a message from one more is dropped and logged, not once per message", TEST, async (t) => {
    const bus = new MemoryBus();
    const small = await node(t, bus, "small", { presence: { ...FAST, maxNodes: 1 } });
    const first = await node(t, bus, "first");
    first.topic.subscribe(chan<unknown>(1), { principal: "first" });
    await until(() => small.topic.presence?.size === 1, "the first other node is kept");
    const second = await node(t, bus, "second");
    for (let i = 0; i < 5; i++) second.topic.subscribe(chan<unknown>(1), { principal: `second ${i}` });
    await until(() => first.topic.presence?.size === 6, "the first node, unbounded, lists every entry");
    assert.deepEqual((small.topic.presence?.list() ?? []).map((e) => e.principal), ["first"]);
    const warnings = small.logger.lines.filter((l) => l.message.includes("maxNodes"));
    assert.ok(warnings.length >= 1 && warnings.length < 5, `${warnings.length} warnings`);
  });

  it("a node that restarts with the same nodeId (no goodbye) is a new run: its old entries leave (resync), its new ones join", TEST, async (t) => {
    const bus = new MemoryBus();
    const presence: PresenceOptions = { heartbeatInterval: 20, timeout: 600_000 };
    const watcher = await node(t, bus, "watcher", { presence });
    const before = await node(t, bus, "x", { presence });
    before.topic.subscribe(chan<unknown>(1), { principal: "old run" });
    await until(() => watcher.topic.presence?.size === 1, "the first run's entry listed");
    const events = watch(watcher.topic);
    await before.backplane.close();
    const after = await node(t, bus, "x", { presence });
    after.topic.subscribe(chan<unknown>(1), { principal: "new run" });
    const seen = [await next(events, "first event"), await next(events, "second event")];
    assert.deepEqual(
      seen.map((e) => (e?.type === "leave" ? ["leave", e.reason, e.entry.principal] : [e?.type, e?.entry.principal])),
      [
        ["leave", "resync", "old run"],
        ["join", "new run"],
      ],
    );
  });

  it("a malformed presence message from another node is dropped and logged; the presence goes on", TEST, async (t) => {
    const bus = new MemoryBus();
    const a = await node(t, bus, "a");
    const rogue = memoryBackplane(bus, { nodeId: "rogue" });
    t.after(() => rogue.close());
    for (const body of ["", "not json", "[]", '{"v":1,"k":"join","e":"x","s":1,"en":[[1,2,3]]}', '{"v":2,"k":"beat","e":"x","s":0}', '{"v":1,"k":"snap","e":"x","s":0,"to":"*"}']) {
      rogue.publish("wirechan.presence.room", body);
    }
    await until(() => a.logger.lines.length === 6, "six messages dropped and logged");
    assert.ok(a.logger.lines.every((l) => l.message.includes("cannot read")));
    const b = await node(t, bus, "b");
    b.topic.subscribe(chan<unknown>(1), { principal: "still works" });
    await until(() => a.topic.presence?.size === 1, "a still hears b");
  });
});
