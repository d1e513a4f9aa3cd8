// FaultProxy against real servers on 127.0.0.1: a TCP echo server, a firehose server that writes
// as fast as back-pressure lets it, and a node:http server with a `ws` WebSocket server on it.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer as createHttpServer, get, type Server as HttpServer } from "node:http";
import { type AddressInfo, createServer, type Server } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { WebSocketServer } from "ws";
import { FaultProxy } from "./fault-proxy.js";
import { type ClientResult, EchoServer, FirehoseServer, openWebSocket, RawClient as Client } from "./loopback-peers.js";
import { until } from "./async.js";
import { within as withinLimit } from "./async.js";

const TEST = { timeout: 30_000 };
const MiB = 1024 * 1024;

/** Waits `ms`: lets what could still (wrongly) happen happen before a count is checked. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or a failure naming `what` if it hasn't settled after `ms` (this file's argument order, on the shared helper). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withinLimit(promise, what, ms);
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function portOf(server: Server | HttpServer): number {
  return (server.address() as AddressInfo).port;
}

async function listen(server: Server | HttpServer): Promise<void> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Bytes a ReconnectLoop sends before waiting for their echo. */
const STEP = 8 * 1024;

/**
 * A client that keeps one connection open at a time and reopens it whenever it closes, like a
 * protocol's reconnect loop. On each connection it sends `payload` STEP bytes at a time, waiting
 * for each step's echo before the next: with so little in flight, every byte the proxy forwards
 * reaches its peer before a cut, so the bytes both ends saw add up to exactly what crossed the
 * proxy. Records each connection's result in order.
 */
class ReconnectLoop {
  readonly results: ClientResult[] = [];
  private current: Client | undefined;
  private stopped = false;

  constructor(
    private readonly port: number,
    private readonly payload: Buffer,
  ) {}

  start(): void {
    this.open();
  }

  /** Stops reconnecting and closes the current connection cleanly. */
  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.current;
    if (client === undefined) return;
    client.socket.end();
    await within(client.closed, 5_000, "the last reconnect-loop client to close");
  }

  private open(): void {
    const client = new Client(this.port);
    this.current = client;
    void client.closed.then(this.onClosed.bind(this));
    void this.converse(client);
  }

  private async converse(client: Client): Promise<void> {
    for (let sent = 0; sent < this.payload.length && !client.isClosed && !this.stopped; ) {
      const step = this.payload.subarray(sent, sent + STEP);
      sent += step.length;
      client.socket.write(step);
      await client.waitForBytes(sent);
    }
  }

  private onClosed(result: ClientResult): void {
    this.results.push(result);
    if (!this.stopped) this.open();
  }
}

/** An echo server and a proxy in front of it, both closed when the test ends. */
async function echoBehindProxy(t: { after(fn: () => Promise<void>): void }, seed?: number): Promise<{ echo: EchoServer; proxy: FaultProxy }> {
  const echo = new EchoServer();
  await echo.listen();
  t.after(() => echo.close());
  const proxy = await FaultProxy.start(seed === undefined ? { targetPort: echo.port } : { targetPort: echo.port, seed });
  t.after(() => proxy.close());
  return { echo, proxy };
}

/**
 * Runs a reconnect loop through a proxy that cuts 5 pairs at random, and returns, for each cut
 * pair, the bytes that crossed it: what the server got plus what the client got back.
 */
async function randomCutBytes(t: { after(fn: () => Promise<void>): void }, seed: number, minBytes: number, maxBytes: number): Promise<number[]> {
  const { echo, proxy } = await echoBehindProxy(t, seed);
  const cutting = proxy.cutRandomly({ count: 5, minBytes, maxBytes });
  const loop = new ReconnectLoop(proxy.port, randomBytes(maxBytes));
  loop.start();
  try {
    await within(cutting, 10_000, "5 random cuts");
    // The 5th reset is on its way; let it land before stopping, so stop() doesn't race it.
    await until(() => loop.results.length >= 5, "the 5th cut client to close");
  } finally {
    await loop.stop();
  }
  assert.equal(proxy.cuts, 5, "cutRandomly resolves after exactly 5 cuts");
  await until(() => echo.connections.slice(0, 5).every((c) => c.closed), "the cut server connections to close");
  const cutClients = loop.results.slice(0, 5);
  assert.equal(cutClients.length, 5, "the loop saw 5 connections close");
  assert.ok(
    loop.results.slice(5).every((r) => r.error === undefined),
    `only the first 5 connections were cut: ${JSON.stringify(loop.results.map((r) => r.error))}`,
  );
  return cutClients.map((client, i) => {
    const server = echo.connections[i];
    assert.ok(server, `server connection ${i} exists`);
    assert.equal(client.error, "ECONNRESET", `client connection ${i} was reset, not ended`);
    assert.equal(server.error, "ECONNRESET", `server connection ${i} was reset, not ended`);
    return server.received + client.data.length;
  });
}

