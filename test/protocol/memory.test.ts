// Memory stays bounded when one side stops taking (docs/protocol.md section 5, credit): checked
// with counts, not bytes. A client that never takes gets at most `window` of the server's puts
// beyond what its channel's buffer accepted; a server channel nobody takes from gets at most
// `window` of a client's 10,000 puts at once; replay buffers stay small because both sides keep
// acknowledging; and the channel tables hold only channels that were really sent.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { buffer, chan } from "../../src/csp/index.js";
import { connect, type Session } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { createServer, type RemoteChannel, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { until } from "../helpers/async.js";
import { clientPeer, pause, RawSocket, serverSession, type WireFrame, within } from "./security-wire.js";

const TEST = { timeout: 60_000 };
/** Frames beyond the puts that may sit in a replay buffer: an answer, a close, a release. */
const SLACK = 2;

async function start(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; url: string }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 2_000, closeTimeout: 1_000, ...options });
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, url: handle.url };
}

async function client(t: TestContext, url: string, transport: TransportName = "websocket"): Promise<Session> {
  const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000 });
  t.after(() => session.close());
  return session;
}

const putsTo = (ref: string) => (frame: WireFrame): boolean => typeof frame[0] === "number" && frame[1] === "p" && frame[2] === ref;

describe("a client that never takes", TEST, () => {
  for (const transport of ["websocket", "sse", "longpoll"] as TransportName[]) {
    it(`over ${transport}: after the window the server's puts wait; both sides hold at most window + buffer`, async (t) => {
      const window = 8;
      const bufferSize = 2;
      const total = 200;
      const { server, url } = await start(t, { window });
      const give = server.channel<{ to: RemoteChannel<number> }>("give");
      const session = await client(t, url, transport);
      const held = buffer<number>(bufferSize);
      const mine = chan<number>(held);
      void session.serverChan<{ to: typeof mine }>("give").put({ to: mine });
      const { to } = (await within(give.take(), "the client's channel to reach the server")) as { to: RemoteChannel<number> };
      const serverPeer = serverSession(server, session.id as string).peer;
      const peer = clientPeer(session);

      let settled = 0;
      const puts = Array.from({ length: total }, (_, i) => to.put(i).then((ok) => (settled++, ok)));
      await until(() => settled >= bufferSize, "the client's buffer to take its values");
      await until(() => peer.received >= 1 + window + bufferSize, "the server's puts to use up the window");
      await pause(300); // anything more that (wrongly) still flows gets here by now

      assert.equal(settled, bufferSize, `only what the client's buffer took was accepted (${settled} of ${total} puts settled; bound window + buffer = ${window + bufferSize})`);
      assert.equal(held.count(), bufferSize, "the client's channel holds exactly its buffer");
      // The client received: the answer to its put to "give", then window + buffer puts.
      assert.ok(peer.received <= 1 + window + bufferSize, `the server sent at most window + buffer puts (the client received ${peer.received} frames)`);
      await until(() => serverPeer.unacknowledged <= SLACK, `the client to acknowledge the server's frames (server replay buffer: ${serverPeer.unacknowledged})`);
      assert.ok(peer.unacknowledged <= bufferSize + SLACK, `the client's replay buffer stays small (${peer.unacknowledged})`);

      const got: number[] = [];
      for (let i = 0; i < total; i++) got.push((await within(mine.take(), `value ${i}`)) as number);
      assert.deepEqual(got, Array.from({ length: total }, (_, i) => i), "then every value arrives, once, in order");
      assert.deepEqual(await within(Promise.all(puts), "every server put to settle"), Array(total).fill(true), "and every server put resolves true");
      await until(() => serverPeer.unacknowledged <= SLACK && peer.unacknowledged <= SLACK, "both replay buffers to drain");
    });
  }

  it("on the wire: a raw client that never answers gets exactly `window` puts, and one more per answer", async (t) => {
    const window = 5;
    const { server, url } = await start(t, { window });
    const give = server.channel<{ to: RemoteChannel<number> }>("give");
    const socket = await RawSocket.connect(url);
    t.after(() => socket.terminate());
    await socket.hello();
    socket.put("n:give", { to: { "~c": "c.1" } });
    const { to } = (await within(give.take(), "the raw client's channel to reach the server")) as { to: RemoteChannel<number> };
    const serverPeer = serverSession(server, socket.sid as string).peer;
    let settled = 0;
    const puts = Array.from({ length: 100 }, (_, i) => to.put(i).then((ok) => (settled++, ok)));
    await until(() => socket.frames.filter(putsTo("c.1")).length >= window, "the first `window` puts");
    await pause(300);
    assert.equal(socket.frames.filter(putsTo("c.1")).length, window, "exactly `window` puts reached a client that answered none");
    socket.ack();
    await until(() => serverPeer.unacknowledged === 0, `the acknowledged frames to leave the server's replay buffer (${serverPeer.unacknowledged} left)`);

    const first = socket.frames.find(putsTo("c.1")) as WireFrame;
    socket.sendSeq("a", first[0], 1);
    await until(() => socket.frames.filter(putsTo("c.1")).length >= window + 1, "one more put after one answer");
    await pause(300);
    assert.equal(socket.frames.filter(putsTo("c.1")).length, window + 1, "one answer let exactly one more put through");
    assert.equal(settled, 1, "one server put resolved");
    socket.ack();
    await until(() => serverPeer.unacknowledged === 0, "the server's replay buffer to drain again");
    socket.terminate();
    await server.close();
    const outcomes = await within(Promise.all(puts), "the server's waiting puts to settle when it shuts down");
    assert.equal(outcomes.filter((ok) => ok).length, 1, "only the answered put resolved true");
  });
});

