// The protocol's behaviour, the same suite over each transport: a real server on loopback and
// the real client, forced onto one transport at a time.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { type Channel, chan } from "../../src/csp/index.js";
import { connect, type Session } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { createServer, type Envelope, RemoteChannel, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { until } from "../helpers/async.js";

const TRANSPORTS: TransportName[] = ["websocket", "sse", "longpoll"];
const TEST = { timeout: 30_000 };

async function start(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; url: string }> {
  const server = createServer({ heartbeat: 1_000, heartbeatTimeout: 5_000, pollTimeout: 2_000, ...options });
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, url: handle.url };
}

async function open(t: TestContext, url: string, transport: TransportName): Promise<Session> {
  const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0 });
  t.after(() => session.close());
  assert.equal(session.transport, transport, `the session uses ${transport}`);
  return session;
}

/** A server loop that answers `{ reply, n }` by putting `n * 2` into `reply`. */
function echoDoubles(server: WirechanServer): void {
  const echo = server.channel<{ reply: RemoteChannel<number>; n: number }>("echo");
  void (async () => {
    for await (const { reply, n } of echo) await reply.put(n * 2);
  })();
}

for (const transport of TRANSPORTS) {
  describe(`protocol over ${transport}`, TEST, () => {
    it("a put to a named server channel resolves true once the server took it, in order", async (t) => {
      const { server, url } = await start(t);
      const inbox = server.channel<number>("inbox");
      const session = await open(t, url, transport);
      const proxy = session.serverChan<number>("inbox");
      const puts = Array.from({ length: 100 }, (_, i) => proxy.put(i));
      const got: number[] = [];
      for (let i = 0; i < 100; i++) got.push((await inbox.take()) as number);
      assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i), "every value once, in order");
      assert.deepEqual(await Promise.all(puts), Array(100).fill(true), "every put resolved true");
    });

    it("a channel inside a value arrives as a proxy; the server's puts come back into it", async (t) => {
      const { server, url } = await start(t);
      echoDoubles(server);
      const session = await open(t, url, transport);
      const echo = session.serverChan<{ reply: Channel<number>; n: number }>("echo");
      const reply = chan<number>(4);
      for (let n = 0; n < 20; n++) {
        void echo.put({ reply, n });
        assert.equal(await reply.take(), n * 2, `echo of ${n}`);
      }
    });

    it("envelopes say which session and principal put a value", async (t) => {
      const { server, url } = await start(t, { authenticate: (req) => ({ user: req.headers["user-agent"] === undefined ? "anonymous" : "someone" }) });
      const inbox = server.channel<string>("who", { envelope: true });
      const session = await open(t, url, transport);
      void session.serverChan<string>("who").put("hi");
      const envelope = (await inbox.take()) as Envelope<string>;
      assert.equal(envelope.value, "hi");
      assert.equal(envelope.session.id, session.id, "the session id");
      assert.ok(typeof envelope.session.principal === "object" && envelope.session.principal !== null, "the principal authenticate returned");
      assert.equal(envelope.session.transport, transport, "the transport of its link");
      assert.equal(envelope.session.address, "127.0.0.1", "the client address (clientAddress)");
    });

    it("back-pressure: with nobody taking, at most `window` puts reach the server; taking releases the rest in order", async (t) => {
      const window = 4;
      const { server, url } = await start(t, { window });
      const inbox = server.channel<number>("slow");
      const session = await open(t, url, transport);
      const proxy = session.serverChan<number>("slow");
      let resolved = 0;
      const puts = Array.from({ length: 20 }, (_, i) => proxy.put(i).then((ok) => (resolved++, ok)));
      // An unbuffered channel takes nothing until someone takes: nothing resolves yet.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(resolved, 0, "no put resolved while nobody takes");
      const got: number[] = [];
      for (let i = 0; i < 20; i++) got.push((await inbox.take()) as number);
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i), "all arrive, in order");
      assert.deepEqual(await Promise.all(puts), Array(20).fill(true));
    });

    it("a client that stops taking parks the server's puts after the window", async (t) => {
      const window = 4;
      const { server, url } = await start(t, { window });
      const give = server.channel<{ to: RemoteChannel<number> }>("give");
      const session = await open(t, url, transport);
      const mine = chan<number>(2);
      void session.serverChan<{ to: Channel<number> }>("give").put({ to: mine });
      const { to } = (await give.take()) as { to: RemoteChannel<number> };
      let accepted = 0;
      const puts = Array.from({ length: 30 }, (_, i) => to.put(i).then((ok) => (ok ? accepted++ : 0)));
      await until(() => accepted === 2, "the client's buffer to fill");
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(accepted, 2, "only what the client's buffer holds was accepted");
      const got: number[] = [];
      for (let i = 0; i < 30; i++) got.push((await mine.take()) as number);
      assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => i), "then everything, in order");
      await Promise.all(puts);
      assert.equal(accepted, 30);
    });

    it("closing a channel closes its proxies on the other side, both ways", async (t) => {
      const { server, url } = await start(t);
      const give = server.channel<{ to: RemoteChannel<unknown>; mine?: unknown }>("give");
      const session = await open(t, url, transport);
      const clientChannel = chan<Channel<number>>(1);
      void session.serverChan<{ to: Channel<Channel<number>> }>("give").put({ to: clientChannel });
      const { to } = (await give.take()) as { to: RemoteChannel<Channel<number>> };
      const serverChannel = chan<number>(1);
      assert.equal(await to.put(serverChannel), true, "the server sends its own channel to the client");
      const serverProxy = (await clientChannel.take()) as unknown as RemoteChannel<number>;
      assert.ok(serverProxy instanceof RemoteChannel, "the client got a proxy of the server's channel");
      assert.equal(await serverProxy.put(7), true);
      assert.equal(await serverChannel.take(), 7);

      serverChannel.close();
      await until(() => serverProxy.closed, "the client's proxy to close");
      assert.equal(await serverProxy.put(8), false, "a put to a closed proxy resolves false");

      clientChannel.close();
      await until(() => to.closed, "the server's proxy of the client channel to close");
      assert.equal(await to.put(chan<number>()), false);
    });

    it("a proxy sent back to its owner arrives as the owner's own channel", async (t) => {
      const { server, url } = await start(t);
      const bounce = server.channel<{ back: RemoteChannel<unknown>; it: unknown }>("bounce");
      void (async () => {
        for await (const { back, it } of bounce) await back.put(it);
      })();
      const session = await open(t, url, transport);
      const mine = chan<number>(1);
      const back = chan<unknown>(1);
      void session.serverChan<unknown>("bounce").put({ back, it: mine });
      assert.equal(await back.take(), mine, "the very same channel object");
    });

    it("close() ends the session: the server forgets it and its proxies of the client close", async (t) => {
      const { server, url } = await start(t);
      const give = server.channel<{ to: RemoteChannel<number> }>("give");
      const session = await open(t, url, transport);
      void session.serverChan<{ to: Channel<number> }>("give").put({ to: chan<number>(1) });
      const { to } = (await give.take()) as { to: RemoteChannel<number> };
      assert.equal(server.sessionCount, 1);
      const states: string[] = [];
      session.onState((change) => states.push(change.state));
      session.close();
      assert.equal(session.state, "closed");
      assert.deepEqual(states, ["closed"]);
      await until(() => server.sessionCount === 0, "the server to end the session");
      assert.equal(to.closed, true, "the server's proxy closed with the session");
      assert.equal(await to.put(1), false);
      assert.equal(await session.serverChan<number>("give").put(1 as never), false, "proxies of a closed session refuse");
    });

    it("a put waiting for credit is withdrawn when its signal aborts; nothing of it arrives", async (t) => {
      const { server, url } = await start(t, { window: 1 });
      const inbox = server.channel<string>("inbox");
      const session = await open(t, url, transport);
      const proxy = session.serverChan<string>("inbox");
      const first = proxy.put("first");
      const abort = new AbortController();
      const second = proxy.put("second", { signal: abort.signal });
      abort.abort(new Error("changed my mind"));
      await assert.rejects(second, /changed my mind/, "the waiting put rejects with the reason");
      const third = proxy.put("third");
      assert.equal(await inbox.take(), "first");
      assert.equal(await inbox.take(), "third", "the withdrawn value never arrived");
      assert.deepEqual(await Promise.all([first, third]), [true, true]);
      await assert.rejects(proxy.put("late", { signal: abort.signal }), /changed my mind/, "an aborted signal refuses at once");
    });

    it("a put to a name nobody registered resolves false", async (t) => {
      const { url } = await start(t);
      const session = await open(t, url, transport);
      assert.equal(await session.serverChan<number>("nobody").put(1), false);
      assert.equal(session.state, "open", "and the session goes on");
    });
  });
}

