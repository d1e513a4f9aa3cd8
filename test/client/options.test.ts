// Options of connect and createServer: documented defaults, and a typed error naming the
// option for every value no client or server could honour.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connectDefaults, type Logger } from "../../src/client/index.js";
import { resolveConnectOptions, serverEndpoint } from "../../src/client/options.js";
import { createServer, serverDefaults } from "../../src/server/index.js";
import { assertThrowsCode } from "../helpers/errors.js";

describe("connect options", () => {
  it("fills in the documented defaults", () => {
    const resolved = resolveConnectOptions({});
    assert.equal(resolved.path, "/wirechan");
    assert.deepEqual(resolved.transports, ["websocket", "sse", "longpoll"]);
    assert.deepEqual(resolved.reconnect, connectDefaults.reconnect);
    assert.equal(resolved.heartbeatTimeout(25_000), 67_500, "2.5 times the server's heartbeat plus 5 s");
    assert.equal(resolved.reconnect.stableAfter, 5_000, "a link resets the backoff after 5 s up");
    assert.equal(resolved.shouldReconnect({ transport: "websocket", reason: "cut", attempt: 99, delay: 10_000 }), true, "always reconnects");
    assert.equal(resolved.logger, connectDefaults.logger, "the console");
  });

  it("refuses bad values with ERR_CONNECT_OPTION, naming the option", () => {
    const bad: Array<[string, Parameters<typeof resolveConnectOptions>[0], new (...args: never[]) => Error]> = [
      ["transports", { transports: [] }, TypeError],
      ["transports", { transports: ["carrier-pigeon" as "sse"] }, TypeError],
      ["path", { path: "wirechan" }, TypeError],
      ["connectTimeout", { connectTimeout: 0 }, RangeError],
      ["reconnect.initial", { reconnect: { initial: -1 } }, RangeError],
      ["reconnect.jitter", { reconnect: { jitter: 2 } }, RangeError],
      ["maxMessageSize", { maxMessageSize: 10 }, RangeError],
      ["heartbeatTimeout", { heartbeatTimeout: 1.5 }, RangeError],
      ["reconnect.stableAfter", { reconnect: { stableAfter: -1 } }, RangeError],
      ["shouldReconnect", { shouldReconnect: true as unknown as () => boolean }, TypeError],
      ["logger", { logger: { error: () => undefined } as unknown as Logger }, TypeError],
    ];
    for (const [name, options, type] of bad) {
      assertThrowsCode(() => resolveConnectOptions(options), "ERR_CONNECT_OPTION", name, type);
      assert.throws(() => resolveConnectOptions(options), new RegExp(name.replace(".", "\\.")), `the message names ${name}`);
    }
  });
});

describe("the server URL given to connect", () => {
  it("takes ws: and wss: as the http: and https: URL of the same server (regression: the HTTP transports refused ws:)", () => {
    assert.equal(serverEndpoint("ws://127.0.0.1:3000", "/wirechan").href, "http://127.0.0.1:3000/wirechan");
    assert.equal(serverEndpoint("wss://example.com", "/wc").href, "https://example.com/wc");
    assert.equal(serverEndpoint(new URL("https://example.com:8443/app"), "/wirechan").href, "https://example.com:8443/wirechan");
    assert.equal(serverEndpoint("http://[::1]:3000/", "/wirechan").href, "http://[::1]:3000/wirechan");
  });

  it("refuses another scheme, or no URL at all, with ERR_CONNECT_URL", () => {
    for (const url of ["ftp://example.com", "file:///tmp/x", "127.0.0.1:3000", "/wirechan", ""]) {
      assertThrowsCode(() => serverEndpoint(url, "/wirechan"), "ERR_CONNECT_URL", url, TypeError);
    }
  });
});

describe("server protocol options", () => {
  it("have the documented defaults", () => {
    assert.equal(serverDefaults.path, "/wirechan");
    assert.equal(serverDefaults.window, 256);
    assert.equal(serverDefaults.sessionTtl, 120_000);
  });

  it("refuse bad values with ERR_SERVER_OPTION, naming the option", () => {
    const bad: Array<[string, Parameters<typeof createServer>[0]]> = [
      ["window", { window: 0 }],
      ["sessionTtl", { sessionTtl: 0 }],
      ["maxSessions", { maxSessions: 1.5 }],
      ["heartbeatTimeout", { heartbeat: 1_000, heartbeatTimeout: 1_000 }],
      ["path", { path: "/wirechan/" }],
      ["path", { path: "relative" }],
    ];
    for (const [name, options] of bad) {
      assertThrowsCode(() => createServer(options), "ERR_SERVER_OPTION", name, RangeError);
      assert.throws(() => createServer(options), new RegExp(name), `the message names ${name}`);
    }
  });
});