describe("a server channel nobody takes from", TEST, () => {
  it("a client putting 10,000 values has at most `window` in flight; the rest wait on the client", async (t) => {
    const window = 16;
    const total = 10_000;
    const outstandingMax = 512;
    const { server, url } = await start(t, { window });
    const sink = server.channel<number>("sink");
    const session = await client(t, url);
    const proxy = session.serverChan<number>("sink");
    const peer = clientPeer(session);
    // The server learns of the session from its welcome; the proxy has not sent anything yet.
    const serverPeer = serverSession(server, session.id as string).peer;
    const base = serverPeer.received;

    let settled = 0;
    let started = 0;
    const producer = (async () => {
      const puts: Array<Promise<boolean>> = [];
      for (let i = 0; i < total; i++) {
        // At most `outstandingMax` unsettled puts: below the proxy's 1024 waiting puts.
        if (i >= outstandingMax) await puts[i - outstandingMax];
        puts.push(proxy.put(i).then((ok) => (settled++, ok)));
        started++;
      }
      return Promise.all(puts);
    })();

    await until(() => serverPeer.received - base >= window, "the first `window` puts to reach the server");
    await pause(300);
    assert.equal(settled, 0, "no put resolved while nobody takes");
    assert.equal(started, outstandingMax, "the producer waits");
    assert.equal(serverPeer.received - base, window, `exactly \`window\` puts reached the server (${serverPeer.received - base})`);
    assert.ok(peer.unacknowledged <= window + SLACK, `the client's replay buffer holds at most the window (${peer.unacknowledged})`);

    let maxInFlight = 0;
    let maxClientReplay = 0;
    let maxServerReplay = 0;
    for (let i = 0; i < total; i++) {
      const value = await within(sink.take(), `value ${i}`);
      if (value !== i) assert.fail(`expected ${i} next, got ${String(value)}`);
      // Received by the server and not yet taken: the puts in flight (an unbuffered channel answers a put when it is taken).
      maxInFlight = Math.max(maxInFlight, serverPeer.received - base - (i + 1));
      maxClientReplay = Math.max(maxClientReplay, peer.unacknowledged);
      maxServerReplay = Math.max(maxServerReplay, serverPeer.unacknowledged);
    }
    const outcomes = await within(producer, "every client put to settle");
    assert.equal(outcomes.length, total);
    assert.ok(outcomes.every((ok) => ok), "every put resolved true");
    assert.ok(maxInFlight <= window, `at most \`window\` puts were ever in flight (saw ${maxInFlight})`);
    assert.ok(maxClientReplay <= window + SLACK, `the client's replay buffer stayed within the window (saw ${maxClientReplay})`);
    assert.ok(maxServerReplay <= window + SLACK, `the server's replay buffer stayed within the window (saw ${maxServerReplay})`);
  });

  it("a raw client that ignores its credit gets a fatal ERR_CREDIT instead of growing the server's queue", async (t) => {
    const window = 4;
    const { server, url } = await start(t, { window });
    server.channel<number>("sink");
    const socket = await RawSocket.connect(url);
    t.after(() => socket.terminate());
    await socket.hello();
    socket.send(Array.from({ length: window + 1 }, (_, i) => [i + 1, "p", "n:sink", i]));
    const error = await socket.errorFrame("the credit error");
    assert.equal(error[1], "ERR_CREDIT", `the code (got ${JSON.stringify(error)})`);
    await socket.closed("the server to close the link");
    assert.equal(server.sessionCount, 0, "the session ended");
  });
});

