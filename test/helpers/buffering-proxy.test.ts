// BufferingProxy against real peers on 127.0.0.1: a raw scripted HTTP server whose every byte the
// test controls, and a node:http server with a `ws` WebSocket server on it. "Nothing arrived"
// is checked after an explicit handshake, never after a sleep: the server's write has completed,
// the proxy reports holding those bytes, and a few more round trips through the proxy have passed,
// so anything it had forwarded would have arrived.
import assert from "node:assert/strict";
import { Agent, createServer as createHttpServer, get, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { WebSocketServer } from "ws";
import { until, within } from "./async.js";
import { BUFFERING_PROXY_LIMITS, BufferingProxy } from "./buffering-proxy.js";
import { type BodyMode, declaredBody, HttpFramer, type MessageHead } from "./http-framer.js";
import { openWebSocket, RawClient, RecordingServer } from "./loopback-peers.js";
import { closeServer, listenOnLoopback } from "../../scripts/net/tcp-kit.js";

const TEST = { timeout: 30_000 };
const PING = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
const PONG = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong";

/** One server-side connection of the scripted server: what it got, and writes that resolve once done. */
class ScriptedConnection {
  text = "";
  pinging = false;
  private answered = 0;

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.text += chunk.toString("latin1");
      if (this.pinging) this.answerPings();
    });
  }

  /** Complete request heads received so far. */
  get requests(): number {
    return this.text.split("\r\n\r\n").length - 1;
  }

  answerPings(): void {
    for (; this.answered < this.requests; this.answered++) this.socket.write(PONG);
  }

  /** Resolves once the bytes were handed to the kernel. */
  write(data: string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, "latin1", (error) => (error ? reject(error) : resolve())));
  }

  end(data = ""): Promise<void> {
    return new Promise((resolve) => this.socket.end(data, "latin1", () => resolve()));
  }
}

/**
 * A raw HTTP server: a connection whose first request is GET /ping answers every request with
 * PONG; any other is handed to the test, which writes the response bytes itself.
 */
class ScriptedServer extends RecordingServer {
  private readonly ready: ScriptedConnection[] = [];
  private waiter: ((conn: ScriptedConnection) => void) | undefined;

  next(): Promise<ScriptedConnection> {
    const conn = this.ready.shift();
    if (conn !== undefined) return Promise.resolve(conn);
    return within(new Promise((resolve) => (this.waiter = resolve)), "a scripted connection");
  }

  protected serve(socket: Socket): void {
    socket.on("error", () => {}); // reset by the proxy in some tests
    const conn = new ScriptedConnection(socket);
    socket.once("data", () => {
      if (conn.text.startsWith("GET /ping ")) {
        conn.pinging = true;
        conn.answerPings();
      } else if (this.waiter !== undefined) {
        this.waiter(conn);
        this.waiter = undefined;
      } else {
        this.ready.push(conn);
      }
    });
  }
}

/** Sends `request` and waits for `responseBytes` more bytes. */
async function exchange(c: RawClient, request: string, responseBytes: number): Promise<void> {
  const target = c.received + responseBytes;
  c.socket.write(request, "latin1");
  await within(c.waitForBytes(target), "a response");
  assert.equal(c.received, target, "the response arrived");
}

interface Setup {
  server: ScriptedServer;
  proxy: BufferingProxy;
  /** Waits until the proxy holds at least `bytes`, then for three ping round trips through it. */
  heldAndSettled: (bytes: number) => Promise<void>;
  client: () => RawClient;
}

async function scripted(t: TestContext): Promise<Setup> {
  const server = new ScriptedServer();
  await server.listen();
  t.after(() => server.close());
  const proxy = await BufferingProxy.start({ targetPort: server.port });
  t.after(() => proxy.close());
  const client = (): RawClient => {
    const c = new RawClient(proxy.port);
    t.after(() => {
      c.socket.destroy();
    });
    return c;
  };
  const pinger = client();
  const heldAndSettled = async (bytes: number): Promise<void> => {
    await until(() => proxy.heldBytes >= bytes, `the proxy to hold ${bytes} bytes (holds ${proxy.heldBytes})`);
    for (let i = 0; i < 3; i++) await exchange(pinger, PING, PONG.length);
  };
  return { server, proxy, heldAndSettled, client };
}

