// No sticky sessions (docs/api.md "No sticky sessions"): three servers on one MemoryBus behind a
// balancer that sends each request and each upgrade to the next server in turn, holding each
// back a random while, and cutting every connection now and then. A client's long-poll GETs,
// POSTs, SSE streams and reconnects land on every node; the node that made its session keeps
// it, and the others forward to it through the backplane. Over each transport: everything the
// client puts arrives once and in order on its session's node, every topic value arrives once
// and in order, and the cluster sees one session (one open, then resumes only).
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { type Backplane, MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { connect, type Session } from "../../src/client/index.js";
import { chan, type Channel } from "../../src/csp/channel.js";
import { nodeTag } from "../../src/server/cluster/node-tag.js";
import { createServer, type Envelope, type ServerOptions, type Topic, type TopicDropped, type TopicRequest, type WirechanServer } from "../../src/server/index.js";
import type { SessionEvent } from "../../src/server/protocol/session-events.js";
import { settle, until, within } from "../helpers/async.js";
import { LatencyRelay } from "../helpers/latency-relay.js";
import { RoundRobinBalancer } from "../../scripts/net/round-robin-balancer.js";

const LIMIT_MS = 60_000;
const PUTS = 40;
const TRANSPORTS = ["websocket", "sse", "longpoll"] as const;
/** Text in several scripts: what crosses the backplane is framed by UTF-8 bytes, never string length. */
const TEXT = "héllo 世界 😀 مرحبا שלום Привет";
const valueOf = (i: number): string => `${i} ${TEXT}`;

interface ClusterNode {
  readonly server: WirechanServer;
  readonly port: number;
  readonly backplane: Backplane;
  readonly topic: Topic<string>;
  /** What clients put on the named channel "in", with the session that put it. */
  readonly received: Array<{ value: unknown; session: string }>;
  readonly events: SessionEvent[];
}

/** `n` servers on one bus, each with the topic "t" and the named channel "in"; closed after the test. */
async function cluster(t: TestContext, n: number, options: ServerOptions = {}): Promise<ClusterNode[]> {
  const bus = new MemoryBus();
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < n; i++) {
    const backplane = memoryBackplane(bus, { nodeId: `node-${i}` });
    const server = createServer({ backplane, pollTimeout: 1_000, closeTimeout: 1_000, forwardTimeout: 2_000, ...options });
    const topic = server.topic<string>("t");
    const inbound = server.channel<unknown>("in", { buffer: 1_024, envelope: true });
    const node: ClusterNode = { server, port: 0, backplane, topic, received: [], events: [] };
    server.onSession((event) => void node.events.push(event));
    void collect(inbound, node.received);
    const handle = await server.listen();
    t.after(async () => {
      await handle.close();
      await backplane.close();
    });
    nodes.push({ ...node, port: handle.port });
  }
  return nodes;
}

async function collect(ch: Channel<Envelope<unknown>>, into: Array<{ value: unknown; session: string }>): Promise<void> {
  for (;;) {
    const envelope = await ch.take();
    if (envelope === null || envelope === undefined) return;
    into.push({ value: envelope.value, session: envelope.session.id });
  }
}

async function balancer(t: TestContext, nodes: readonly ClusterNode[]): Promise<RoundRobinBalancer> {
  const lb = new RoundRobinBalancer({ ports: nodes.map((node) => node.port), maxDelayMs: 15 });
  await lb.listen();
  t.after(() => lb.close());
  return lb;
}

function ownerOf(nodes: readonly ClusterNode[], session: Session): number {
  const index = nodes.findIndex((node) => session.id?.endsWith(`.${nodeTag(node.backplane.nodeId)}`));
  assert.ok(index >= 0, `the session id ${String(session.id)} names one of the nodes`);
  return index;
}

