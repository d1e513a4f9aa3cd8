// The check in front of every route: DNS rebinding (Host on a loopback address), origins,
// maxConnections, shutting down; and the refusals as error packets under the protocol's path.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { type AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { connect } from "../../src/client/index.js";
import { createServer, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { bodyOf, rawExchange, send } from "./raw-clients.js";

/** A server listening on 127.0.0.1 with a plain route at `/` and the protocol at `/wirechan`; closed when the test ends. */
async function listening(t: { after(fn: () => Promise<void>): void }, options: ServerOptions = {}): Promise<{ server: WirechanServer; port: number }> {
  const server = createServer(options).route("/", () => ({ body: "hello" }));
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, port: handle.port };
}

/** A WebSocket upgrade request for `path`, as raw bytes. */
function upgrade(path: string, headers: string): string {
  return `GET ${path} HTTP/1.1\r\n${headers}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

const hello = JSON.stringify([["hello", 1, { sid: null, secret: null, recv: 0 }]]);

describe("Host on a loopback address (DNS rebinding, B13)", { timeout: 20_000 }, () => {
  it("Host and Origin both evil.example:P on a server listening on 127.0.0.1: 403 (the repro)", async (t) => {
    const { port } = await listening(t);
    const evil = `evil.example:${port}`;
    const withOrigin = await send(port, { headers: { host: evil, origin: `http://${evil}` } });
    assert.equal(withOrigin.status, 403);
    assert.match(withOrigin.text, /allowedHosts/, "the refusal names the option that changes it");
    // A rebinding page's same-origin GET carries no Origin at all.
    assert.equal((await send(port, { headers: { host: evil } })).status, 403);
  });

  it("a normal client, a loopback name and an IP literal are served", async (t) => {
    const { port } = await listening(t);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "hello");
    for (const host of [`localhost:${port}`, `app.localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      const answer = await send(port, { headers: { host, origin: `http://${host}` } });
      assert.deepEqual([answer.status, answer.text], [200, "hello"], host);
    }
  });

  it("allowedHosts lets a listed name in; true lets any in", async (t) => {
    const listed = await listening(t, { allowedHosts: ["evil.example"] });
    const evil = `evil.example:${listed.port}`;
    assert.equal((await send(listed.port, { headers: { host: evil, origin: `http://${evil}` } })).status, 200);
    assert.equal((await send(listed.port, { headers: { host: `other.example:${listed.port}` } })).status, 403);
    const any = await listening(t, { allowedHosts: true });
    assert.equal((await send(any.port, { headers: { host: "anything.example" } })).status, 200);
  });

  it("applies to WebSocket upgrades and the protocol's endpoints, refused with an ERR_HOST packet there", async (t) => {
    const { port } = await listening(t);
    const plain = await rawExchange(port, upgrade("/", `Host: evil.example:${port}\r\n`));
    assert.match(plain, /^HTTP\/1\.1 403 /);
    const ws = await rawExchange(port, upgrade("/wirechan", `Host: evil.example:${port}\r\nOrigin: http://evil.example:${port}\r\n`));
    assert.match(ws, /^HTTP\/1\.1 403 /);
    assert.match(ws, /content-type: application\/json/i);
    assert.equal((bodyOf(ws) as unknown[][])[0]?.[1], "ERR_HOST");
    const open = await send(port, { method: "POST", path: "/wirechan/open", headers: { host: `evil.example:${port}` }, body: hello });
    assert.equal(open.status, 403);
    assert.match(String(open.headers["content-type"]), /^application\/json/);
    const [frame] = JSON.parse(open.text) as unknown[][];
    assert.deepEqual(frame?.slice(0, 2), ["error", "ERR_HOST"]);
    assert.equal(frame?.[3], 1, "fatal");
  });
});

describe("refusals under the protocol's path are error packets", { timeout: 20_000 }, () => {
  it("maxConnections: 503 with Retry-After and ERR_TOO_MANY_CONNECTIONS, which the client reads", async (t) => {
    const { port } = await listening(t, { maxConnections: 0, retryAfter: 7 });
    const open = await send(port, { method: "POST", path: "/wirechan/open", body: hello });
    assert.equal(open.status, 503);
    assert.equal(open.headers["retry-after"], "7");
    assert.deepEqual((JSON.parse(open.text) as unknown[][])[0]?.slice(0, 2), ["error", "ERR_TOO_MANY_CONNECTIONS"]);
    const ws = await rawExchange(port, upgrade("/wirechan", `Host: 127.0.0.1:${port}\r\n`));
    assert.match(ws, /^HTTP\/1\.1 503 /);
    assert.match(ws, /retry-after: 7/i);
    assert.equal((bodyOf(ws) as unknown[][])[0]?.[1], "ERR_TOO_MANY_CONNECTIONS");
    await assert.rejects(connect(`http://127.0.0.1:${port}`, { transports: ["sse"] }), { code: "ERR_TOO_MANY_CONNECTIONS", message: /maxConnections/ });
    // Other paths keep plain text.
    const plain = await send(port);
    assert.deepEqual([plain.status, plain.text], [503, "too many connections (maxConnections is 0)"]);
    assert.match(String(plain.headers["content-type"]), /^text\/plain/);
  });

  it("an origin the cors policy refuses: 403 with ERR_ORIGIN", async (t) => {
    const { port } = await listening(t);
    const open = await send(port, { method: "POST", path: "/wirechan/open", headers: { origin: "http://other.example" }, body: hello });
    assert.equal(open.status, 403);
    assert.deepEqual((JSON.parse(open.text) as unknown[][])[0]?.slice(0, 2), ["error", "ERR_ORIGIN"]);
    const plain = await send(port, { headers: { origin: "http://other.example" } });
    assert.equal(plain.status, 403);
    assert.doesNotMatch(plain.text, /^\[/);
  });

  it("shutting down: 503 with ERR_SERVER_CLOSED, on a server it is mounted on", async (t) => {
    const server = createServer().route("/", () => ({ body: "hello" }));
    const httpServer: HttpServer = createHttpServer((req, res) => server.handle(req, res));
    server.attach(httpServer);
    httpServer.listen(0, "127.0.0.1");
    await once(httpServer, "listening");
    t.after(() => new Promise((resolve) => httpServer.close(resolve)));
    const { port } = httpServer.address() as AddressInfo;
    await server.close();
    const open = await send(port, { method: "POST", path: "/wirechan/open", body: hello });
    assert.equal(open.status, 503);
    assert.ok(open.headers["retry-after"] !== undefined);
    assert.deepEqual((JSON.parse(open.text) as unknown[][])[0]?.slice(0, 2), ["error", "ERR_SERVER_CLOSED"]);
    const plain = await send(port);
    assert.deepEqual([plain.status, plain.text], [503, "server shutting down"]);
  });
});
