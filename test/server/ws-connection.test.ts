// The WebSocket adapter against real sockets: a node:http server on 127.0.0.1, the ws client,
// and raw TCP clients for what a well-behaved client never does (bad frames, not reading,
// not answering pings). Every assertion waits on events, never on elapsed time.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import type { Duplex } from "node:stream";
import { describe, it } from "node:test";
import type { TestContext } from "node:test";
import WebSocket from "ws";
import { requestInfo } from "../helpers/server.js";
import type { CloseStatus } from "../../src/server/connection.js";
import type { CloseWatcher, ServerConnection } from "../../src/server/transport.js";
import { createWsConnection, createWsServer, HeartbeatSweep, idleTimedOut, maxPendingPongs, receiveQueueFull, ServerSocket } from "../../src/server/ws-connection.js";

const testTimeout = { timeout: 15_000 };

interface ServerSettings {
  maxMessageSize?: number;
  maxBufferedBytes?: number;
  idleTimeout?: number;
}

/** A node:http server that turns every upgrade into a connection of the adapter. */
class TestServer {
  readonly connections: ServerConnection[] = [];
  /** The `ws` socket under each connection. */
  readonly socketOf = new Map<ServerConnection, ServerSocket>();
  private readonly waiting: Array<(connection: ServerConnection) => void> = [];
  /** Both ends of every connection, so `close` can end them even when a test failed midway. */
  private readonly sockets = new Set<net.Socket>();
  private readonly clients = new Set<WebSocket>();
  private readonly http = http.createServer();
  private readonly wss;
  private readonly heartbeat: HeartbeatSweep;