describe("BufferingProxy", () => {
  it("forwards a Content-Length response whole, only once its last byte is in", TEST, async (t) => {
    const { server, proxy, heldAndSettled, client } = await scripted(t);
    const c = client();
    c.socket.write("GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n");
    const conn = await server.next();
    const first = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello";
    await conn.write(first);
    await heldAndSettled(first.length);
    assert.equal(c.received, 0, "nothing of the response arrived while its end was missing");
    await conn.write("world");
    await within(c.waitForBytes(first.length + 5), "the whole response");
    assert.equal(c.data.toString("latin1"), `${first}world`, "the whole response, unchanged");
    assert.equal(proxy.heldBytes, 0, "nothing held any more");
  });

  it("forwards a chunked response only after its last chunk and trailer", TEST, async (t) => {
    const { server, heldAndSettled, client } = await scripted(t);
    const c = client();
    c.socket.write("GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n");
    const conn = await server.next();
    const parts = ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n", "6\r\n world\r\n0\r\nX-Sum: 11\r", "\n\r\n"];
    await conn.write(parts[0] ?? "");
    await heldAndSettled((parts[0] ?? "").length);
    assert.equal(c.received, 0, "nothing arrived after the first chunk");
    await conn.write(parts[1] ?? "");
    await heldAndSettled((parts[0] ?? "").length + (parts[1] ?? "").length);
    assert.equal(c.received, 0, "nothing arrived after the last chunk with its trailer unfinished");
    await conn.write(parts[2] ?? "");
    const whole = parts.join("");
    await within(c.waitForBytes(whole.length), "the whole response");
    assert.equal(c.data.toString("latin1"), whole, "the whole response, trailer included");
  });

  it("forwards pipelined keep-alive responses one after another as each completes (1xx, HEAD, 204, chunked)", TEST, async (t) => {
    const { server, proxy, heldAndSettled, client } = await scripted(t);
    const c = client();
    // The stray CRLF after the first request is allowed before a request line.
    c.socket.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nDELETE /c HTTP/1.1\r\nHost: x\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n");
    const conn = await server.next();
    await until(() => conn.requests === 4, "the four requests at the server");
    const complete = [
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\naaa",
      // A response to HEAD states the length of a body it doesn't have.
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
      "HTTP/1.1 204 No Content\r\n\r\n",
    ].join("");
    const last = ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nddd\r\n", "0\r\n\r\n"];
    await conn.write(complete + (last[0] ?? ""));
    await within(c.waitForBytes(complete.length), "the four complete responses");
    await heldAndSettled((last[0] ?? "").length);
    assert.equal(c.data.toString("latin1"), complete, "exactly the complete responses arrived; the unfinished one is held");
    assert.equal(proxy.responsesForwarded, 4 + 3, "four responses (and three pongs) forwarded");
    await conn.write(last[1] ?? "");
    await within(c.waitForBytes(complete.length + last.join("").length), "the last response");
    assert.equal(c.data.toString("latin1"), complete + last.join(""), "then the last one, whole");
    assert.equal(proxy.accepted, 2, "all on one connection (plus the pinger's)");
  });

  it("its framer finds the same message ends whether the bytes come whole or one at a time", TEST, () => {
    const stream = [
      "HTTP/1.1 100 Continue\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\na;ext=1\r\n0123456789\r\n1\r\n!\r\n0\r\nA: b\r\nC: d\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
      "HTTP/1.1 200 OK\r\n\r\nuntil the close",
    ];
    const bytes = Buffer.from(stream.join(""), "latin1");
    const ends = (pieces: Buffer[]): number[] => {
      const framer = new HttpFramer("response", responseFraming);
      const found: number[] = [];
      let offset = 0;
      for (const piece of pieces) {
        for (const event of framer.feed(piece)) if (event.kind === "end") found.push(offset + event.at);
        offset += piece.length;
      }
      assert.equal(framer.untilClose, true, "the last response runs until the close");
      return found;
    };
    let at = 0;
    const expected = stream.slice(0, -1).map((message) => (at += message.length));
    assert.deepEqual(ends([bytes]), expected, "whole");
    assert.deepEqual(ends([...bytes].map((b) => Buffer.from([b]))), expected, "one byte at a time");
  });

  it("keeps a node:http keep-alive connection working: sequential requests, fixed and chunked bodies", TEST, async (t) => {
    const http = createHttpServer((req, res) => {
      if (req.url === "/chunked") {
        res.write("chun");
        res.end("ked");
      } else res.end("fixed");
    });
    const port = await httpServer(t, http);
    const proxy = await BufferingProxy.start({ targetPort: port });
    t.after(() => proxy.close());
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const bodies: string[] = [];
    for (const path of ["/fixed", "/chunked", "/fixed", "/chunked"]) bodies.push((await within(httpGet(proxy.port, path, agent), `GET ${path}`)).body);
    assert.deepEqual(bodies, ["fixed", "chunked", "fixed", "chunked"], "every body whole");
    assert.equal(proxy.accepted, 1, "one connection for all four");
    assert.equal(proxy.responsesForwarded, 4, "four responses forwarded");
  });

  it("never forwards an SSE response, while other requests through it still get answers", TEST, async (t) => {
    const events: Array<(data: string) => Promise<void>> = [];
    const http = createHttpServer((req, res) => {
      if (req.url !== "/events") {
        res.end("pong");
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      events.push((data) => new Promise((resolve) => res.write(data, () => resolve())));
    });
    const port = await httpServer(t, http);
    const proxy = await BufferingProxy.start({ targetPort: port });
    t.after(() => proxy.close());
    let responded = false;
    const stream = get({ host: "127.0.0.1", port: proxy.port, path: "/events", agent: false }, (res: IncomingMessage) => {
      responded = true;
      res.resume();
    });
    stream.on("error", () => {}); // destroyed at the end
    t.after(() => {
      stream.destroy();
    });
    await until(() => events.length === 1, "the stream to open at the server");
    let written = 0;
    for (const data of ["data: one\n\n", `data: ${"x".repeat(10_000)}\n\n`]) {
      await events[0]?.(data);
      written += data.length;
      await until(() => proxy.heldBytes >= written, "the proxy to hold the stream so far");
      for (let i = 0; i < 3; i++) assert.equal((await within(httpGet(proxy.port, "/other"), "a GET beside the stream")).body, "pong");
      assert.equal(responded, false, "the stream's response never reached the client");
    }
  });

  it("answers 403 to a WebSocket upgrade, first request or later on a keep-alive connection; it never reaches the server", TEST, async (t) => {
    const http = createHttpServer((_req, res) => res.end("ok"));
    const wss = new WebSocketServer({ server: http });
    let upgrades = 0;
    wss.on("connection", (ws) => {
      upgrades += 1;
      ws.close();
    });
    const port = await httpServer(t, http);
    t.after(async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    });
    const proxy = await BufferingProxy.start({ targetPort: port });
    t.after(() => proxy.close());
    assert.equal(await within(openWebSocket(proxy.url.replace("http:", "ws:")), "a WebSocket through the proxy"), 403, "the upgrade got 403");
    assert.equal(upgrades, 0, "the server never saw it");
    assert.equal(proxy.upgradesRefused, 1, "one upgrade refused");

    const { server, proxy: rawProxy, client } = await scripted(t);
    const c = client();
    await exchange(c, PING, PONG.length);
    c.socket.write("GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    const result = await within(c.closed, "the connection to close after the 403");
    assert.equal(result.data.toString("latin1"), `${PONG}HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, "the pong, then the 403");
    // The only server connection that got anything (the pinger's has been idle).
    const serverSide = server.connections.find((conn) => conn.received > 0);
    await until(() => serverSide?.socket.readableEnded === true, "the server side to see the proxy close its end");
    assert.equal(serverSide?.received, PING.length, "the server got the ping and nothing of the upgrade");
    assert.equal(rawProxy.upgradesRefused, 1, "counted");
  });

  it("forwards a close-delimited response when the server closes, and drops a truncated one", TEST, async (t) => {
    const { server, proxy, heldAndSettled, client } = await scripted(t);
    const c = client();
    c.socket.write("GET /old HTTP/1.1\r\nHost: x\r\n\r\n");
    const conn = await server.next();
    const head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ";
    await conn.write(head);
    await heldAndSettled(head.length);
    assert.equal(c.received, 0, "nothing before the server closed");
    await conn.end("part two");
    const result = await within(c.closed, "the response and the close");
    assert.equal(result.data.toString("latin1"), `${head}part two`, "the whole response, then the end");
    assert.equal(result.ended, true, "ended cleanly");

    const cut = client();
    cut.socket.write("GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
    const short = await server.next();
    await short.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
    const truncated = await within(cut.closed, "the truncated response's connection to close");
    assert.equal(truncated.data.length, 0, "no part of a truncated response is forwarded");
    assert.equal(proxy.responsesDropped, 1, "it counts as dropped");
  });

  it("cuts a pair whose response outgrows what it may hold", TEST, async (t) => {
    const { server, proxy, client } = await scripted(t);
    const c = client();
    c.socket.write("GET /huge HTTP/1.1\r\nHost: x\r\n\r\n");
    const conn = await server.next();
    const size = BUFFERING_PROXY_LIMITS.heldBytesPerPair + 1024 * 1024;
    conn.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
    const piece = "x".repeat(64 * 1024);
    for (let sent = 0; sent < size && !conn.socket.destroyed; sent += piece.length) await conn.write(piece).catch(() => undefined);
    const result = await within(c.closed, "the client of the cut pair to close");
    assert.equal(result.data.length, 0, "nothing of the oversized response was forwarded");
    assert.equal(result.error, "ECONNRESET", "the client saw a reset");
    assert.equal(proxy.cuts, 1, "one pair cut");
    assert.ok(proxy.bufferedBytes < 1024 * 1024, "its bytes were let go");
  });

  it("close resets every pair, stops listening, and is idempotent", TEST, async (t) => {
    const { server, proxy, client } = await scripted(t);
    const c = client();
    c.socket.write("GET /pending HTTP/1.1\r\nHost: x\r\n\r\n");
    await server.next();
    await Promise.all([proxy.close(), proxy.close()]);
    assert.equal(proxy.openConnections, 0, "no pair left");
    assert.equal((await within(c.closed, "the client to be closed")).error, "ECONNRESET", "the open client was reset");
    const late = new RawClient(proxy.port);
    assert.equal((await within(late.closed, "a connection after close")).error, "ECONNREFUSED", "nothing listens after close");
    await assert.rejects(BufferingProxy.start({ targetPort: 70_000 }), RangeError, "not a port");
  });
});

/** The response framing rules that don't need the request: 1xx, 204 and 304 have no body; no length means until the close. */
function responseFraming(head: MessageHead): BodyMode {
  const status = head.status ?? 0;
  if (status < 200 || status === 204 || status === 304) return { kind: "none" };
  const body = declaredBody(head);
  return body === undefined || body.kind === "none" ? { kind: "close" } : body;
}

async function httpServer(t: TestContext, http: HttpServer): Promise<number> {
  const port = await listenOnLoopback("test http server", http);
  t.after(async () => {
    http.closeAllConnections();
    await closeServer(http);
  });
  return port;
}

function httpGet(port: number, path: string, agent: Agent | false = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

