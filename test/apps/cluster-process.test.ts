// README's "Running more than one server" as processes: `apps/server.ts --redis URL` starts as a
// node of a cluster (real Redis: test/helpers/services.ts; unreachable fails) and exits 0 on
// SIGTERM; `scripts/balancer.ts` (npm run balancer) in front of two app servers on one memory
// bus passes pages' requests round the nodes, and a line said through it reaches a page on the
// other node. Everything on 127.0.0.1.
import assert from "node:assert/strict";
import { once } from "node:events";
import { randomUUID } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import type { ChatEvent, ChatRequest } from "../../apps/chat/chat-messages.js";
import { startApps } from "../../apps/server.js";
import { MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { connect } from "../../src/client/index.js";
import { chan } from "../../src/index.js";
import type { Logger } from "../../src/server/index.js";
import { until } from "../helpers/async.js";
import { type RepoProcess, runRepoFile } from "../helpers/repo-process.js";
import { freePort } from "../helpers/service-process.js";
import { requireRedis } from "../helpers/services.js";

const quiet: Logger = { error: () => undefined, warn: () => undefined };
const TEST = { timeout: 90_000 };
/** This test's keys and subjects in the shared Redis: never a cluster's of yours, and no trace of the test's in yours. */
const PREFIX = `test-${randomUUID()}.`;

/** `file` run as its npm script runs it, killed after the test. */
function run(t: TestContext, file: string, args: string[]): RepoProcess {
  const started = runRepoFile(file, args);
  t.after(() => {
    if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill("SIGKILL");
  });
  return started;
}

describe("a cluster as README runs it", () => {
  it("npm start -- --redis URL starts a node of the cluster, serves, and exits 0 on SIGTERM", TEST, async (t) => {
    const { child, output } = run(t, "apps/server.ts", ["--port", "0", "--redis", await requireRedis(), "--node-id", "readme-node", "--prefix", PREFIX]);
    const exited = once(child, "exit");
    await until(() => /listening on http:\/\/127\.0\.0\.1:\d+/.test(output.stdout) || child.exitCode !== null, "the node to listen", 60_000);
    assert.match(output.stdout, /node readme-node of the cluster on redis at [^\s]+: waiting for it to be ready\nlistening on http:\/\/127\.0\.0\.1:\d+/, output.stderr);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout)?.[1] ?? "";
    assert.equal((await fetch(`${url}/chat`)).status, 200);
    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, output.stderr);
  });

  it("npm run balancer -- --port P PORT PORT: pages through it chat across the two nodes", TEST, async (t) => {
    const bus = new MemoryBus();
    const nodes = [];
    for (const nodeId of ["a", "b"]) {
      const apps = await startApps({ port: 0, backplane: memoryBackplane(bus, { nodeId, logger: quiet }), server: { logger: quiet, closeTimeout: 1_000 } });
      t.after(() => apps.close());
      nodes.push(apps);
    }
    const port = await freePort();
    const { output } = run(t, "scripts/balancer.ts", ["--port", String(port), ...nodes.map((node) => String(node.port))]);
    await until(() => output.stdout.includes("balancing"), `the balancer to listen (stderr: ${output.stderr})`, 60_000);
    assert.match(output.stdout, new RegExp(`balancing http://127\\.0\\.0\\.1:${port} over 127\\.0\\.0\\.1:${nodes[0]?.port}, 127\\.0\\.0\\.1:${nodes[1]?.port}`));
    const url = `http://127.0.0.1:${port}`;
    // Long-polling: each request goes to the next node, so both pages use both nodes.
    const pages = await Promise.all(["ann", "bob"].map(async (nick) => {
      const session = await connect(url, { transports: ["longpoll"], logger: quiet });
      t.after(() => session.close());
      const events: ChatEvent[] = [];
      const inbox = chan<ChatEvent>(256);
      void (async () => {
        for await (const event of inbox) events.push(event);
      })();
      await session.serverChan<ChatRequest>("chat").put({ join: inbox, nick });
      return { session, events };
    }));
    const [ann, bob] = pages as [(typeof pages)[0], (typeof pages)[0]];
    await ann.session.serverChan<ChatRequest>("chat").put({ say: { id: "through-the-balancer", nick: "ann", text: "hello through the balancer" } });
    await until(() => bob.events.some((event) => "line" in event && event.line.text === "hello through the balancer"), "ann's line on bob's page", 30_000);
    assert.equal((await fetch(`${url}/chat`)).status, 200);
  });
});