  constructor(private readonly settings: Required<ServerSettings>) {
    this.wss = createWsServer({ maxMessageSize: settings.maxMessageSize, perMessageDeflate: false });
    this.heartbeat = new HeartbeatSweep(settings.idleTimeout);
    this.http.on("connection", (socket: net.Socket) => this.track(socket));
    this.http.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  static async start(settings: ServerSettings = {}): Promise<TestServer> {
    const server = new TestServer({ maxMessageSize: 1024 * 1024, maxBufferedBytes: 4 * 1024 * 1024, idleTimeout: 60_000, ...settings });
    await new Promise<void>((resolve) => server.http.listen(0, "127.0.0.1", resolve));
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/chat?room=1`;
  }

  /** The next connection the server opens (or one already opened and not yet taken). */
  nextConnection(): Promise<ServerConnection> {
    const ready = this.connections.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Tracks a client-side socket or ws client for `close`. */
  own(client: net.Socket | WebSocket): void {
    if (client instanceof WebSocket) this.clients.add(client);
    else this.track(client);
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.terminate();
    for (const socket of this.sockets) socket.destroy();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = createWsConnection(ws, requestInfo(req), {
        maxBufferedBytes: this.settings.maxBufferedBytes,
        extraHeaders: {},
        heartbeat: this.heartbeat,
      });
      this.socketOf.set(connection, ws);
      const waiter = this.waiting.shift();
      if (waiter === undefined) this.connections.push(connection);
      else waiter(connection);
    });
  }
}

/** A server that is closed, with every socket of both ends, when the test ends however it ends. */
async function startServer(t: TestContext, settings: ServerSettings = {}): Promise<TestServer> {
  const server = await TestServer.start(settings);
  t.after(() => server.close());
  return server;
}

function closed(connection: ServerConnection): Promise<CloseStatus> {
  return new Promise((resolve) => connection.onClose(resolve));
}

/** Records every onClose call, to check there is exactly one. */
function closeLog(connection: ServerConnection): CloseStatus[] {
  const log: CloseStatus[] = [];
  connection.onClose((status) => log.push(status));
  return log;
}

async function openClient(server: TestServer): Promise<{ client: WebSocket; connection: ServerConnection }> {
  const client = new WebSocket(server.url);
  server.own(client);
  const [connection] = await Promise.all([
    server.nextConnection(),
    new Promise<void>((resolve, reject) => {
      client.once("open", () => resolve());
      client.once("error", reject);
    }),
  ]);
  return { client, connection };
}

interface ClientClose {
  code: number;
  reason: string;
}

function clientClosed(client: WebSocket): Promise<ClientClose> {
  return new Promise((resolve) => client.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

interface Received {
  data: Buffer;
  isBinary: boolean;
}

/** Collects the client's next `count` messages. */
function clientReceives(client: WebSocket, count: number): Promise<Received[]> {
  const got: Received[] = [];
  return new Promise((resolve) => {
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      got.push({ data, isBinary });
      if (got.length === count) {
        client.off("message", onMessage);
        resolve(got);
      }
    };
    client.on("message", onMessage);
  });
}

/** Resolves once the server has parsed every frame the client sent before: its pong comes after them. */
function roundTrip(client: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    client.once("pong", () => resolve());
    client.ping();
  });
}

/** A TCP client that did the WebSocket handshake by hand and then does only what a test tells it. */
async function rawClient(server: TestServer): Promise<{ socket: net.Socket; connection: ServerConnection }> {
  const socket = net.connect(server.port, "127.0.0.1");
  server.own(socket);
  const key = randomBytes(16).toString("base64");
  socket.write(
    `GET /raw HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = await new Promise<string>((resolve, reject) => {
    let received = "";
    const onData = (chunk: Buffer): void => {
      received += chunk.toString("latin1");
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      resolve(received.slice(0, end));
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
  assert.match(head, /^HTTP\/1\.1 101 /);
  return { socket, connection: await server.nextConnection() };
}

/** A single masked client frame with FIN set (payloads under 126 bytes). */
function maskedFrame(opcode: number, payload: Uint8Array): Buffer {
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

/** Reads from a raw client until the server's close frame, and returns its code. */
function rawCloseCode(socket: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // Skip whole frames (the server may have pinged) until the close frame (opcode 8).
      while (received.length >= 2) {
        const length = (received[1] ?? 0) & 0x7f;
        if (received.length < 2 + length) return;
        if (((received[0] ?? 0) & 0x0f) === 0x8) {
          resolve(received.readUInt16BE(2));
          return;
        }
        received = received.subarray(2 + length);
      }
    });
    socket.once("end", () => reject(new Error("socket ended without a close frame")));
    socket.resume();
  });
}

function sameMessage(got: Received, sent: string | Uint8Array): void {
  if (typeof sent === "string") {
    assert.equal(got.isBinary, false);
    assert.equal(got.data.toString("utf8"), sent);
  } else {
    assert.equal(got.isBinary, true);
    assert.deepEqual(new Uint8Array(got.data), sent);
  }
}

describe("createWsConnection", () => {
  it("echoes many text and binary messages in order, with their types", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    assert.equal(connection.transport, "websocket");
    assert.equal(connection.isWebSocket, true);
    assert.equal(connection.isOpen, true);
    assert.equal(connection.request.url, "/chat?room=1");
    assert.equal(connection.request.remoteAddress, "127.0.0.1");
    const received: Array<string | Uint8Array> = [];
    connection.onReceive((message) => {
      received.push(message);
      connection.send(message);
    });
    const sent: Array<string | Uint8Array> = [];
    for (let i = 0; i < 500; i++) sent.push(i % 2 === 0 ? `text ${i} ünï` : Uint8Array.from([i & 0xff, 0, 0xff, i >> 8]));
    const echoes = clientReceives(client, sent.length);
    for (const message of sent) client.send(message, { binary: typeof message !== "string" });
    const got = await echoes;
    got.forEach((echo, i) => sameMessage(echo, sent[i] ?? ""));
    // Binary arrives as a plain Uint8Array, not a Buffer.
    const firstBinary = received[1];
    assert.ok(firstBinary instanceof Uint8Array);
    assert.equal(Buffer.isBuffer(firstBinary), false);
    assert.equal(typeof received[0], "string");
    client.close();
    await closed(connection);
  });

  it("keeps messages that arrive before onReceive and gives them to every listener of that tick", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    client.send("one");
    client.send(Uint8Array.from([2]));
    client.send("three");
    await roundTrip(client);
    const first: Array<string | Uint8Array> = [];
    const second: Array<string | Uint8Array> = [];
    connection.onReceive((message) => first.push(message));
    connection.onReceive((message) => second.push(message));
    client.send("four");
    await roundTrip(client);
    const expected = ["one", Uint8Array.from([2]), "three", "four"];
    assert.deepEqual(first, expected);
    assert.deepEqual(second, expected);
    // A listener added later gets only what comes after it.
    const third: Array<string | Uint8Array> = [];
    connection.onReceive((message) => third.push(message));
    client.send("five");
    await roundTrip(client);
    assert.deepEqual(third, ["five"]);
    assert.deepEqual(first.at(-1), "five");
    client.close();
    await closed(connection);
  });

  it("closes with 1008 when too many messages wait for a listener", testTimeout, async (t) => {
    const server = await startServer(t, { maxBufferedBytes: 1000 });
    const { client, connection } = await openClient(server);
    const gone = clientClosed(client);
    for (let i = 0; i < 20; i++) client.send("x".repeat(100));
    assert.deepEqual(await closed(connection), receiveQueueFull);
    assert.equal((await gone).code, 1008);
  });

  it("keeps going when a listener throws", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    const got: Array<string | Uint8Array> = [];
    const originalError = console.error;
    const logged: unknown[] = [];
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      connection.onReceive(() => {
        throw new Error("listener bug");
      });
      connection.onReceive((message) => got.push(message));
      client.send("a");
      client.send("b");
      await roundTrip(client);
    } finally {
      console.error = originalError;
    }
    assert.deepEqual(got, ["a", "b"]);
    assert.equal(logged.length, 2);
    assert.equal(connection.isOpen, true);
    client.close();
    await closed(connection);
  });

  it("sends { body } and { data } as their payload and refuses what it cannot send", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    const got = clientReceives(client, 4);
    assert.equal(connection.send({ status: 201, headers: { "x-a": "1" }, body: "body text" }), true);
    assert.equal(connection.send({ body: Uint8Array.from([1, 2]) }), true);
    assert.equal(connection.send({ data: "event data", id: "7", event: "tick" }), true);
    assert.equal(connection.send({ data: Uint8Array.from([3]) }), true);
    assert.equal(connection.send({ status: 204 }), true, "nothing to send is not a failure");
    assert.throws(() => connection.send(42 as unknown as string), { name: "TypeError", code: "ERR_WS_SEND_DATA" });
    assert.throws(() => connection.send({ body: 1 } as unknown as string), { name: "TypeError", code: "ERR_WS_SEND_DATA" });
    const [a, b, c, d] = await got;
    sameMessage(a as Received, "body text");
    sameMessage(b as Received, Uint8Array.from([1, 2]));
    sameMessage(c as Received, "event data");
    sameMessage(d as Received, Uint8Array.from([3]));
    assert.equal(typeof connection.bufferedAmount, "number");
    client.close();
    await closed(connection);
  });

  it("close(): true once, then send returns false and onClose reports the server close once", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    const log = closeLog(connection);
    const gone = clientClosed(client);
    assert.equal(connection.close(), true);
    assert.equal(connection.isOpen, false);
    assert.equal(connection.close(), false);
    assert.equal(connection.send("too late"), false);
    assert.deepEqual(await gone, { code: 1000, reason: "" });
    assert.deepEqual(await closed(connection), { by: "server", code: 1000, reason: "" });
    connection.goAway();
    connection.destroy();
    assert.equal(connection.close(), false);
    assert.deepEqual(log, [{ by: "server", code: 1000, reason: "" }]);
  });

  it("send(data, true) sends, then closes normally", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    const got = clientReceives(client, 1);
    const gone = clientClosed(client);
    assert.equal(connection.send("last words", true), true);
    assert.equal(connection.send("more"), false);
    sameMessage((await got)[0] as Received, "last words");
    assert.equal((await gone).code, 1000);
    assert.deepEqual(await closed(connection), { by: "server", code: 1000, reason: "" });
  });

  it("reports a client close with its code and reason, and 1005 without a code", testTimeout, async (t) => {
    const server = await startServer(t);
    const first = await openClient(server);
    const log = closeLog(first.connection);
    first.client.close(4001, "bye now");
    assert.deepEqual(await closed(first.connection), { by: "client", code: 4001, reason: "bye now" });
    assert.equal(first.connection.send("x"), false);
    assert.equal(first.connection.close(), false);
    assert.equal(log.length, 1);

    const second = await openClient(server);
    second.client.close();
    assert.deepEqual(await closed(second.connection), { by: "client", code: 1005, reason: "" });
  });

  it("reports 1006 when the client vanishes without a close frame", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    const log = closeLog(connection);
    client.terminate();
    assert.deepEqual(await closed(connection), { by: "client", code: 1006, reason: "" });
    assert.equal(connection.isOpen, false);
    assert.equal(log.length, 1);
  });

  it("closes a too-large message with 1009 and keeps serving others", testTimeout, async (t) => {
    const server = await startServer(t, { maxMessageSize: 1024 });
    const { client, connection } = await openClient(server);
    const got: Array<string | Uint8Array> = [];
    connection.onReceive((message) => got.push(message));
    const gone = clientClosed(client);
    client.send("x".repeat(1024));
    client.send("y".repeat(1025));
    const status = await closed(connection);
    assert.equal(status.by, "server");
    assert.equal(status.code, 1009);
    assert.match(status.reason, /max payload/i);
    assert.equal((await gone).code, 1009);
    assert.deepEqual(got, ["x".repeat(1024)]);

    const next = await openClient(server);
    const echo = clientReceives(next.client, 1);
    next.connection.onReceive((message) => next.connection.send(message));
    next.client.send("still here");
    sameMessage((await echo)[0] as Received, "still here");
    next.client.close();
    await closed(next.connection);
  });

  it("closes a text frame of invalid UTF-8 with 1007", testTimeout, async (t) => {
    const server = await startServer(t);
    const { socket, connection } = await rawClient(server);
    const got: Array<string | Uint8Array> = [];
    connection.onReceive((message) => got.push(message));
    const code = rawCloseCode(socket);
    socket.write(maskedFrame(0x1, Buffer.from("fine")));
    socket.write(maskedFrame(0x1, Uint8Array.from([0xff, 0xfe])));
    const status = await closed(connection);
    assert.equal(status.by, "server");
    assert.equal(status.code, 1007);
    assert.match(status.reason, /UTF-8/);
    assert.equal(await code, 1007);
    assert.deepEqual(got, ["fine"]);
    socket.destroy();
  });

  it("closes a frame that breaks the protocol (an unmasked one) with 1002 and keeps serving the others", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client: other, connection: otherConnection } = await openClient(server);
    const { socket, connection } = await rawClient(server);
    const code = rawCloseCode(socket);
    // A client's frames must be masked (RFC 6455 5.1): ws emits an error on the socket, ours is its only listener.
    socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    const status = await closed(connection);
    assert.equal(status.by, "server");
    assert.equal(status.code, 1002);
    assert.match(status.reason, /MASK/);
    assert.equal(await code, 1002);
    socket.destroy();
    const echo = clientReceives(other, 1);
    otherConnection.onReceive((message) => otherConnection.send(message));
    other.send("still here");
    sameMessage((await echo)[0] as Received, "still here");
  });

  it("drops a client that does not read with 4008 slow consumer", testTimeout, async (t) => {
    const server = await startServer(t, { maxBufferedBytes: 64 * 1024 });
    const { socket, connection } = await rawClient(server);
    const status = closed(connection);
    const frame = new Uint8Array(256 * 1024);
    let sends = 0;
    // The kernel buffers take a few MB first; after that every frame waits in user space.
    while (connection.send(frame) && sends < 4_000) sends++;
    assert.ok(sends < 4_000, "the slow reader was never detected");
    assert.equal(connection.isOpen, false);
    assert.equal(connection.send(frame), false);
    assert.deepEqual(await status, { by: "server", code: 4008, reason: "slow consumer" });
    socket.destroy();
  });

  it("a slow consumer that reads again within the grace reads its backlog, then the close frame 4008 \"slow consumer\"", testTimeout, async (t) => {
    const bound = 64 * 1024;
    const server = await startServer(t, { maxBufferedBytes: bound });
    const { client, connection } = await openClient(server);
    const socket = (client as unknown as { _socket: net.Socket })._socket;
    socket.pause();
    const status = closed(connection);
    const frame = new Uint8Array(32 * 1024);
    let sends = 0;
    let peak = 0;
    // The kernel's buffers take a few MB first: yielding lets them fill as a real server's would.
    while (sends < 4_000 && connection.send(frame)) {
      sends++;
      peak = Math.max(peak, connection.bufferedAmount);
      if (sends % 32 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(sends < 4_000, "the slow consumer was never detected");
    assert.ok(peak <= bound, `${peak} bytes left queued after a send that kept the connection (bound ${bound})`);
    assert.ok(connection.bufferedAmount <= bound + frame.byteLength + 64, "at most the bound, one frame and the close frame");
    let received = 0;
    client.on("message", () => received++);
    const clientSide = clientClosed(client);
    socket.resume();
    assert.deepEqual(await clientSide, { code: 4008, reason: "slow consumer" });
    assert.equal(received, sends + 1, "every frame sent before the close arrived, the one that crossed the bound included");
    assert.deepEqual(await status, { by: "server", code: 4008, reason: "slow consumer" });
  });

  it("terminates a client that does not answer pings, not one that does", testTimeout, async (t) => {
    const server = await startServer(t, { idleTimeout: 200 });
    const { client, connection: answering } = await openClient(server);
    const { socket, connection: silent } = await rawClient(server);
    const answeringLog = closeLog(answering);
    let pings = 0;
    const severalPings = new Promise<void>((resolve) =>
      client.on("ping", () => {
        if (++pings === 5) resolve();
      }),
    );
    assert.deepEqual(await closed(silent), idleTimedOut);
    await severalPings;
    assert.equal(answering.isOpen, true);
    assert.deepEqual(answeringLog, []);
    client.close();
    assert.equal((await closed(answering)).by, "client");
    socket.destroy();
  });

  it("goAway() closes with 1001 and destroy() reports going away", testTimeout, async (t) => {
    const server = await startServer(t);
    const first = await openClient(server);
    const gone = clientClosed(first.client);
    first.connection.goAway();
    first.connection.goAway();
    assert.equal(first.connection.isOpen, false);
    assert.deepEqual(await gone, { code: 1001, reason: "server shutting down" });
    assert.deepEqual(await closed(first.connection), { by: "server", code: 1001, reason: "server shutting down" });

    const second = await openClient(server);
    const vanished = clientClosed(second.client);
    second.connection.destroy();
    assert.deepEqual(await closed(second.connection), { by: "server", code: 1001, reason: "server shutting down" });
    assert.equal((await vanished).code, 1006);
  });
});

