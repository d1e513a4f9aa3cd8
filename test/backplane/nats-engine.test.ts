// The NATS engine (wirechan/nats) against a real NATS server (test/helpers/services.ts: NATS_URL,
// else 127.0.0.1:4222; unreachable fails the test): the engine suite and the topics suite, each
// test in a subject prefix of its own; then what is NATS's own: options, the first connection
// failing, max_payload, who closes the connection, the reconnect buffer, subscriptions after a
// reconnect. A cuttable node talks to NATS through a FaultProxy, on a connection of the test's.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { connect, Events, type NatsConnection } from "nats";
import type { BackplaneOptions } from "../../src/backplane/index.js";
import { natsBackplane } from "../../src/backplane/nats.js";
import { settle, until } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { RecordingLogger } from "../helpers/recording-logger.js";
import { freePort } from "../helpers/service-process.js";
import { requireNats } from "../helpers/services.js";
import { type EngineFixture, engineSuite, newSpace } from "./engine-suite.js";
import { clusterFeaturesSuite } from "./cluster-features-suite.js";
import { topicsSuite } from "./topics-suite.js";

/** A connection of the test's own through `proxy`, that tells when it is disconnected; closed after the test. */
async function proxiedConnection(t: TestContext, proxy: FaultProxy): Promise<{ nc: NatsConnection; disconnected: () => boolean }> {
  const nc = await connect({ servers: `nats://127.0.0.1:${proxy.port}`, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
  t.after(() => nc.close());
  let down = false;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) down = true;
      if (status.type === Events.Reconnect) down = false;
    }
  })();
  return { nc, disconnected: () => down };
}

async function natsProxy(t: TestContext): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ targetPort: Number(new URL(await requireNats()).port || 4222) });
  t.after(() => proxy.close());
  return proxy;
}

const natsFixture: EngineFixture = {
  name: "NATS",
  ordersAcrossPublishers: false,
  async node(t, space, options?: BackplaneOptions) {
    const node = await natsBackplane({ servers: await requireNats(), prefix: space, ...options });
    t.after(() => node.close());
    return node;
  },
  async cuttableNode(t, space, options?: BackplaneOptions) {
    const proxy = await natsProxy(t);
    const { nc, disconnected } = await proxiedConnection(t, proxy);
    const node = await natsBackplane({ connection: nc, prefix: space, logger: new RecordingLogger(), ...options });
    t.after(() => node.close());
    return {
      node,
      async cut() {
        proxy.setRefusing(true);
        proxy.cutAll();
        await until(disconnected, "the connection saw the cut");
        await settle(); // The engine's own status listener runs in the same turns.
      },
      restore: () => proxy.setRefusing(false),
    };
  },
};

engineSuite(natsFixture);
topicsSuite(natsFixture);
clusterFeaturesSuite(natsFixture);

