// The SSE adapter against a real node:http server on 127.0.0.1, with the `eventsource`
// package's WHATWG EventSource, fetch (to see the wire text) and a raw socket that never reads.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, it, mock } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { EventSource } from "eventsource";
import { type SseAdapterOptions, type SseConnection, createSseConnection } from "../../src/server/sse-connection.js";
import { settle } from "../helpers/async.js";
import { type AfterHook, AsyncQueue, BodyReader, CloseRecorder, nonReadingClient, requestInfo, TestHttpServer } from "../helpers/server.js";

const TEST = { timeout: 10_000 };
const CLIENT_TIMEOUT = 8_000;

/** A connection the server made, with the node response under it (to watch its writes). */
interface Accepted {
  conn: SseConnection;
  res: ServerResponse;
}

type HarnessOptions = Omit<SseAdapterOptions, "lastEventId">;

/** A node:http server whose every request becomes an SSE connection the test drives. */
class Harness extends TestHttpServer {
  readonly accepted = new AsyncQueue<Accepted>();

  constructor(private readonly options: HarnessOptions) {
    super();
  }

  override get url(): string {
    return `${super.url}/events`;
  }

  async next(): Promise<SseConnection> {
    return (await this.accepted.next()).conn;
  }

  protected override onRequest(req: IncomingMessage, res: ServerResponse): void {
    const header = req.headers["last-event-id"];
    const lastEventId = typeof header === "string" ? header : undefined;
    let conn: SseConnection;
    try {
      conn = createSseConnection(req, res, requestInfo(req), { ...this.options, lastEventId });
    } catch (error) {
      // Answering proves the adapter threw before writing the head.
      res.writeHead(500).end((error as { code?: string }).code ?? String(error));
      return;
    }
    this.accepted.push({ conn, res });
  }
}

async function startHarness(t: AfterHook, options: Partial<HarnessOptions> = {}): Promise<Harness> {
  const harness = new Harness({ maxBufferedBytes: 1024 * 1024, extraHeaders: {}, heartbeat: 0, ...options });
  await harness.listen();
  t.after(() => harness.close());
  return harness;
}

/** An EventSource whose events of the given types queue up for the test; closed after it. */
class Client {
  readonly source: EventSource;
  private readonly queues = new Map<string, AsyncQueue<MessageEvent>>();

  constructor(t: AfterHook, url: string, types: readonly string[] = ["message"]) {
    this.source = new EventSource(url);
    t.after(() => this.source.close());
    for (const type of types) {
      const queue = new AsyncQueue<MessageEvent>();
      this.queues.set(type, queue);
      this.source.addEventListener(type, (event: MessageEvent) => queue.push(event));
    }
  }

  opened(): Promise<void> {
    return new Promise((resolve) => this.source.addEventListener("open", () => resolve(), { once: true }));
  }

  next(type = "message"): Promise<MessageEvent> {
    const queue = this.queues.get(type);
    assert.ok(queue, `listening for ${type}`);
    return queue.next();
  }
}

function openRaw(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(CLIENT_TIMEOUT), headers: { accept: "text/event-stream" }, ...init });
}

function count(text: string, part: string): number {
  return text.split(part).length - 1;
}

