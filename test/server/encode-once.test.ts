// broadcastEncoded makes a message's bytes once (docs/api.md "Groups"): over real `ws` sockets
// and real SSE and long-poll responses, every member's socket is written the very same buffer,
// counted on net.Socket's write; multi-byte text arrives intact at every kind of client; frames
// of every length encoding reach a `ws` client whole; a socket with permessage-deflate, or with
// a frame of its own queued inside `ws`, goes through `ws` instead, in order; members closed in
// the middle of a broadcast are skipped.
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { type AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { describe, it, mock, type TestContext } from "node:test";
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { MemoryChannelStore } from "../../src/server/channel-store.js";
import { EncodedMessage } from "../../src/server/encoded-message.js";
import { type Connection, createServer, type ServerOptions, type ServerRequest, withChannel } from "../../src/server/index.js";
import { createWsConnection, createWsServer, HeartbeatSweep, type ServerSocket } from "../../src/server/ws-connection.js";
import { until, within } from "../helpers/async.js";
import { AsyncQueue, requestInfo } from "../helpers/server.js";

const TEST = { timeout: 30_000 };

/** Text of one, two, three and four UTF-8 bytes a character: Latin, accents, CJK, emoji. */
const MIXED = '{"m":"héllo wörld 世界 你好 🙂🚀 ✓"}';

/** A message a `ws` client got: text as text, bytes in hex. */
interface Received {
  text: string;
  isBinary: boolean;
}

function received(data: Buffer, isBinary: boolean): Received {
  return { text: data.toString(isBinary ? "hex" : "utf8"), isBinary };
}

/** A server whose every request joins group "room" of one store, each connection kept by the `who` of its query. */
class Room {
  readonly store = new MemoryChannelStore<null>();
  readonly byName = new Map<string, Connection>();
  url = "";

  constructor(private readonly options: ServerOptions = {}) {}

  async start(t: TestContext): Promise<this> {
    const server = createServer(this.options).route("*", (req: ServerRequest) => {
      withChannel(req, (conn) => {
        this.byName.set(req.query.get("who") ?? "", conn);
        this.store.addToGroup("room", conn, null);
      });
    });
    const handle = await server.listen();
    t.after(() => handle.close());
    this.url = handle.url;
    return this;
  }

  /** A `ws` client in the room; its messages in order. */
  async ws(t: TestContext, who: string, clientOptions: WebSocket.ClientOptions = { perMessageDeflate: false }): Promise<{ ws: WebSocket; messages: AsyncQueue<Received> }> {
    const ws = new WebSocket(`${this.url.replace("http:", "ws:")}/?who=${who}`, clientOptions);
    t.after(() => ws.terminate());
    const messages = new AsyncQueue<Received>();
    ws.on("message", (data: Buffer, isBinary: boolean) => messages.push(received(data, isBinary)));
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    await until(() => this.byName.has(who), `${who} to join`);
    return { ws, messages };
  }

  /** An EventSource in the room; its events' data in order. */
  async sse(t: TestContext, who: string): Promise<AsyncQueue<string>> {
    const es = new EventSource(`${this.url}/?who=${who}`);
    t.after(() => es.close());
    const events = new AsyncQueue<string>();
    es.addEventListener("message", (event: MessageEvent<string>) => events.push(event.data));
    await until(() => this.byName.has(who), `${who} to join`);
    return events;
  }

  /** A long-poll in the room; its answer's body as UTF-8 text. */
  async longPoll(t: TestContext, who: string): Promise<{ answer: Promise<string> }> {
    const controller = new AbortController();
    t.after(() => controller.abort());
    const answer = fetch(`${this.url}/?who=${who}`, { signal: controller.signal }).then((res) => res.text());
    await until(() => this.byName.has(who), `${who} to join`);
    return { answer };
  }
}

interface Write {
  socket: Socket;
  chunk: unknown;
}

/** Every `net.Socket` write made while `fn` runs (synchronously), with its socket and chunk. */
function socketWrites<T>(fn: () => T): { result: T; writes: Write[] } {
  const writes: Write[] = [];
  const write = Socket.prototype.write;
  const spy = mock.method(Socket.prototype, "write", function recordWrite(this: Socket, ...args: Parameters<Socket["write"]>) {
    writes.push({ socket: this, chunk: args[0] });
    return Reflect.apply(write, this, args) as boolean;
  });
  try {
    return { result: fn(), writes };
  } finally {
    spy.mock.restore();
  }
}

/** The writes whose chunk is `buffer` itself (the same object, not equal bytes). */
function writesOf(writes: Write[], buffer: Buffer): Write[] {
  return writes.filter((write) => write.chunk === buffer);
}

/** The message objects `sendEncoded` is given on `conn`, recorded from now on. */
function recordEncoded(conn: Connection): EncodedMessage[] {
  const ours = conn as Connection & { sendEncoded?: (message: EncodedMessage) => boolean };
  const sendEncoded = ours.sendEncoded?.bind(conn);
  assert.ok(sendEncoded !== undefined, `a ${conn.transport} connection has sendEncoded`);
  const log: EncodedMessage[] = [];
  ours.sendEncoded = (message) => {
    log.push(message);
    return sendEncoded(message);
  };
  return log;
}

describe("broadcastEncoded makes the bytes once", TEST, () => {
  it("one frame buffer written whole to every WebSocket member's socket, one event buffer to every SSE member's, one body to every long-poll; multi-byte text intact in every client", async (t) => {
    const room = await new Room().start(t);
    const sockets = [];
    for (let i = 0; i < 6; i++) sockets.push(await room.ws(t, `w${i}`));
    const streams = [];
    for (let i = 0; i < 3; i++) streams.push(await room.sse(t, `s${i}`));
    const polls = [await room.longPoll(t, "p0"), await room.longPoll(t, "p1")];
    const messages = [...room.byName.values()].filter((conn) => conn.transport !== "http").map(recordEncoded);

    const { result, writes } = socketWrites(() => room.store.broadcastEncoded("room", MIXED));
    assert.equal(result, 11);

    const message = messages[0]?.[0];
    assert.ok(message !== undefined);
    for (const log of messages) assert.deepEqual(log, [message], "every WebSocket and SSE member was given the one message");
    const frameWrites = writesOf(writes, message.wsFrame);
    assert.equal(frameWrites.length, 6, "the frame, one write per WebSocket member");
    assert.equal(new Set(frameWrites.map((write) => write.socket)).size, 6, "to six sockets");
    assert.equal(new Set(writesOf(writes, message.sseEvent).map((write) => write.socket)).size, 3, "the event buffer to the three SSE sockets");
    assert.equal(new Set(writesOf(writes, message.bytes).map((write) => write.socket)).size, 2, "the body buffer to the two long-poll sockets");
    const strings = writes.filter((write) => typeof write.chunk === "string" && write.chunk.includes("世界"));
    assert.deepEqual(strings, [], "no socket was handed the text to encode again");

    for (const { messages: inbox } of sockets) assert.deepEqual(await within(inbox.next(), "a WebSocket message"), { text: MIXED, isBinary: false });
    for (const events of streams) assert.equal(await within(events.next(), "an SSE event"), MIXED);
    for (const { answer } of polls) assert.equal(await within(answer, "a long-poll answer"), MIXED);
  });

  it("frames of every length encoding (7-bit, 16-bit, 64-bit) and bytes as binary frames reach ws clients whole", async (t) => {
    const room = await new Room().start(t);
    const clients = [await room.ws(t, "a"), await room.ws(t, "b")];
    const unit = "世🙂x"; // 3 + 4 + 1 bytes
    const texts = ["", "é".repeat(62) + "x", "x".repeat(126), unit.repeat(8_191) + "x".repeat(7), unit.repeat(8_192), unit.repeat(9_000)];
    assert.deepEqual(
      texts.map((text) => Buffer.byteLength(text)),
      [0, 125, 126, 65_535, 65_536, 72_000],
    );
    for (const text of texts) assert.equal(room.store.broadcastEncoded("room", text), 2);
    const bytes = new Uint8Array(300).map((_, i) => (i * 7) % 256);
    assert.equal(room.store.broadcastEncoded("room", bytes), 2);
    for (const { messages } of clients) {
      for (const text of texts) {
        const got = await within(messages.next(), "a message");
        assert.equal(got.isBinary, false);
        assert.equal(got.text.length, text.length);
        assert.ok(got.text === text, `a text of ${Buffer.byteLength(text)} bytes arrived intact`);
      }
      assert.deepEqual(await within(messages.next(), "the binary message"), { text: Buffer.from(bytes).toString("hex"), isBinary: true });
    }
  });

  it("a socket that negotiated permessage-deflate gets the bytes through ws, compressed for it; a socket without, in the same group, the shared frame", async (t) => {
    const room = await new Room({ perMessageDeflate: true }).start(t);
    const deflating = await room.ws(t, "deflating", {});
    const plain = await room.ws(t, "plain", { perMessageDeflate: false });
    assert.match(deflating.ws.extensions, /permessage-deflate/, "the test's premise: this client negotiated deflate");
    assert.equal(plain.ws.extensions, "");
    const messages = recordEncoded(room.byName.get("plain") as Connection);

    const text = MIXED.repeat(100);
    const { writes } = socketWrites(() => {
      for (let i = 0; i < 3; i++) room.store.broadcastEncoded("room", `${i}${text}`);
    });
    assert.equal(messages.length, 3);
    const shared = messages.map((message) => writesOf(writes, message.wsFrame));
    for (const frameWrites of shared) assert.equal(frameWrites.length, 1, "the shared frame went to one socket only: the plain one");
    for (const client of [deflating, plain]) {
      for (let i = 0; i < 3; i++) assert.deepEqual(await within(client.messages.next(), "a message"), { text: `${i}${text}`, isBinary: false });
    }
  });

  it("members closed in the middle of a broadcast are skipped, a client gone unnoticed counts as sent, and the others get it", async (t) => {
    const room = await new Room().start(t);
    const clients = new Map<string, Awaited<ReturnType<Room["ws"]>>>();
    for (const who of ["a", "b", "c", "d", "gone"]) clients.set(who, await room.ws(t, who));
    const stream = await room.sse(t, "e");
    const errors = mock.method(room.store.options.logger, "error", () => {});
    t.after(() => errors.mock.restore());
    // The first member's send closes two later ones, server side, while the loop is running.
    const first = room.byName.get("a") as Connection & { sendEncoded(message: EncodedMessage): boolean };
    const sendEncoded = first.sendEncoded.bind(first);
    first.sendEncoded = (message) => {
      const sent = sendEncoded(message);
      room.byName.get("c")?.close();
      room.byName.get("d")?.close();
      return sent;
    };
    // Gone on the client side; the server learns it only after this turn.
    clients.get("gone")?.ws.terminate();
    assert.equal(room.store.broadcastEncoded("room", MIXED), 4, "a, b, e, and the socket the server still had open");
    assert.equal(errors.mock.callCount(), 0, "nothing was reported as failed");

    for (const who of ["a", "b"]) assert.deepEqual(await within(clients.get(who)!.messages.next(), `${who}'s message`), { text: MIXED, isBinary: false });
    assert.equal(await within(stream.next(), "e's event"), MIXED);
    await until(() => room.store.members("room") === 3, "c, d and the gone client to leave the group");
    assert.equal(room.store.broadcastEncoded("room", "after"), 3);
    for (const who of ["a", "b"]) assert.deepEqual(await within(clients.get(who)!.messages.next(), `${who}'s second`), { text: "after", isBinary: false });
    for (const who of ["c", "d"]) {
      const ws = clients.get(who)!.ws;
      await until(() => ws.readyState === WebSocket.CLOSED, `${who} to be closed`);
    }
  });
});

describe("WsConnection.sendEncoded", TEST, () => {
  it("behind a frame still queued inside ws (a Blob being read), goes through ws, in order, instead of writing past it", async (t) => {
    const wss = createWsServer({ maxMessageSize: 0, perMessageDeflate: false });
    const accepted = new AsyncQueue<{ ws: ServerSocket; socket: Duplex; req: IncomingMessage }>();
    const http = createHttpServer();
    http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(req, socket, head, (ws) => accepted.push({ ws, socket, req }));
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const heartbeat = new HeartbeatSweep(0);

    const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/`, { perMessageDeflate: false });
    t.after(async () => {
      client.terminate();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const inbox = new AsyncQueue<Received>();
    client.on("message", (data: Buffer, isBinary: boolean) => inbox.push(received(data, isBinary)));
    const { ws, socket, req } = await within(accepted.next(), "the upgrade");
    const conn = createWsConnection(ws, requestInfo(req), { maxBufferedBytes: 1_048_576, extraHeaders: {}, heartbeat }, socket) as ReturnType<typeof createWsConnection> & {
      sendEncoded(message: EncodedMessage): boolean;
    };
    t.after(() => conn.destroy());

    const direct = new EncodedMessage("direct 世界");
    const { writes: quiet } = socketWrites(() => conn.sendEncoded(direct));
    assert.equal(writesOf(quiet, direct.wsFrame).length, 1, "with nothing queued in ws, the frame is written to the socket itself");
    // ws reads a Blob asynchronously and holds every later frame in its own queue meanwhile.
    ws.send(new Blob(["first 🙂"]));
    const queued = new EncodedMessage("second 世界");
    const { writes } = socketWrites(() => assert.equal(conn.sendEncoded(queued), true));
    assert.equal(writesOf(writes, queued.wsFrame).length, 0, "not written past ws's queue");
    conn.send("third");
    assert.deepEqual(await within(inbox.next(), "the first"), { text: "direct 世界", isBinary: false });
    assert.deepEqual(await within(inbox.next(), "the blob"), { text: Buffer.from("first 🙂").toString("hex"), isBinary: true });
    assert.deepEqual(await within(inbox.next(), "the encoded message"), { text: "second 世界", isBinary: false });
    assert.deepEqual(await within(inbox.next(), "the last"), { text: "third", isBinary: false });
  });
});
