// Clients that send a request slowly (B10): bodyTimeout bounds a body read on any server,
// requestTimeout and headersTimeout the node:http server listen() starts. Each slow client
// must be answered 408 and lose its connection, and its slot must serve someone else.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it, mock } from "node:test";
import { BodyTimeoutError, createServer, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { until } from "../helpers/async.js";
import { send, TricklingClient } from "./raw-clients.js";

/** How long any wait below may take before the test fails: a bound on a hang, many times the timeouts set. */
const BOUND = 5_000;

const upload = (port: number, path = "/upload"): string => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 1000\r\n\r\n`;

/** One slot (maxConnections 1) and an echo of the body at /upload; closed when the test ends. */
async function echoServer(t: { after(fn: () => Promise<void>): void }, options: ServerOptions): Promise<{ server: WirechanServer; port: number; seen: unknown[] }> {
  const seen: unknown[] = [];
  const server = createServer({ maxConnections: 1, ...options }).route("/upload", async (req) => {
    try {
      return { body: await req.text() };
    } catch (error) {
      seen.push(error);
      throw error;
    }
  });
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, port: handle.port, seen };
}

/** The slot the slow client held serves another request. */
async function assertSlotFree(server: WirechanServer, port: number): Promise<void> {
  const next = await send(port, { method: "POST", path: "/upload", body: "next" });
  assert.deepEqual([next.status, next.text], [200, "next"], "another client is served: the slot was freed");
  assert.equal(server.connectionCount, 0);
}

describe("slow request bodies (B10)", { timeout: 60_000 }, () => {
  it("bodyTimeout: a body sent a byte at a time is answered 408, its connection closed and its slot freed", async (t) => {
    const errors = mock.method(console, "error", () => {});
    t.after(() => errors.mock.restore());
    const { server, port, seen } = await echoServer(t, { bodyTimeout: 300 });
    const slow = new TricklingClient(t, port, upload(port), 50);
    await until(() => slow.received.startsWith("HTTP/1.1 408 "), "a 408 answer", BOUND);
    assert.match(slow.received, /bodyTimeout/, "the answer names the option");
    await until(() => slow.closed, "the server to close the slow client's connection", BOUND);
    assert.ok(seen[0] instanceof BodyTimeoutError, `the handler saw a BodyTimeoutError (got ${String(seen[0])})`);
    assert.equal((seen[0] as BodyTimeoutError).code, "ERR_BODY_TIMEOUT");
    await assertSlotFree(server, port);
    assert.equal(errors.mock.callCount(), 0, "a client's slowness is not reported as a server failure");
  });

  it("bodyTimeout holds on a node:http server wirechan does not own (handle)", async (t) => {
    const server = createServer({ bodyTimeout: 300, maxConnections: 1 }).route("/upload", async (req) => ({ body: await req.text() }));
    const httpServer = createHttpServer((req, res) => server.handle(req, res));
    httpServer.listen(0, "127.0.0.1");
    await once(httpServer, "listening");
    t.after(async () => {
      await server.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    });
    const { port } = httpServer.address() as AddressInfo;
    const slow = new TricklingClient(t, port, upload(port), 50);
    await until(() => slow.received.startsWith("HTTP/1.1 408 "), "a 408 answer", BOUND);
    await until(() => slow.closed, "the connection to close", BOUND);
    await assertSlotFree(server, port);
  });

  it("bodyTimeout on the protocol's open: an error packet, the connection closed, the slot freed", async (t) => {
    // The status and the packet's message are the endpoints' to choose (errorResponse makes it 408).
    const errors = mock.method(console, "error", () => {});
    t.after(() => errors.mock.restore());
    const { server, port } = await echoServer(t, { bodyTimeout: 300 });
    const slow = new TricklingClient(t, port, upload(port, "/wirechan/open"), 50);
    await until(() => slow.closed, "the connection to close", BOUND);
    assert.match(slow.received, /^HTTP\/1\.1 \d{3} /);
    assert.match(slow.received, /content-type: application\/json/i);
    assert.match(slow.received, /\r\n\r\n\[\["error","ERR_BODY_TIMEOUT",/);
    await assertSlotFree(server, port);
  });

  it("a handler that catches the body's timeout and answers 200 still has the connection closed after it", async (t) => {
    const server = createServer({ bodyTimeout: 300, maxConnections: 1 }).route("/upload", async (req) => {
      try {
        return { body: await req.text() };
      } catch {
        return { body: "never mind" };
      }
    });
    const handle = await server.listen();
    t.after(() => handle.close());
    const slow = new TricklingClient(t, handle.port, upload(handle.port), 50);
    await until(() => slow.closed, "the connection to close", BOUND);
    assert.match(slow.received, /^HTTP\/1\.1 200 [^]*connection: close[^]*never mind$/i);
    await assertSlotFree(server, handle.port);
  });

  it("requestTimeout (listen): node answers a request not complete in time 408 and closes it", async (t) => {
    const { server, port } = await echoServer(t, { requestTimeout: 300, headersTimeout: 200, bodyTimeout: 0 });
    const slow = new TricklingClient(t, port, upload(port), 50);
    await until(() => slow.closed, "the connection to close", BOUND);
    assert.match(slow.received, /^HTTP\/1\.1 408 /);
    await until(() => server.connectionCount === 0, "no connection left", BOUND);
    await assertSlotFree(server, port);
  });

  it("headersTimeout (listen): headers that never end are answered 408 and closed", async (t) => {
    const { server, port } = await echoServer(t, { requestTimeout: 400, headersTimeout: 200 });
    // The head never ends: the trickled bytes make one endless header line.
    const slow = new TricklingClient(t, port, `GET /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `, 50);
    await until(() => slow.closed, "the connection to close", BOUND);
    assert.match(slow.received, /^HTTP\/1\.1 408 /);
    await assertSlotFree(server, port);
  });
});
