// The cluster suite over real engines (redis-cluster.test.ts, nats-cluster.test.ts): three
// wirechan servers, each a process of its own (node-process.ts), on Redis or NATS, behind the
// round-robin balancer that holds each request back a random while and cuts every connection
// now and then. Over every transport a client's puts and a topic's values arrive once and in
// order, and the cluster holds one session; a node killed with SIGKILL takes its sessions with
// it (its client is told ERR_SESSION_LOST through the others); the engine stopped and started
// again loses no session and no put.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { connect, type Session } from "../../../src/client/index.js";
import { chan } from "../../../src/csp/channel.js";
import { nodeTag } from "../../../src/server/cluster/node-tag.js";
import type { ServerOptions, TopicDropped, TopicRequest } from "../../../src/server/index.js";
import { readUntil, within } from "../../helpers/async.js";
import { RoundRobinBalancer } from "../../../scripts/net/round-robin-balancer.js";
import { natsProcess, redisProcess } from "../../helpers/service-process.js";
import { requireNats, requireRedis } from "../../helpers/services.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const LIMIT_MS = 90_000;
const PUTS = 30;
const TEXT = "héllo 世界 😀 مرحبا";
const TRANSPORTS = ["websocket", "sse", "longpoll"] as const;

export type EngineName = "redis" | "nats";

interface NodeState {
  received: Array<{ value: unknown; session: string }>;
  events: Array<{ type: string; session: string; via: string | null }>;
}