describe("WsConnection close watchers", () => {
  type Watchable = ServerConnection & { watchClose(watcher: CloseWatcher): void; unwatchClose(watcher: CloseWatcher): void };

  it("tells each watcher once (the first before the listeners), none it let go, and one that comes after the close at once", testTimeout, async (t) => {
    const server = await startServer(t);
    const told: string[] = [];
    const watcher = (name: string, of: ServerConnection): CloseWatcher => ({ connectionClosed: (c, status) => told.push(`${name} ${status.code}${c === of ? "" : " (another connection!)"}`) });

    const { client, connection } = await openClient(server);
    const conn = connection as Watchable;
    const first = watcher("first", conn);
    const gone = watcher("gone", conn);
    conn.watchClose(first);
    conn.onClose((status) => told.push(`listener ${status.code}`));
    conn.watchClose(watcher("second", conn));
    conn.watchClose(first); // twice is once
    conn.watchClose(gone);
    conn.unwatchClose(gone);
    client.close(4001);
    await closed(connection);
    assert.deepEqual(told, ["first 4001", "listener 4001", "second 4001"]);
    conn.unwatchClose(first); // after the close: nothing
    conn.watchClose(watcher("after", conn));
    assert.equal(told.length, 3, "not within the call");
    await Promise.resolve();
    assert.deepEqual(told.slice(3), ["after 4001"]);

    told.length = 0;
    const { client: other, connection: otherConnection } = await openClient(server);
    const otherConn = otherConnection as Watchable;
    const inField = watcher("in the field", otherConn);
    otherConn.watchClose(inField);
    otherConn.watchClose(watcher("next", otherConn));
    otherConn.unwatchClose(inField);
    other.close(4002);
    await closed(otherConnection);
    assert.deepEqual(told, ["next 4002"]);
  });
});

