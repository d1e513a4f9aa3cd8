// The Node client's HTTP requests (src/client/node-http.ts), against hand-written servers on
// 127.0.0.1: a request that dies on a reused keep-alive socket before any answer is made once
// more on a fresh socket (the server closed the idle socket as the request went out), a request
// on a fresh socket is not, and a long-poll's request is one object of headers the server reads
// as sent. Counted in connections and requests, never timed.
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it, type TestContext } from "node:test";
import { nodeHttpFetch } from "../../src/client/node-http.js";

const TEST = { timeout: 30_000 };

const OK = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok";

/**
 * A server that answers each request with "ok", except that every request listed in `resetAt`
 * (by its number among all requests, from 1) makes it reset that socket instead of answering.
 */
async function handServer(t: TestContext, resetAt: ReadonlySet<number>): Promise<{ port: number; connections: () => number; requests: string[] }> {
  let connections = 0;
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer(function connection(socket) {
    connections++;
    sockets.add(socket);
    let buffered = "";
    socket.on("error", () => {});
    socket.on("data", function read(chunk) {
      buffered += chunk.toString("latin1");
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        const head = buffered.slice(0, end);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        requests.push(buffered.slice(0, end + 4 + length));
        buffered = buffered.slice(end + 4 + length);
        if (resetAt.has(requests.length)) {
          socket.resetAndDestroy();
          return;
        }
        socket.write(OK);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    // The client's agent keeps its sockets: close would wait for them.
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, requests };
}

describe("nodeHttpFetch", () => {
  it("makes a request that was reset on a reused keep-alive socket again, once, on a fresh socket (regression)", TEST, async (t) => {
    const server = await handServer(t, new Set([2]));
    const fetch = await nodeHttpFetch();
    const url = new URL(`http://127.0.0.1:${server.port}/p/send`);
    const first = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "[1]" });
    assert.equal(await first.text(), "ok");
    // The second goes out on the first's socket, which the server resets: it is made again.
    const second = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "[2]" });
    assert.equal(second.status, 200);
    assert.equal(await second.text(), "ok");
    assert.equal(server.requests.length, 3, "the reset request, then the same request again");
    assert.equal(server.connections(), 2, "the second try on a fresh socket");
    assert.match(server.requests[2] ?? "", /\r\n\r\n\[2\]$/, "the same body");
  });

  it("does not make a request again when it was reset on a fresh socket, nor twice", TEST, async (t) => {
    const server = await handServer(t, new Set([1, 3, 4]));
    const fetch = await nodeHttpFetch();
    const url = new URL(`http://127.0.0.1:${server.port}/p/poll`);
    await assert.rejects(fetch(url, {}), (error: NodeJS.ErrnoException) => error.code === "ECONNRESET");
    assert.equal(server.requests.length, 1, "a fresh socket's reset is an answer of sorts: no second try");
    assert.equal(await (await fetch(url, {})).text(), "ok");
    // Reused socket reset (request 3), its one retry reset too (request 4): the error surfaces.
    await assert.rejects(fetch(url, {}), (error: NodeJS.ErrnoException) => error.code === "ECONNRESET");
    assert.equal(server.requests.length, 4);
  });

  it("sends the given headers as they are, with the host and the body's length", TEST, async (t) => {
    const server = await handServer(t, new Set());
    const fetch = await nodeHttpFetch();
    const url = new URL(`http://127.0.0.1:${server.port}/p/poll?x=1`);
    await (await fetch(url, { headers: { "x-wirechan-session": "s", "x-wirechan-recv": "7" } })).text();
    await (await fetch(url, { method: "POST", headers: { "x-wirechan-session": "s" }, body: "[\"é\"]" })).text();
    const [poll, post] = server.requests;
    assert.match(poll ?? "", /^GET \/p\/poll\?x=1 HTTP\/1\.1\r\n/);
    assert.match(poll ?? "", new RegExp(`\r\nhost: 127\\.0\\.0\\.1:${server.port}\r\n`));
    assert.match(poll ?? "", /\r\nx-wirechan-session: s\r\nx-wirechan-recv: 7\r\n/);
    assert.doesNotMatch(poll ?? "", /content-length|transfer-encoding/i);
    assert.match(post ?? "", /^POST /);
    assert.match(post ?? "", /\r\ncontent-length: 6\r\n/, "UTF-8 bytes (6), not characters (5)");
    assert.doesNotMatch(post ?? "", /transfer-encoding/i);
  });
});
