// Issue 11's slow consumer, end to end: one real server, 1,000 real clients over WebSocket on
// 127.0.0.1, all subscribed to one topic, and one of them whose socket stops reading. The 999
// others get every value in order while it is still paused; the server never holds more than
// `maxBufferedBytes` (plus one packet) for it, closes it with 4008 "slow consumer", and once it
// reads again its session resumes from replay with nothing lost or repeated, and it hears
// ERR_SLOW_CONSUMER (docs/protocol.md section 7).
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import WebSocket from "ws";
import { chan, type Channel } from "../../src/csp/channel.js";
import { connect, type ProtocolError, type Session, SLOW_CONSUMER_CLOSE_CODE, type StateChange } from "../../src/client/index.js";
import type { WebSocketLike } from "../../src/client/link.js";
import { createServer, isTopicDropped, type TopicDropped, type TopicRequest, type WirechanServer } from "../../src/server/index.js";
import type { CloseStatus } from "../../src/server/connection.js";
import type { ServerConnection } from "../../src/server/transport.js";
import { utf8Length } from "../../src/wire/protocol.js";
import { until, within } from "../helpers/async.js";

const TEST = { timeout: 120_000 };
const CLIENTS = 1_000;
/** The bound under test: small, so that the paused client passes it soon after the kernel's buffers are full. */
const BOUND = 256 * 1024;
/** Values of the topic everyone hears. */
const NEWS = 40;
/**
 * A second topic that only the paused client hears, with values of 128 KiB: a paused socket on
 * loopback first fills the kernel's buffers (about 4 MB here, measured), and carrying that
 * through the topic everyone hears would ask 4 GB of the 999 others.
 */
const BULK_BYTES = 128 * 1024;
/** At most this many bulk values: more than the kernel's buffers and the bound take, fewer than the topic's queue (nothing dropped). */
const MAX_BULK = 120;

type Inbox = Channel<unknown>;

/** The `ws` sockets the paused client opened, to reach the TCP socket under its link. */
class RecordingWebSocket extends WebSocket {
  static readonly opened: RecordingWebSocket[] = [];

  constructor(url: string) {
    super(url);
    RecordingWebSocket.opened.push(this);
  }

  /** The net.Socket under the WebSocket: `ws` keeps it as `_socket`. */
  get tcp(): Socket {
    return (this as unknown as { _socket: Socket })._socket;
  }
}

/**
 * The server's connections: over SSE and HTTP in its set, over WebSocket as the members of its
 * heartbeat. Private to the server: the bytes it buffers for one client are what this test
 * bounds, and nothing public shows them.
 */
function connectionsOf(server: WirechanServer): ServerConnection[] {
  const own = server as unknown as { connections: Set<ServerConnection>; wsConnections: Iterable<ServerConnection> };
  return [...own.connections, ...own.wsConnections];
}

/** The one connection the server has now and did not have `before`: the session just opened. */
function newConnection(server: WirechanServer, before: ReadonlySet<ServerConnection>): ServerConnection {
  const added = connectionsOf(server).filter((conn) => !before.has(conn));
  assert.equal(added.length, 1, "one connection opened");
  return added[0] as ServerConnection;
}

async function subscribe(session: Session, topic: string, inbox: Inbox): Promise<void> {
  const request: TopicRequest<unknown> = { subscribe: inbox };
  assert.equal(await session.serverChan<TopicRequest<unknown>>(topic).put(request), true);
}

/** Connects `count` WebSocket clients, a few at a time, each subscribed to "news". */
async function connectMany(url: string, count: number, sessions: Session[]): Promise<Inbox[]> {
  const inboxes: Inbox[] = [];
  const batch = 50;
  for (let from = 0; from < count; from += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - from) }, async () => {
        const session = await connect(url, { transports: ["websocket"] });
        sessions.push(session);
        const inbox = chan<unknown>(1024);
        await subscribe(session, "news", inbox);
        inboxes.push(inbox);
      }),
    );
  }
  return inboxes;
}

/** The next `n` values of `inbox`, failing (not hanging) if they do not come. */
async function take(inbox: Inbox, n: number, what: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(await within(inbox.take(), () => `${what}: ${out.length} of ${n} arrived`, 30_000));
  return out;
}

/** Records, after every send to `conn`, what it holds unsent, and the largest packet sent. */
function watchBuffered(conn: ServerConnection): { peak: number; largestPacket: number } {
  const seen = { peak: 0, largestPacket: 0 };
  const send = conn.send.bind(conn);
  conn.send = function sendAndMeasure(data, close) {
    const sent = send(data, close);
    if (typeof data === "string") seen.largestPacket = Math.max(seen.largestPacket, utf8Length(data));
    seen.peak = Math.max(seen.peak, conn.bufferedAmount);
    return sent;
  };
  return seen;
}

function closeStatus(conn: ServerConnection): Promise<CloseStatus> {
  return new Promise((resolve) => conn.onClose(resolve));
}

