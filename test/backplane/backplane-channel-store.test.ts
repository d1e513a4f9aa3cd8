// Groups across servers (docs/api.md "Groups across servers"): three servers (runServer +
// withChannel) in one process, each with a BackplaneChannelStore on its own node of one
// MemoryBus, real clients (the `ws` WebSocket, the `eventsource` package, fetch for long-polls).
// broadcastEncoded reaches every node's members once, text and bytes; broadcast stays local; a
// group's subject is held while a node has members and given back when the last leaves or closes;
// the bounds (the backplane's maxSubjects, maxPayloadBytes, the bus full) refuse with typed errors
// and send nothing; a body from another node that cannot be read is dropped and logged.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { EventSource } from "eventsource";
import fc from "fast-check";
import WebSocket from "ws";
import { type Backplane, MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { BackplaneChannelStore, backplaneChannelStore, type BackplaneChannelStoreOptions, type Connection, runServer, withChannel } from "../../src/server/index.js";
import { readBody } from "../../src/server/backplane-channel-store.js";
import { settle, until, within } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";
import { RecordingLogger } from "../helpers/recording-logger.js";
import { AsyncQueue } from "../helpers/server.js";

const TEST = { timeout: 30_000 };

interface Node {
  readonly store: BackplaneChannelStore<string>;
  readonly backplane: Backplane;
  readonly url: string;
  readonly conns: Map<string, Connection>;
  readonly logger: RecordingLogger;
}

/** A server whose handler adds every connection to the groups of its query (`?name=…&group=…`). */
async function node(t: TestContext, bus: MemoryBus, id: string, options: BackplaneChannelStoreOptions = {}, backplane = memoryBackplane(bus, { nodeId: id })): Promise<Node> {
  const logger = new RecordingLogger();
  const store = backplaneChannelStore<string>(backplane, { logger, ...options });
  const conns = new Map<string, Connection>();
  const handle = await runServer((req) =>
    withChannel(req, (conn) => {
      const name = req.query.get("name") ?? "";
      conns.set(name, conn);
      for (const group of req.query.getAll("group")) store.addToGroup(group, conn, name);
    }),
  );
  t.after(async () => {
    store.close();
    await handle.close();
    await backplane.close();
  });
  return { store, backplane, url: handle.url, conns, logger };
}

function address(n: Node, name: string, groups: string[]): string {
  return `${n.url}/?${new URLSearchParams([["name", name], ...groups.map((g) => ["group", g])]).toString()}`;
}

/** A WebSocket member: what it receives, as text or bytes. */
async function wsMember(t: TestContext, n: Node, name: string, ...groups: string[]): Promise<{ ws: WebSocket; got: AsyncQueue<string | Uint8Array> }> {
  const ws = new WebSocket(address(n, name, groups).replace("http:", "ws:"));
  t.after(() => ws.terminate());
  const got = new AsyncQueue<string | Uint8Array>();
  ws.on("message", (data: Buffer, isBinary: boolean) => got.push(isBinary ? new Uint8Array(data) : data.toString("utf8")));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  await until(() => n.conns.has(name), `${name} joined`);
  return { ws, got };
}

async function sseMember(t: TestContext, n: Node, name: string, ...groups: string[]): Promise<AsyncQueue<string>> {
  const es = new EventSource(address(n, name, groups));
  t.after(() => es.close());
  const events = new AsyncQueue<string>();
  es.addEventListener("message", (event: MessageEvent<string>) => events.push(event.data));
  await until(() => n.conns.has(name), `${name} joined`);
  return events;
}

async function cluster(t: TestContext, bus = new MemoryBus()): Promise<Node[]> {
  return [await node(t, bus, "a"), await node(t, bus, "b"), await node(t, bus, "c")];
}

describe("BackplaneChannelStore over three nodes", () => {
  it("broadcastEncoded reaches every node's members once (WebSocket, SSE, long-poll), crossing once; text stays text and bytes bytes", TEST, async (t) => {
    const bus = new MemoryBus();
    const [a, b, c] = await cluster(t, bus);
    const ann = await wsMember(t, a!, "ann", "room");
    const bob = await wsMember(t, b!, "bob", "room");
    const cyd = await sseMember(t, c!, "cyd", "room");
    const poll = fetch(address(c!, "dan", ["room"])).then((res) => res.text());
    await until(() => c!.store.members("room") === 2, "c has two members");
    const before = bus.published;
    assert.equal(b!.store.broadcastEncoded("room", '{"n":1}'), 1, "the count is this node's members");
    assert.equal(bus.published - before, 1, "one message crosses, whatever the members");
    for (const [what, got] of [["ann", ann.got], ["bob", bob.got]] as const) assert.equal(await within(got.next(), what), '{"n":1}', what);
    assert.equal(await within(cyd.next(), "cyd"), '{"n":1}');
    assert.equal(await within(poll, "dan's long-poll"), '{"n":1}');
    a!.store.broadcastEncoded("room", new Uint8Array([0, 1, 2, 255]));
    for (const got of [ann.got, bob.got]) assert.deepEqual(await within(got.next(), "bytes"), new Uint8Array([0, 1, 2, 255]));
    await settle();
    for (const n of [a!, b!, c!]) assert.equal(n.logger.lines.length, 0);
  });

  it("one node's broadcasts arrive on every node in the order it made them", TEST, async (t) => {
    const [a, b, c] = await cluster(t);
    const members = [await wsMember(t, a!, "ann", "room"), await wsMember(t, b!, "bob", "room"), await wsMember(t, c!, "cyd", "room")];
    for (let i = 0; i < 50; i++) b!.store.broadcastEncoded("room", String(i));
    for (const [i, member] of members.entries()) {
      const got: Array<string | Uint8Array> = [];
      for (let n = 0; n < 50; n++) got.push(await within(member.got.next(), `member ${i}, value ${n}`));
      assert.deepEqual(got, Array.from({ length: 50 }, (_, n) => String(n)));
    }
  });

  it("broadcast(fn) and members() are this node's; a group's subject is held while it has members here, given back when the last leaves or closes", TEST, async (t) => {
    const bus = new MemoryBus();
    const [a, b] = await cluster(t, bus);
    const ann = await wsMember(t, a!, "ann", "room", "lobby");
    const bob = await wsMember(t, b!, "bob", "room");
    assert.equal(a!.store.subjects, 2);
    assert.equal(a!.store.broadcast("room", (_conn, name) => `hi ${name}`), 1, "a's member only");
    assert.equal(await within(ann.got.next(), "ann"), "hi ann");
    assert.deepEqual([a!.store.members("room"), b!.store.members("room"), a!.store.groups()], [1, 1, 2]);
    a!.store.removeFromGroup("lobby", a!.conns.get("ann")!);
    assert.equal(a!.store.subjects, 1, "lobby's subject given back");
    const subscriptions = bus.subscriptions;
    bob.ws.close();
    await until(() => b!.store.members("room") === 0, "bob's close takes him out");
    assert.equal(b!.store.subjects, 0);
    assert.equal(bus.subscriptions, subscriptions - 1, "b left room's subject");
    const published = bus.delivered;
    a!.store.broadcastEncoded("room", "only a");
    await settle();
    assert.equal(bus.delivered - published, 1, "delivered to a only: b, without members, is not subscribed");
  });

  it("the backplane's maxSubjects: a group one past it is refused (ERR_BACKPLANE_SUBJECT) and nothing is added", TEST, async (t) => {
    const bus = new MemoryBus();
    const a = await node(t, bus, "a", {}, memoryBackplane(bus, { nodeId: "a", maxSubjects: 2 }));
    await wsMember(t, a, "ann", "one", "two");
    const conn = a.conns.get("ann")!;
    assertThrowsCode(() => a.store.addToGroup("three", conn, "ann"), "ERR_BACKPLANE_SUBJECT", "a third subject");
    assert.deepEqual([a.store.members("three"), a.store.groups(), a.store.subjects], [0, 2, 2]);
    a.store.addToGroup("two", conn, "ann again"); // an existing group needs no subject
  });

  it("maxGroups refuses a new group and gives its subject back; maxPayloadBytes and a full bus refuse a broadcast, which reaches nobody", TEST, async (t) => {
    const bus = new MemoryBus({ maxQueued: 1 });
    const a = await node(t, bus, "a", { maxGroups: 1, maxPayloadBytes: 8 });
    const ann = await wsMember(t, a, "ann", "room");
    assertThrowsCode(() => a.store.addToGroup("other", a.conns.get("ann")!, "ann"), "ERR_GROUP_LIMIT", "a second group");
    assert.equal(a.store.subjects, 1, "the refused group's subject given back");
    assertThrowsCode(() => a.store.broadcastEncoded("room", "ééééé"), "ERR_MESSAGE_TOO_LARGE", "10 bytes", RangeError);
    a.store.broadcastEncoded("room", "one");
    assertThrowsCode(() => a.store.broadcastEncoded("room", "two"), "ERR_MEMORY_BUS_FULL", "the bus holds one");
    assert.equal(await within(ann.got.next(), "the one that went"), "one");
    await settle();
    const rest: Array<string | Uint8Array> = [];
    void ann.got.next().then((v) => rest.push(v));
    await settle();
    assert.deepEqual(rest, [], "the refused broadcasts reached nobody, here either");
  });

  it("a body from another node that is not a broadcast is dropped and logged; the store goes on", TEST, async (t) => {
    const bus = new MemoryBus();
    const a = await node(t, bus, "a");
    const ann = await wsMember(t, a, "ann", "room");
    const rogue = memoryBackplane(bus, { nodeId: "rogue" });
    t.after(() => rogue.close());
    for (const body of ["", "x", "b!!!!", "bAB"]) rogue.publish("wirechan.group.room", body);
    rogue.publish("wirechan.group.room", "tstill fine");
    assert.equal(await within(ann.got.next(), "the good one"), "still fine");
    assert.equal(a.logger.lines.length, 4);
    assert.deepEqual(readBody("b"), new Uint8Array(0), "no bytes");
    assert.deepEqual(readBody("bAAE="), new Uint8Array([0, 1]));
  });

  it("a body reads back as the payload published, text or bytes; any other text reads as a payload or null, never a throw (fast-check)", () => {
    fc.assert(fc.property(fc.string(), (text) => assert.equal(readBody(`t${text}`), text)));
    fc.assert(fc.property(fc.uint8Array(), (bytes) => assert.deepEqual(readBody(`b${Buffer.from(bytes).toString("base64")}`), bytes)));
    fc.assert(
      fc.property(fc.string(), (text) => {
        const read = readBody(text);
        assert.ok(read === null || typeof read === "string" || read instanceof Uint8Array);
      }),
      { numRuns: 2_000 },
    );
  });

  it("options: a bad one is ERR_CHANNEL_STORE_OPTION; a backplane that is not one is refused", (t) => {
    const backplane = memoryBackplane(new MemoryBus());
    t.after(() => backplane.close());
    assertThrowsCode(() => new BackplaneChannelStore(backplane, { subjectPrefix: "" }), "ERR_CHANNEL_STORE_OPTION", "empty prefix", TypeError);
    assertThrowsCode(() => new BackplaneChannelStore(backplane, { maxPayloadBytes: 0 }), "ERR_CHANNEL_STORE_OPTION", "no payload", RangeError);
    assertThrowsCode(() => new BackplaneChannelStore(backplane, { maxGroups: -1 }), "ERR_CHANNEL_STORE_OPTION", "the memory store's own", RangeError);
    assertThrowsCode(() => new BackplaneChannelStore({} as Backplane), "ERR_CHANNEL_STORE_OPTION", "not a backplane", TypeError);
    assert.equal(new BackplaneChannelStore(backplane).options.subjectPrefix, "wirechan.group.");
  });
});
