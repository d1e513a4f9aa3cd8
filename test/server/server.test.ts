import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { describe, it, mock } from "node:test";
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { BodyAbortedError, type CloseStatus, type Connection, createServer, runServer, type ServerHandle, withChannel } from "../../src/server/index.js";
import { until } from "../helpers/async.js";
import { serverHandles } from "../helpers/server.js";
import { rawExchange } from "./raw-clients.js";

const { handles, serve } = serverHandles();

function wsUrl(handle: ServerHandle, path = "/"): string {
  return handle.url.replace("http:", "ws:") + path;
}

/** Opens a ws client and waits for `open`, or rejects with the HTTP status it got instead. */
function openWs(url: string, options?: WebSocket.ClientOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, headers: res.headers }));
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

describe("runServer and routes", { timeout: 20_000 }, () => {
  it("answers a handler's plain response, 204 for nothing, 500 when it throws", async () => {
    const errors = mock.method(console, "error", () => {});
    try {
      const handle = await serve((req) => {
        if (req.path === "/hello") return { status: 201, headers: { "x-a": "1" }, body: `hello ${req.query.get("who") ?? ""}` };
        if (req.path === "/nothing") return undefined;
        throw new Error("boom");
      });
      assert.match(handle.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const hello = await fetch(`${handle.url}/hello?who=you`);
      assert.equal(hello.status, 201);
      assert.equal(hello.headers.get("x-a"), "1");
      assert.equal(hello.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(await hello.text(), "hello you");
      assert.equal((await fetch(`${handle.url}/nothing`)).status, 204);
      const boom = await fetch(`${handle.url}/boom`);
      assert.equal(boom.status, 500);
      await boom.text();
      assert.equal(errors.mock.callCount(), 1, "the handler's error is reported");
    } finally {
      errors.mock.restore();
    }
  });

  it("routes by exact path, falls back to '*', and answers 404 otherwise", async () => {
    const server = createServer().route("/a", () => ({ body: "a" })).route("/b", () => ({ body: "b" }));
    const handle = await server.listen();
    handles.push(handle);
    assert.equal(await (await fetch(`${handle.url}/a?x=1`)).text(), "a");
    assert.equal(await (await fetch(`${handle.url}/b`)).text(), "b");
    const missing = await fetch(`${handle.url}/c`);
    assert.equal(missing.status, 404);
    await missing.text();
    server.route("*", () => ({ body: "any" }));
    assert.equal(await (await fetch(`${handle.url}/c`)).text(), "any");
  });

  it("a request target starting with // is a path, routed like any other, not a crash (regression)", async () => {
    const server = createServer()
      .route("//x", (req) => ({ body: `exact ${req.path} ${req.query.get("q") ?? ""}` }))
      .route("*", (req) => ({ body: `fallback ${req.path}` }));
    const handle = await server.listen();
    handles.push(handle);
    const exact = await rawExchange(handle.port, "GET //x?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert.match(exact, /exact \/\/x 1$/, "routed to //x with its query");
    const other = await rawExchange(handle.port, "GET // HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert.match(other, /fallback \/\/$/, "routed to the fallback");
  });

  it("an answer that cannot be written (bad header, body of the wrong type) is a 500, not a crash", async () => {
    const errors = mock.method(console, "error", () => {});
    try {
      const handle = await serve((req) =>
        req.path === "/header" ? { headers: { "x-bad": "a\nb" }, body: "x" } : { body: { not: "a body" } as unknown as string },
      );
      for (const path of ["/header", "/body"]) {
        const res = await fetch(`${handle.url}${path}`);
        assert.equal(res.status, 500, path);
        assert.equal(await res.text(), "internal server error");
      }
      assert.equal(errors.mock.callCount(), 2);
      assert.equal((await fetch(handle.url + "/header?again")).status, 500, "the server is still up");
    } finally {
      errors.mock.restore();
    }
  });

  it("withChannel twice on one request is a TypeError (ERR_WITH_CHANNEL), answered 500", async () => {
    const errors = mock.method(console, "error", () => {});
    try {
      let thrown: unknown;
      const handle = await serve((req) => {
        withChannel(req, () => {});
        try {
          withChannel(req, () => {});
        } catch (error) {
          thrown = error;
          throw error;
        }
      });
      const res = await fetch(handle.url);
      await res.text();
      assert.ok(thrown instanceof TypeError, "second withChannel throws a TypeError");
      assert.equal((thrown as { code?: unknown }).code, "ERR_WITH_CHANNEL");
      assert.equal(res.status, 500);
    } finally {
      errors.mock.restore();
    }
  });
});

describe("withChannel gives one Connection over every transport", { timeout: 20_000 }, () => {
  it("WebSocket: echo in order, with the request it came from", async () => {
    let seen: Connection | null = null;
    const handle = await serve((req) =>
      withChannel(req, (conn) => {
        seen = conn;
        conn.onReceive((message) => conn.send(message));
      }),
    );
    const ws = await openWs(wsUrl(handle, "/chat?room=1"));
    const got: string[] = [];
    ws.on("message", (data) => got.push(String(data)));
    for (let i = 0; i < 20; i++) ws.send(`m${i}`);
    while (got.length < 20) await once(ws, "message");
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `m${i}`));
    const conn = seen as unknown as Connection;
    assert.equal(conn.transport, "websocket");
    assert.equal(conn.isWebSocket, true);
    assert.equal(conn.request.url, "/chat?room=1");
    assert.equal(conn.request.method, "GET");
    assert.match(conn.request.remoteAddress, /127\.0\.0\.1/);
    const closed = new Promise<CloseStatus>((resolve) => conn.onClose(resolve));
    ws.close(4000, "bye");
    assert.deepEqual(await closed, { by: "client", code: 4000, reason: "bye" });
  });

  it("SSE: an EventSource gets the events; Last-Event-ID reaches the handler", async () => {
    const lastIds: Array<string | undefined> = [];
    const handle = await serve((req) => {
      lastIds.push(req.lastEventId);
      withChannel(req, (conn) => {
        assert.equal(conn.transport, "sse");
        conn.send({ data: "first\nsecond", id: "7", event: "note" });
        conn.send("plain", true);
      });
    });
    const es = new EventSource(handle.url);
    try {
      const note = await new Promise<MessageEvent>((resolve) => es.addEventListener("note", resolve, { once: true }));
      assert.equal(note.data, "first\nsecond");
      assert.equal(note.lastEventId, "7");
      const plain = await new Promise<MessageEvent>((resolve) => es.addEventListener("message", resolve, { once: true }));
      assert.equal(plain.data, "plain");
      // The server ended the stream; the EventSource reconnects and says where it was.
      while (lastIds.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(lastIds.slice(0, 2), [undefined, "7"]);
    } finally {
      es.close();
    }
  });

  it("plain HTTP: send answers a long-poll; send(x, false) streams chunks", async () => {
    const handle = await serve((req) =>
      withChannel(req, (conn) => {
        assert.equal(conn.transport, "http");
        if (req.path === "/poll") {
          setTimeout(() => conn.send({ status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: '"hello, polling"' }), 10);
        } else {
          conn.send("one,", false);
          setTimeout(() => conn.send("two", true), 10);
        }
      }),
    );
    const poll = await fetch(`${handle.url}/poll`);
    assert.equal(poll.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(await poll.json(), "hello, polling");
    const stream = await fetch(`${handle.url}/stream`);
    assert.equal(stream.headers.get("transfer-encoding"), "chunked");
    assert.equal(await stream.text(), "one,two");
  });
});

describe("CORS and origins", { timeout: 20_000 }, () => {
  it("by default allows same-origin and origin-less requests and refuses other origins, on HTTP and WebSocket", async () => {
    const handle = await serve((req) => (req.transport === "websocket" ? withChannel(req, () => {}) : { body: "ok" }));
    assert.equal((await fetch(handle.url)).status, 200);
    const same = await fetch(handle.url, { headers: { origin: handle.url } });
    assert.equal(same.status, 200);
    await same.text();
    const cross = await fetch(handle.url, { headers: { origin: "http://evil.example" } });
    assert.equal(cross.status, 403);
    await cross.text();
    await assert.rejects(openWs(wsUrl(handle), { origin: "http://evil.example" }), { status: 403 });
    const ws = await openWs(wsUrl(handle), { origin: handle.url });
    ws.close();
  });

  it("with cors set, decorates responses and answers preflight", async () => {
    const handle = await serve(() => ({ body: "ok" }), { cors: { origin: ["http://app.example"], exposedHeaders: ["x-id"] } });
    const allowed = await fetch(handle.url, { headers: { origin: "http://app.example" } });
    assert.equal(allowed.headers.get("access-control-allow-origin"), "http://app.example");
    assert.equal(allowed.headers.get("access-control-expose-headers")?.toLowerCase(), "x-id");
    await allowed.text();
    const preflight = await fetch(handle.url, {
      method: "OPTIONS",
      headers: { origin: "http://app.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "http://app.example");
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
    const refused = await fetch(handle.url, { headers: { origin: "http://other.example" } });
    assert.equal(refused.status, 403);
    await refused.text();
  });
});

describe("limits and bad input", { timeout: 20_000 }, () => {
  it("maxConnections: the next connection gets 503 with Retry-After", async () => {
    const handle = await serve((req) => withChannel(req, () => {}), { maxConnections: 2, retryAfter: 7 });
    const a = await openWs(wsUrl(handle));
    const b = await openWs(wsUrl(handle));
    await assert.rejects(openWs(wsUrl(handle)), (error: { status: number; headers: Record<string, string> }) => {
      assert.equal(error.status, 503);
      assert.equal(error.headers["retry-after"], "7");
      return true;
    });
    const http = await fetch(handle.url);
    assert.equal(http.status, 503);
    await http.text();
    a.close();
    b.close();
  });

  it("a malformed upgrade gets 400 and never reaches the handler", async () => {
    let called = 0;
    const handle = await serve((req) => {
      called++;
      withChannel(req, () => {});
    });
    const answer = await rawExchange(handle.port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.equal(called, 0);
  });

  it("an upgrade that ws itself refuses (bad Sec-WebSocket-Protocol) does not use up a connection slot (regression)", async () => {
    const handle = await serve((req) => withChannel(req, () => {}), { maxConnections: 1 });
    const bad =
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ,\r\n\r\n";
    for (let i = 0; i < 3; i++) assert.match(await rawExchange(handle.port, bad), /^HTTP\/1\.1 400 /);
    const ws = await openWs(wsUrl(handle));
    ws.close();
  });

  it("a request body over maxMessageSize gets 413", async () => {
    const handle = await serve(async (req) => ({ body: `got ${(await req.text()).length}` }), { maxMessageSize: 1024 });
    const small = await fetch(handle.url, { method: "POST", body: "x".repeat(1024) });
    assert.equal(await small.text(), "got 1024");
    const big = await fetch(handle.url, { method: "POST", body: "x".repeat(1025) });
    assert.equal(big.status, 413);
    assert.match(await big.text(), /maxMessageSize/);
  });
});

describe("close and attach", { timeout: 20_000 }, () => {
  it("close() tells WebSocket clients to go away (1001), ends SSE streams, and resolves", async () => {
    const statuses: CloseStatus[] = [];
    const handle = await runServer((req) => withChannel(req, (conn) => conn.onClose((s) => statuses.push(s))));
    const ws = await openWs(wsUrl(handle));
    const wsClosed = once(ws, "close");
    const sse = await fetch(handle.url, { headers: { accept: "text/event-stream" } });
    const sseText = sse.text();
    await handle.close();
    const [code] = (await wsClosed) as [number];
    assert.equal(code, 1001);
    assert.equal(await sseText, "");
    assert.equal(statuses.length, 2);
    assert.ok(statuses.every((s) => s.by === "server" && s.code === 1001));
  });

  it("attach serves upgrades on an existing node:http server; handle serves its requests", async () => {
    const server = createServer().route("/ws", (req) => withChannel(req, (conn) => conn.onReceive((m) => conn.send(`hi ${String(m)}`)))).route("/plain", () => ({ body: "plain" }));
    const httpServer = createHttpServer((req, res) => server.handle(req, res, () => res.end("app")));
    server.attach(httpServer);
    httpServer.listen(0, "127.0.0.1");
    await once(httpServer, "listening");
    const { port } = httpServer.address() as AddressInfo;
    try {
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/plain`)).text(), "plain");
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/other`)).text(), "app");
      const ws = await openWs(`ws://127.0.0.1:${port}/ws`);
      ws.send("there");
      const [message] = (await once(ws, "message")) as [Buffer];
      assert.equal(String(message), "hi there");
      ws.close();
    } finally {
      await server.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    }
  });

  it("close() does not wait for a socket that connected and never sent a request (regression)", async () => {
    // closeTimeout far beyond this test's timeout: waiting for it would fail the test.
    const handle = await runServer(() => ({ body: "x" }), { closeTimeout: 600_000 });
    const idle = connect(handle.port, "127.0.0.1");
    await once(idle, "connect");
    const idleClosed = once(idle, "close");
    await handle.close();
    await idleClosed;
  });

  it("a client that goes away mid-body is a BodyAbortedError, not a failure to report, on a handler and on the protocol (regression)", async () => {
    const errors = mock.method(console, "error", () => {});
    const seen: unknown[] = [];
    const server = createServer().route("/upload", async (req) => {
      try {
        return { body: await req.text() };
      } catch (error) {
        seen.push(error);
        throw error;
      }
    });
    const handle = await server.listen();
    try {
      for (const path of ["/upload", "/wirechan/send"]) {
        const socket = connect(handle.port, "127.0.0.1");
        await once(socket, "connect");
        socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wirechan-Session: s\r\nX-Wirechan-Secret: s\r\nContent-Length: 100\r\n\r\n[1,`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        socket.resetAndDestroy();
      }
      await until(() => seen.length === 1, "the handler to see the cut body");
      assert.ok(seen[0] instanceof BodyAbortedError, `a BodyAbortedError (got ${String(seen[0])})`);
      assert.equal((seen[0] as BodyAbortedError).code, "ERR_BODY_ABORTED");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(errors.mock.calls.map((call) => String(call.arguments[0])), [], "nothing reported as a server failure");
    } finally {
      errors.mock.restore();
      await handle.close();
    }
  });

  it("a body already read by a parser in front answers an error instead of hanging (regression)", async () => {
    const errors = mock.method(console, "error", () => {});
    const server = createServer({ maxConnections: 1 }).route("/echo", async (req) => ({ body: await req.text() }));
    const httpServer = createHttpServer((req, res) => {
      req.resume(); // stands for a body parser mounted before wirechan
      req.once("end", () => server.handle(req, res));
    });
    httpServer.listen(0, "127.0.0.1");
    await once(httpServer, "listening");
    const { port } = httpServer.address() as AddressInfo;
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/echo`, { method: "POST", body: "hi" });
        assert.equal(res.status, 500, "the handler failed instead of waiting forever, and freed its slot");
        await res.text();
      }
      assert.match(String(errors.mock.calls[0]?.arguments[1]), /body parsers/);
    } finally {
      errors.mock.restore();
      await server.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    }
  });
});
