// Server topics with clients' subscriptions (docs/api.md "Topics"), over real sockets on
// 127.0.0.1 with the real client: fan-out to local and remote subscribers in one order, a value
// encoded once however many clients (counted through a codec that counts), a stalled client that
// delays nobody and is dropped per the policy, unsubscribe, the end of a session, and the limits.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { chan, type Channel } from "../../src/csp/channel.js";
import { connect, type Session } from "../../src/client/index.js";
import { type Codec, createServer, type RemoteChannel, isTopicDropped, jsonCodec, type ServerOptions, type TopicDropped, type TopicRequest, type WirechanServer } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { FaultProxy } from "../helpers/fault-proxy.js";

const TEST = { timeout: 60_000 };

async function start(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; url: string; port: number }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000, ...options });
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, url: handle.url, port: handle.port };
}

async function client(t: TestContext, url: string): Promise<Session> {
  const session = await connect(url, { transports: ["websocket"] });
  t.after(() => session.close());
  return session;
}

type Inbox<T> = Channel<T | TopicDropped>;

/** A client's inbox subscribed to `topic`: resolves once the server has the request. */
async function subscribe<T>(session: Session, topic: string, inbox: Inbox<T> = chan<T | TopicDropped>(1024)): Promise<Inbox<T>> {
  const request: TopicRequest<T> = { subscribe: inbox };
  assert.equal(await session.serverChan<TopicRequest<T>>(topic).put(request), true);
  return inbox;
}

/** The next `n` values of `inbox`, failing (not hanging) if they do not come. */
async function take<T>(inbox: Channel<T>, n: number, what: string): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push((await within(inbox.take(), () => `${what}: got ${JSON.stringify(out)}`)) as T);
  return out;
}

