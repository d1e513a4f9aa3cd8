// Sessions that survive dropped connections: a fault-injecting proxy cuts the links at random
// moments while values flow both ways; every value must arrive exactly once and in order.
// And the other outcome: a session that cannot be resumed goes to "lost", never a silent gap.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { type Channel, chan } from "../../src/csp/index.js";
import { connect, type Session } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { createServer, type RemoteChannel, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import WebSocket from "ws";
import { until } from "../helpers/async.js";
import { FaultProxy } from "../helpers/fault-proxy.js";

const fastReconnect = { initial: 5, max: 50, jitter: 0.5 };

async function startBehindProxy(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; proxy: FaultProxy }> {
  const server = createServer({ heartbeat: 1_000, heartbeatTimeout: 5_000, pollTimeout: 2_000, ...options });
  const handle = await server.listen();
  const proxy = await FaultProxy.start({ targetPort: handle.port });
  t.after(async () => {
    await proxy.close();
    await handle.close();
  });
  return { server, proxy };
}

async function open(t: TestContext, proxy: FaultProxy, transports: TransportName[]): Promise<Session> {
  const session = await connect(proxy.url, { transports, reconnect: fastReconnect, upgradeProbeInterval: 0, connectTimeout: 2_000 });
  t.after(() => session.close());
  return session;
}

/** Takes `count` values and checks they are 0, 1, 2 … in order, each once. */
async function expectSequence(ch: Channel<number>, count: number, what: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const value = await ch.take();
    if (value !== i) assert.fail(`${what}: expected ${i} next, got ${String(value)}`);
  }
}

/**
 * `count` values each way through random cuts: the client puts 0…count-1 into the server
 * channel "up"; the server puts 0…count-1 into a channel the client gave it.
 */
async function bothWays(t: TestContext, transports: TransportName[], count: number, cuts: number, bytes: { minBytes: number; maxBytes: number }): Promise<void> {
  const { server, proxy } = await startBehindProxy(t);
  const up = server.channel<number>("up", 64);
  const hello = server.channel<{ down: RemoteChannel<number> }>("hello");
  const session = await open(t, proxy, transports);
  const down = chan<number>(64);
  const cutting = proxy.cutRandomly({ count: cuts, ...bytes });
  cutting.catch(() => undefined);

  void session.serverChan<{ down: Channel<number> }>("hello").put({ down });
  const serverSide = (async () => {
    const { down: toClient } = (await hello.take()) as { down: RemoteChannel<number> };
    for (let i = 0; i < count; i++) assert.equal(await toClient.put(i), true, `server put ${i}`);
  })();
  const clientSide = (async () => {
    const proxyUp = session.serverChan<number>("up");
    for (let i = 0; i < count; i++) assert.equal(await proxyUp.put(i), true, `client put ${i}`);
  })();
  await Promise.all([expectSequence(up, count, "server received"), expectSequence(down, count, "client received"), serverSide, clientSide]);
  proxy.stopCutting();
  t.diagnostic(`${proxy.cuts} cuts, ${proxy.accepted} connections`);
  assert.ok(proxy.cuts >= Math.min(cuts, 10), `the links were really cut (${proxy.cuts} cuts)`);
  assert.equal(session.state, "open", "the session survived every cut");
  assert.equal(up.poll(), undefined, "nothing more arrived at the server");
  assert.equal(down.poll(), undefined, "nothing more arrived at the client");
}

describe("sessions survive dropped connections", { timeout: 240_000 }, () => {
  it("websocket: 10,000 values each way across 100 random cuts arrive exactly once, in order", async (t) => {
    await bothWays(t, ["websocket"], 10_000, 100, { minBytes: 2_000, maxBytes: 12_000 });
  });

  it("sse: 2,000 values each way across 20 random cuts arrive exactly once, in order", async (t) => {
    await bothWays(t, ["sse"], 2_000, 20, { minBytes: 2_000, maxBytes: 20_000 });
  });

  it("longpoll: 2,000 values each way across 20 random cuts arrive exactly once, in order", async (t) => {
    await bothWays(t, ["longpoll"], 2_000, 20, { minBytes: 2_000, maxBytes: 20_000 });
  });
});