describe("createSseConnection: events", () => {
  it("opens before the first event and delivers data, multi-line data joined with LF", TEST, async (t) => {
    const h = await startHarness(t);
    const client = new Client(t, h.url);
    await client.opened(); // the head was flushed: nothing has been sent yet
    const conn = await h.next();
    assert.equal(conn.transport, "sse");
    assert.equal(conn.isWebSocket, false);
    assert.equal(conn.isOpen, true);
    assert.equal(conn.request.url, "/events");
    assert.equal(conn.lastEventId, undefined);

    assert.equal(conn.send("one\ntwo\r\nthree\rfour"), true);
    assert.equal(conn.send(new TextEncoder().encode("bytes ✓")), true);
    assert.equal(conn.send({ status: 500, headers: { "x-ignored": "1" }, body: "from a body" }), true);
    assert.equal(conn.send({ status: 204 }), true, "no body, no event");
    assert.equal(conn.send(""), true);
    assert.equal(conn.send("last"), true);

    const data: string[] = [];
    for (let i = 0; i < 5; i++) data.push((await client.next()).data as string);
    assert.deepEqual(data, ["one\ntwo\nthree\nfour", "bytes ✓", "from a body", "", "last"]);
  });

  it("delivers ids and event types", TEST, async (t) => {
    const h = await startHarness(t);
    const client = new Client(t, h.url, ["message", "tick"]);
    const conn = await h.next();
    conn.send({ data: "t1", id: "42", event: "tick" });
    conn.send("plain");
    const tick = await client.next("tick");
    assert.equal(tick.data, "t1");
    assert.equal(tick.lastEventId, "42");
    // eventsource@3 sets an event's lastEventId to its own id or "" (browsers keep the last
    // one), so only the data is checked here; the reconnect test shows the id stuck.
    assert.equal((await client.next()).data, "plain");
  });

  it("throws a TypeError synchronously for CR or LF in an id or event, and keeps streaming", TEST, async (t) => {
    const h = await startHarness(t);
    const client = new Client(t, h.url);
    const conn = await h.next();
    const closes = new CloseRecorder(conn);
    conn.send({ data: "before", id: "1" });
    assert.throws(() => conn.send({ data: "lost", id: "a\rb" }), { name: "TypeError", code: "ERR_SSE_FIELD" });
    assert.throws(() => conn.send({ data: "lost", event: "a\nb" }, true), { name: "TypeError", code: "ERR_SSE_FIELD" });
    assert.throws(() => conn.send({ data: "lost", retry: -1 }), { name: "TypeError", code: "ERR_SSE_FIELD" });
    assert.equal(conn.isOpen, true, "a throwing send, even with close, leaves the stream open");
    conn.send({ data: "after", id: "2" });

    const before = await client.next();
    const after = await client.next();
    assert.deepEqual([before.data, before.lastEventId], ["before", "1"]);
    assert.deepEqual([after.data, after.lastEventId], ["after", "2"]);
    assert.deepEqual(closes.statuses, []);
  });

  it("writes the head, retry and events on the wire; send(x, true) ends the stream", TEST, async (t) => {
    const h = await startHarness(t, { extraHeaders: { "Access-Control-Allow-Origin": "*", "Content-Type": "text/plain" } });
    const pending = openRaw(h.url);
    const conn = await h.next();
    const closes = new CloseRecorder(conn);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8", "the stream's own headers win");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(res.headers.get("access-control-allow-origin"), "*");

    assert.equal(conn.send({ data: "a", id: "9", event: "e", retry: 10 }), true);
    assert.equal(conn.send("bye", true), true);
    assert.equal(await new BodyReader(res).toEnd(), "id: 9\nevent: e\nretry: 10\ndata: a\n\ndata: bye\n\n");
    assert.deepEqual(await closes.first, { by: "server", code: 1000, reason: "" });
    assert.equal(conn.send("late"), false);
    assert.equal(conn.close(), false);
  });
});

describe("createSseConnection: heartbeat", () => {
  it("sends comment heartbeats while open and stops them on close()", TEST, async (t) => {
    const h = await startHarness(t, { heartbeat: 20 });
    const pending = openRaw(h.url);
    const { conn, res: serverRes } = await h.accepted.next();
    const body = new BodyReader(await pending);
    await body.until((text) => count(text, ":\n\n") >= 2);
    conn.send("between beats");
    await body.until((text) => text.includes("data: between beats\n\n") && count(text.split("data: between beats")[1] ?? "", ":\n\n") >= 1);

    const writes = mock.method(serverRes, "write");
    t.after(() => writes.mock.restore());
    assert.equal(conn.close(), true);
    await body.toEnd();
    await sleep(100); // five heartbeat intervals
    assert.equal(writes.mock.callCount(), 0, "no heartbeat after close");
  });

  it("stops heartbeats when the client goes away", TEST, async (t) => {
    const h = await startHarness(t, { heartbeat: 20 });
    const abort = new AbortController();
    const pending = openRaw(h.url, { signal: abort.signal });
    const { conn, res: serverRes } = await h.accepted.next();
    const closes = new CloseRecorder(conn);
    const body = new BodyReader(await pending);
    await body.until((text) => count(text, ":\n\n") >= 1);
    abort.abort();
    assert.deepEqual(await closes.first, { by: "client", code: 1006, reason: "" });

    const writes = mock.method(serverRes, "write");
    t.after(() => writes.mock.restore());
    await sleep(100);
    assert.equal(writes.mock.callCount(), 0, "no heartbeat after the client left");
  });

  it("refuses a heartbeat interval that is negative, not finite or beyond setInterval's range", TEST, async (t) => {
    for (const heartbeat of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      const h = await startHarness(t, { heartbeat });
      const res = await openRaw(h.url);
      assert.equal(res.status, 500, `heartbeat ${heartbeat}`);
      assert.equal(await res.text(), "ERR_SSE_HEARTBEAT");
    }
  });
});

