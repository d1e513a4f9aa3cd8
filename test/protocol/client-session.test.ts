// The client session's own hardening: close() tells the server even with no link to carry the
// bye (the server would keep the session for sessionTtl), a failure inside a socket's or
// fetch's callback ends the session and goes to the `logger` option instead of being thrown
// into ws or fetch, errors are typed (TransportError is a WirechanError, ERR_TRANSPORT), and
// util.inspect of a session never shows its secret. Real server, real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { inspect } from "node:util";
import { isWirechanError, WirechanError } from "../../src/csp/errors.js";
import { connect, type Codec, jsonCodec, type Logger, type Session, TransportError, type TransportName } from "../../src/client/index.js";
import { createServer, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { pause, serverSession } from "./security-wire.js";

const TEST = { timeout: 60_000 };
const TRANSPORTS: readonly TransportName[] = ["websocket", "sse", "longpoll"];

async function start(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; url: string; port: number }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000, ...options });
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, url: handle.url, port: handle.port };
}

/** A Logger that keeps what it is given. */
class RecordingLogger implements Logger {
  readonly errors: Array<{ message: string; error: unknown }> = [];
  readonly warnings: string[] = [];

  error(message: string, error?: unknown): void {
    this.errors.push({ message, error });
  }

  warn(message: string): void {
    this.warnings.push(message);
  }
}

/**
 * JSON, except that it cannot write the `pong` of a heartbeat: a bug that throws while the
 * session reads a packet (a ping is answered as it is read). The ping a new SSE stream gets at
 * once (token 0) is answered, so the failure comes after connect resolved.
 */
const codecThatCannotPong: Codec = {
  ...jsonCodec,
  encodeFrame(frame) {
    if (frame[0] === "pong" && frame[1] !== 0) throw new TypeError("this codec cannot write a pong");
    return jsonCodec.encodeFrame(frame);
  },
};

describe("close() tells the server, link or no link", TEST, () => {
  it("while reconnecting (WebSocket blocked by a proxy), close() still ends the server's session: a bye by POST", async (t) => {
    const { server, port } = await start(t);
    const proxy = await FaultProxy.start({ targetPort: port });
    t.after(() => proxy.close());
    const session = await connect(proxy.url, { transports: ["websocket"], reconnect: { initial: 50, max: 200, jitter: 0 }, upgradeProbeInterval: 0 });
    t.after(() => session.close());
    assert.equal(server.sessionCount, 1);
    proxy.setBlockWebSocket(true);
    proxy.cutAll();
    await until(() => session.state === "reconnecting", "the session to lose its link");
    session.close();
    assert.equal(session.state, "closed");
    await until(() => server.sessionCount === 0, "the server to end the session (it would keep it for sessionTtl, 120 s)");
  });

  it("close() while the server is unreachable returns at once and nothing throws later: the bye's POST fails quietly", async (t) => {
    const { port } = await start(t);
    const proxy = await FaultProxy.start({ targetPort: port });
    t.after(() => proxy.close());
    const session = await connect(proxy.url, { transports: ["longpoll"], reconnect: { initial: 50, max: 200, jitter: 0 }, upgradeProbeInterval: 0 });
    proxy.setRefusing(true);
    proxy.cutAll();
    await until(() => session.state === "reconnecting", "the session to lose its link");
    const connections = proxy.accepted;
    session.close();
    assert.equal(session.state, "closed");
    // The bye's connection is refused; an unhandled rejection would fail this test.
    await pause(100);
    assert.equal(proxy.accepted, connections, "nothing got through, and nothing was tried again");
  });

  for (const transport of TRANSPORTS) {
    it(`${transport}: close() on an open link ends the server's session`, async (t) => {
      const { server, url } = await start(t);
      const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0 });
      t.after(() => session.close());
      await until(() => serverSession(server, session.id ?? "").link !== null, "the downstream to attach");
      session.close();
      await until(() => server.sessionCount === 0, "the server to end the session");
    });
  }
});

