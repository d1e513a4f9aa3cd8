// The `authorize` option (docs/api.md "Options"; docs/protocol.md section 5): asked on every put
// to a named server channel and every topic subscribe, resumed sessions included; a refused put
// resolves false, the client hears ERR_FORBIDDEN and the value never reaches the channel; a
// refused subscribe gets the topic's { dropped } with ERR_FORBIDDEN. Real sockets, real client.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import WebSocket from "ws";
import { chan } from "../../src/csp/index.js";
import { connect, type ProtocolError, type Session } from "../../src/client/index.js";
import type { WebSocketLike } from "../../src/client/link.js";
import { type AuthorizeOp, createServer, isTopicDropped, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { pollAll, until, within } from "../helpers/async.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { RecordingLogger } from "../helpers/recording-logger.js";

const fastReconnect = { initial: 5, max: 50, jitter: 0.5 };
const TEST = { timeout: 20_000 };

/** The `ws` WebSocket, saying who the client is in a header `authenticate` reads. */
function webSocketAs(user: string): WebSocketLike {
  return class UserWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { headers: { "x-user": user } });
    }
  } as unknown as WebSocketLike;
}

/** Node's fetch, saying who the client is in the same header, for the HTTP transports. */
function fetchAs(user: string): typeof fetch {
  return function userFetch(input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
    return fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), "x-user": user } });
  } as typeof fetch;
}

/** Every question `authorize` was asked. */
type Asked = Array<{ principal: unknown; name: string; op: AuthorizeOp }>;

async function start(t: TestContext, options: ServerOptions): Promise<{ server: WirechanServer; proxy: FaultProxy; logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const server = createServer({
    heartbeat: 1_000,
    heartbeatTimeout: 5_000,
    logger,
    authenticate: (req) => req.headers["x-user"] ?? "anonymous",
    ...options,
  });
  const handle = await server.listen();
  const proxy = await FaultProxy.start({ targetPort: handle.port });
  t.after(async () => {
    await proxy.close();
    await handle.close();
  });
  return { server, proxy, logger };
}

async function open(t: TestContext, proxy: FaultProxy, user: string, transport: "websocket" | "longpoll" = "websocket"): Promise<{ session: Session; refusals: ProtocolError[] }> {
  const session = await connect(proxy.url, { transports: [transport], WebSocket: webSocketAs(user), fetch: fetchAs(user), reconnect: fastReconnect, connectTimeout: 2_000 });
  t.after(() => session.close());
  const refusals: ProtocolError[] = [];
  session.onRefusal((error) => refusals.push(error));
  return { session, refusals };
}

