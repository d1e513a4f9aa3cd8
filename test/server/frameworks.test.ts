// Mounting wirechan on Express 5, Fastify 5 and a bare node:http server, each on a real
// server on 127.0.0.1 with an OS-chosen port. The setups below are the snippets of
// docs/mounting.md, line for line (only the port differs), and every test checks the same
// things through each: the framework's own route, a wirechan plain route, a WebSocket echo,
// an SSE stream to an EventSource, a long-poll answered by conn.send, a request body read by
// wirechan, and that unmatched paths reach the framework's own 404.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { EventSource } from "eventsource";
import express from "express";
import Fastify from "fastify";
import WebSocket from "ws";
import { type Connection, createServer, type RequestInfo, type WirechanServer, withChannel } from "../../src/server/index.js";
import { until } from "../helpers/async.js";

/** What the tests saw of the requests wirechan took over, and the long-polls they hold. */
interface Probe {
  /** Each `/live` connection's request, in order. */
  live: RequestInfo[];
  /** `/later` long-polls, waiting for the test to answer them. */
  parked: Connection[];
}

/**
 * The wirechan server of docs/mounting.md (`/hello` and `/live`), plus two routes only the
 * tests need: `/later` parks a long-poll for the test to answer, `/upload` reads the body.
 */
function makeWirechan(probe: Probe): WirechanServer {
  const wirechan = createServer()
    .route("/hello", () => ({ body: "hello from wirechan" }))
    .route("/live", (req) =>
      withChannel(req, (conn) => {
        probe.live.push(conn.request);
        if (conn.isWebSocket) conn.onReceive((message) => conn.send(message)); // WebSocket: echo
        else conn.send("hello"); // SSE: one event; plain HTTP: answers the long-poll
      }),
    );
  return wirechan
    .route("/later", (req) => withChannel(req, (conn) => probe.parked.push(conn)))
    .route("/upload", async (req) => ({ body: `wirechan read ${await req.text()}` }));
}

/** One framework with wirechan mounted on it, listening. */
interface Stack {
  /** `http://127.0.0.1:port` */
  base: string;
  /** `await wirechan.close()`, then closes the framework's server. */
  close(): Promise<void>;
}

interface Framework {
  name: string;
  start(wirechan: WirechanServer): Promise<Stack>;
  /** The framework's own route, next to wirechan, and what it answers. */
  ownRoute: { path: string; body: unknown };
  /** The framework's own JSON body parsing, on a route of its own. */
  ownBodyRoute: string;
  /** What the framework's 404 looks like (wirechan's own is the text "not found"). */
  notFound: (res: Response, text: string) => void;
}

function baseOf(address: AddressInfo | string | null): string {
  assert.ok(address !== null && typeof address === "object", "listening on a TCP port");
  return `http://127.0.0.1:${address.port}`;
}

