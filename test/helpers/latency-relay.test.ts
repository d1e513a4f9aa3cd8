// LatencyRelay against real peers on 127.0.0.1: an echo server, a server that swaps payloads with
// its client, a firehose, and a node:http server with a `ws` WebSocket server on it. Delays are
// checked by the order of events (through the relay vs. direct), never by measuring durations.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer as createHttpServer, get, type Server as HttpServer } from "node:http";
import type { Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import { until, within } from "./async.js";
import { LATENCY_RELAY_LIMITS, LatencyRelay, type LatencyRelayOptions } from "./latency-relay.js";
import { type ClientResult, EchoServer, FirehoseServer, RawClient, RecordingServer } from "./loopback-peers.js";
import { closeServer, listenOnLoopback } from "../../scripts/net/tcp-kit.js";

const TEST = { timeout: 30_000 };
const MiB = 1024 * 1024;

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Sends its own payload to each client while collecting the client's, then ends its side. */
class SwapServer extends RecordingServer {
  readonly got: Buffer[] = [];
  done: Promise<Buffer> | undefined;

  constructor(private readonly payload: Buffer) {
    super();
  }

  protected serve(socket: Socket): void {
    this.done = new Promise((resolve) => socket.on("end", () => resolve(Buffer.concat(this.got))));
    socket.on("data", (chunk: Buffer) => this.got.push(chunk));
    // In 64 KiB pieces, so the relay sees many chunks to keep in order.
    for (let at = 0; at < this.payload.length; at += 64 * 1024) socket.write(this.payload.subarray(at, at + 64 * 1024));
    socket.end();
  }
}

async function startRelay(t: TestContext, options: LatencyRelayOptions): Promise<LatencyRelay> {
  const relay = await LatencyRelay.start(options);
  t.after(() => relay.close());
  return relay;
}

async function echoBehindRelay(t: TestContext, latencyMs: number): Promise<{ echo: EchoServer; relay: LatencyRelay }> {
  const echo = new EchoServer();
  await echo.listen();
  t.after(() => echo.close());
  return { echo, relay: await startRelay(t, { targetPort: echo.port, latencyMs }) };
}

function client(t: TestContext, port: number): RawClient {
  const c = new RawClient(port);
  t.after(() => {
    c.socket.destroy();
  });
  return c;
}

/** A node:http server answering "ok" to everything, with a `ws` server that echoes. */
async function httpAndWebSocketServer(t: TestContext): Promise<{ http: HttpServer; port: number }> {
  const http = createHttpServer((_req, res) => res.end("ok"));
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  const port = await listenOnLoopback("test http server", http);
  t.after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    http.closeAllConnections();
    await closeServer(http);
  });
  return { http, port };
}

/** A GET over a fresh connection; resolves with the body. */
function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** Opens a WebSocket, checks one echoed message, closes it. */
async function webSocketEcho(url: string): Promise<string> {
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const echoed = new Promise<string>((resolve) => ws.once("message", (data: Buffer) => resolve(data.toString("utf8"))));
    ws.send("through");
    return await echoed;
  } finally {
    ws.terminate();
  }
}