describe("ServerSocket", () => {
  it("is the socket createWsServer makes, and tells its connection without any listener", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    const ws = server.socketOf.get(connection);
    assert.ok(ws instanceof ServerSocket);
    assert.equal(ws.connection, connection);
    for (const event of ["message", "ping", "pong", "error", "close"]) assert.equal(ws.listenerCount(event), 0, event);
    // No extension negotiated (their table is shared by such sockets; encode-once.test.ts has one with permessage-deflate).
    assert.equal(ws.extensions, "");
    const got: Array<string | Uint8Array> = [];
    connection.onReceive((message) => got.push(message));
    client.send("hello");
    await roundTrip(client);
    assert.deepEqual(got, ["hello"]);
  });

  it("still calls listeners added to the socket (on, once, prependListener), after the connection, and only those of that socket", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    const { client: otherClient, connection: otherConnection } = await openClient(server);
    const ws = server.socketOf.get(connection) as ServerSocket;
    const order: string[] = [];
    connection.onReceive((message) => order.push(`connection ${String(message)}`));
    ws.on("message", (data: Buffer) => order.push(`on ${data.toString()}`));
    ws.once("message", (data: Buffer) => order.push(`once ${data.toString()}`));
    ws.prependListener("ping", () => order.push("ping"));
    const closedWith = new Promise<number>((resolve) => ws.on("close", (code: number) => resolve(code)));
    client.send("a");
    client.send("b");
    await roundTrip(client);
    assert.deepEqual(order, ["connection a", "on a", "once a", "connection b", "on b", "ping"]);
    // The other socket shares none of these listeners.
    const otherWs = server.socketOf.get(otherConnection) as ServerSocket;
    assert.equal(otherWs.listenerCount("message"), 0);
    const otherGot: Array<string | Uint8Array> = [];
    otherConnection.onReceive((message) => otherGot.push(message));
    otherClient.send("c");
    await roundTrip(otherClient);
    assert.deepEqual(otherGot, ["c"]);
    assert.equal(order.length, 6, "nothing of the other socket reached these listeners");
    client.close(4000, "bye");
    assert.equal(await closedWith, 4000);
    assert.deepEqual(await closed(connection), { by: "client", code: 4000, reason: "bye" });
  });

  it("answers a client's ping with a pong of the same payload (ws's own answer is off), listened to or not", testTimeout, async (t) => {
    const server = await startServer(t);
    const { client, connection } = await openClient(server);
    const pong = (payload: string): Promise<string> =>
      new Promise((resolve) => {
        client.once("pong", (data: Buffer) => resolve(data.toString()));
        client.ping(payload);
      });
    assert.equal(await pong("first"), "first");
    const heard: string[] = [];
    (server.socketOf.get(connection) as ServerSocket).on("ping", (data: Buffer) => heard.push(data.toString()));
    assert.equal(await pong("second"), "second");
    assert.deepEqual(heard, ["second"]);
  });

  it(`terminates a client that pings faster than it reads: ${maxPendingPongs} pongs unsent are allowed, not one more`, testTimeout, async (t) => {
    const server = await startServer(t, { maxBufferedBytes: 1 << 30 });
    const { socket, connection } = await rawClient(server);
    const ws = server.socketOf.get(connection) as ServerSocket;
    // The client reads nothing: once the kernel's buffers are full, every pong waits in user space.
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 4_000 && ws.bufferedAmount < 1 << 20; i++) connection.send(chunk);
    assert.ok(ws.bufferedAmount >= 1 << 20, "the socket's writes never backed up");
    const first = new Promise<string | Uint8Array>((resolve) => connection.onReceive(resolve));
    for (let i = 0; i < maxPendingPongs; i++) socket.write(maskedFrame(0x9, Buffer.from(`ping ${i}`)));
    socket.write(maskedFrame(0x1, Buffer.from("after the pings")));
    assert.equal(await first, "after the pings");
    assert.equal(connection.isOpen, true, `${maxPendingPongs} pongs unsent are allowed`);
    const status = closed(connection);
    socket.write(maskedFrame(0x9, Buffer.from("one too many")));
    assert.deepEqual(await status, { by: "client", code: 1006, reason: "" });
    socket.destroy();
  });

  it("gives an error to a listener of the socket when there is one, and throws nothing when there is none", testTimeout, async (t) => {
    const server = await startServer(t);
    const { socket, connection } = await rawClient(server);
    const ws = server.socketOf.get(connection) as ServerSocket;
    const errors: Error[] = [];
    ws.on("error", (error: Error) => errors.push(error));
    const code = rawCloseCode(socket);
    socket.write(maskedFrame(0x1, Uint8Array.from([0xff])));
    const status = await closed(connection);
    assert.equal(status.code, 1007);
    assert.equal(await code, 1007);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? "", /UTF-8/);
    socket.destroy();

    const { socket: quiet, connection: quietConnection } = await rawClient(server);
    const quietWs = server.socketOf.get(quietConnection) as ServerSocket;
    assert.equal(quietWs.listenerCount("error"), 0);
    assert.equal(quietWs.emit("error", new Error("nobody listens")), true);
    quiet.destroy();
    assert.equal((await closed(quietConnection)).reason, "nobody listens");
  });
});
