// The plain HTTP adapter against a real node:http server on 127.0.0.1, with fetch (and a raw
// socket that never reads) as clients.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, it } from "node:test";
import type { CloseStatus } from "../../src/server/connection.js";
import { createHttpConnection } from "../../src/server/http-connection.js";
import type { AdapterOptions, ServerConnection } from "../../src/server/transport.js";
import { settle } from "../helpers/async.js";
import { AsyncQueue, BodyReader, CloseRecorder, nonReadingClient, requestInfo, TestHttpServer } from "../helpers/server.js";

const TEST = { timeout: 10_000 };
const CLIENT_TIMEOUT = 8_000;

/** A node:http server whose every request becomes a connection the test drives. */
class Harness extends TestHttpServer {
  readonly connections = new AsyncQueue<ServerConnection>();

  constructor(private readonly options: AdapterOptions) {
    super();
  }

  protected override onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.connections.push(createHttpConnection(req, res, requestInfo(req), this.options));
  }
}

async function startHarness(t: { after(fn: () => Promise<void>): void }, options: Partial<AdapterOptions> = {}): Promise<Harness> {
  const harness = new Harness({ maxBufferedBytes: 1024 * 1024, extraHeaders: {}, ...options });
  await harness.listen();
  t.after(() => harness.close());
  return harness;
}

function get(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(CLIENT_TIMEOUT), ...init });
}

describe("createHttpConnection: long-poll answers", () => {
  it("answers the request with send(x), then is closed", TEST, async (t) => {
    const h = await startHarness(t, { extraHeaders: { "access-control-allow-origin": "*" } });
    const pending = get(`${h.url}/poll?since=3`, { method: "POST", body: "ignored body" });
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);
    const received: unknown[] = [];
    conn.onReceive((message) => received.push(message));

    assert.equal(conn.transport, "http");
    assert.equal(conn.isWebSocket, false);
    assert.equal(conn.isOpen, true);
    assert.equal(conn.request.method, "POST");
    assert.equal(conn.request.url, "/poll?since=3");
    assert.equal(conn.request.remoteAddress, "127.0.0.1");
    assert.equal(typeof conn.bufferedAmount, "number");

    assert.equal(conn.send("héllo"), true);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.headers.get("content-length"), "6", "Content-Length counts bytes, not characters");
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(await res.text(), "héllo");

    assert.deepEqual(await closes.first, { by: "server", code: 1000, reason: "" });
    assert.equal(conn.isOpen, false);
    assert.equal(conn.send("again"), false);
    assert.equal(conn.send("again", false), false);
    assert.equal(conn.close(), false);
    await settle();
    assert.equal(closes.statuses.length, 1);
    assert.deepEqual(received, [], "onReceive is never called on plain HTTP");
  });

  it("applies status and headers of the first send; the caller's headers win over extraHeaders", TEST, async (t) => {
    const h = await startHarness(t, { extraHeaders: { "x-origin": "server", "x-extra": "kept" } });
    const pending = get(h.url);
    const conn = await h.connections.next();
    conn.send({ status: 201, headers: { "Content-Type": "application/json", "X-Origin": "handler", "x-list": ["a", "b"] }, body: '{"a":1}' });
    const res = await pending;
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("x-origin"), "handler");
    assert.equal(res.headers.get("x-extra"), "kept");
    assert.equal(res.headers.get("x-list"), "a, b");
    assert.equal(res.headers.get("content-length"), "7");
    assert.deepEqual(await res.json(), { a: 1 });
  });

  it("sends bytes as application/octet-stream, and a body-less 204 without Content-Length", TEST, async (t) => {
    const h = await startHarness(t);
    const bytesPending = get(h.url);
    const bytesConn = await h.connections.next();
    bytesConn.send(new Uint8Array([0, 1, 2, 255]));
    const bytes = await bytesPending;
    assert.equal(bytes.headers.get("content-type"), "application/octet-stream");
    assert.equal(bytes.headers.get("content-length"), "4");
    assert.deepEqual(new Uint8Array(await bytes.arrayBuffer()), new Uint8Array([0, 1, 2, 255]));

    const emptyPending = get(h.url);
    const emptyConn = await h.connections.next();
    emptyConn.send({ status: 204 });
    const empty = await emptyPending;
    assert.equal(empty.status, 204);
    assert.equal(empty.headers.get("content-length"), null);
    assert.equal(empty.headers.get("content-type"), null);
    assert.equal(await empty.text(), "");
  });

  it("close() with nothing sent answers an empty 200; true the first time only", TEST, async (t) => {
    const h = await startHarness(t, { extraHeaders: { "x-extra": "yes" } });
    const pending = get(h.url);
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);
    assert.equal(conn.close(), true);
    assert.equal(conn.close(), false);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), "0");
    assert.equal(res.headers.get("x-extra"), "yes");
    assert.equal(await res.text(), "");
    assert.deepEqual(await closes.first, { by: "server", code: 1000, reason: "" });
    assert.equal(conn.send("late"), false);

    const late: CloseStatus[] = [];
    conn.onClose((status) => late.push(status));
    await settle();
    assert.deepEqual(late, [{ by: "server", code: 1000, reason: "" }], "a listener added after the close still hears it, once");
    assert.equal(closes.statuses.length, 1);
  });

  it("throws for data it cannot send and stays usable", TEST, async (t) => {
    const h = await startHarness(t);
    const pending = get(h.url);
    const conn = await h.connections.next();
    assert.throws(() => conn.send({ data: "an SSE event" }), { name: "TypeError", code: "ERR_SEND_DATA" });
    assert.throws(() => conn.send({ status: 42, body: "bad status" }), RangeError);
    assert.throws(() => conn.send({ headers: { "x-leak": "1", "bad header": "x" }, body: "bad name" }), TypeError);
    assert.equal(conn.isOpen, true);
    assert.equal(conn.send({ status: 202, body: "fine" }), true);
    const res = await pending;
    assert.equal(res.status, 202);
    assert.equal(res.headers.get("x-leak"), null, "nothing of the failed send stays behind");
    assert.equal(await res.text(), "fine");
  });
});