describe("LatencyRelay", () => {
  it("relays 2 MiB of random bytes each way, unchanged and in order, under latency, half-closes included", TEST, async (t) => {
    const fromServer = randomBytes(2 * MiB);
    const fromClient = randomBytes(2 * MiB);
    const server = new SwapServer(fromServer);
    await server.listen();
    t.after(() => server.close());
    const relay = await startRelay(t, { targetPort: server.port, latencyMs: 20 });
    assert.equal(relay.url, `http://127.0.0.1:${relay.port}`, "the url names 127.0.0.1 and the port");
    const c = client(t, relay.port);
    for (let at = 0; at < fromClient.length; at += 16 * 1024) c.socket.write(fromClient.subarray(at, at + 16 * 1024));
    c.socket.end();
    const result = await within(c.closed, "the swap to finish");
    assert.equal(result.error, undefined, "no error on the client");
    assert.equal(result.ended, true, "the server's half-close came through");
    assert.equal(result.data.length, fromServer.length, "every byte from the server arrived");
    assert.equal(sha256(result.data), sha256(fromServer), "in order and unchanged");
    const got = await within(server.done ?? Promise.reject(new Error("no connection")), "the server to see the client's end");
    assert.equal(sha256(got), sha256(fromClient), "every byte from the client arrived, in order and unchanged");
    assert.equal(relay.accepted, 1, "one connection accepted");
    await until(() => relay.openConnections === 0, "the pair to close after both ends");
    assert.equal(relay.cuts, 0, "nothing cut");
  });

  it("pieceBytes: every chunk goes in pieces read apart, both ways, unchanged and in order", TEST, async (t) => {
    const echo = new EchoServer();
    await echo.listen();
    t.after(() => echo.close());
    const relay = await startRelay(t, { targetPort: echo.port, latencyMs: 2, pieceBytes: 4 });
    const c = client(t, relay.port);
    let reads = 0;
    c.socket.on("data", () => reads++);
    const sent = randomBytes(200);
    await c.roundTrip(sent);
    assert.ok(sent.equals(c.data), "the 200 bytes came back unchanged and in order");
    // 50 pieces each way, a millisecond apart: a loaded machine may release a few together, never all.
    assert.ok(reads >= 5, `the echo was read in pieces (${reads} reads), not as the one chunk it was written as`);
  });

  it("pieceBytes must be an integer from 1", TEST, async () => {
    for (const pieceBytes of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(LatencyRelay.start({ targetPort: 1, pieceBytes }), (error: unknown) => error instanceof RangeError && /pieceBytes/.test(error.message), `pieceBytes ${pieceBytes}`);
    }
  });

  it("delays: an echo through the relay comes back after ten direct round trips started at the same moment", TEST, async (t) => {
    // Without the delay, one relayed round trip (two hops) beats ten direct ones in a row.
    const { echo, relay } = await echoBehindRelay(t, 100);
    const direct = client(t, echo.port);
    const relayed = client(t, relay.port);
    await direct.roundTrip("warm-up");
    await relayed.roundTrip("warm-up");
    const order: string[] = [];
    const relayedEcho = relayed.waitForBytes(relayed.received + 4).then(() => order.push("relayed"));
    relayed.socket.write("ping");
    for (let i = 0; i < 10; i++) await direct.roundTrip("ping");
    order.push("ten direct");
    await within(relayedEcho, "the relayed echo");
    assert.deepEqual(order, ["ten direct", "relayed"], "the relayed echo came after the ten direct ones");
  });

  it("setLatency: bytes sent after the latency was lowered never overtake earlier ones", TEST, async (t) => {
    const { relay } = await echoBehindRelay(t, 400);
    const c = client(t, relay.port);
    c.socket.write("first-");
    await until(() => relay.bufferedBytes >= 6, "the first bytes to wait in the relay");
    relay.setLatency(0);
    assert.equal(relay.latencyMs, 0, "the new latency is reported");
    c.socket.write("second");
    await within(c.waitForBytes(12), "both parts back");
    assert.equal(c.data.toString("latin1"), "first-second", "in the order sent");
    assert.throws(() => relay.setLatency(-1), RangeError, "a negative latency is refused");
  });

  it("handshake latency delays a WebSocket upgrade while plain requests on other connections pass", TEST, async (t) => {
    const { port } = await httpAndWebSocketServer(t);
    const relay = await startRelay(t, { targetPort: port, latencyMs: 0, handshakeLatencyMs: 300 });
    const order: string[] = [];
    const opening = webSocketEcho(relay.url.replace("http:", "ws:")).then((echoed) => order.push(`ws ${echoed}`));
    const getting = httpGet(relay.port).then((body) => order.push(`get ${body}`));
    await within(Promise.all([opening, getting]), "the WebSocket and the GET");
    assert.deepEqual(order, ["get ok", "ws through"], "the GET, started with the upgrade, finished first; frames flowed after the handshake");

    // Scope "every": now a plain GET's handshake is slowed too, and loses to a direct one.
    relay.setHandshakeLatency(300, "every");
    order.length = 0;
    const slowed = httpGet(relay.port).then((body) => order.push(`relayed ${body}`));
    const direct = httpGet(port).then((body) => order.push(`direct ${body}`));
    await within(Promise.all([slowed, direct]), "both GETs");
    assert.deepEqual(order, ["direct ok", "relayed ok"], "the relayed GET's handshake was delayed");
  });

  it("a client that stops reading pauses the sender: the relay buffers at most its documented bound", TEST, async (t) => {
    const firehose = new FirehoseServer(64 * MiB);
    await firehose.listen();
    t.after(() => firehose.close());
    const relay = await startRelay(t, { targetPort: firehose.port, latencyMs: 2 });
    const c = client(t, relay.port);
    c.socket.pause();
    let maxBuffered = 0;
    const sampler = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, relay.bufferedBytes);
    }, 2);
    t.after(() => clearInterval(sampler));
    let lastWritten = -1;
    for (let still = 0, polls = 0; still < 40; polls++) {
      if (polls >= 2_000) assert.fail("the firehose never stalled");
      await new Promise((resolve) => setTimeout(resolve, 5));
      still = firehose.written === lastWritten ? still + 1 : 0;
      lastWritten = firehose.written;
    }
    assert.ok(firehose.written < firehose.total, `the server was held back (wrote ${firehose.written} of ${firehose.total} bytes)`);
    assert.ok(maxBuffered > 0, "the relay did hold bytes meanwhile");
    assert.ok(maxBuffered <= LATENCY_RELAY_LIMITS.bufferedBytesPerPair, `the relay held at most ${maxBuffered} bytes, within its bound`);

    c.socket.resume();
    const result: ClientResult = await within(c.closed, "the whole firehose to arrive", 20_000);
    assert.equal(result.data.length, firehose.total, "every byte arrived once the client read again");
    assert.ok(maxBuffered <= LATENCY_RELAY_LIMITS.bufferedBytesPerPair, `the relay held at most ${maxBuffered} bytes throughout`);
  });

  it("cutAll resets both sides of every pair, and bytes still queued are lost", TEST, async (t) => {
    const { echo, relay } = await echoBehindRelay(t, 5);
    const clients = [client(t, relay.port), client(t, relay.port), client(t, relay.port)];
    for (const c of clients) await c.roundTrip("ping");
    relay.setLatency(60_000);
    clients[0]?.socket.write("lost");
    await until(() => relay.bufferedBytes >= 4, "the bytes to wait in the relay");
    assert.equal(relay.cutAll(), 3, "three pairs cut");
    assert.equal(relay.openConnections, 0, "none left open");
    assert.equal(relay.cuts, 3, "three cuts counted");
    const results = await within(Promise.all(clients.map((c) => c.closed)), "the clients to close");
    for (const [i, result] of results.entries()) assert.equal(result.error, "ECONNRESET", `client ${i} saw a reset`);
    await until(() => echo.connections.every((c) => c.closed), "the server side to close");
    for (const [i, c] of echo.connections.entries()) assert.equal(c.error, "ECONNRESET", `server connection ${i} saw a reset`);
    assert.equal(echo.connections[0]?.received, 4, "the queued bytes never reached the server");
    assert.equal(relay.cutAll(), 0, "a second cutAll finds nothing");
  });

  it("cutRandomly picks its victims by the seed, stops at maxCuts, and cuts every pair with probability 1", TEST, async (t) => {
    const { echo, relay } = await echoBehindRelay(t, 0);
    /** Opens 6 idle pairs in a known order, cuts 3 at random, and says which. */
    const victims = async (seed: number): Promise<number[]> => {
      const clients: RawClient[] = [];
      for (let i = 0; i < 6; i++) {
        const c = client(t, relay.port);
        await c.roundTrip("hi");
        clients.push(c);
      }
      const cutsBefore = relay.cuts;
      assert.equal(relay.cutRandomly({ everyMs: [1, 3], seed, maxCuts: 3 }), seed, "the seed is returned");
      await until(() => relay.cuts === cutsBefore + 3, "3 random cuts");
      await until(() => clients.filter((c) => c.isClosed).length === 3, "the 3 cut clients to close");
      const cut = clients.flatMap((c, i) => (c.isClosed ? [i] : []));
      for (const c of clients) c.socket.destroy();
      await until(() => relay.openConnections === 0, "the rest to close");
      return cut;
    };
    const first = await victims(11);
    assert.deepEqual(await victims(11), first, "the same seed picks the same pairs");
    assert.notDeepEqual(await victims(12), first, "another seed picks others");
    assert.ok(echo.connections.length === 18, "every pair reached the server");

    const clients = [client(t, relay.port), client(t, relay.port), client(t, relay.port)];
    for (const c of clients) await c.roundTrip("hi");
    const cutsBefore = relay.cuts;
    relay.cutRandomly({ everyMs: [1, 1], probability: 1 });
    const results = await within(Promise.all(clients.map((c) => c.closed)), "every pair to be cut");
    relay.stopCutting();
    for (const [i, result] of results.entries()) assert.equal(result.error, "ECONNRESET", `client ${i} saw a reset`);
    assert.equal(relay.cuts, cutsBefore + 3, "three more cuts");
    assert.throws(() => relay.cutRandomly({ everyMs: [5, 1] }), RangeError, "a reversed range is refused");
    assert.throws(() => relay.cutRandomly({ everyMs: [1, 5], probability: 0 }), RangeError, "probability 0 is refused");
  });

  it("stopCutting stops a chaos run: a client doing many round trips afterwards is never cut", TEST, async (t) => {
    const { relay } = await echoBehindRelay(t, 1);
    const seed = relay.cutRandomly({ everyMs: [1, 4] });
    const reconnects: RawClient[] = [];
    // A reconnect loop under chaos: a fresh client whenever the last one was cut, until 5 cuts.
    while (relay.cuts < 5) {
      const c = client(t, relay.port);
      reconnects.push(c);
      while (!c.isClosed) await Promise.race([c.roundTrip(randomBytes(1_000)).catch(() => undefined), c.closed]);
    }
    relay.stopCutting();
    const cuts = relay.cuts;
    const survivor = client(t, relay.port);
    for (let i = 0; i < 50; i++) await survivor.roundTrip(randomBytes(1_000));
    assert.equal(relay.cuts, cuts, `no cut after stopCutting (seed ${seed})`);
    assert.ok(reconnects.length >= 5, "the loop reconnected after each cut");
  });

  it("close resets every pair, stops listening and cutting, and is idempotent", TEST, async (t) => {
    const { relay } = await echoBehindRelay(t, 0);
    const c = client(t, relay.port);
    await c.roundTrip("ping");
    relay.cutRandomly({ everyMs: [60_000, 60_000] });
    await Promise.all([relay.close(), relay.close()]);
    assert.equal(relay.openConnections, 0, "no pair left");
    const result = await within(c.closed, "the client to be closed");
    assert.equal(result.error, "ECONNRESET", "the open client was reset");
    const late = new RawClient(relay.port);
    assert.equal((await within(late.closed, "a connection after close")).error, "ECONNREFUSED", "nothing listens after close");
    assert.throws(() => relay.cutRandomly({ everyMs: [1, 1] }), /closed/, "no cutting after close");
    await assert.rejects(LatencyRelay.start({ targetPort: 0 }), RangeError, "port 0 is not a target");
    await assert.rejects(LatencyRelay.start({ targetPort: 1, latencyMs: Number.NaN }), RangeError, "a NaN latency is refused");
  });
});
