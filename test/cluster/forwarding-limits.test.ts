// Forwarding between nodes as an attacker or a failure would try it (docs/api.md "No sticky
// sessions"): session ids naming a node that never answers or is unknown, more forwarded
// requests than `maxForwarded`, garbage on a node's subject, a resume by another principal
// through another node. Every refusal is the documented one, and the nodes go on serving.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { connect } from "../../src/client/index.js";
import { NodeDirectory } from "../../src/server/cluster/node-directory.js";
import { nodeTag } from "../../src/server/cluster/node-tag.js";
import { nodeSubject } from "../../src/server/cluster/session-forwarding.js";
import { createServer, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { consoleLogger } from "../../src/session/logger.js";
import { HEADERS } from "../../src/wire/protocol.js";
import { until, within } from "../helpers/async.js";
import { RecordingLogger } from "../helpers/recording-logger.js";

const TEST = { timeout: 60_000 };

interface Node {
  readonly server: WirechanServer;
  readonly url: string;
  readonly nodeId: string;
  readonly logger: RecordingLogger;
}

async function node(t: TestContext, bus: MemoryBus, nodeId: string, options: ServerOptions = {}): Promise<Node> {
  const backplane = memoryBackplane(bus, { nodeId });
  const logger = new RecordingLogger();
  const server = createServer({ backplane, logger, closeTimeout: 500, pollTimeout: 500, ...options });
  server.channel<unknown>("in", 64);
  const handle = await server.listen();
  t.after(async () => {
    await handle.close();
    await backplane.close();
  });
  return { server, url: handle.url, nodeId, logger };
}

/** A long-poll for session `sid` straight to one node, answered with its status and error code. */
async function poll(url: string, sid: string, secret = "s".repeat(22)): Promise<{ status: number; code: string | undefined }> {
  const response = await fetch(`${url}/wirechan/poll`, { headers: { [HEADERS.session]: sid, [HEADERS.secret]: secret, [HEADERS.recv]: "0" } });
  const body = await response.text();
  const code = /"(ERR_[A-Z_]+)"/.exec(body)?.[1];
  return { status: response.status, code };
}

/** A new session made with a raw `POST open` (a client that shows its secret to the test). */
async function openRaw(url: string, headers: Record<string, string> = {}): Promise<{ sid: string; secret: string }> {
  const response = await fetch(`${url}/wirechan/open`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify([["hello", 1, { sid: null, secret: null, recv: 0 }]]) });
  assert.equal(response.status, 200);
  return (JSON.parse(await response.text()) as Array<[string, number, { sid: string; secret: string }]>)[0]![2];
}

/** A node that says it is alive on the bus and never answers anything: hung, or partitioned one way. */
function zombie(t: TestContext, bus: MemoryBus, nodeId: string): string {
  const backplane = memoryBackplane(bus, { nodeId });
  const tag = nodeTag(nodeId);
  const directory = new NodeDirectory(backplane, { tag, heartbeat: 50, timeout: 10_000, maxNodes: 16, logger: consoleLogger });
  t.after(async () => {
    directory.close();
    await backplane.close();
  });
  return tag;
}

const fakeSid = (tag: string): string => `${"A".repeat(22)}.${tag}`;