describe("createHttpConnection: chunked streams", () => {
  it("streams each send(x, false) as it happens, and ends on send(x, true)", TEST, async (t) => {
    const h = await startHarness(t, { extraHeaders: { "x-extra": "yes" } });
    const pending = get(h.url);
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);

    assert.equal(conn.send({ status: 207, headers: { "x-first": "1" }, body: "one " }, false), true);
    const res = await pending;
    assert.equal(res.status, 207);
    assert.equal(res.headers.get("x-first"), "1");
    assert.equal(res.headers.get("x-extra"), "yes");
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.headers.get("content-length"), null);
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    const body = new BodyReader(res);
    await body.untilText("one ");

    // Status and headers of later sends are ignored: the head is already out.
    assert.equal(conn.send({ status: 500, headers: { "x-late": "1" }, body: "two " }, false), true);
    await body.untilText("one two ");
    assert.equal(conn.send(new TextEncoder().encode("three "), false), true);
    await body.untilText("one two three ");
    assert.equal(conn.isOpen, true);

    assert.equal(conn.send("four", true), true);
    assert.equal(await body.toEnd(), "one two three four");
    assert.deepEqual(await closes.first, { by: "server", code: 1000, reason: "" });
    assert.equal(conn.send("five", false), false);
  });

  it("flushes the head on a first send(x, false) without a body; close() ends the stream", TEST, async (t) => {
    const h = await startHarness(t);
    const pending = get(h.url);
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);
    conn.send({ status: 202, headers: { "x-stream": "yes" } }, false);
    const res = await pending;
    assert.equal(res.status, 202);
    assert.equal(res.headers.get("x-stream"), "yes");
    assert.equal(res.headers.get("content-type"), null, "no body yet, so no default content type");
    assert.equal(conn.close(), true);
    assert.equal(conn.close(), false);
    assert.equal(await new BodyReader(res).toEnd(), "");
    assert.deepEqual(await closes.first, { by: "server", code: 1000, reason: "" });
  });
});

