// The Redis engine (wirechan/redis) against a real Redis (test/helpers/services.ts: REDIS_URL, else
// 127.0.0.1:6379; unreachable fails the test): the engine suite and the topics suite, each test
// in a channel prefix of its own; then what is Redis's own: options, who closes which client, a
// subscription that survives its connection being killed. A cuttable node talks to Redis through
// a FaultProxy, with clients of the test's own.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { Redis } from "ioredis";
import type { BackplaneOptions } from "../../src/backplane/index.js";
import { redisBackplane } from "../../src/backplane/redis.js";
import { settle, until } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { RecordingLogger } from "../helpers/recording-logger.js";
import { requireRedis } from "../helpers/services.js";
import { type EngineFixture, engineSuite, newSpace } from "./engine-suite.js";
import { clusterFeaturesSuite } from "./cluster-features-suite.js";
import { topicsSuite } from "./topics-suite.js";

/** A client of the test's own (not the engine's), closed after the test. */
function redisClient(t: TestContext, url: string): Redis {
  // Reconnect fast: a test waits for it; null: commands wait through an outage (the engine's policy).
  const client = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
  client.on("error", () => undefined);
  t.after(() => client.disconnect());
  return client;
}

const redisFixture: EngineFixture = {
  name: "Redis",
  ordersAcrossPublishers: true,
  async node(t, space, options?: BackplaneOptions) {
    const node = redisBackplane({ url: await requireRedis(), prefix: space, ...options });
    t.after(() => node.close());
    return node;
  },
  async cuttableNode(t, space, options?: BackplaneOptions) {
    const proxy = await FaultProxy.start({ targetPort: Number(new URL(await requireRedis()).port || 6379) });
    t.after(() => proxy.close());
    const url = `redis://127.0.0.1:${proxy.port}`;
    const publisher = redisClient(t, url);
    const subscriber = redisClient(t, url);
    const node = redisBackplane({ publisher, subscriber, prefix: space, logger: new RecordingLogger(), ...options });
    t.after(() => node.close());
    return {
      node,
      async cut() {
        proxy.setRefusing(true);
        proxy.cutAll();
        await until(() => publisher.status !== "ready" && subscriber.status !== "ready", "both clients saw the cut");
      },
      restore: () => proxy.setRefusing(false),
    };
  },
};

engineSuite(redisFixture);
topicsSuite(redisFixture);
clusterFeaturesSuite(redisFixture);