describe("falling back and losing", { timeout: 60_000 }, () => {
  it("falls back to SSE when a proxy kills WebSocket upgrades, and keeps it for reconnects", async (t) => {
    const { server, proxy } = await startBehindProxy(t);
    proxy.setBlockWebSocket(true);
    const inbox = server.channel<string>("inbox");
    const session = await open(t, proxy, ["websocket", "sse", "longpoll"]);
    assert.equal(session.transport, "sse", "WebSocket was refused, SSE worked");
    void session.serverChan<string>("inbox").put("over sse");
    assert.equal(await inbox.take(), "over sse");
    proxy.cutAll();
    await until(() => session.state === "open" && session.transport !== null, "the session to reconnect");
    assert.equal(session.transport, "sse", "the reconnect kept what worked");
  });

  it("moves up to WebSocket when the probe finds it possible again", async (t) => {
    const { server, proxy } = await startBehindProxy(t);
    proxy.setBlockWebSocket(true);
    const inbox = server.channel<number>("inbox");
    const session = await connect(proxy.url, { reconnect: fastReconnect, upgradeProbeInterval: 100, connectTimeout: 2_000 });
    t.after(() => session.close());
    assert.equal(session.transport, "sse");
    const proxyIn = session.serverChan<number>("inbox");
    proxy.setBlockWebSocket(false);
    await until(() => session.transport === "websocket", "the probe to move to WebSocket");
    for (let i = 0; i < 10; i++) void proxyIn.put(i);
    for (let i = 0; i < 10; i++) assert.equal(await inbox.take(), i, "values keep flowing, once each, after the move");
  });

  it("a session the server no longer has goes to lost: every proxy closes, nothing continues silently", async (t) => {
    const { server, proxy } = await startBehindProxy(t, { sessionTtl: 200, heartbeat: 50, heartbeatTimeout: 150 });
    const give = server.channel<{ to: RemoteChannel<number> }>("give");
    const session = await open(t, proxy, ["websocket"]);
    const changes: string[] = [];
    session.onState((change) => changes.push(`${change.state}${change.error === undefined ? "" : `:${change.error.code}`}`));
    const mine = chan<number>(1);
    void session.serverChan<{ to: Channel<number> }>("give").put({ to: mine });
    const { to } = (await give.take()) as { to: RemoteChannel<number> };
    const inbox = session.serverChan<number>("give");

    proxy.setRefusing(true);
    proxy.cutAll();
    await until(() => server.sessionCount === 0, "the server to expire the session after sessionTtl");
    assert.equal(to.closed, true, "the server's proxies of the session closed");
    proxy.setRefusing(false);
    await until(() => session.state === "lost", "the client to learn the session is lost");
    assert.deepEqual(changes, ["reconnecting", "lost:ERR_SESSION_LOST"]);
    assert.equal(inbox.closed, true, "the client's proxies closed");
    assert.equal(await inbox.put(1 as never), false, "and refuse puts");
  });

  it("a client silent past heartbeatTimeout (a throttled background tab) loses its link, not its session", async (t) => {
    const server = createServer({ heartbeat: 50, heartbeatTimeout: 150, sessionTtl: 60_000 });
    const handle = await server.listen();
    t.after(() => handle.close());
    const wsUrl = `${handle.url.replace("http", "ws")}/wirechan`;
    // A hand-written client that says hello and then never answers a ping, as a frozen tab.
    const first = await rawHello(wsUrl, { sid: null, secret: null, recv: 0 });
    const { sid, secret } = first.welcome;
    await until(() => first.socket.readyState === WebSocket.CLOSED, "the server to drop the silent link");
    assert.equal(server.sessionCount, 1, "the session outlives its link");
    const second = await rawHello(wsUrl, { sid, secret, recv: 0 });
    assert.equal(second.welcome.resumed, true, "the tab, awake again, resumes its session");
    assert.equal(second.welcome.sid, sid);
    second.socket.close();
  });
});

/** Opens a raw WebSocket, sends a hello and resolves with the welcome (and the socket). */
async function rawHello(url: string, hello: { sid: string | null; secret: string | null; recv: number }): Promise<{ socket: WebSocket; welcome: { sid: string; secret: string; resumed: boolean } }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  socket.send(JSON.stringify([["hello", 1, hello]]));
  const data = await new Promise<Buffer>((resolve) => socket.once("message", (message: Buffer) => resolve(message)));
  const [frame] = JSON.parse(data.toString("utf8")) as [[string, number, { sid: string; secret: string; resumed: boolean }]];
  assert.equal(frame[0], "welcome", `a welcome, got ${data.toString("utf8")}`);
  return { socket, welcome: frame[2] };
}
