// Clients that subscribe to a topic and then never read, while the server publishes: over a
// WebSocket (a raw socket that sends the upgrade, a hello and a subscribe, and reads nothing,
// not even the 101) and over SSE (a stream that is never read). The server holds at most
// `maxBufferedBytes` plus one packet for each, drops each with 4008, and a client that reads
// is served every value in order meanwhile. An SSE session whose stream was dropped hears
// ERR_SLOW_CONSUMER first on its next stream.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect as tcpConnect, type Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { chan, type Channel } from "../../src/csp/channel.js";
import { connect } from "../../src/client/index.js";
import { createServer, type Topic, type TopicRequest, type WirechanServer } from "../../src/server/index.js";
import type { CloseStatus } from "../../src/server/connection.js";
import type { ServerConnection } from "../../src/server/transport.js";
import { utf8Length } from "../../src/wire/protocol.js";
import { nonReadingClient } from "../helpers/server.js";
import { until, within } from "../helpers/async.js";
import { hello, openHttpSession, PATH, send, sessionHeaders, type WireFrame } from "./security-wire.js";

const TEST = { timeout: 60_000 };
const BOUND = 256 * 1024;
/** 128 KiB values: a topic keeps at most `maxInFlight` (64) unanswered per subscriber, and the kernel takes about 4 MB of a paused socket first. */
const VALUE_BYTES = 128 * 1024;
/** Fewer than a subscriber's in-flight plus queue (the topic drops nobody), more than the kernel and the bound take. */
const MAX_VALUES = 120;
/** What a client puts to subscribe its first channel: the reference `c.1` it exports. */
const SUBSCRIBE: WireFrame = [1, "p", "n:feed", { subscribe: { "~c": "c.1" } }];

/**
 * The server's connections: over SSE and HTTP in its set, over WebSocket as the members of its
 * heartbeat. Private: what it buffers for one client is what this test bounds.
 */
function connectionsOf(server: WirechanServer): ServerConnection[] {
  const own = server as unknown as { connections: Set<ServerConnection>; wsConnections: Iterable<ServerConnection> };
  return [...own.connections, ...own.wsConnections];
}

/** The connection the next request makes, once the server has it. */
async function nextConnection(server: WirechanServer, open: () => void): Promise<ServerConnection> {
  const before = new Set(connectionsOf(server));
  open();
  let found: ServerConnection | undefined;
  await until(() => (found = connectionsOf(server).find((conn) => !before.has(conn))) !== undefined, "the attacker's connection");
  return found as ServerConnection;
}

/** Records, after every send, what the connection holds unsent, and the largest packet sent. */
function watchBuffered(conn: ServerConnection): { peak: number; largestPacket: number } {
  const seen = { peak: 0, largestPacket: 0 };
  const sendNow = conn.send.bind(conn);
  conn.send = function sendAndMeasure(data, close) {
    const sent = sendNow(data, close);
    const text = typeof data === "string" ? data : typeof data === "object" && "data" in data && typeof data.data === "string" ? data.data : "";
    seen.largestPacket = Math.max(seen.largestPacket, utf8Length(text));
    seen.peak = Math.max(seen.peak, conn.bufferedAmount);
    return sent;
  };
  return seen;
}

function closeStatus(conn: ServerConnection): Promise<CloseStatus> {
  return new Promise((resolve) => conn.onClose(resolve));
}

/** One masked client text frame (any length up to 64 KiB). */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, mask, masked]);
}