describe("NATS engine: its own", () => {
  it("options: servers with a connection, bad servers, bounds, prefix; nothing listening is ERR_BACKPLANE_CONNECT", async (t) => {
    const servers = await requireNats();
    const nc = await connect({ servers });
    t.after(() => nc.close());
    await assert.rejects(natsBackplane({ servers, connection: nc }), { code: "ERR_BACKPLANE_OPTION", name: "TypeError" });
    await assert.rejects(natsBackplane({ servers: [] }), { code: "ERR_BACKPLANE_OPTION" });
    await assert.rejects(natsBackplane({ servers, reconnectBufSize: 0 }), { code: "ERR_BACKPLANE_OPTION", name: "RangeError" });
    await assert.rejects(natsBackplane({ servers, reconnectTimeWait: 1.5 }), { code: "ERR_BACKPLANE_OPTION", name: "RangeError" });
    await assert.rejects(natsBackplane({ servers, prefix: null as unknown as string }), { code: "ERR_BACKPLANE_OPTION" });
    await assert.rejects(natsBackplane({ servers, nodeId: "a b" }), { code: "ERR_BACKPLANE_OPTION" });
    await assert.rejects(natsBackplane({ servers: `nats://127.0.0.1:${await freePort()}` }), { code: "ERR_BACKPLANE_CONNECT" });
  });

  it("a text over the server's max_payload is refused at once with ERR_BACKPLANE_TOO_LARGE; the node goes on", async (t) => {
    const servers = await requireNats();
    const space = newSpace();
    const a = await natsBackplane({ servers, prefix: space, nodeId: "a" });
    const b = await natsBackplane({ servers, prefix: space, nodeId: "b" });
    t.after(() => a.close());
    t.after(() => b.close());
    const got: string[] = [];
    b.subscribe("big", (m) => got.push(m.body));
    await b.ready();
    const header = "wc1 a\n".length;
    const max = 1024 * 1024; // The server's default, which the test servers keep.
    const fits = "x".repeat(max - header);
    a.publish("big", fits);
    const error = assertThrowsAndReturn(() => a.publish("big", `${fits}é`)); // é: two bytes

    assert.equal(error.code, "ERR_BACKPLANE_TOO_LARGE");
    assert.match(error.message, /1048578 bytes is over the NATS server's max_payload of 1048576 bytes/);
    assert.equal(a.pending <= 1, true, "the refused publish is not counted");
    a.publish("big", "small");
    await until(() => got.length === 2, "the largest text that fits, and the next");
    assert.equal(got[0]!.length, fits.length);
    assert.equal(got[1], "small");
  });

  it("your connection: close leaves it open and unsubscribes this node's subjects", async (t) => {
    const servers = await requireNats();
    const space = newSpace();
    const nc = await connect({ servers });
    t.after(() => nc.close());
    const yours = await natsBackplane({ connection: nc, prefix: space });
    const got: string[] = [];
    yours.subscribe("s", (m) => got.push(m.body));
    await yours.ready();
    const other = await connect({ servers });
    t.after(() => other.close());
    other.publish(`${space}s`, "wc1 other\nfirst"); // The prefix and "s" need no escape.
    await until(() => got.length === 1, "the subscription works");
    const before = nc.stats().inMsgs;
    await yours.close();
    assert.equal(nc.isClosed(), false, "your connection stays open");
    other.publish(`${space}s`, "wc1 other\nsecond");
    await other.flush();
    await nc.flush();
    assert.equal(nc.stats().inMsgs, before, "the node's subscription is gone from your connection");
  });

  it("your connection closed under the node: it logs so, and a publish throws ERR_BACKPLANE_CLOSED at once", async (t) => {
    const nc = await connect({ servers: await requireNats() });
    const logger = new RecordingLogger();
    const node = await natsBackplane({ connection: nc, prefix: newSpace(), logger });
    t.after(() => node.close());
    node.subscribe("s", () => undefined);
    await nc.close();
    await until(() => logger.lines.some((line) => /closed for good/.test(line.message)), "the node heard the close");
    assertThrowsCode(() => node.publish("s", "x"), "ERR_BACKPLANE_CLOSED", "publish on a closed connection");
    assertThrowsCode(() => node.subscribe("t", () => undefined), "ERR_BACKPLANE_CLOSED", "subscribe on a closed connection");
    assert.equal(node.pending, 0);
  });

  it("the reconnect buffer: while disconnected, publishes past reconnectBufSize bytes throw ERR_NATS_BUFFER_FULL at once", async (t) => {
    const proxy = await natsProxy(t);
    const { nc, disconnected } = await proxiedConnection(t, proxy);
    const logger = new RecordingLogger();
    const node = await natsBackplane({ connection: nc, prefix: newSpace(), nodeId: "n", reconnectBufSize: 100, logger });
    t.after(() => node.close());
    proxy.setRefusing(true);
    proxy.cutAll();
    await until(disconnected, "disconnected");
    await settle();
    node.publish("s", "x".repeat(40)); // 46 bytes framed
    node.publish("s", "x".repeat(40)); // 92
    assertThrowsCode(() => node.publish("s", "x".repeat(40)), "ERR_NATS_BUFFER_FULL", "138 bytes would pass 100");
    node.publish("s", "x"); // 99: still fits
    assert.equal(node.pending, 3);
    proxy.setRefusing(false);
    await until(() => node.pending === 0, "sent once reconnected", 30_000);
    assert.ok(logger.lines.some((line) => /reconnected/.test(line.message)));
  });

  it("subscriptions survive a dropped connection: nats.js subscribes again, and delivery resumes", async (t) => {
    const servers = await requireNats();
    const space = newSpace();
    const proxy = await natsProxy(t);
    const { nc } = await proxiedConnection(t, proxy);
    const b = await natsBackplane({ connection: nc, prefix: space, nodeId: "b", logger: new RecordingLogger() });
    const a = await natsBackplane({ servers, prefix: space, nodeId: "a" });
    t.after(() => a.close());
    t.after(() => b.close());
    const got: string[] = [];
    b.subscribe("s", (m) => got.push(m.body));
    await b.ready();
    a.publish("s", "before");
    await until(() => got.length === 1, "before the cut");
    proxy.cutAll();
    await b.ready();
    for (let i = 0; got.length < 2; i++) {
      a.publish("s", `after ${i}`);
      await until(() => got.length >= 2 || a.pending === 0, "the publish taken");
      await settle();
    }
    assert.match(got[1]!, /^after \d+$/);
  });
});

function assertThrowsAndReturn(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (error) {
    return error as Error & { code?: string };
  }
  assert.fail("expected a throw");
}