describe("forwarding between nodes: refusals and limits", () => {
  it("a session of a node alive but not answering: ERR_UNAVAILABLE (503, try again), within forwardTimeout", TEST, async (t) => {
    const bus = new MemoryBus();
    const edge = await node(t, bus, "edge", { forwardTimeout: 200 });
    const tag = zombie(t, bus, "zombie");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await poll(edge.url, fakeSid(tag)), { status: 503, code: "ERR_UNAVAILABLE" });
  });

  it("a session of a node never heard of, once this node has listened long enough: ERR_SESSION_LOST at once (410)", TEST, async (t) => {
    const bus = new MemoryBus();
    const edge = await node(t, bus, "edge", { clusterHeartbeat: 20, clusterTimeout: 100, forwardTimeout: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    // forwardTimeout is 30 s: an answer now means no wait for a node known to be gone.
    assert.deepEqual(await within(poll(edge.url, fakeSid(nodeTag("nobody"))), "the refusal", 10_000), { status: 410, code: "ERR_SESSION_LOST" });
  });

  it("past maxForwarded the edge refuses ERR_TOO_MANY_CONNECTIONS (503); its tunnels free as requests end", TEST, async (t) => {
    const bus = new MemoryBus();
    const owner = await node(t, bus, "owner");
    const edge = await node(t, bus, "edge", { maxForwarded: 2 });
    const { sid, secret } = await openRaw(owner.url);
    const other = await openRaw(owner.url);
    // Two polls held at the owner (it has nothing to send; one per session, as a newer poll replaces an older) fill the edge's tunnels.
    const held = [poll(edge.url, sid, secret), poll(edge.url, other.sid, other.secret)];
    await until(() => edge.server.forwarding.open >= 2, "two polls forwarded");
    assert.deepEqual(await poll(edge.url, sid, secret), { status: 503, code: "ERR_TOO_MANY_CONNECTIONS" });
    assert.deepEqual(await Promise.all(held), [{ status: 200, code: undefined }, { status: 200, code: undefined }], "the held polls answered by the owner");
    await until(() => edge.server.forwarding.open === 0, "the tunnels freed");
    const again = poll(edge.url, sid, secret);
    assert.deepEqual(await again, { status: 200, code: undefined }, "served again once the tunnels are free");
  });

  it("past maxForwarded on the owner's side, the owner answers ERR_TOO_MANY_CONNECTIONS (503) through the edge", TEST, async (t) => {
    const bus = new MemoryBus();
    const owner = await node(t, bus, "owner", { maxForwarded: 1 });
    const edge = await node(t, bus, "edge");
    const first = await openRaw(owner.url);
    const second = await openRaw(owner.url);
    const held = poll(edge.url, first.sid, first.secret);
    await until(() => owner.server.forwarding.open >= 1, "the first poll held at the owner");
    assert.deepEqual(await poll(edge.url, second.sid, second.secret), { status: 503, code: "ERR_TOO_MANY_CONNECTIONS" });
    assert.deepEqual(await held, { status: 200, code: undefined });
  });

  it("garbage on a node's subject is dropped and logged; the node goes on forwarding", TEST, async (t) => {
    const bus = new MemoryBus();
    const owner = await node(t, bus, "owner");
    const edge = await node(t, bus, "edge");
    const intruder = memoryBackplane(bus, { nodeId: "intruder" });
    t.after(() => intruder.close());
    const subject = nodeSubject(nodeTag("owner"));
    for (const text of ["", "not a forward", `down ${nodeTag("x")} 1\n`, `socket ${nodeTag("intruder")} 1\n{"hello":1}`, `send ${nodeTag("intruder")} 2\nnot json`, `attach ${nodeTag("intruder")} 3\n{}`]) {
      intruder.publish(subject, text);
    }
    await until(() => owner.logger.lines.length >= 4, "the owner logged what it dropped");
    const session = await connect(owner.url, { transports: ["longpoll"], upgradeProbeInterval: 0 });
    t.after(() => session.close());
    const answer = await poll(edge.url, session.id ?? "", "wrong secret");
    assert.deepEqual(answer, { status: 410, code: "ERR_SESSION_LOST" }, "a wrong secret through another node is refused as on the owner");
    assert.equal(await session.serverChan<string>("in").put("served"), true);
  });

  it("a resume through another node: by another principal ERR_UNAUTHORIZED (the principal crosses as JSON), by the same one a welcome", TEST, async (t) => {
    const bus = new MemoryBus();
    const authenticate = (req: { headers: Record<string, string | string[] | undefined> }): { user: string } => ({ user: String(req.headers["x-user"] ?? "anonymous") });
    const owner = await node(t, bus, "owner", { authenticate });
    const edge = await node(t, bus, "edge", { authenticate });
    const open = async (url: string, user: string, body: { sid: string | null; secret: string | null; recv: number }): Promise<{ status: number; text: string }> => {
      const response = await fetch(`${url}/wirechan/open`, { method: "POST", headers: { "content-type": "application/json", "x-user": user }, body: JSON.stringify([["hello", 1, body]]) });
      return { status: response.status, text: await response.text() };
    };
    const made = await open(owner.url, "ada", { sid: null, secret: null, recv: 0 });
    assert.equal(made.status, 200);
    const welcome = (JSON.parse(made.text) as Array<[string, number, { sid: string; secret: string }]>)[0]![2];
    const mallory = await open(edge.url, "mallory", { sid: welcome.sid, secret: welcome.secret, recv: 0 });
    assert.equal(mallory.status, 401);
    assert.match(mallory.text, /ERR_UNAUTHORIZED/);
    const ada = await open(edge.url, "ada", { sid: welcome.sid, secret: welcome.secret, recv: 0 });
    assert.equal(ada.status, 200, ada.text);
    assert.match(ada.text, /"resumed":true/);
    const wrong = await open(edge.url, "ada", { sid: welcome.sid, secret: "not the secret", recv: 0 });
    assert.equal(wrong.status, 410, "a wrong secret through another node: no such session");
  });
});
