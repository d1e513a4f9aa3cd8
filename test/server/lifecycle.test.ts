// listen() and close() at the edges: a listen that failed, a second listen, a listen after
// close, and a close that begins while a handler is still running.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { WirechanError } from "../../src/csp/errors.js";
import { createServer, withChannel } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { send } from "./raw-clients.js";

/** A promise and the function that resolves it: a handler waits on it until the test lets it go. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe("listen", { timeout: 20_000 }, () => {
  it("a listen() that failed (EADDRINUSE) leaves the server able to listen again (B3)", async (t) => {
    const blocker = createHttpServer();
    blocker.listen(0, "127.0.0.1");
    await once(blocker, "listening");
    t.after(() => new Promise((resolve) => blocker.close(resolve)));
    const { port } = blocker.address() as AddressInfo;
    const server = createServer().route("*", () => ({ body: "ok" }));
    await assert.rejects(server.listen({ port }), { code: "EADDRINUSE" });
    const handle = await server.listen();
    t.after(() => handle.close());
    assert.equal(await (await fetch(handle.url)).text(), "ok");
  });

  it("a second listen() is a WirechanError ERR_ALREADY_LISTENING; the first keeps serving", async (t) => {
    const server = createServer().route("*", () => ({ body: "ok" }));
    const handle = await server.listen();
    t.after(() => handle.close());
    await assert.rejects(server.listen(), (error: unknown) => {
      assert.ok(error instanceof WirechanError, `a WirechanError, got ${String(error)}`);
      assert.equal(error.code, "ERR_ALREADY_LISTENING");
      return true;
    });
    assert.equal(await (await fetch(handle.url)).text(), "ok");
  });

  it("listen() after close() is ERR_SERVER_CLOSED instead of a server that refuses everything and is never closed", async () => {
    const server = createServer();
    await server.close();
    await assert.rejects(server.listen(), { name: "WirechanError", code: "ERR_SERVER_CLOSED" });
  });
});

describe("close() while a handler runs (B4)", { timeout: 20_000 }, () => {
  // closeTimeout far beyond every bound below: a close() that waited for it would fail the test.
  const closeTimeout = 60_000;

  it("HTTP: the connection the handler would open is refused 503, and close() does not wait closeTimeout", async () => {
    const { opened, open } = gate();
    let entered = false;
    let taken = 0;
    const server = createServer({ closeTimeout }).route("*", async (req) => {
      entered = true;
      await opened;
      withChannel(req, (conn) => {
        taken++;
        conn.send("too late", false);
      });
    });
    const handle = await server.listen();
    const answer = send(handle.port);
    await until(() => entered, "the handler to start");
    const closed = server.close();
    open();
    await within(closed, "close() to resolve", 5_000);
    const res = await answer;
    assert.equal(res.status, 503);
    assert.equal(res.headers["retry-after"], "5");
    assert.equal(res.text, "server shutting down");
    assert.equal(taken, 0, "the withChannel callback never got a connection");
    assert.equal(server.connectionCount, 0);
  });

  it("WebSocket: the upgrade is refused 503 and close() does not wait closeTimeout", async () => {
    const { opened, open } = gate();
    let entered = false;
    let taken = 0;
    const server = createServer({ closeTimeout }).route("*", async (req) => {
      entered = true;
      await opened;
      withChannel(req, () => taken++);
    });
    const handle = await server.listen();
    const ws = new WebSocket(handle.url.replace("http:", "ws:"));
    ws.on("error", () => {});
    const refused = new Promise<number>((resolve) => ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    await until(() => entered, "the handler to start");
    const closed = server.close();
    open();
    await within(closed, "close() to resolve", 5_000);
    assert.equal(await within(refused, "the upgrade's answer", 5_000), 503);
    assert.equal(taken, 0);
  });

  it("a handler that answers after close() began still gets its answer out", async () => {
    const { opened, open } = gate();
    let entered = false;
    const server = createServer({ closeTimeout }).route("*", async () => {
      entered = true;
      await opened;
      return { body: "finished" };
    });
    const handle = await server.listen();
    const answer = send(handle.port);
    await until(() => entered, "the handler to start");
    const closed = server.close();
    open();
    await within(closed, "close() to resolve", 5_000);
    assert.deepEqual([(await answer).status, (await answer).text], [200, "finished"]);
  });
});

describe("connections counted and closed", { timeout: 20_000 }, () => {
  // A WebSocket connection is counted as a member of the heartbeat: so it must be with the checks off too.
  for (const idleTimeout of [0, 60_000]) {
    it(`WebSocket and HTTP connections alike are counted and go away on close() (idleTimeout ${idleTimeout})`, async () => {
      const server = createServer({ idleTimeout }).route("*", (req) => withChannel(req, (conn) => conn.send("hi", false)));
      const handle = await server.listen();
      const clients = [0, 1].map(() => new WebSocket(handle.url.replace("http:", "ws:")));
      const closes = clients.map((ws) => new Promise<number>((resolve) => ws.once("close", (code: number) => resolve(code))));
      await Promise.all(clients.map((ws) => once(ws, "open")));
      const streaming = new AbortController();
      const stream = await fetch(handle.url, { signal: streaming.signal });
      assert.equal(stream.status, 200);
      await until(() => server.connectionCount === 3, "two WebSocket connections and one HTTP stream");
      clients[0]?.close();
      await until(() => server.connectionCount === 2, "the closed one no longer counted");
      await within(server.close(), "close() to resolve", 5_000);
      assert.deepEqual(await Promise.all(closes), [1005, 1001]);
      assert.equal(server.connectionCount, 0);
      streaming.abort();
    });
  }
});
