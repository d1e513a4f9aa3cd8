// The logger option: what the server cannot hand to anyone goes there, never to console.
import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it, mock } from "node:test";
import WebSocket from "ws";
import { createServer, MemoryChannelStore, withChannel } from "../../src/server/index.js";
import { until } from "../helpers/async.js";
import { RecordingLogger } from "../helpers/recording-logger.js";

describe("the logger option", { timeout: 20_000 }, () => {
  it("gets the line a throwing handler causes; console.error is not called", async (t) => {
    const consoleError = mock.method(console, "error", () => {});
    t.after(() => consoleError.mock.restore());
    const logger = new RecordingLogger();
    const boom = new Error("boom");
    const server = createServer({ logger }).route("*", () => {
      throw boom;
    });
    const handle = await server.listen();
    t.after(() => handle.close());
    const res = await fetch(handle.url);
    assert.equal(res.status, 500);
    await res.text();
    assert.deepEqual(logger.lines, [{ message: "a handler threw:", detail: boom }]);
    assert.equal(consoleError.mock.callCount(), 0);
  });

  it("gets what connection listeners and withChannel callbacks throw (onReceive, onClose)", async (t) => {
    const consoleError = mock.method(console, "error", () => {});
    t.after(() => consoleError.mock.restore());
    const logger = new RecordingLogger();
    const server = createServer({ logger }).route("*", (req) =>
      withChannel(req, (conn) => {
        conn.onReceive(() => {
          throw new Error("in onReceive");
        });
        conn.onClose(() => {
          throw new Error("in onClose");
        });
        if (req.path === "/callback") throw new Error("in the callback");
      }),
    );
    const handle = await server.listen();
    t.after(() => handle.close());
    const ws = new WebSocket(handle.url.replace("http:", "ws:"));
    await once(ws, "open");
    ws.send("hi");
    await until(() => logger.lines.length === 1, "the onReceive listener's error");
    ws.close();
    await until(() => logger.lines.length === 2, "the onClose listener's error");
    const other = new WebSocket(handle.url.replace("http:", "ws:") + "/callback");
    other.on("error", () => {});
    await until(() => logger.lines.length >= 3, "the callback's error");
    other.terminate();
    assert.deepEqual(
      logger.lines.slice(0, 3).map((line) => [line.message, (line.detail as Error).message]),
      [
        ["an onReceive listener threw:", "in onReceive"],
        ["an onClose listener threw:", "in onClose"],
        ["a withChannel callback threw; closing its connection:", "in the callback"],
      ],
    );
    assert.equal(consoleError.mock.callCount(), 0);
  });

  it("MemoryChannelStore takes a logger for the members a broadcast skips", async (t) => {
    const consoleError = mock.method(console, "error", () => {});
    t.after(() => consoleError.mock.restore());
    const logger = new RecordingLogger();
    const store = new MemoryChannelStore<number>({ logger });
    const server = createServer().route("*", (req) => withChannel(req, (conn) => store.addToGroup("g", conn, 1)));
    const handle = await server.listen();
    t.after(() => handle.close());
    const ws = new WebSocket(handle.url.replace("http:", "ws:"));
    await once(ws, "open");
    await until(() => store.members("g") === 1, "the member to join");
    assert.equal(
      store.broadcast("g", () => {
        throw new Error("bad data");
      }),
      0,
    );
    assert.match(logger.lines[0]?.message ?? "", /^broadcast to group "g" skipped a member/);
    assert.equal(consoleError.mock.callCount(), 0);
    ws.close();
  });
});