describe("the client's HTTP upstream while a POST hangs", TEST, () => {
  for (const transport of ["sse", "longpoll"] as TransportName[]) {
    it(`over ${transport}: what the session sends meanwhile waits in the session, bounded, and leaves as one packet`, async (t) => {
      // The server pings every 10 ms; each ping is answered with a pong. While the POST carrying
      // one of them hangs, the pongs wait in the session's control queue (64 at most), not as
      // one queued packet each.
      const { url } = await start(t, { heartbeat: 10, heartbeatTimeout: 30_000 });
      let hold: Promise<void> | null = null;
      let release = (): void => {};
      const bodies: string[] = [];
      const holding: typeof fetch = async (input, init) => {
        if (String(input).endsWith("/send")) {
          bodies.push(String(init?.body ?? ""));
          if (hold !== null) await hold;
        }
        return fetch(input, init);
      };
      const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000, fetch: holding });
      t.after(() => session.close());
      await until(() => bodies.length > 0, "a first pong is posted");
      hold = new Promise((resolve) => (release = resolve));
      const held = bodies.length;
      await until(() => bodies.length > held, "a POST hangs");
      // 100 pings at least while it hangs (at 10 ms each).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(bodies.length, held + 1, "one POST in flight, no other started");
      hold = null;
      release();
      await until(() => bodies.length > held + 1, "the next POST after the held one");
      const pongs = (JSON.parse(bodies[held + 1] as string) as unknown[][]).filter((frame) => frame[0] === "pong").length;
      assert.ok(pongs > 0 && pongs <= 64, `the next POST carries the pongs that waited, at most 64 (got ${pongs})`);
      assert.equal(session.state, "open", "the session goes on");
    });
  }
});

describe("the channel tables hold only channels that were sent", TEST, () => {
  it("an offer refused for lack of credit leaves no channel exported", async (t) => {
    const { server, url } = await start(t, { window: 1 });
    server.channel<unknown>("sink");
    const session = await client(t, url);
    const proxy = session.serverChan<unknown>("sink");
    const peer = clientPeer(session);
    void proxy.put(0); // the one unit of credit, in flight for good: nobody takes
    const before = peer.channelCount;
    assert.equal(proxy.offer({ reply: chan<number>() }), false, "no credit: the offer is refused");
    assert.equal(peer.channelCount, before, `the refused offer's channel was never sent, so it may not stay exported (channelCount ${before} before, ${peer.channelCount} after)`);
  });

  it("puts still waiting when their proxy closes leave no channel exported", async (t) => {
    const { server, url } = await start(t, { window: 1 });
    server.channel<unknown>("sink");
    const session = await client(t, url);
    const proxy = session.serverChan<unknown>("sink");
    const peer = clientPeer(session);
    void proxy.put(0);
    await until(() => serverSession(server, session.id as string).peer.received === 1, "the first put to reach the server");
    const before = peer.channelCount;
    const waiting = Array.from({ length: 5 }, () => proxy.put({ reply: chan<number>() }));
    proxy.close();
    assert.deepEqual(await within(Promise.all(waiting), "the waiting puts to settle"), Array(5).fill(false), "the waiting puts resolve false");
    // Closing the named proxy takes it out of the table (1); the five channels were never sent.
    assert.equal(peer.channelCount, before - 1, `the five unsent channels may not stay exported (channelCount ${before} before, ${peer.channelCount} after closing the proxy)`);
  });
});