// docs/mounting.md, "Express".
async function startExpress(wirechan: WirechanServer): Promise<Stack> {
  const app = express();
  app.use(wirechan.handle); // first, before any body parser: wirechan reads request bodies itself
  app.use(express.json());
  app.get("/api/status", (_req, res) => {
    res.json({ ok: true });
  });
  app.post("/api/echo", (req, res) => {
    res.json(req.body);
  });
  const server = app.listen(0, "127.0.0.1");
  wirechan.attach(server); // WebSocket upgrades: Express never sees them
  await once(server, "listening");
  return {
    base: baseOf(server.address()),
    close: async () => {
      await wirechan.close(); // ends WebSocket, SSE and pending long-polls
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// docs/mounting.md, "Fastify".
async function startFastify(wirechan: WirechanServer): Promise<Stack> {
  const fastify = Fastify();
  fastify.addHook("onRequest", (request, reply, done) => {
    let passedOn = false;
    wirechan.handle(request.raw, reply.raw, () => {
      passedOn = true; // not a wirechan route: Fastify goes on (its routes, its 404)
      done();
    });
    if (!passedOn) reply.hijack(); // wirechan answers this one; Fastify stays out of it
  });
  fastify.get("/api/status", async () => ({ ok: true }));
  fastify.post("/api/echo", async (request) => request.body);
  wirechan.attach(fastify.server);
  await fastify.listen({ port: 0, host: "127.0.0.1" });
  return {
    base: baseOf(fastify.server.address()),
    close: async () => {
      await wirechan.close();
      await fastify.close();
    },
  };
}

// docs/mounting.md, "node:http".
async function startNodeHttp(wirechan: WirechanServer): Promise<Stack> {
  const server = createHttpServer(wirechan.handle); // paths without a route: 404
  wirechan.attach(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    base: baseOf(server.address()),
    close: async () => {
      await wirechan.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const frameworks: Framework[] = [
  {
    name: "Express 5: app.use(wirechan.handle) + wirechan.attach(app.listen(...))",
    start: startExpress,
    ownRoute: { path: "/api/status", body: { ok: true } },
    ownBodyRoute: "/api/echo",
    notFound: (res, text) => {
      assert.equal(res.status, 404);
      assert.match(text, /Cannot GET \/nope/, "Express's finalhandler answered");
    },
  },
  {
    name: "Fastify 5: onRequest hook + reply.hijack() + wirechan.attach(fastify.server)",
    start: startFastify,
    ownRoute: { path: "/api/status", body: { ok: true } },
    ownBodyRoute: "/api/echo",
    notFound: (res, text) => {
      assert.equal(res.status, 404);
      assert.deepEqual(JSON.parse(text), { message: "Route GET:/nope not found", error: "Not Found", statusCode: 404 }, "Fastify's 404 answered");
    },
  },
];

/** Opens a ws client and waits for `open`, or rejects with the HTTP status it got instead. */
function openWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

async function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, "close");
  ws.close();
  await closed;
}

/** Waits (bounded by the test's timeout) until `done()` holds. */
/** Starts a stack on a fresh wirechan, runs `body`, and always closes everything. */
async function withStack(start: (wirechan: WirechanServer) => Promise<Stack>, body: (stack: Stack, probe: Probe) => Promise<void>): Promise<void> {
  const probe: Probe = { live: [], parked: [] };
  const stack = await start(makeWirechan(probe));
  try {
    await body(stack, probe);
  } finally {
    await stack.close();
  }
}

// The checks every mounting must pass.

async function checkPlainRoutes({ base }: Stack): Promise<void> {
  const hello = await fetch(`${base}/hello?x=1`);
  assert.equal(hello.status, 200);
  assert.equal(hello.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await hello.text(), "hello from wirechan");
}

async function checkWebSocket({ base }: Stack, probe: Probe): Promise<void> {
  const ws = await openWs(`${base.replace("http:", "ws:")}/live?room=1`);
  try {
    const got: string[] = [];
    ws.on("message", (data: Buffer) => got.push(String(data)));
    for (const m of ["one", "two", "three"]) ws.send(m);
    while (got.length < 3) await once(ws, "message");
    assert.deepEqual(got, ["one", "two", "three"]);
    assert.equal(probe.live[0]?.url, "/live?room=1", "the handler saw the full path");
  } finally {
    await closeWs(ws);
  }
}

async function checkSse({ base }: Stack, probe: Probe): Promise<void> {
  const es = new EventSource(`${base}/live`);
  try {
    const event = await new Promise<MessageEvent>((resolve, reject) => {
      es.addEventListener("message", resolve, { once: true });
      es.addEventListener("error", reject, { once: true });
    });
    assert.equal(event.data, "hello");
    assert.equal(probe.live[0]?.headers.accept, "text/event-stream");
  } finally {
    es.close();
  }
}

async function checkLongPoll({ base }: Stack, probe: Probe): Promise<void> {
  let answered = false;
  const poll = fetch(`${base}/later`).then((res) => {
    answered = true;
    return res;
  });
  await until(() => probe.parked.length === 1, "the request to be parked");
  const conn = probe.parked[0];
  assert.ok(conn !== undefined);
  assert.equal(conn.transport, "http");
  assert.equal(answered, false, "the long-poll waits for conn.send");
  assert.equal(conn.send({ headers: { "content-type": "application/json; charset=utf-8" }, body: '"news"' }), true);
  const res = await poll;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(await res.json(), "news");
  assert.equal(conn.isOpen, false, "send answered the long-poll and closed it");
}

async function checkBodies({ base }: Stack, ownBodyRoute: string): Promise<void> {
  const json = { headers: { "content-type": "application/json" }, body: '{"a":1}' };
  const wire = await fetch(`${base}/upload`, { method: "POST", ...json });
  assert.equal(await wire.text(), 'wirechan read {"a":1}', "the framework left the body to wirechan");
  const own = await fetch(`${base}${ownBodyRoute}`, { method: "POST", ...json });
  assert.deepEqual(await own.json(), { a: 1 }, "the framework still parses bodies on its own routes");
}

async function checkFallThrough({ base }: Stack, framework: Framework): Promise<void> {
  const own = await fetch(`${base}${framework.ownRoute.path}`);
  assert.equal(own.status, 200);
  assert.deepEqual(await own.json(), framework.ownRoute.body);
  const missing = await fetch(`${base}/nope`);
  framework.notFound(missing, await missing.text());
  // Upgrades are wirechan's alone (the only `upgrade` listener): a path without a route gets its 404.
  await assert.rejects(openWs(`${base.replace("http:", "ws:")}/nope`), { status: 404 });
}

for (const framework of frameworks) {
  describe(framework.name, { timeout: 20_000 }, () => {
    it("the framework's own routes answer, and unmatched paths reach its 404", () =>
      withStack(framework.start, (stack) => checkFallThrough(stack, framework)));

    it("a wirechan plain route answers", () => withStack(framework.start, checkPlainRoutes));

    it("WebSocket via withChannel: echo, with the full request path", () => withStack(framework.start, checkWebSocket));

    it("SSE via withChannel reaches an EventSource", () => withStack(framework.start, checkSse));

    it("a long-poll via withChannel is answered by conn.send", () => withStack(framework.start, checkLongPoll));

    it("wirechan reads request bodies; the framework parses its own", () =>
      withStack(framework.start, (stack) => checkBodies(stack, framework.ownBodyRoute)));

    it("close() ends open WebSocket, SSE and long-poll connections, then the framework server closes", async () => {
      const probe: Probe = { live: [], parked: [] };
      const stack = await framework.start(makeWirechan(probe));
      let closed = false;
      let ws: WebSocket | undefined;
      try {
        ws = await openWs(`${stack.base.replace("http:", "ws:")}/live`);
        const wsClosed = once(ws, "close");
        const sse = await fetch(`${stack.base}/live`, { headers: { accept: "text/event-stream" } });
        assert.equal(sse.headers.get("content-type"), "text/event-stream; charset=utf-8");
        const sseText = sse.text();
        const poll = fetch(`${stack.base}/later`);
        await until(() => probe.parked.length === 1 && probe.live.length === 2, "one parked request and two live connections");
        await stack.close();
        closed = true;
        const [code] = (await wsClosed) as [number];
        assert.equal(code, 1001, "WebSocket clients are told the server goes away");
        assert.equal(await sseText, "data: hello\n\n", "the SSE stream is ended");
        const polled = await poll;
        assert.equal(polled.headers.get("connection"), "close");
        assert.equal(await polled.text(), "", "a waiting long-poll is ended");
      } finally {
        if (ws !== undefined) await closeWs(ws);
        if (!closed) await stack.close();
      }
    });
  });
}

describe("bare node:http: createServer(wirechan.handle) + wirechan.attach(server)", { timeout: 20_000 }, () => {
  it("serves plain routes, WebSocket, SSE and long-polls; other paths get wirechan's 404", () =>
    withStack(startNodeHttp, async (stack, probe) => {
      await checkPlainRoutes(stack);
      await checkWebSocket(stack, probe);
      probe.live.length = 0;
      await checkSse(stack, probe);
      await checkLongPoll(stack, probe);
      const missing = await fetch(`${stack.base}/nope`);
      assert.equal(missing.status, 404);
      assert.equal(await missing.text(), "not found");
      await assert.rejects(openWs(`${stack.base.replace("http:", "ws:")}/nope`), { status: 404 });
    }));
});

describe("Express: mounting under a path", { timeout: 20_000 }, () => {
  it("app.use('/rt', wirechan.handle): HTTP routes see the path without /rt, WebSocket upgrades see it with /rt", async () => {
    const seen: string[] = [];
    const wirechan = createServer()
      .route("/live", (req) =>
        withChannel(req, (conn) => {
          seen.push(conn.request.url);
          if (conn.isWebSocket) conn.onReceive((message) => conn.send(message));
          else conn.send("hello");
        }),
      )
      .route("/rt/live", (req) =>
        withChannel(req, (conn) => {
          seen.push(conn.request.url);
          if (conn.isWebSocket) conn.onReceive((message) => conn.send(`full ${String(message)}`));
          else conn.send("only reached by /rt/rt/live over HTTP");
        }),
      );
    const app = express();
    app.use("/rt", wirechan.handle);
    const server = app.listen(0, "127.0.0.1");
    wirechan.attach(server);
    await once(server, "listening");
    const base = baseOf(server.address());
    let ws: WebSocket | undefined;
    try {
      // Express strips the mount path from req.url before wirechan routes it.
      const poll = await fetch(`${base}/rt/live?q=1`);
      assert.equal(await poll.text(), "hello");
      assert.equal(seen[0], "/live?q=1", "the handler sees the stripped url, not /rt/live");
      // Outside the mount path Express never calls wirechan: its own 404.
      const outside = await fetch(`${base}/live`);
      assert.equal(outside.status, 404);
      assert.match(await outside.text(), /Cannot GET \/live/);
      // Upgrades never pass through Express: the same URL reaches the /rt/live route, unstripped.
      ws = await openWs(`${base.replace("http:", "ws:")}/rt/live`);
      ws.send("x");
      const [message] = (await once(ws, "message")) as [Buffer];
      assert.equal(String(message), "full x");
      assert.equal(seen[1], "/rt/live");
    } finally {
      if (ws !== undefined) await closeWs(ws);
      await wirechan.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