describe("failures inside callbacks go to the logger, and end the session", TEST, () => {
  for (const transport of ["websocket", "sse"] as const) {
    it(`${transport}: an error thrown while a packet is read ends the session as lost (ERR_BAD_FRAME), is logged, and is not thrown into ${transport === "websocket" ? "ws" : "fetch"}`, async (t) => {
      const { server, url } = await start(t, { heartbeat: 50, heartbeatTimeout: 5_000 });
      const logger = new RecordingLogger();
      const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0, codec: codecThatCannotPong, logger, reconnect: { initial: 10, max: 50, jitter: 0 } });
      t.after(() => session.close());
      const changes: string[] = [];
      session.onState((change) => changes.push(`${change.state}:${change.error?.code ?? ""}`));
      // The server pings every 50 ms (and an SSE stream at once): the answer throws.
      await until(() => session.state === "lost", "the session to end");
      assert.deepEqual(changes, ["lost:ERR_BAD_FRAME"], "lost at once, no reconnect loop");
      assert.equal(logger.errors.length, 1, `one line logged (${JSON.stringify(logger.errors.map((e) => e.message))})`);
      const [logged] = logger.errors;
      assert.ok(logged?.error instanceof TypeError && /cannot write a pong/.test(logged.error.message), "the logger has the error itself");
      await until(() => server.sessionCount === 0, "the server to be told");
    });
  }

  it("sse: a packet that ends the session as the link is adopted (the stream's first ping) leaves it lost, never open again", async (t) => {
    const { server, url } = await start(t);
    const logger = new RecordingLogger();
    const everyPong: Codec = { ...codecThatCannotPong, encodeFrame: (frame) => (frame[0] === "pong" ? codecThatCannotPong.encodeFrame(["pong", 1]) : jsonCodec.encodeFrame(frame)) };
    const session = await connect(url, { transports: ["sse"], upgradeProbeInterval: 0, codec: everyPong, logger });
    t.after(() => session.close());
    assert.equal(session.state, "lost", "the state the failure left, not the open that came before it");
    assert.equal(logger.errors.length, 1, "logged once");
    await until(() => server.sessionCount === 0, "the server to be told");
  });

  it("an onState listener that throws is reported to the logger, and the other listeners still run", async (t) => {
    const { url } = await start(t);
    const logger = new RecordingLogger();
    const session = await connect(url, { transports: ["websocket"], upgradeProbeInterval: 0, logger });
    const failure = new Error("a listener's bug");
    session.onState(() => {
      throw failure;
    });
    const seen: string[] = [];
    session.onState((change) => seen.push(change.state));
    session.close();
    assert.deepEqual(seen, ["closed"]);
    assert.deepEqual(
      logger.errors.map((e) => e.error),
      [failure],
      "reported once, with the error",
    );
  });
});

describe("typed errors, and no secret in util.inspect", TEST, () => {
  it("connect rejects with a TransportError that is a WirechanError with code ERR_TRANSPORT, naming the transport", async (t) => {
    const { url } = await start(t);
    const { port } = new URL(url);
    // A server that refuses every connection: the proxy in refusing mode.
    const proxy = await FaultProxy.start({ targetPort: Number(port) });
    t.after(() => proxy.close());
    proxy.setRefusing(true);
    const error: unknown = await within(
      connect(proxy.url, { upgradeProbeInterval: 0, connectTimeout: 2_000 }).then(
        (session: Session) => {
          session.close();
          return new Error("connected");
        },
        (rejected: unknown) => rejected,
      ),
      "connect to settle",
    );
    assert.ok(error instanceof TransportError, `a TransportError (got ${String(error)})`);
    assert.ok(error instanceof WirechanError, "a WirechanError");
    assert.equal(error.code, "ERR_TRANSPORT");
    assert.ok(isWirechanError(error, "ERR_TRANSPORT"), "isWirechanError knows it");
    assert.equal(error.transport, "websocket", "the first transport tried");
    assert.match(error.message, /websocket.*sse.*longpoll/s, "says why each transport failed");
  });

  for (const transport of TRANSPORTS) {
    it(`${transport}: util.inspect of a session, however deep, does not show its secret`, async (t) => {
      const { server, url } = await start(t);
      const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0 });
      t.after(() => session.close());
      const secret = serverSession(server, session.id ?? "").revealSecret();
      assert.ok(secret.length >= 16, "the test knows the secret");
      const text = inspect(session, { depth: Infinity, showHidden: true, getters: true });
      assert.ok(text.includes(session.id ?? "?"), "the session id is shown");
      assert.equal(text.includes(secret), false, "the secret is not");
    });
  }
});