/** The JSON codec, counting how often a value is encoded: by encodeValue (once per topic put) and as put frames (once per proxy put). */
function countingCodec(): Codec & { values: number; putFrames: number } {
  const counts = {
    ...jsonCodec,
    values: 0,
    putFrames: 0,
    encodeValue(value: unknown): string {
      counts.values++;
      return jsonCodec.encodeValue(value);
    },
    encodeFrame(frame: readonly unknown[]): string {
      if (frame[1] === "p") counts.putFrames++;
      return jsonCodec.encodeFrame(frame);
    },
  };
  return counts;
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe("topics across the wire", TEST, () => {
  it("a put reaches local and remote subscribers, each in the one order of the puts, and each value is encoded once for all of them", async (t) => {
    const codec = countingCodec();
    const { server, url } = await start(t, { codec });
    const topic = server.topic<string>("news");
    const local = chan<string>(1024);
    topic.subscribe(local);
    const inboxes: Array<Inbox<string>> = [];
    for (let i = 0; i < 5; i++) inboxes.push(await subscribe<string>(await client(t, url), "news"));
    assert.equal(topic.subscriberCount, 6);
    const before = { values: codec.values, putFrames: codec.putFrames };
    // Two producers interleaving: the topic's order is the order of its puts, whoever made them.
    const order: string[] = [];
    async function produce(name: string): Promise<void> {
      for (let i = 0; i < 20; i++) {
        order.push(`${name}${i}`);
        await topic.put(`${name}${i}`);
        if (i % 3 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    await Promise.all([produce("a"), produce("b")]);
    for (const [i, inbox] of inboxes.entries()) assert.deepEqual(await take(inbox, 40, `client ${i}`), order);
    assert.deepEqual(await take(local, 40, "local"), order);
    assert.equal(codec.values - before.values, 40, "one encoding per put, for five clients");
    assert.equal(codec.putFrames - before.putFrames, 0, "no put frame encoded per session");
  });

  it("the same fan-out as a loop of proxy puts encodes each value once per client: the cost a topic saves (counted side by side)", async (t) => {
    const codec = countingCodec();
    const { server, url } = await start(t, { codec });
    const topic = server.topic<number>("topic");
    const joins = server.channel<RemoteChannel<number>>("loop");
    const proxies: Array<RemoteChannel<number>> = [];
    const viaTopic: Array<Inbox<number>> = [];
    const viaLoop: Array<Channel<number>> = [];
    for (let i = 0; i < 5; i++) {
      const session = await client(t, url);
      viaTopic.push(await subscribe<number>(session, "topic"));
      const inbox = chan<number>(64);
      viaLoop.push(inbox);
      const joined = session.serverChan<Channel<number>>("loop").put(inbox);
      proxies.push((await joins.take()) as RemoteChannel<number>);
      await joined;
    }
    const start0 = { values: codec.values, putFrames: codec.putFrames };
    for (let v = 0; v < 10; v++) await topic.put(v);
    for (const inbox of viaTopic) assert.deepEqual(await take(inbox, 10, "topic"), range(10));
    const topicCost = { values: codec.values - start0.values, putFrames: codec.putFrames - start0.putFrames };
    const start1 = { values: codec.values, putFrames: codec.putFrames };
    for (let v = 0; v < 10; v++) for (const proxy of proxies) void proxy.put(v);
    for (const inbox of viaLoop) assert.deepEqual(await take(inbox, 10, "loop"), range(10));
    const loopCost = { values: codec.values - start1.values, putFrames: codec.putFrames - start1.putFrames };
    assert.deepEqual(topicCost, { values: 10, putFrames: 0 }, "a topic: one encoding per value");
    assert.deepEqual(loopCost, { values: 0, putFrames: 50 }, "a loop of proxy puts: one per value and client");
  });

  it("a stalled client (its inbox not read) delays nobody: the others get every value; it is dropped (disconnect), and told after what was on its way", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<number>("t", { queueLength: 8, maxInFlight: 4 });
    const stalled = await subscribe<number>(await client(t, url), "t", chan<number | TopicDropped>());
    const readers = [await subscribe<number>(await client(t, url), "t"), await subscribe<number>(await client(t, url), "t")];
    const got = readers.map(() => [] as Array<number | TopicDropped>);
    for (let i = 0; i < 30; i++) {
      await topic.put(i);
      // Paced by the readers' progress (counted), so only the stalled one can fall behind.
      for (const [r, inbox] of readers.entries()) got[r]?.push(...(await take(inbox, 1, `reader ${r}`)));
    }
    for (const values of got) assert.deepEqual(values, range(30));
    // In flight 4, queued 8: the thirteenth value found its queue full.
    await until(() => topic.subscriberCount === 2, "the stalled subscriber dropped");
    const last = await take(stalled, 5, "the stalled inbox");
    assert.deepEqual(last.slice(0, 4), range(4), "what was already on its way");
    assert.ok(isTopicDropped(last[4]), `then the word: ${JSON.stringify(last[4])}`);
    assert.equal(last[4].dropped.code, "ERR_SUBSCRIBER_BEHIND");
    assert.equal(last[4].dropped.topic, "t");
  });

  it("drop-oldest: a stalled client stays subscribed, and when it reads again it gets what was on its way and the newest values", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<number>("t", { queueLength: 8, maxInFlight: 4, whenFull: "drop-oldest" });
    const stalled = await subscribe<number>(await client(t, url), "t", chan<number | TopicDropped>());
    const reader = await subscribe<number>(await client(t, url), "t");
    for (let i = 0; i < 30; i++) {
      await topic.put(i);
      assert.deepEqual(await take(reader, 1, "reader"), [i]);
    }
    assert.equal(topic.subscriberCount, 2, "nobody dropped");
    assert.deepEqual(await take(stalled, 12, "the stalled inbox"), [...range(4), ...range(8, 22)]);
  });

  it("backpressure: a stalled client holds the puts back, nobody is dropped, and once it reads, everyone gets every value", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<number>("t", { queueLength: 8, maxInFlight: 4, whenFull: "backpressure" });
    const stalled = await subscribe<number>(await client(t, url), "t", chan<number | TopicDropped>());
    const reader = await subscribe<number>(await client(t, url), "t");
    const puts = Array.from({ length: 40 }, (_, i) => topic.put(i));
    // The stalled inbox takes nothing: the reader gets what fits in the stalled client's queue
    // and flight (and the session's window), and the rest of the puts wait.
    await take(reader, 8, "reader, before the stalled client reads");
    const waiting = await Promise.all(puts.map((put) => Promise.race([put.then(() => "sent"), new Promise((resolve) => setTimeout(resolve, 50, "waiting"))])));
    assert.ok(waiting.includes("waiting"), "some puts wait for the stalled client");
    assert.equal(topic.subscriberCount, 2, "nobody dropped");
    assert.deepEqual(await take(stalled, 40, "the stalled client, reading at last"), range(40));
    assert.deepEqual(await Promise.all(puts), puts.map(() => true));
    const rest = await take(reader, 32, "reader, the rest");
    assert.deepEqual(rest, range(32, 8));
  });

  it("a value too large for one client's messages drops that client (told ERR_SUBSCRIBER_FAILED); the others get it", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<string>("t");
    const smallSession = await connect(url, { transports: ["websocket"], maxMessageSize: 64 * 1024 });
    t.after(() => smallSession.close());
    const small = await subscribe<string>(smallSession, "t");
    const large = await subscribe<string>(await client(t, url), "t");
    const big = "x".repeat(100_000);
    await topic.put(big);
    assert.deepEqual(await take(large, 1, "the large client"), [big]);
    const [word] = await take(small, 1, "the small client");
    assert.ok(isTopicDropped(word));
    assert.equal(word.dropped.code, "ERR_SUBSCRIBER_FAILED");
    assert.equal(topic.subscriberCount, 1);
  });

  for (const transport of ["websocket", "sse", "longpoll"] as const) {
    it(`a topic's values cross a cut link once each and in order (${transport}): framed per session, they are replayed as any put`, async (t) => {
      const { server, port } = await start(t);
      const proxy = await FaultProxy.start({ targetPort: port });
      t.after(() => proxy.close());
      const topic = server.topic<number>("t");
      const session = await connect(proxy.url, { transports: [transport], reconnect: { initial: 20, max: 100, jitter: 0 }, upgradeProbeInterval: 0 });
      t.after(() => session.close());
      const states: string[] = [];
      session.onState((change) => states.push(change.state));
      const inbox = await subscribe<number>(session, "t");
      for (let i = 0; i < 10; i++) await topic.put(i);
      assert.deepEqual(await take(inbox, 5, "before the cut"), range(5));
      proxy.cutAll();
      for (let i = 10; i < 20; i++) await topic.put(i);
      assert.deepEqual(await take(inbox, 15, "after the cut"), range(15, 5));
      assert.equal(inbox.poll(), undefined, "nothing twice");
      assert.equal(topic.subscriberCount, 1, "the subscription outlives the link");
      assert.ok(states.includes("reconnecting"), `the link was really cut: ${states.join(", ")}`);
    });
  }

  it("unsubscribe stops a client's values and releases the server's proxy of its inbox", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<number>("t");
    const session = await client(t, url);
    const inbox = await subscribe<number>(session, "t");
    const other = await subscribe<number>(await client(t, url), "t");
    await topic.put(1);
    assert.deepEqual(await take(inbox, 1, "before"), [1]);
    assert.equal(await session.serverChan<TopicRequest<number>>("t").put({ unsubscribe: inbox }), true);
    assert.equal(topic.subscriberCount, 1);
    await topic.put(2);
    assert.deepEqual(await take(other, 2, "the other"), [1, 2]);
    assert.equal(inbox.poll(), undefined, "nothing after the unsubscribe");
  });

  it("a session that ends takes its subscriptions with it: the count returns to 0", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<number>("t");
    const sessions = [await client(t, url), await client(t, url), await client(t, url)];
    for (const session of sessions) {
      await subscribe<number>(session, "t");
      await subscribe<number>(session, "t");
    }
    assert.equal(topic.subscriberCount, 6);
    for (const session of sessions) session.close();
    await until(() => server.sessionCount === 0, "the sessions ended");
    assert.equal(topic.subscriberCount, 0, "no subscriber left behind");
    assert.equal(await topic.put(1), true, "a put to nobody");
  });

  it("refuses a client's subscription past maxSubscribers and past maxSubscriptionsPerSession, saying which in the inbox", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<number>("t", { maxSubscribers: 3, maxSubscriptionsPerSession: 2 });
    const first = await client(t, url);
    await subscribe<number>(first, "t");
    await subscribe<number>(first, "t");
    const third = await subscribe<number>(first, "t");
    const [perSession] = await take(third, 1, "the third of one session");
    assert.ok(isTopicDropped(perSession));
    assert.equal(perSession.dropped.code, "ERR_TOO_MANY_SUBSCRIPTIONS");
    const second = await client(t, url);
    await subscribe<number>(second, "t");
    assert.equal(topic.subscriberCount, 3, "full");
    const refused = await subscribe<number>(second, "t");
    const [full] = await take(refused, 1, "past maxSubscribers");
    assert.ok(isTopicDropped(full));
    assert.equal(full.dropped.code, "ERR_TOO_MANY_SUBSCRIBERS");
    assert.equal(topic.subscriberCount, 3);
  });

  it("ignores what is not a request, and a server channel sent back as an inbox (only a client's own channel subscribes)", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<number>("t");
    // Server code hands a client one of its own channels (the client gets a proxy of it).
    const handout = server.channel<{ reply: RemoteChannel<RemoteChannel<unknown>> }>("handout");
    const serverOwn = chan<unknown>(8);
    const session = await client(t, url);
    const requests = session.serverChan<unknown>("t");
    assert.equal(await requests.put("hello"), true);
    assert.equal(await requests.put({ subscribe: 1 }), true);
    assert.equal(await requests.put({ unsubscribe: chan() }), true, "unsubscribing what never subscribed");
    const reply = chan<RemoteChannel<unknown>>(1);
    const asked = session.serverChan<{ reply: Channel<RemoteChannel<unknown>> }>("handout").put({ reply });
    const { reply: replyProxy } = (await handout.take()) as { reply: RemoteChannel<RemoteChannel<unknown>> };
    await asked;
    await replyProxy.put(serverOwn as unknown as RemoteChannel<unknown>);
    const proxyOfServerChannel = (await reply.take()) as RemoteChannel<unknown>;
    assert.equal(await requests.put({ subscribe: proxyOfServerChannel }), true);
    assert.equal(topic.subscriberCount, 0, "nothing subscribed");
    await topic.put(1);
    assert.equal(serverOwn.poll(), undefined, "the server's own channel gets nothing");
    const mine = await subscribe<number>(session, "t");
    assert.equal(topic.subscriberCount, 1, "a client's own channel is a subscription");
    await topic.put(2);
    assert.deepEqual(await take(mine, 1, "own inbox"), [2]);
  });

  it("closing the topic tells each client's inbox, and removes every subscriber", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<number>("t");
    const inbox = await subscribe<number>(await client(t, url), "t");
    await topic.put(7);
    topic.close();
    const [seven, word] = await take(inbox, 2, "the inbox");
    assert.equal(seven, 7);
    assert.ok(isTopicDropped(word));
    assert.equal(word.dropped.code, "ERR_TOPIC_CLOSED");
    assert.equal(topic.subscriberCount, 0);
  });
});