describe("FaultProxy", () => {
  it("starts on 127.0.0.1 with an OS-chosen port, keeping or choosing a seed", TEST, async (t) => {
    const { proxy } = await echoBehindProxy(t, 42);
    assert.ok(proxy.port > 0, "the proxy has a port");
    assert.equal(proxy.url, `http://127.0.0.1:${proxy.port}`, "the url names 127.0.0.1 and the port");
    assert.equal(proxy.seed, 42, "a given seed is kept");
    const other = await FaultProxy.start({ targetPort: proxy.port });
    t.after(() => other.close());
    assert.ok(Number.isFinite(other.seed), "without a seed, one is chosen and reported");
    await assert.rejects(FaultProxy.start({ targetPort: 0 }), RangeError, "port 0 is not a target");
  });

  it("passes 1 MiB of random bytes both ways unchanged, half-close included", TEST, async (t) => {
    const { echo, proxy } = await echoBehindProxy(t);
    const payload = randomBytes(MiB);
    const client = new Client(proxy.port);
    client.socket.end(payload);
    const result = await within(client.closed, 10_000, "the echo to end");
    assert.equal(result.error, undefined, "no error on the client");
    assert.equal(result.ended, true, "the client's half-close came back as the server's end");
    assert.equal(result.data.length, payload.length, "every byte came back");
    assert.equal(sha256(result.data), sha256(payload), "the bytes came back unchanged");
    assert.equal(echo.connections[0]?.received, payload.length, "the server got every byte");
    assert.equal(proxy.accepted, 1, "one connection accepted");
    assert.equal(proxy.cuts, 0, "nothing cut");
    await until(() => proxy.openConnections === 0, "the pair to close after both ends");
  });

  it("cutAll resets both sides of every open pair and counts them", TEST, async (t) => {
    const { echo, proxy } = await echoBehindProxy(t);
    const clients = [new Client(proxy.port), new Client(proxy.port), new Client(proxy.port)];
    for (const client of clients) await client.roundTrip(Buffer.from("ping"));
    assert.equal(proxy.openConnections, 3, "three pairs open");
    assert.equal(proxy.cutAll(), 3, "cutAll reports three pairs cut");
    assert.equal(proxy.openConnections, 0, "no pair left open");
    assert.equal(proxy.cuts, 3, "three cuts counted");
    const results = await within(Promise.all(clients.map((c) => c.closed)), 5_000, "the clients to close");
    for (const [i, result] of results.entries()) assert.equal(result.error, "ECONNRESET", `client ${i} saw a reset, as on a network failure`);
    await until(() => echo.connections.every((c) => c.closed), "the server side to close");
    for (const [i, c] of echo.connections.entries()) assert.equal(c.error, "ECONNRESET", `server connection ${i} saw a reset`);
    assert.equal(proxy.cutAll(), 0, "a second cutAll finds nothing to cut");
    assert.equal(proxy.cuts, 3, "and counts nothing more");
  });

  it("cutRandomly cuts exactly `count` reconnecting pairs, each between minBytes and maxBytes", TEST, async (t) => {
    const minBytes = 1_000;
    const maxBytes = 150_000;
    const cutBytes = await randomCutBytes(t, 1234, minBytes, maxBytes);
    for (const [i, bytes] of cutBytes.entries()) {
      assert.ok(bytes >= minBytes && bytes <= maxBytes, `cut ${i} came after ${bytes} bytes, outside [${minBytes}, ${maxBytes}]`);
    }
  });

  it("cutRandomly replays the same cut points for the same seed", TEST, async (t) => {
    const first = await randomCutBytes(t, 99, 1, 100_000);
    const again = await randomCutBytes(t, 99, 1, 100_000);
    const other = await randomCutBytes(t, 100, 1, 100_000);
    assert.deepEqual(again, first, "the same seed cuts after the same byte counts");
    assert.notDeepEqual(other, first, "another seed cuts elsewhere");
  });

  it("cutRandomly rejects bad options and a second concurrent call; stopCutting rejects the pending promise", TEST, async (t) => {
    const { proxy } = await echoBehindProxy(t);
    await assert.rejects(proxy.cutRandomly({ count: 0, minBytes: 1, maxBytes: 2 }), RangeError, "count must be positive");
    await assert.rejects(proxy.cutRandomly({ count: 1, minBytes: 3, maxBytes: 2 }), RangeError, "minBytes must not exceed maxBytes");
    const cutting = proxy.cutRandomly({ count: 1, minBytes: 1_000, maxBytes: 2_000 });
    await assert.rejects(proxy.cutRandomly({ count: 1, minBytes: 1, maxBytes: 2 }), /already cutting/, "one random plan at a time");
    proxy.stopCutting();
    await assert.rejects(cutting, /stopped/, "stopCutting rejects the pending promise, saying so");
    const client = new Client(proxy.port);
    t.after(() => {
      client.socket.destroy();
    });
    await client.roundTrip(randomBytes(10_000));
    assert.equal(proxy.cuts, 0, "after stopCutting, traffic past the old range is not cut");
  });

  it("setRefusing resets new connections at once, and false restores them", TEST, async (t) => {
    const { echo, proxy } = await echoBehindProxy(t);
    proxy.setRefusing(true);
    const refused = new Client(proxy.port);
    refused.socket.write("hello?");
    const result = await within(refused.closed, 5_000, "the refused connection to close");
    assert.equal(result.data.length, 0, "nothing came back");
    assert.ok(result.error === undefined || result.error === "ECONNRESET", `the refusal is a reset or a close, got ${result.error}`);
    assert.equal(proxy.accepted, 0, "refused connections are not counted as accepted");
    assert.equal(proxy.openConnections, 0, "no pair was opened");
    assert.equal(echo.connections.length, 0, "the server never saw it");
    proxy.setRefusing(false);
    const client = new Client(proxy.port);
    t.after(() => {
      client.socket.destroy();
    });
    await client.roundTrip(Buffer.from("back"));
    assert.equal(proxy.accepted, 1, "connections are accepted again");
  });

  it("survives errors on either side: a client reset and an unreachable target", TEST, async (t) => {
    const { echo, proxy } = await echoBehindProxy(t);
    const client = new Client(proxy.port);
    await client.roundTrip(randomBytes(1_000));
    client.socket.resetAndDestroy();
    await until(() => echo.connections[0]?.closed === true, "the server side to close after the client's reset");
    await until(() => proxy.openConnections === 0, "the pair to close");
    assert.equal(proxy.cuts, 0, "a peer's reset is not the proxy's cut");

    const gone = createServer();
    await listen(gone);
    const deadPort = portOf(gone);
    await closeServer(gone);
    const orphan = await FaultProxy.start({ targetPort: deadPort });
    t.after(() => orphan.close());
    const stranded = new Client(orphan.port);
    const result = await within(stranded.closed, 5_000, "the client of an unreachable target to close");
    assert.equal(result.data.length, 0, "nothing came back from nowhere");
    await until(() => orphan.openConnections === 0, "the failed pair to close");

    const later = new Client(proxy.port);
    t.after(() => {
      later.socket.destroy();
    });
    await later.roundTrip(Buffer.from("still here"));
    assert.equal(proxy.accepted, 2, "the proxy still accepts and forwards after both errors");
  });

  it("setBlockWebSocket answers 403 to upgrades while plain HTTP still passes", TEST, async (t) => {
    const http = createHttpServer((_req, res) => res.end("hello"));
    const wss = new WebSocketServer({ server: http });
    let upgrades = 0;
    wss.on("connection", (ws) => {
      upgrades += 1;
      ws.close();
    });
    await listen(http);
    t.after(async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const proxy = await FaultProxy.start({ targetPort: portOf(http) });
    t.after(() => proxy.close());
    const wsUrl = proxy.url.replace("http:", "ws:");

    assert.equal(await within(openWebSocket(wsUrl), 5_000, "an unblocked WebSocket"), "open", "unblocked, the upgrade goes through");
    assert.equal(upgrades, 1, "the server saw the upgrade");

    proxy.setBlockWebSocket(true);
    assert.equal(await within(openWebSocket(wsUrl), 5_000, "a blocked WebSocket"), 403, "blocked, the upgrade gets 403");
    assert.equal(upgrades, 1, "the blocked upgrade never reached the server");

    const body = await within(httpGet(`${proxy.url}/`), 5_000, "a plain GET through the proxy");
    assert.equal(body, "200 hello", "a plain GET still passes while WebSocket is blocked");
    await until(() => proxy.openConnections === 0, "every pair to close");
  });

  it("setBlockWebSocket inspects only the first request's headers, split or not, up to 64 KiB", TEST, async (t) => {
    const { echo, proxy } = await echoBehindProxy(t);
    proxy.setBlockWebSocket(true);

    const upgrade = new Client(proxy.port);
    upgrade.socket.write("GET /chat HTTP/1.1\r\nHost: x\r\nuPgRaDe: WebSocket\r\nConn");
    await pause(10);
    upgrade.socket.write("ection: Upgrade\r\n\r\n");
    const blocked = await within(upgrade.closed, 5_000, "the blocked request to be answered");
    assert.equal(blocked.data.toString("latin1"), "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "the exact 403, header matched case-insensitively across chunks");
    assert.equal(echo.connections[0]?.received ?? 0, 0, "no byte of the upgrade reached the server");

    const plain = new Client(proxy.port);
    t.after(() => {
      plain.socket.destroy();
    });
    const first = Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "latin1");
    const second = Buffer.from("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", "latin1");
    await plain.roundTrip(first);
    await plain.roundTrip(second);
    plain.socket.end();
    const passed = await within(plain.closed, 5_000, "the plain connection to close");
    assert.equal(passed.data.toString("latin1"), `${first.toString("latin1")}${second.toString("latin1")}`, "a plain first request passes, and later requests aren't inspected");

    const huge = new Client(proxy.port);
    t.after(() => {
      huge.socket.destroy();
    });
    const oversized = Buffer.from(`GET / HTTP/1.1\r\nX-Big: ${"a".repeat(70 * 1024)}\r\nUpgrade: websocket\r\n\r\n`, "latin1");
    await huge.roundTrip(oversized);
    assert.equal(huge.received, oversized.length, "headers past 64 KiB are forwarded uninspected");
  });

  it("a client that stops reading doesn't make the proxy buffer more than a bounded amount", TEST, async (t) => {
    const { firehose, proxy, client } = await pausedClientOfFirehose(t);
    let maxBuffered = await untilStalled(firehose, proxy);
    assert.ok(firehose.written < firehose.total, `the server was held back (wrote ${firehose.written} of ${firehose.total} bytes)`);
    assert.ok(maxBuffered < 4 * MiB, `the proxy buffered at most ${maxBuffered} bytes while the client wasn't reading`);

    client.socket.resume();
    const sampler = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, proxy.bufferedBytes);
    }, 5);
    let result: ClientResult;
    try {
      result = await within(client.closed, 20_000, "the whole firehose to arrive");
    } finally {
      clearInterval(sampler);
    }
    assert.equal(result.data.length, firehose.total, "every byte arrived once the client read again");
    assert.ok(maxBuffered < 4 * MiB, `the proxy buffered at most ${maxBuffered} bytes throughout`);
  });

  it("a random cut isn't held back forever by a peer that stopped reading", TEST, async (t) => {
    const { firehose, proxy } = await pausedClientOfFirehose(t);
    await untilStalled(firehose, proxy);
    await within(proxy.cutRandomly({ count: 1, minBytes: 1, maxBytes: 1 }), 5_000, "the cut of a pair whose writes can't complete");
    assert.equal(proxy.cuts, 1, "the stalled pair, long past its cut point, was cut");
    assert.equal(proxy.openConnections, 0, "and is gone");
  });

  it("close destroys every pair, stops listening, rejects a pending cutRandomly and is idempotent", TEST, async (t) => {
    const { proxy } = await echoBehindProxy(t);
    const client = new Client(proxy.port);
    await client.roundTrip(Buffer.from("ping"));
    const cutting = proxy.cutRandomly({ count: 1, minBytes: 1_000_000, maxBytes: 2_000_000 });
    await Promise.all([proxy.close(), proxy.close()]);
    await assert.rejects(cutting, /stopped/, "the pending cutRandomly rejects");
    assert.equal(proxy.openConnections, 0, "no pair left");
    const result = await within(client.closed, 5_000, "the client to be closed");
    assert.equal(result.error, "ECONNRESET", "the open client was reset");
    const late = new Client(proxy.port);
    const lateResult = await within(late.closed, 5_000, "a connection attempt after close");
    assert.equal(lateResult.error, "ECONNREFUSED", "nothing listens after close");
    await proxy.close();
  });
});