describe("createSseConnection: closing", () => {
  it("surfaces Last-Event-ID when EventSource reconnects after the server closes", TEST, async (t) => {
    const h = await startHarness(t);
    const client = new Client(t, h.url);
    const first = await h.next();
    const firstCloses = new CloseRecorder(first);
    assert.equal(first.lastEventId, undefined);
    first.send({ data: "one", id: "7", retry: 10 });
    first.send("two, without an id");
    assert.equal((await client.next()).data, "one");
    assert.equal((await client.next()).data, "two, without an id");
    assert.equal(first.close(), true);
    assert.equal(first.close(), false);
    assert.deepEqual(await firstCloses.first, { by: "server", code: 1000, reason: "" });

    const second = await h.next();
    assert.equal(second.lastEventId, "7", "an event without an id keeps the last one");
    assert.equal(second.request.headers["last-event-id"], "7");
    const secondCloses = new CloseRecorder(second);
    client.source.close();
    assert.deepEqual(await secondCloses.first, { by: "client", code: 1006, reason: "" });
    assert.equal(second.send("gone"), false);
    await settle();
    assert.equal(firstCloses.statuses.length, 1);
    assert.equal(secondCloses.statuses.length, 1);
  });

  it("drops a client that does not read once more than maxBufferedBytes are queued", TEST, async (t) => {
    const h = await startHarness(t, { maxBufferedBytes: 64 * 1024 });
    nonReadingClient(t, h.port, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
    const conn = await h.next();
    const closes = new CloseRecorder(conn);

    const event = "x".repeat(1024 * 1024);
    let sends = 0;
    // Bounded, so a missing limit fails the test instead of filling memory.
    while (sends < 64 && conn.send(event)) {
      sends++;
      await settle(1);
    }
    assert.ok(sends < 64, "the limit stopped the sends");
    assert.deepEqual(await closes.first, { by: "server", code: 4008, reason: "slow consumer" });
    assert.equal(conn.isOpen, false);
    assert.equal(conn.send("more"), false);
  });

  it("a slow consumer that reads again within a second gets its backlog, then a comment saying why and a clean end", TEST, async (t) => {
    const h = await startHarness(t, { maxBufferedBytes: 64 * 1024 });
    const socket = nonReadingClient(t, h.port, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
    const conn = await h.next();
    const closes = new CloseRecorder(conn);
    const event = "x".repeat(256 * 1024);
    let sends = 0;
    while (sends < 64 && conn.send(event)) {
      sends++;
      await settle(1);
    }
    assert.ok(sends < 64, "the limit stopped the sends");
    assert.deepEqual(await closes.first, { by: "server", code: 4008, reason: "slow consumer" });
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (text += chunk));
    const ended = new Promise<void>((resolve) => socket.once("end", resolve));
    socket.resume();
    await ended;
    assert.equal(text.split("data: ").length - 1, sends + 1, "every event written, the one that crossed the bound included");
    assert.match(text, /: 4008 slow consumer \(maxBufferedBytes\)\n\n\r\n0\r\n\r\n$/, "the comment, then the stream's last chunk");
  });

  it("goAway() ends the stream cleanly and reports going away, once", TEST, async (t) => {
    const h = await startHarness(t);
    const pending = openRaw(h.url);
    const conn = await h.next();
    const closes = new CloseRecorder(conn);
    const body = new BodyReader(await pending);
    conn.send("data");
    await body.until((text) => text === "data: data\n\n");
    conn.goAway();
    conn.goAway();
    assert.equal(await body.toEnd(), "data: data\n\n");
    assert.deepEqual(await closes.first, { by: "server", code: 1001, reason: "server shutting down" });
    assert.equal(conn.close(), false);
    await settle();
    assert.equal(closes.statuses.length, 1);
  });

  it("destroy() breaks the stream and reports going away", TEST, async (t) => {
    const h = await startHarness(t);
    const pending = openRaw(h.url);
    const conn = await h.next();
    const closes = new CloseRecorder(conn);
    const body = new BodyReader(await pending);
    conn.destroy();
    await assert.rejects(body.toEnd());
    assert.deepEqual(await closes.first, { by: "server", code: 1001, reason: "server shutting down" });
    assert.equal(conn.send("late"), false);
  });
});