/** One server process. */
class NodeProcess {
  constructor(
    readonly nodeId: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async state(): Promise<NodeState> {
    return (await (await fetch(`${this.url}/test/state`)).json()) as NodeState;
  }

  async put(value: unknown): Promise<void> {
    const answer = await fetch(`${this.url}/test/put`, { method: "POST", body: JSON.stringify(value) });
    assert.equal(await answer.text(), "true", "the topic took the put");
  }

  /** As a crash would: no goodbye, no heartbeat more. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGKILL");
    await exited;
  }
}

async function startNode(t: TestContext, engine: EngineName, url: string, prefix: string, nodeId: string, options: ServerOptions): Promise<NodeProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(HERE, "node-process.ts")], {
    env: { ...process.env, WIRECHAN_ENGINE: engine, WIRECHAN_ENGINE_URL: url, WIRECHAN_NODE_ID: nodeId, WIRECHAN_PREFIX: prefix, WIRECHAN_SERVER_OPTIONS: JSON.stringify(options) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<number>((resolve, reject) => {
    lines.on("line", (line) => {
      const match = /^ready (\d+)$/.exec(line);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`node ${nodeId} exited (${String(code)}) before it was ready`)));
  });
  return new NodeProcess(nodeId, await within(ready, `node ${nodeId} ready`, 60_000), child);
}

async function cluster(t: TestContext, engine: EngineName, url: string, options: ServerOptions = {}): Promise<{ nodes: NodeProcess[]; lb: RoundRobinBalancer }> {
  const prefix = `test-${randomUUID()}.`;
  const base: ServerOptions = { pollTimeout: 1_000, closeTimeout: 1_000, forwardTimeout: 2_000, ...options };
  const nodes = await Promise.all([0, 1, 2].map((i) => startNode(t, engine, url, prefix, `node-${i}`, base)));
  const lb = new RoundRobinBalancer({ ports: nodes.map((node) => node.port), maxDelayMs: 15 });
  await lb.listen();
  t.after(() => lb.close());
  return { nodes, lb };
}

function ownerOf(nodes: readonly NodeProcess[], session: Session): number {
  const index = nodes.findIndex((node) => session.id?.endsWith(`.${nodeTag(node.nodeId)}`));
  assert.ok(index >= 0, `the session id ${String(session.id)} names one of the nodes`);
  return index;
}

const valueOf = (i: number): string => `${i} ${TEXT}`;

/** Puts PUTS values on "in" and on the topic (from node 0), cutting every connection every ten; checks each arrived once, in order. */
async function exchange(nodes: readonly NodeProcess[], lb: RoundRobinBalancer, session: Session, owner: number): Promise<void> {
  const inbox = chan<string | TopicDropped>(1_024);
  assert.equal(await session.serverChan<TopicRequest<string>>("t").put({ subscribe: inbox }), true);
  const out = session.serverChan<string>("in");
  for (let i = 0; i < PUTS; i++) {
    if (i % 10 === 5) lb.cutAll();
    await nodes[0]!.put(valueOf(i));
    assert.equal(await within(out.put(valueOf(i)), () => `put ${i} (seed ${lb.seed})`, LIMIT_MS), true);
  }
  const got: Array<string | TopicDropped | undefined> = [];
  for (let i = 0; i < PUTS; i++) got.push(await within(inbox.take(), () => `topic value ${i} (seed ${lb.seed}); got ${got.length}`, LIMIT_MS));
  assert.deepEqual(got, Array.from({ length: PUTS }, (_, i) => valueOf(i)), `every topic value once, in order (seed ${lb.seed})`);
  const state = await readUntil(() => nodes[owner]!.state(), (s) => s.received.length >= PUTS, "the owner has every put", LIMIT_MS);
  assert.deepEqual(state.received.map((r) => r.value), Array.from({ length: PUTS }, (_, i) => valueOf(i)), `every put once, in order, on the session's node (seed ${lb.seed})`);
}

export function processClusterSuite(engine: EngineName): void {
  const require = engine === "redis" ? requireRedis : requireNats;

  describe(`three server processes on ${engine} behind a round-robin balancer`, { timeout: 8 * LIMIT_MS }, () => {
    for (const transport of TRANSPORTS) {
      it(`over ${transport}: puts and topic values once and in order through cuts; one session in the cluster`, { timeout: LIMIT_MS }, async (t) => {
        const { nodes, lb } = await cluster(t, engine, await require());
        const session = await connect(lb.url, { transports: [transport], reconnect: { initial: 20, max: 200, jitter: 0.5 }, upgradeProbeInterval: 0 });
        t.after(() => session.close());
        const owner = ownerOf(nodes, session);
        await exchange(nodes, lb, session, owner);
        const states = await Promise.all(nodes.map((node) => node.state()));
        for (const [i, state] of states.entries()) if (i !== owner) assert.deepEqual(state.received, [], `node ${i} holds nothing of this client`);
        assert.equal(states.flatMap((state) => state.events.filter((event) => event.type === "open")).length, 1, "one session opened in the cluster");
        assert.ok(lb.routed.every((count) => count > 0), `every node got requests: ${lb.routed.join(", ")}`);
        assert.equal(session.state, "open");
      });
    }

    it("a node killed with SIGKILL: its client, reconnecting through the others, is told ERR_SESSION_LOST; the others' clients go on", { timeout: LIMIT_MS }, async (t) => {
      const { nodes, lb } = await cluster(t, engine, await require(), { clusterHeartbeat: 100, clusterTimeout: 1_000, heartbeat: 300, heartbeatTimeout: 1_000 });
      const sessions: Session[] = [];
      // Clients until two nodes hold one each: one to lose, one to keep.
      while (new Set(sessions.map((session) => ownerOf(nodes, session))).size < 2) {
        const session = await connect(lb.url, { transports: ["websocket"], reconnect: { initial: 20, max: 100, jitter: 0.5 }, upgradeProbeInterval: 0 });
        t.after(() => session.close());
        sessions.push(session);
      }
      const doomed = sessions[0]!;
      const victim = ownerOf(nodes, doomed);
      const survivor = sessions.find((session) => ownerOf(nodes, session) !== victim)!;
      const lost = new Promise<string | undefined>((resolve) => {
        doomed.onState((change) => {
          if (change.state === "lost") resolve(change.error?.code);
        });
      });
      await nodes[victim]!.kill();
      lb.setDown(victim, true);
      lb.cutAll();
      assert.equal(await within(lost, "the doomed session lost", LIMIT_MS), "ERR_SESSION_LOST");
      assert.equal(await within(survivor.serverChan<string>("in").put(TEXT), "a put of a surviving session", LIMIT_MS), true);
      assert.notEqual(survivor.state, "lost");
    });

    for (const transport of ["websocket", "longpoll"] as const) {
      it(`over ${transport}: the ${engine} server stopped and started again: no session lost, every put once and in order`, { timeout: LIMIT_MS }, async (t) => {
        const service = await (engine === "redis" ? redisProcess(t) : natsProcess(t));
        const { nodes, lb } = await cluster(t, engine, service.url);
        const session = await connect(lb.url, { transports: [transport], reconnect: { initial: 50, max: 500, jitter: 0.5 }, upgradeProbeInterval: 0 });
        t.after(() => session.close());
        const owner = ownerOf(nodes, session);
        const states: string[] = [];
        session.onState((change) => void states.push(change.state));
        const out = session.serverChan<string>("in");
        const puts: Array<Promise<boolean>> = [];
        for (let i = 0; i < 5; i++) assert.equal(await out.put(valueOf(i)), true);
        await service.stop();
        lb.cutAll();
        // Puts made during the outage: acknowledged once the client's link to its node works again.
        for (let i = 5; i < 10; i++) puts.push(out.put(valueOf(i)));
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await service.start();
        assert.deepEqual(await within(Promise.all(puts), "the outage's puts acknowledged", LIMIT_MS), [true, true, true, true, true]);
        for (let i = 10; i < 15; i++) assert.equal(await within(out.put(valueOf(i)), `put ${i} after the restart`, LIMIT_MS), true);
        const state = await readUntil(() => nodes[owner]!.state(), (s) => s.received.length >= 15, "the owner has every put", LIMIT_MS);
        assert.deepEqual(state.received.map((r) => r.value), Array.from({ length: 15 }, (_, i) => valueOf(i)), "every put once, in order");
        assert.ok(!states.includes("lost"), `never lost: ${states.join(", ")}`);
      });
    }
  });
}