/** A 64 MiB firehose behind a proxy, and a client of it that does not read. */
async function pausedClientOfFirehose(t: TestContext): Promise<{ firehose: FirehoseServer; proxy: FaultProxy; client: Client }> {
  const firehose = new FirehoseServer(64 * MiB);
  await firehose.listen();
  t.after(() => firehose.close());
  const proxy = await FaultProxy.start({ targetPort: firehose.port });
  t.after(() => proxy.close());
  const client = new Client(proxy.port);
  t.after(() => {
    client.socket.destroy();
  });
  client.socket.pause();
  return { firehose, proxy, client };
}

/**
 * Waits until the firehose has been stuck on back-pressure for a while, so everything that could
 * be buffered along the way is; returns the most the proxy buffered meanwhile.
 */
async function untilStalled(firehose: FirehoseServer, proxy: FaultProxy): Promise<number> {
  let maxBuffered = 0;
  let lastWritten = -1;
  for (let still = 0, polls = 0; still < 40; polls++) {
    if (polls >= 2_000) assert.fail("the firehose never stalled");
    await pause(5);
    maxBuffered = Math.max(maxBuffered, proxy.bufferedBytes);
    still = firehose.written === lastWritten ? still + 1 : 0;
    lastWritten = firehose.written;
  }
  return maxBuffered;
}


/** A GET over a fresh connection: "STATUS BODY". */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(`${res.statusCode ?? 0} ${body}`));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}
