// A connection keeps its request's headers packed into one string and builds the object when
// asked: what it builds must be what node built, name for name, value for value, in order.
import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import WebSocket from "ws";
import { type Connection, createServer, type ServerRequest, withChannel } from "../../src/server/index.js";
import { packHeaders, RequestSummary, unpackHeaders } from "../../src/server/request-summary.js";

/** The headers as node made them, for a request whose connection is then opened over `transport`. */
async function eagerAndLazy(raw: (port: number) => Promise<void>): Promise<{ eager: IncomingHttpHeaders; lazy: IncomingHttpHeaders; conn: Connection }> {
  let eager: IncomingHttpHeaders | undefined;
  let resolveConn: (conn: Connection) => void = () => {};
  const opened = new Promise<Connection>((resolve) => (resolveConn = resolve));
  const server = createServer().route("*", (req: ServerRequest) => {
    // A deep copy: what the handler saw, whatever happens to the object later.
    eager = structuredClone(req.headers);
    withChannel(req, resolveConn);
  });
  const handle = await server.listen();
  try {
    await raw(handle.port);
    const conn = await opened;
    assert.ok(eager !== undefined);
    return { eager, lazy: conn.request.headers, conn };
  } finally {
    await handle.close();
  }
}

/** Sends a raw WebSocket upgrade with `extra` header lines and waits for the 101. */
function upgradeWith(extra: string): (port: number) => Promise<void> {
  return (port) =>
    new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(
          `GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
          "latin1",
        );
      });
      socket.once("data", (chunk: Buffer) => {
        if (chunk.toString("latin1").startsWith("HTTP/1.1 101")) resolve();
        else reject(new Error(chunk.toString("latin1")));
        socket.destroy();
      });
      socket.once("error", reject);
    });
}

describe("a connection's request headers", () => {
  it("are what node made of repeated headers and multi-byte values, in the same order", async () => {
    const extra =
      "Cookie: a=1\r\nX-Dup: one\r\nSet-Cookie: s=1\r\nAccept: text/html\r\nCookie: b=2\r\nX-Dup: two\r\n" +
      "Set-Cookie: s=2\r\nAccept: application/json\r\nX-Utf8: caf\u00c3\u00a9 \u00e6\u0097\u00a5\u00e6\u009c\u00ac\r\nX-Empty: \r\nUser-Agent: test\r\n";
    const { eager, lazy, conn } = await eagerAndLazy(upgradeWith(extra));
    assert.deepEqual(lazy, eager);
    assert.deepEqual(Object.keys(lazy), Object.keys(eager));
    assert.equal(Object.getPrototypeOf(lazy), Object.prototype);
    assert.equal(lazy["cookie"], "a=1; b=2");
    assert.deepEqual(lazy["set-cookie"], ["s=1", "s=2"]);
    assert.equal(lazy["x-utf8"], "caf\u00c3\u00a9 \u00e6\u0097\u00a5\u00e6\u009c\u00ac", "as node reads header bytes: one character each");
    assert.equal(lazy["x-empty"], "");
    assert.equal(conn.request.headers, lazy, "built once: the same object every time");
  });

  it("look the same as the object they replace to keys, spread and JSON", async () => {
    const { conn } = await eagerAndLazy(async (port) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/a?b=c`, { headers: { "x-test": "yes" } });
      await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
      ws.terminate();
    });
    const request = conn.request;
    assert.deepEqual(Object.keys(request), ["method", "url", "headers", "remoteAddress"]);
    const spread = { ...request };
    assert.equal(spread.headers["x-test"], "yes");
    assert.deepEqual(JSON.parse(JSON.stringify(request)), { method: "GET", url: "/a?b=c", headers: spread.headers, remoteAddress: request.remoteAddress });
    assert.equal(request.remoteAddress, "127.0.0.1");
  });

  it("round-trip through packing, whatever the characters (property)", () => {
    const text = fc.string({ unit: "binary", maxLength: 12 }).filter((s) => ![...s].some((c) => c.charCodeAt(0) <= 5));
    // Names and values the packing spells in two characters, among others.
    const common = fc.constantFrom("host", "connection", "upgrade", "sec-websocket-version", "accept", "cookie", "dnt");
    const commonValue = fc.constantFrom("websocket", "Upgrade", "13", "*/*", "keep-alive", "no-cache");
    const name = fc.oneof(common, text.filter((s) => s !== "__proto__" && s !== ""));
    const value = fc.oneof(text, commonValue, fc.array(fc.oneof(text, commonValue), { minLength: 1, maxLength: 3 }));
    fc.assert(
      fc.property(fc.dictionary(name, value), (record) => {
        const headers = Object.assign({}, record) as IncomingHttpHeaders;
        const packed = packHeaders(headers);
        assert.ok(packed !== null);
        const back = unpackHeaders(packed);
        assert.deepEqual(back, headers);
        assert.deepEqual(Object.keys(back), Object.keys(headers));
      }),
      { numRuns: 500 },
    );
  });

  it("are kept as they are when they hold what node never puts there", () => {
    const odd = [{ "x-a": "a\0b" }, { "x-a": "a\x05" }, { "x\x04": "a" }, { "x-a": 3 }, { "x-a": [] }, Object.create(null) as object] as unknown as IncomingHttpHeaders[];
    for (const headers of odd) {
      assert.equal(packHeaders(headers), null);
      assert.equal(new RequestSummary("GET", "/", headers, "").headers, headers);
    }
  });

  it("can be replaced, as the object's property could", () => {
    const summary = new RequestSummary("GET", "/", { host: "x" }, "::1");
    const replacement: IncomingHttpHeaders = { host: "y" };
    (summary as { headers: IncomingHttpHeaders }).headers = replacement;
    assert.equal(summary.headers, replacement);
    assert.deepEqual(Object.keys(summary), ["method", "url", "headers", "remoteAddress"], "in its place");
    // Whatever is written is what is read, a string too (the packed headers are one).
    (summary as unknown as { headers: string }).headers = "host\x01z\0";
    assert.equal(summary.headers, "host\x01z\0");
    const read = new RequestSummary("GET", "/", { host: "x" }, "::1");
    assert.deepEqual(read.headers, { host: "x" });
    (read as unknown as { headers: unknown }).headers = null;
    assert.equal(read.headers, null);
  });
});