describe("the authorize option", TEST, () => {
  for (const transport of ["websocket", "longpoll"] as const) {
    it(`${transport}: refuses one principal's puts to one channel while another's arrive; the client hears ERR_FORBIDDEN and the value goes nowhere`, async (t) => {
      const asked: Asked = [];
      const { server, proxy } = await start(t, {
        authorize: (principal, name, op) => {
          asked.push({ principal, name, op });
          return !(principal === "mallory" && name === "admin");
        },
      });
      const admin = server.channel<string>("admin", 16);
      const lobby = server.channel<string>("lobby", 16);
      const mallory = await open(t, proxy, "mallory", transport);
      const alice = await open(t, proxy, "alice", transport);

      assert.equal(await mallory.session.serverChan<string>("admin").put("from mallory"), false, "the refused put resolves false");
      await until(() => mallory.refusals.length === 1, "the refusal reaches the client");
      assert.equal(mallory.refusals[0]?.code, "ERR_FORBIDDEN");
      assert.equal(mallory.refusals[0]?.fatal, false);
      assert.equal(await alice.session.serverChan<string>("admin").put("from alice"), true);
      assert.deepEqual(pollAll(admin), ["from alice"], "mallory's value never reached the channel");

      assert.equal(mallory.session.state, "open", "a refusal is not fatal");
      assert.equal(await mallory.session.serverChan<string>("lobby").put("hello"), true, "mallory may put elsewhere");
      assert.deepEqual(pollAll(lobby), ["hello"]);
      assert.deepEqual(asked, [
        { principal: "mallory", name: "admin", op: "put" },
        { principal: "alice", name: "admin", op: "put" },
        { principal: "mallory", name: "lobby", op: "put" },
      ]);
    });
  }

  it("is asked on every put, the first after a resume included", async (t) => {
    const allowed = new Set(["alice"]);
    const { server, proxy } = await start(t, { authorize: (principal) => allowed.has(String(principal)) });
    const inbox = server.channel<number>("in", 16);
    const alice = await open(t, proxy, "alice");
    const proxyIn = alice.session.serverChan<number>("in");
    assert.equal(await proxyIn.put(1), true);
    let reconnected = false;
    alice.session.onState((change) => {
      if (change.state === "reconnecting") reconnected = true;
    });
    allowed.delete("alice");
    proxy.cutAll();
    await until(() => reconnected && alice.session.state === "open", "the resume");
    assert.equal(await proxyIn.put(2), false, "revoked: the first put after the resume is refused");
    await until(() => alice.refusals.length === 1, "the refusal");
    assert.equal(alice.refusals[0]?.code, "ERR_FORBIDDEN");
    assert.deepEqual(pollAll(inbox), [1]);
  });

  it("an authorize that throws, or answers anything but a boolean, refuses and is logged; the server goes on", async (t) => {
    const { server, proxy, logger } = await start(t, {
      authorize: (principal, name) => {
        if (name === "broken") throw new Error("authorize bug");
        // An async hook cannot be waited for: its promise is not a yes.
        if (name === "async") return Promise.resolve(true) as unknown as boolean;
        return true;
      },
    });
    const broken = server.channel<string>("broken", 4);
    const asynchronous = server.channel<string>("async", 4);
    const fine = server.channel<string>("fine", 4);
    const bob = await open(t, proxy, "bob");
    assert.equal(await bob.session.serverChan<string>("broken").put("x"), false);
    assert.equal(await bob.session.serverChan<string>("async").put("y"), false);
    assert.equal(await bob.session.serverChan<string>("fine").put("z"), true);
    await until(() => bob.refusals.length === 2, "both refusals");
    assert.deepEqual(bob.refusals.map((error) => error.code), ["ERR_FORBIDDEN", "ERR_FORBIDDEN"]);
    assert.deepEqual([pollAll(broken), pollAll(asynchronous), pollAll(fine)], [[], [], ["z"]]);
    assert.equal(logger.lines.length, 2, JSON.stringify(logger.lines.map((line) => line.message)));
    assert.match(logger.lines[0]?.message ?? "", /authorize threw/);
    assert.equal((logger.lines[0]?.detail as Error).message, "authorize bug");
    assert.match(logger.lines[1]?.message ?? "", /a promise/);
  });

  it("an onRefusal listener that throws goes to the client's logger; the others still hear and the session goes on", async (t) => {
    const { server, proxy } = await start(t, { authorize: (principal, name) => name !== "closed" });
    const open = server.channel<string>("open", 4);
    server.channel<string>("closed", 4);
    const clientLogger = new RecordingLogger();
    const session = await connect(proxy.url, { transports: ["websocket"], WebSocket: webSocketAs("bob"), logger: clientLogger, connectTimeout: 2_000 });
    t.after(() => session.close());
    session.onRefusal(function throwing(): void {
      throw new Error("listener bug");
    });
    const heard: string[] = [];
    session.onRefusal((error) => heard.push(error.code));
    assert.equal(await session.serverChan<string>("closed").put("x"), false);
    await until(() => heard.length === 1, "the second listener heard");
    assert.deepEqual(heard, ["ERR_FORBIDDEN"]);
    assert.match(clientLogger.lines[0]?.message ?? "", /onRefusal listener threw/);
    assert.equal(await session.serverChan<string>("open").put("y"), true);
    assert.deepEqual(pollAll(open), ["y"]);
    assert.equal(session.state, "open");
  });

  it("a name nobody made stays ERR_UNKNOWN_CHANNEL, without asking authorize", async (t) => {
    const asked: Asked = [];
    const { proxy } = await start(t, {
      authorize: (principal, name, op) => {
        asked.push({ principal, name, op });
        return false;
      },
    });
    const bob = await open(t, proxy, "bob");
    assert.equal(await bob.session.serverChan<string>("nowhere").put("x"), false);
    await until(() => bob.refusals.length === 1, "the refusal");
    assert.equal(bob.refusals[0]?.code, "ERR_UNKNOWN_CHANNEL");
    assert.deepEqual(asked, []);
  });

  it("a topic subscribe is asked as subscribe: refused gets { dropped } with ERR_FORBIDDEN, allowed gets the values", async (t) => {
    const asked: Asked = [];
    const { server, proxy } = await start(t, {
      authorize: (principal, name, op) => {
        asked.push({ principal, name, op });
        return principal !== "mallory";
      },
    });
    const news = server.topic<string>("news");
    const mallory = await open(t, proxy, "mallory");
    const alice = await open(t, proxy, "alice");
    const malloryInbox = chan<unknown>(4);
    const aliceInbox = chan<unknown>(4);
    assert.equal(await mallory.session.serverChan("news").put({ subscribe: malloryInbox }), true, "the request itself is taken");
    assert.equal(await alice.session.serverChan("news").put({ subscribe: aliceInbox }), true);
    const refusal = await within(malloryInbox.take(), "mallory's refusal");
    assert.ok(isTopicDropped(refusal), JSON.stringify(refusal));
    assert.equal(refusal.dropped.code, "ERR_FORBIDDEN");
    await until(() => news.subscriberCount === 1, "alice subscribed");
    void news.put("headline");
    assert.equal(await within(aliceInbox.take(), "alice's value"), "headline");
    assert.deepEqual(mallory.refusals, [], "a subscribe refusal is the topic's word, not an error frame");
    // Unsubscribing only takes away: it is never asked.
    assert.equal(await alice.session.serverChan("news").put({ unsubscribe: aliceInbox }), true);
    await until(() => news.subscriberCount === 0, "alice unsubscribed");
    assert.deepEqual(asked, [
      { principal: "mallory", name: "news", op: "subscribe" },
      { principal: "alice", name: "news", op: "subscribe" },
    ]);
  });
});