describe("Redis engine: its own", () => {
  it("options: url with clients, one client, the same client twice, autoResubscribe off, a bad url, a bad prefix", async (t) => {
    const url = await requireRedis();
    const a = redisClient(t, url);
    const b = redisClient(t, url);
    const noResubscribe = new Redis(url, { autoResubscribe: false, lazyConnect: true });
    assertThrowsCode(() => redisBackplane({ url, publisher: a, subscriber: b }), "ERR_BACKPLANE_OPTION", "url and clients", TypeError);
    assertThrowsCode(() => redisBackplane({ publisher: a }), "ERR_BACKPLANE_OPTION", "a publisher alone", TypeError);
    assertThrowsCode(() => redisBackplane({ publisher: a, subscriber: a }), "ERR_BACKPLANE_OPTION", "one client for both", TypeError);
    assertThrowsCode(() => redisBackplane({ publisher: a, subscriber: noResubscribe }), "ERR_BACKPLANE_OPTION", "autoResubscribe: false", TypeError);
    assertThrowsCode(() => redisBackplane({ url: "http://127.0.0.1:6379" }), "ERR_BACKPLANE_OPTION", "not a redis URL", TypeError);
    assertThrowsCode(() => redisBackplane({ url, prefix: 1 as unknown as string }), "ERR_BACKPLANE_OPTION", "a prefix not a string", TypeError);
    assertThrowsCode(() => redisBackplane({ url, maxPending: 0 }), "ERR_BACKPLANE_OPTION", "the node's own options are checked", RangeError);
  });

  it("a subject with a lone surrogate is refused (UTF-8 would make it another subject's)", async (t) => {
    const node = redisBackplane({ url: await requireRedis(), prefix: newSpace() });
    t.after(() => node.close());
    assertThrowsCode(() => node.subscribe("a\uD800", () => undefined), "ERR_BACKPLANE_SUBJECT", "subscribe");
    assertThrowsCode(() => node.publish("a\uDC00", "x"), "ERR_BACKPLANE_SUBJECT", "publish");
    assert.equal(node.pending, 0);
  });

  it("your clients: close leaves them open and unsubscribes this node's channels; the node's own: close quits both", async (t) => {
    const url = await requireRedis();
    const space = newSpace();
    const admin = redisClient(t, url);
    const publisher = redisClient(t, url);
    const subscriber = redisClient(t, url);
    const yours = redisBackplane({ publisher, subscriber, prefix: space });
    yours.subscribe("s", () => undefined);
    await yours.ready();
    assert.deepEqual(await admin.pubsub("NUMSUB", `${space}s`), [`${space}s`, 1]);
    await yours.close();
    await until(() => subscriber.status === "ready" && publisher.status === "ready", "your clients still ready");
    // close() sends the UNSUBSCRIBE without waiting for Redis's answer (it would wait through an outage): ask until it is done.
    let numsub = await admin.pubsub("NUMSUB", `${space}s`);
    for (let i = 0; i < 100 && numsub[1] !== 0; i++) numsub = await admin.pubsub("NUMSUB", `${space}s`);
    assert.deepEqual(numsub, [`${space}s`, 0], "this node's channel left");
    assert.equal(await publisher.ping(), "PONG", "your publisher still works");

    const own = redisBackplane({ url, prefix: space, nodeId: `own-${Date.now()}` });
    own.subscribe("s", () => undefined);
    await own.ready();
    const names = async (): Promise<string[]> => [...String(await admin.client("LIST")).matchAll(/ name=(\S+)/g)].map((m) => m[1]!);
    assert.ok((await names()).includes(`wirechan-${own.nodeId}-pub`), "the publisher is named for the node");
    assert.ok((await names()).includes(`wirechan-${own.nodeId}-sub`));
    await own.close();
    // The server drops a connection after its QUIT in its own time: ask until it has.
    let after = await names();
    for (let i = 0; i < 100 && after.some((name) => name.startsWith(`wirechan-${own.nodeId}`)); i++) after = await names();
    assert.ok(!after.some((name) => name.startsWith(`wirechan-${own.nodeId}`)), `both connections closed: ${after.join(" ")}`);
  });

  it("your clients with a finite maxRetriesPerRequest: while Redis is unreachable a publish is rejected after those retries, logged as lost, and frees its place", async (t) => {
    const proxy = await FaultProxy.start({ targetPort: Number(new URL(await requireRedis()).port || 6379) });
    t.after(() => proxy.close());
    const url = `redis://127.0.0.1:${proxy.port}`;
    const clients = [0, 1].map(() => {
      const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 });
      client.on("error", () => undefined);
      t.after(() => client.disconnect());
      return client;
    });
    const logger = new RecordingLogger();
    const node = redisBackplane({ publisher: clients[0]!, subscriber: clients[1]!, prefix: newSpace(), logger, maxPending: 4 });
    t.after(() => node.close());
    await node.ready();
    proxy.setRefusing(true);
    proxy.cutAll();
    await until(() => clients.every((client) => client.status !== "ready"), "both clients saw the cut");
    for (let i = 0; i < 4; i++) node.publish("s", String(i));
    await until(() => node.pending === 0, "the publishes rejected after maxRetriesPerRequest");
    assert.equal(logger.lines.filter((line) => /refused a publish; it is lost/.test(line.message)).length, 4);
    node.publish("s", "room again");
    assert.equal(node.pending, 1);
  });

  it("forty nodes subscribing while their connections open, then again while they reconnect: no error, every node hears", async (t) => {
    const url = await requireRedis();
    const space = newSpace();
    const admin = redisClient(t, url);
    const errors: unknown[] = [];
    const onError = (error: unknown): void => void errors.push(error);
    process.on("uncaughtException", onError);
    process.on("unhandledRejection", onError);
    t.after(() => {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onError);
    });
    const run = `r${Date.now()}`;
    const nodes = Array.from({ length: 40 }, (_, i) => redisBackplane({ url, prefix: space, nodeId: `${run}-${i}`, logger: new RecordingLogger() }));
    for (const node of nodes) t.after(() => node.close());
    const heard = nodes.map(() => new Set<string>());
    nodes.forEach((node, i) => node.subscribe("first", (m) => heard[i]!.add(m.body)));
    await Promise.all(nodes.map((node) => node.ready()));
    const ids = [...String(await admin.client("LIST")).matchAll(/^id=(\d+) .* name=(\S+)/gm)].filter((m) => m[2]!.startsWith(`wirechan-${run}-`)).map((m) => m[1]!);
    for (const id of ids) await admin.client("KILL", "ID", id);
    // Subscribed while every connection reconnects.
    nodes.forEach((node, i) => node.subscribe("second", (m) => heard[i]!.add(m.body)));
    await Promise.all(nodes.map((node) => node.ready()));
    nodes[0]!.publish("first", "one");
    nodes[0]!.publish("second", "two");
    await until(() => heard.every((set) => set.size === 2), "every node heard both", 30_000);
    assert.deepEqual(errors, []);
  });

  it("a subscription survives its connection being killed: ioredis reconnects and subscribes again; a publish waiting meanwhile goes out", async (t) => {
    const url = await requireRedis();
    const space = newSpace();
    const admin = redisClient(t, url);
    const logger = new RecordingLogger();
    const a = redisBackplane({ url, prefix: space, nodeId: `a-${Date.now()}`, logger: new RecordingLogger() });
    const b = redisBackplane({ url, prefix: space, nodeId: `b-${Date.now()}`, logger });
    t.after(() => a.close());
    t.after(() => b.close());
    const got: string[] = [];
    b.subscribe("s", (m) => got.push(m.body));
    await b.ready();
    a.publish("s", "before");
    await until(() => got.length === 1, "before the kill");
    // Only b's two connections: other test files share this Redis.
    const ids = [...String(await admin.client("LIST")).matchAll(/^id=(\d+) .* name=(\S+)/gm)].filter((m) => m[2]!.startsWith(`wirechan-${b.nodeId}-`)).map((m) => m[1]!);
    assert.equal(ids.length, 2, "b's publisher and subscriber");
    for (const id of ids) assert.equal(await admin.client("KILL", "ID", id), 1);
    // Once b's subscriber is back (ready() answers after the resubscription), a's messages reach it.
    await b.ready();
    for (let i = 0; got.length < 2; i++) {
      a.publish("s", `after ${i}`);
      await until(() => got.length >= 2 || a.pending === 0, "the publish taken");
      await settle();
    }
    assert.match(got[1]!, /^after \d+$/);
    assert.ok(logger.lines.some((line) => /subscriber connection is down/.test(line.message)), "the outage was logged");
  });
});