describe("no sticky sessions: three nodes on a MemoryBus behind a round-robin balancer", { timeout: 6 * LIMIT_MS }, () => {
  for (const transport of TRANSPORTS) {
    it(`over ${transport}: puts and topic values once and in order through cuts; one session in the cluster`, { timeout: LIMIT_MS }, async (t) => {
      const nodes = await cluster(t, 3);
      const lb = await balancer(t, nodes);
      const session = await connect(lb.url, { transports: [transport], reconnect: { initial: 20, max: 200, jitter: 0.5 }, upgradeProbeInterval: 0 });
      t.after(() => session.close());
      const owner = ownerOf(nodes, session);
      const inbox = chan<string | TopicDropped>(1_024);
      assert.equal(await session.serverChan<TopicRequest<string>>("t").put({ subscribe: inbox }), true);

      const out = session.serverChan<string>("in");
      for (let i = 0; i < PUTS; i++) {
        if (i % 10 === 5) lb.cutAll();
        // Topic values from every node in turn: the bus orders them as they were put.
        await nodes[i % nodes.length]!.topic.put(valueOf(i));
        assert.equal(await within(out.put(valueOf(i)), () => `put ${i} (seed ${lb.seed})`, LIMIT_MS), true);
      }

      const got: Array<string | TopicDropped | undefined> = [];
      for (let i = 0; i < PUTS; i++) got.push(await within(inbox.take(), () => `topic value ${i} (seed ${lb.seed}); got ${got.join()}`, LIMIT_MS));
      assert.deepEqual(got, Array.from({ length: PUTS }, (_, i) => valueOf(i)), `every topic value once, in order (seed ${lb.seed})`);
      await until(() => nodes[owner]!.received.length >= PUTS, `the owner has ${PUTS} puts`, LIMIT_MS);
      await settle();
      assert.deepEqual(
        nodes[owner]!.received.map((r) => r.value),
        Array.from({ length: PUTS }, (_, i) => valueOf(i)),
        `every put once, in order, on the session's node (seed ${lb.seed})`,
      );
      for (const [i, node] of nodes.entries()) {
        if (i !== owner) assert.deepEqual(node.received, [], `node ${i} holds no session of this client`);
      }
      assert.ok(
        lb.routed.every((count) => count > 0),
        `every node got requests: ${lb.routed.join(", ")}`,
      );
      const forwarded = nodes.reduce((sum, node) => sum + node.server.forwarding.forwarded, 0);
      assert.ok(forwarded > 0, "requests were forwarded to the session's node");
      // The last may still be on the bus (a long-poll forwarded as the client's next one went out).
      await until(() => nodes[owner]!.server.forwarding.served >= forwarded, `the session's node served every one of ${forwarded}`);
      const opens = nodes.flatMap((node) => node.events.filter((event) => event.type === "open"));
      assert.equal(opens.length, 1, "one session opened in the whole cluster");
      assert.ok(
        nodes[owner]!.events.slice(1).every((event) => event.type === "resume"),
        `then resumes only: ${nodes[owner]!.events.map((event) => event.type).join(", ")}`,
      );
      assert.equal(session.state, "open");
    });
  }

  for (const transport of TRANSPORTS) {
    it(`over ${transport}: through a relay that delays every chunk and handshake and cuts at random, in front of the balancer: every put once, in order, one session`, { timeout: LIMIT_MS }, async (t) => {
      const nodes = await cluster(t, 3);
      const lb = await balancer(t, nodes);
      const relay = await LatencyRelay.start({ targetPort: Number(new URL(lb.url).port), latencyMs: 10, handshakeLatencyMs: 40, handshakeScope: "every" });
      t.after(() => relay.close());
      const session = await connect(relay.url, { transports: [transport], reconnect: { initial: 20, max: 200, jitter: 0.5 }, upgradeProbeInterval: 0 });
      t.after(() => session.close());
      const owner = ownerOf(nodes, session);
      const out = session.serverChan<string>("in");
      const seed = relay.cutRandomly({ everyMs: [80, 250], maxCuts: 3 });
      let put = 0;
      while (put < 200 && (put < PUTS || relay.cuts < 2)) {
        const value = valueOf(put++);
        assert.equal(await within(out.put(value), () => `put ${put} (relay seed ${seed}, balancer seed ${lb.seed})`, LIMIT_MS), true);
      }
      relay.stopCutting();
      assert.ok(relay.cuts >= 2, `the relay cut ${relay.cuts} times (seed ${seed})`);
      await until(() => nodes[owner]!.received.length >= put, "the owner has every put", LIMIT_MS);
      await settle();
      assert.deepEqual(nodes[owner]!.received.map((r) => r.value), Array.from({ length: put }, (_, i) => valueOf(i)), `every put once, in order (seed ${seed})`);
      assert.equal(nodes.flatMap((node) => node.events.filter((event) => event.type === "open")).length, 1, "one session in the cluster");
      assert.equal(session.state, "open");
    });
  }

  for (const transport of ["websocket", "sse"] as const) {
    it(`over ${transport}: a client whose node the balancer no longer reaches resumes through another; the resume event names it (via)`, { timeout: LIMIT_MS }, async (t) => {
      const nodes = await cluster(t, 3);
      const lb = await balancer(t, nodes);
      const session = await connect(lb.url, { transports: [transport], reconnect: { initial: 20, max: 200, jitter: 0.5 }, upgradeProbeInterval: 0 });
      t.after(() => session.close());
      const owner = ownerOf(nodes, session);
      lb.setDown(owner, true);
      lb.cutAll();
      await until(() => nodes[owner]!.events.some((event) => event.type === "resume"), "a resume", LIMIT_MS);
      const resume = nodes[owner]!.events.find((event) => event.type === "resume");
      const others = nodes.filter((_, i) => i !== owner).map((node) => node.backplane.nodeId);
      assert.ok(resume?.type === "resume" && resume.via !== null && others.includes(resume.via), `via another node: ${resume?.type === "resume" ? String(resume.via) : "none"}`);
      assert.equal(await within(session.serverChan<string>("in").put(TEXT), "a put through the other node", LIMIT_MS), true);
      await until(() => nodes[owner]!.received.some((r) => r.value === TEXT), "the put on the session's node");
    });
  }

  it("the node holding a session dies without a word: its client, reconnecting through the others, is told ERR_SESSION_LOST", { timeout: LIMIT_MS }, async (t) => {
    const nodes = await cluster(t, 3, { clusterHeartbeat: 50, clusterTimeout: 400, forwardTimeout: 200, heartbeat: 200, heartbeatTimeout: 600 });
    const lb = await balancer(t, nodes);
    const session = await connect(lb.url, { transports: ["websocket"], reconnect: { initial: 20, max: 100, jitter: 0.5 }, upgradeProbeInterval: 0 });
    t.after(() => session.close());
    const owner = ownerOf(nodes, session);
    assert.equal(await session.serverChan<number>("in").put(1), true);
    const lost = new Promise<string | undefined>((resolve) => {
      session.onState((change) => {
        if (change.state === "lost") resolve(change.error?.code);
      });
    });
    // A kill: the node hears nothing more and says nothing more (no heartbeat, no goodbye), and
    // the balancer finds it unreachable.
    lb.setDown(owner, true);
    await nodes[owner]!.backplane.close();
    lb.cutAll();
    assert.equal(await within(lost, "the session lost", LIMIT_MS), "ERR_SESSION_LOST");
  });

  it("a fresh session on any node works as on one server; a session id names its node", { timeout: LIMIT_MS }, async (t) => {
    const nodes = await cluster(t, 3);
    const lb = await balancer(t, nodes);
    const sessions = await Promise.all(TRANSPORTS.map((transport) => connect(lb.url, { transports: [transport], upgradeProbeInterval: 0 })));
    t.after(() => sessions.forEach((session) => session.close()));
    const owners = sessions.map((session) => ownerOf(nodes, session));
    for (const [i, session] of sessions.entries()) assert.equal(await session.serverChan<string>("in").put(`from ${i}`), true);
    for (const [i, owner] of owners.entries()) {
      await until(() => nodes[owner]!.received.some((r) => r.value === `from ${i}`), `session ${i}'s put on node ${owner}`);
    }
  });
});
