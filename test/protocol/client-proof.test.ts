// B14: an SSE downstream that delivers nothing is noticed. Behind a proxy that refuses WebSocket
// upgrades and forwards each response only once it has ended, the SSE stream never arrives,
// while the answers to upstream POSTs do: the client must not take the stream for an open one
// (it used to report `sse` open, and then every put hung). An SSE link opens only once its
// stream delivered an event, so the client moves on to long-polling, on the first connect and
// on a reconnect. Real server, real sockets, the buffering proxy of test/helpers.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { chan } from "../../src/csp/index.js";
import { connect, type Session } from "../../src/client/index.js";
import { createServer, type RemoteChannel, type WirechanServer } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { BufferingProxy } from "../helpers/buffering-proxy.js";
import { TcpSwitch } from "../client/tcp-switch.js";

const TEST = { timeout: 60_000 };
/** Short, so that giving up on SSE does not take the default 10 s; a bound, never asserted. */
const CONNECT_TIMEOUT = 2_000;

async function start(t: TestContext): Promise<{ server: WirechanServer; port: number; proxy: BufferingProxy }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000 });
  const handle = await server.listen();
  const proxy = await BufferingProxy.start({ targetPort: handle.port });
  t.after(async () => {
    await proxy.close();
    await handle.close();
  });
  // Every value put into "echo" goes back into the channel that came with it.
  const echo = server.channel<{ reply: RemoteChannel<string>; text: string }>("echo");
  void (async () => {
    for await (const { reply, text } of echo) void reply.put(text);
  })();
  return { server, port: handle.port, proxy };
}

/** A put to the server, and its echo back into a channel of the client's. */
async function roundTrip(session: Session, text: string): Promise<void> {
  const replies = chan<string>(1);
  const sent = session.serverChan<{ reply: typeof replies; text: string }>("echo").put({ reply: replies, text });
  assert.equal(await within(sent, `the put of ${text}`), true, "the put was taken");
  assert.equal(await within(replies.take(), `the echo of ${text}`), text, "and came back");
}

describe("a downstream proves itself (B14)", TEST, () => {
  it("first connect behind a proxy that holds responses until they end: connect resolves on long-polling, and a put round-trips", async (t) => {
    const { server, proxy } = await start(t);
    const session = await connect(proxy.url, { connectTimeout: CONNECT_TIMEOUT, upgradeProbeInterval: 0 });
    t.after(() => session.close());
    assert.equal(proxy.upgradesRefused, 1, "the WebSocket upgrade was refused");
    assert.equal(session.transport, "longpoll", "SSE was given up: its stream never arrived");
    assert.equal(session.state, "open");
    await roundTrip(session, "through the proxy");
    await until(() => server.sessionCount === 1, `the session SSE opened for nothing to be ended (sessions: ${server.sessionCount})`);
  });

  it("a reconnect that meets such a proxy moves from SSE to long-polling, and the session goes on", async (t) => {
    const { port, proxy } = await start(t);
    // Straight to the server at first; after the cut, every connection goes through the proxy.
    const path = await TcpSwitch.start(port);
    t.after(() => path.close());
    const session = await connect(path.url, { transports: ["sse", "longpoll"], connectTimeout: CONNECT_TIMEOUT, reconnect: { initial: 10, max: 100, jitter: 0 }, upgradeProbeInterval: 0 });
    t.after(() => session.close());
    assert.equal(session.transport, "sse", "SSE works without the proxy");
    await roundTrip(session, "before");
    const changes: string[] = [];
    session.onState((change) => changes.push(`${change.state}${change.error === undefined ? "" : `:${change.error.code}`}`));
    path.target = proxy.port;
    path.cutAll();
    await until(() => changes.length >= 2, "the session to lose its link and open another", 20_000);
    assert.equal(session.transport, "longpoll", "the resumed session is on long-polling");
    assert.deepEqual(changes, ["reconnecting", "open"], "resumed, not lost");
    await roundTrip(session, "after");
  });

  it("an SSE stream gone silent while the POSTs are still answered is dropped after heartbeatTimeout, and the session resumes: answers to POSTs are no sign of life", async (t) => {
    const server = createServer({ heartbeat: 100, heartbeatTimeout: 60_000, closeTimeout: 1_000 });
    const handle = await server.listen();
    t.after(() => handle.close());
    const inbox = server.channel<string>("in", 4);
    const path = await TcpSwitch.start(handle.port);
    t.after(() => path.close());
    // The server pings every 100 ms, the client pings as often (each ping a POST, each answered): only the stream's own events may count.
    const session = await connect(path.url, { transports: ["sse"], heartbeatTimeout: 1_000, reconnect: { initial: 10, max: 100, jitter: 0 }, upgradeProbeInterval: 0 });
    t.after(() => session.close());
    const changes: string[] = [];
    session.onState((change) => changes.push(change.state));
    await until(() => path.silence("GET /wirechan/sse") > 0, "the stream's connection to be silenced");
    const put = session.serverChan<string>("in").put("answered on a new stream");
    assert.equal(await within(inbox.take(), "the value, sent by POST"), "answered on a new stream");
    // Its answer was written to the silenced stream: it comes once the client resumed on a new one.
    assert.equal(await within(put, "the put's answer, after the resume", 20_000), true);
    assert.deepEqual(changes, ["reconnecting", "open"], "the silent link was dropped and the session resumed");
  });
});