describe("the server's URL", TEST, () => {
  for (const transport of TRANSPORTS) {
    it(`a ws:// URL reaches the server over ${transport} (regression: the HTTP transports refused it)`, async (t) => {
      const { server, url } = await start(t);
      echoDoubles(server);
      const session = await open(t, url.replace(/^http:/, "ws:"), transport);
      const reply = chan<number>(1);
      assert.equal(await session.serverChan("echo").put({ reply, n: 21 }), true);
      assert.equal(await reply.take(), 42);
    });
  }
});

describe("long-polling at rest", TEST, () => {
  it("an idle long-polling session holds one poll instead of polling in a loop (regression)", async (t) => {
    const { server, url } = await start(t, { heartbeat: 10_000, heartbeatTimeout: 30_000, pollTimeout: 10_000 });
    const inbox = server.channel<number>("inbox");
    let polls = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).endsWith("/poll")) polls++;
      return fetch(input, init);
    };
    const session = await connect(url, { transports: ["longpoll"], upgradeProbeInterval: 0, fetch: counting });
    t.after(() => session.close());
    void session.serverChan<number>("inbox").put(1);
    assert.equal(await inbox.take(), 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = polls;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(polls - before <= 1, `at rest, at most one poll in 300 ms (got ${polls - before})`);
  });

  it("the answers to a batch of puts that a loop takes in one turn come back in one poll", async (t) => {
    const { server, url } = await start(t, { heartbeat: 10_000, heartbeatTimeout: 30_000, pollTimeout: 10_000 });
    const sink = server.channel<number>("sink");
    void (async () => {
      for await (const _ of sink);
    })();
    const answersPerPoll: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith("/poll")) return response;
      const text = await response.text();
      const answers = (JSON.parse(text) as unknown[][]).filter((frame) => frame[1] === "a").length;
      if (answers > 0) answersPerPoll.push(answers);
      return new Response(text, { status: response.status, headers: response.headers });
    };
    const session = await connect(url, { transports: ["longpoll"], upgradeProbeInterval: 0, fetch: counting });
    t.after(() => session.close());
    const proxy = session.serverChan<number>("sink");
    // More than a quarter of the window (64), the point at which answers stop waiting for a ride.
    const puts = Array.from({ length: 200 }, (_, i) => proxy.put(i));
    assert.deepEqual(new Set(await Promise.all(puts)), new Set([true]));
    assert.deepEqual(answersPerPoll, [200], "one poll answer carries all 200 answers");
  });
});