describe("createHttpConnection: closing", () => {
  it("reports the client going away from a waiting long-poll, once", TEST, async (t) => {
    const h = await startHarness(t);
    const abort = new AbortController();
    const pending = fetch(h.url, { signal: abort.signal }).then(
      () => "answered",
      () => "aborted",
    );
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);
    abort.abort();
    assert.equal(await pending, "aborted");
    assert.deepEqual(await closes.first, { by: "client", code: 1006, reason: "" });
    assert.equal(conn.isOpen, false);
    assert.equal(conn.send("too late"), false);
    assert.equal(conn.close(), false);
    conn.goAway();
    conn.destroy();
    await settle();
    assert.deepEqual(closes.statuses, [{ by: "client", code: 1006, reason: "" }]);
  });

  it("reports the client going away in the middle of a stream", TEST, async (t) => {
    const h = await startHarness(t);
    const abort = new AbortController();
    const pending = fetch(h.url, { signal: abort.signal });
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);
    conn.send("part", false);
    const body = new BodyReader(await pending);
    await body.untilText("part");
    abort.abort();
    assert.deepEqual(await closes.first, { by: "client", code: 1006, reason: "" });
    assert.equal(conn.send("more", false), false);
    await settle();
    assert.equal(closes.statuses.length, 1);
  });

  it("drops a client that does not read once more than maxBufferedBytes are queued", TEST, async (t) => {
    const h = await startHarness(t, { maxBufferedBytes: 64 * 1024 });
    nonReadingClient(t, h.port, "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);

    const chunk = new Uint8Array(1024 * 1024);
    let sends = 0;
    // Bounded, so a missing limit fails the test instead of filling memory.
    while (sends < 64 && conn.send(chunk, false)) {
      sends++;
      await settle(1);
    }
    assert.ok(sends < 64, "the limit stopped the sends");
    assert.deepEqual(await closes.first, { by: "server", code: 4008, reason: "slow consumer" });
    assert.equal(conn.isOpen, false);
    assert.equal(conn.send(chunk, false), false);
    await settle();
    assert.equal(closes.statuses.length, 1);
  });

  it("lets a final answer larger than maxBufferedBytes drain: nothing can queue behind it", TEST, async (t) => {
    const h = await startHarness(t, { maxBufferedBytes: 64 * 1024 });
    nonReadingClient(t, h.port, "GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);
    assert.equal(conn.send(new Uint8Array(16 * 1024 * 1024)), true);
    assert.deepEqual(await closes.first, { by: "server", code: 1000, reason: "" });
  });

  it("goAway() answers a waiting long-poll with an empty 200 and Connection: close; idempotent", TEST, async (t) => {
    const h = await startHarness(t);
    const pending = get(h.url);
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);
    conn.goAway();
    conn.goAway();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(await res.text(), "");
    assert.deepEqual(await closes.first, { by: "server", code: 1001, reason: "server shutting down" });
    assert.equal(conn.close(), false);
    assert.equal(conn.send("x"), false);
    await settle();
    assert.equal(closes.statuses.length, 1);
  });

  it("goAway() ends a stream cleanly", TEST, async (t) => {
    const h = await startHarness(t);
    const pending = get(h.url);
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);
    conn.send("data", false);
    const body = new BodyReader(await pending);
    await body.untilText("data");
    conn.goAway();
    assert.equal(await body.toEnd(), "data");
    assert.deepEqual(await closes.first, { by: "server", code: 1001, reason: "server shutting down" });
  });

  it("destroy() breaks the stream and reports going away, once", TEST, async (t) => {
    const h = await startHarness(t);
    const pending = get(h.url);
    const conn = await h.connections.next();
    const closes = new CloseRecorder(conn);
    conn.send("data", false);
    const body = new BodyReader(await pending);
    await body.untilText("data");
    conn.destroy();
    await assert.rejects(body.toEnd());
    assert.deepEqual(await closes.first, { by: "server", code: 1001, reason: "server shutting down" });
    conn.destroy();
    assert.equal(conn.close(), false);
    await settle();
    assert.equal(closes.statuses.length, 1);
  });
});