describe("a slow consumer among 1,000 clients", TEST, () => {
  it("the 999 others get every value in order while it is paused; it is closed with 4008, then resumes with nothing lost or repeated and hears ERR_SLOW_CONSUMER", async (t: TestContext) => {
    const server = createServer({ maxBufferedBytes: BOUND, maxSessionsPerAddress: CLIENTS + 10, heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 2_000 });
    const handle = await server.listen();
    const sessions: Session[] = [];
    t.after(async () => {
      for (const session of sessions) session.close();
      await handle.close();
    });
    const news = server.topic<string>("news");
    const bulk = server.topic<string>("bulk");

    const others = await connectMany(handle.url, CLIENTS - 1, sessions);
    const before = new Set(connectionsOf(server));
    const slow = await connect(handle.url, { transports: ["websocket"], WebSocket: RecordingWebSocket as unknown as WebSocketLike, reconnect: { initial: 20, max: 200 } });
    sessions.push(slow);
    const serverSide = newConnection(server, before);
    const slowNews = chan<unknown>(1024);
    const slowBulk = chan<unknown>(1024);
    await subscribe(slow, "news", slowNews);
    await subscribe(slow, "bulk", slowBulk);
    assert.equal(news.subscriberCount, CLIENTS);
    const states: StateChange[] = [];
    const notices: ProtocolError[] = [];
    slow.onState((change) => states.push(change));
    slow.onRefusal((error) => notices.push(error));
    const measured = watchBuffered(serverSide);
    const closed = closeStatus(serverSide);
    const socket = (RecordingWebSocket.opened.at(-1) as RecordingWebSocket).tcp;
    socket.pause();

    const expectedNews = Array.from({ length: NEWS }, (_, i) => `news ${i}`);
    for (const value of expectedNews) await news.put(value);
    // Bulk values until the server gives up on the paused client; each turn lets its socket write.
    let bulkSent = 0;
    while (serverSide.isOpen && bulkSent < MAX_BULK) {
      await bulk.put(`${String(bulkSent).padStart(6, "0")}${"x".repeat(BULK_BYTES)}`);
      bulkSent++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(serverSide.isOpen, false, `the paused client was not dropped after ${bulkSent} bulk values of ${BULK_BYTES} bytes`);

    for (const [i, inbox] of others.entries()) assert.deepEqual(await take(inbox, NEWS, `client ${i}`), expectedNews, `client ${i}`);
    assert.equal(socket.isPaused(), true, "the 999 were served while the slow client was still paused");
    assert.ok(measured.peak <= BOUND + measured.largestPacket, `the server held ${measured.peak} bytes for the paused client (bound ${BOUND}, largest packet ${measured.largestPacket})`);
    assert.deepEqual(await within(closed, "the server closing the paused client"), { by: "server", code: 4008, reason: "slow consumer" });

    socket.resume();
    assert.deepEqual(await take(slowNews, NEWS, "the slow client's news"), expectedNews);
    const bulkGot = await take(slowBulk, bulkSent, "the slow client's bulk");
    assert.deepEqual(
      bulkGot.map((value) => (typeof value === "string" ? Number(value.slice(0, 6)) : value)),
      Array.from({ length: bulkSent }, (_, i) => i),
      "every bulk value, once, in order",
    );
    await until(() => notices.length > 0, "the slow client hearing why its link was dropped");
    assert.deepEqual(notices.map((error) => error.code), ["ERR_SLOW_CONSUMER"]);
    assert.match(notices[0]?.message ?? "", /maxBufferedBytes/);
    assert.deepEqual(
      states.map((change) => change.state),
      ["reconnecting", "open"],
      "the session resumed: it was never lost",
    );
    assert.equal(slow.state, "open");
    for (const inbox of [slowNews, slowBulk, ...others.slice(0, 10)]) {
      const extra = inbox.poll();
      assert.ok(extra === undefined || !isTopicDropped(extra as TopicDropped), "nobody was dropped by a topic");
      assert.equal(extra, undefined, "nothing repeated");
    }
  });

  it("one that reads again within the grace gets its backlog and the close code: cause.code 4008, then the notice, and nothing lost", async (t: TestContext) => {
    const server = createServer({ maxBufferedBytes: BOUND, heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000 });
    const handle = await server.listen();
    t.after(() => handle.close());
    const bulk = server.topic<string>("bulk");
    const before = new Set(connectionsOf(server));
    const slow = await connect(handle.url, { transports: ["websocket"], WebSocket: RecordingWebSocket as unknown as WebSocketLike, reconnect: { initial: 20, max: 200 } });
    t.after(() => slow.close());
    const serverSide = newConnection(server, before);
    const inbox = chan<unknown>(1024);
    await subscribe(slow, "bulk", inbox);
    const states: StateChange[] = [];
    const notices: ProtocolError[] = [];
    slow.onState((change) => states.push(change));
    slow.onRefusal((error) => notices.push(error));
    const socket = (RecordingWebSocket.opened.at(-1) as RecordingWebSocket).tcp;
    socket.pause();
    let sent = 0;
    while (serverSide.isOpen && sent < MAX_BULK) {
      await bulk.put(`${String(sent).padStart(6, "0")}${"x".repeat(BULK_BYTES)}`);
      sent++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(serverSide.isOpen, false, `not dropped after ${sent} values`);
    // At once: the close frame is still queued behind the backlog, not yet cut.
    socket.resume();
    const got = await take(inbox, sent, "the values");
    assert.deepEqual(
      got.map((value) => (typeof value === "string" ? Number(value.slice(0, 6)) : value)),
      Array.from({ length: sent }, (_, i) => i),
    );
    await until(() => notices.length > 0 && slow.state === "open", "the resumed session's notice");
    assert.equal(states[0]?.state, "reconnecting");
    assert.equal(states[0]?.cause?.code, SLOW_CONSUMER_CLOSE_CODE, "the close frame came through: its code is the cause");
    assert.match(states[0]?.cause?.reason ?? "", /slow consumer/);
    assert.deepEqual(notices.map((error) => error.code), ["ERR_SLOW_CONSUMER"]);
    assert.equal(inbox.poll(), undefined, "nothing repeated");
  });
});