/** A socket that asks for the protocol's WebSocket, says hello and subscribes, and never reads a byte. */
function silentWebSocket(t: TestContext, port: number): Socket {
  const socket = tcpConnect({ port, host: "127.0.0.1" });
  t.after(() => {
    socket.destroy();
  });
  socket.on("error", () => {}); // the server cuts it
  socket.pause();
  socket.write(
    `GET ${PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  socket.write(maskedText(JSON.stringify([hello(), SUBSCRIBE])));
  return socket;
}

/** A server with a topic "feed" and one well-behaved WebSocket client reading it. */
async function setUp(t: TestContext): Promise<{ server: WirechanServer; url: string; port: number; feed: Topic<string>; received: number[] }> {
  const server = createServer({ maxBufferedBytes: BOUND, heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000 });
  const handle = await server.listen();
  t.after(() => handle.close());
  const feed = server.topic<string>("feed");
  const session = await connect(handle.url, { transports: ["websocket"] });
  t.after(() => session.close());
  const inbox = chan<unknown>(1024);
  const request: TopicRequest<unknown> = { subscribe: inbox };
  assert.equal(await session.serverChan<TopicRequest<unknown>>("feed").put(request), true);
  const received: number[] = [];
  void readNumbers(inbox, received);
  return { server, url: handle.url, port: handle.port, feed, received };
}

/** Reads `inbox` as a page would, as fast as values come, keeping each value's number. */
async function readNumbers(inbox: Channel<unknown>, into: number[]): Promise<void> {
  for await (const value of inbox) into.push(typeof value === "string" ? Number(value.slice(0, 6)) : Number.NaN);
}

/** Publishes numbered 128 KiB values until `conn` is dropped (or {@link MAX_VALUES}); how many. */
async function publishUntilDropped(feed: { put(value: string): Promise<boolean> }, conn: ServerConnection): Promise<number> {
  let sent = 0;
  while (conn.isOpen && sent < MAX_VALUES) {
    await feed.put(`${String(sent).padStart(6, "0")}${"x".repeat(VALUE_BYTES)}`);
    sent++;
    // A turn for the sockets to write, as a server's producer would give them.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return sent;
}

describe("clients that subscribe and never read", TEST, () => {
  it("a raw WebSocket: at most the bound plus one packet held for it, dropped with 4008; a client that reads gets every value in order", async (t) => {
    const { server, port, feed, received } = await setUp(t);
    const attacker = await nextConnection(server, () => silentWebSocket(t, port));
    const measured = watchBuffered(attacker);
    const closed = closeStatus(attacker);
    await until(() => feed.subscriberCount === 2, "the attacker's subscription");
    const sent = await publishUntilDropped(feed, attacker);
    assert.equal(attacker.isOpen, false, `not dropped after ${sent} values`);
    assert.ok(measured.peak <= BOUND + measured.largestPacket, `held ${measured.peak} bytes (bound ${BOUND}, largest packet ${measured.largestPacket})`);
    assert.deepEqual(await within(closed, "the attacker's close"), { by: "server", code: 4008, reason: "slow consumer" });
    await until(() => received.length >= sent, "the reading client's values");
    assert.deepEqual(received, Array.from({ length: sent }, (_, i) => i));
  });

  it("an SSE stream never read: dropped with 4008 the same way; the session's next stream starts with ERR_SLOW_CONSUMER", async (t) => {
    const { server, url, port, feed, received } = await setUp(t);
    const session = await openHttpSession(url);
    assert.equal((await send(url, sessionHeaders(session), [SUBSCRIBE])).status, 200);
    const headers = Object.entries(sessionHeaders(session, { "x-wirechan-recv": "0", accept: "text/event-stream" }))
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    const attacker = await nextConnection(server, () => nonReadingClient(t, port, `GET ${PATH}/sse HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}\r\n`));
    const measured = watchBuffered(attacker);
    const closed = closeStatus(attacker);
    await until(() => feed.subscriberCount === 2, "the attacker's subscription");
    const sent = await publishUntilDropped(feed, attacker);
    assert.equal(attacker.isOpen, false, `not dropped after ${sent} values`);
    assert.ok(measured.peak <= BOUND + measured.largestPacket, `held ${measured.peak} bytes (bound ${BOUND}, largest packet ${measured.largestPacket})`);
    assert.deepEqual(await within(closed, "the attacker's close"), { by: "server", code: 4008, reason: "slow consumer" });
    await until(() => received.length >= sent, "the reading client's values");
    assert.deepEqual(received, Array.from({ length: sent }, (_, i) => i));

    // The same session, resumed on a stream that reads: the notice comes before the replay.
    const controller = new AbortController();
    t.after(() => controller.abort());
    const response = await fetch(`${url}${PATH}/sse`, { headers: sessionHeaders(session, { "x-wirechan-recv": "0", accept: "text/event-stream" }), signal: controller.signal });
    assert.equal(response.status, 200);
    const first = await within(firstEventData(response), "the resumed stream's first event");
    const frames = JSON.parse(first) as WireFrame[];
    assert.deepEqual(frames[0]?.slice(0, 2), ["error", "ERR_SLOW_CONSUMER"]);
    assert.equal(frames[0]?.[3], 0, "not fatal: the session goes on");
  });
});

/** The data of the first event of an SSE response. */
async function firstEventData(response: Response): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const body = response.body;
  assert.ok(body !== null);
  const reader = body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    text += decoder.decode(chunk.value, { stream: true });
    const end = text.indexOf("\n\n");
    if (end >= 0) {
      return text
        .slice(0, end)
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
    }
  }
  throw new Error("the stream ended before its first event");
}
