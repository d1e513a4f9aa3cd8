// The edge's tunnels on their own (src/server/cluster/edge-tunnels.ts), driven message by
// message: what an SSE stream gets before it opens is bounded in bytes (past it, closed as a slow
// consumer, and the owner told 4008); a tunnel's messages from a node that is not its owner are
// ignored; an owner that never answers is refused ERR_UNAVAILABLE once forwardTimeout passes.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { EdgeTunnels } from "../../src/server/cluster/edge-tunnels.js";
import { type ForwardKind, readForward, writeAnswer, writeForward } from "../../src/server/cluster/forward-frames.js";
import { NodeDirectory } from "../../src/server/cluster/node-directory.js";
import { nodeTag } from "../../src/server/cluster/node-tag.js";
import type { ResponseParts } from "../../src/server/index.js";
import { SLOW_CONSUMER_CLOSE_CODE } from "../../src/wire/protocol.js";
import { RecordingLogger } from "../helpers/recording-logger.js";

const OWNER = nodeTag("owner");
const STRANGER = nodeTag("stranger");

interface Sent {
  to: string;
  kind: ForwardKind;
  tunnel: string;
  payload: string;
}

function edge(t: TestContext, options: { forwardTimeout?: number; maxEarlyBytes?: number } = {}): { tunnels: EdgeTunnels; sent: Sent[] } {
  const backplane = memoryBackplane(new MemoryBus(), { nodeId: "edge" });
  const directory = new NodeDirectory(backplane, { tag: nodeTag("edge"), heartbeat: 60_000, timeout: 120_000, maxNodes: 8, logger: new RecordingLogger() });
  t.after(async () => {
    directory.close();
    await backplane.close();
  });
  const sent: Sent[] = [];
  const tunnels = new EdgeTunnels((to, kind, tunnel, payload) => void sent.push({ to, kind, tunnel, payload }), directory, {
    forwardTimeout: options.forwardTimeout ?? 5_000,
    pollTimeout: 1_000,
    heartbeatTimeout: 60_000,
    maxForwarded: 16,
    maxEarlyBytes: options.maxEarlyBytes ?? 1_000,
    logger: new RecordingLogger(),
  });
  t.after(() => tunnels.close());
  return { tunnels, sent };
}

const from = (sender: string, kind: ForwardKind, tunnel: string, payload = ""): NonNullable<ReturnType<typeof readForward>> => readForward(writeForward(kind, sender, tunnel, payload))!;

const attach = { sid: `${"A".repeat(22)}.${OWNER}`, secret: "s", recv: 0, transport: "sse" as const };

describe("edge tunnels", () => {
  it("an SSE stream's packets before it opens are bounded in bytes: past it the owner hears 4008 and the stream, once open, is closed", async (t) => {
    const { tunnels, sent } = edge(t, { maxEarlyBytes: 1_000 });
    const answer = tunnels.sse(OWNER, attach);
    const tunnel = sent[0]!.tunnel;
    tunnels.receive(from(OWNER, "ok", tunnel));
    const bind = await answer;
    assert.equal(typeof bind, "function");
    // Multi-byte text: 300 characters of 3 bytes are 900 bytes, two of them are past 1,000.
    tunnels.receive(from(OWNER, "down", tunnel, "世".repeat(300)));
    assert.equal(tunnels.size, 1, "900 bytes are kept");
    tunnels.receive(from(OWNER, "down", tunnel, "世".repeat(300)));
    assert.equal(tunnels.size, 0, "past the bound the tunnel is gone");
    assert.deepEqual(sent.slice(1).map((s) => [s.kind, s.payload]), [["close", String(SLOW_CONSUMER_CLOSE_CODE)]], "the owner told: a slow consumer");
    let closed = false;
    (bind as (conn: never) => void)({ close: () => (closed = true), onClose: () => undefined, send: () => true } as never);
    assert.equal(closed, true, "the stream that opens late is closed at once");
  });

  it("messages for a tunnel from a node that is not its owner are ignored", async (t) => {
    const { tunnels, sent } = edge(t);
    const answer = tunnels.send(OWNER, { sid: attach.sid, secret: "s", text: "[]" });
    const tunnel = sent[0]!.tunnel;
    tunnels.receive(from(STRANGER, "answer", tunnel, writeAnswer({ status: 200, headers: {}, body: "forged" })));
    assert.equal(tunnels.size, 1, "still waiting for its owner");
    tunnels.receive(from(OWNER, "answer", tunnel, writeAnswer({ status: 200, headers: {}, body: "[]" })));
    assert.deepEqual(await answer, { status: 200, headers: {}, body: "[]" } satisfies ResponseParts);
  });

  it("an owner alive (or not known gone) that never answers: ERR_UNAVAILABLE after forwardTimeout, and the owner is told to drop it", async (t) => {
    const { tunnels, sent } = edge(t, { forwardTimeout: 50 });
    // The tunnels' sweep does not hold the process up (a server's socket does): this test's timer does.
    const alive = setInterval(() => undefined, 1_000);
    t.after(() => clearInterval(alive));
    const answer = await tunnels.send(OWNER, { sid: attach.sid, secret: "s", text: "[]" });
    assert.equal(answer.status, 503);
    assert.match(String(answer.body), /ERR_UNAVAILABLE/);
    assert.equal(tunnels.size, 0);
    assert.deepEqual(sent.map((s) => s.kind), ["send", "close"]);
  });
});
