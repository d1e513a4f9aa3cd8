// Regression tests of the hardening issue (issue 9) for the protocol core: sizes in UTF-8 bytes
// over every transport (B1, B2, B6), a refused resume answered with an error and no welcome
// (B5), a hello older than the newest acknowledgement (B7), bounds on sessions, replay memory,
// silent sockets and packet complexity (B8, B9, B10, B12), and the protocol's security gaps
// (B13). Real server, real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { describe, it, type TestContext } from "node:test";
import { inspect } from "node:util";
import { chan, type Channel } from "../../src/csp/index.js";
import { connect, ProtocolError, type Session, type StateChange } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { createServer, type RemoteChannel, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { MIN_CLIENT_PACKET_LIMIT, packetLimitFor } from "../../src/server/protocol/sessions.js";
import { MAX_PACKET_NODES } from "../../src/wire/protocol.js";
import { settle, until } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";
import { errorCodeOf, hello, openHttpSession, PATH, RawSocket, request, send, serverSession, sessionHeaders, type WireFrame, within } from "./security-wire.js";

const TEST = { timeout: 60_000 };
const TRANSPORTS: readonly TransportName[] = ["websocket", "sse", "longpoll"];
const KIB64 = 64 * 1024;

async function start(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; url: string }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000, ...options });
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, url: handle.url };
}

async function client(t: TestContext, url: string, transport: TransportName): Promise<{ session: Session; changes: StateChange[] }> {
  const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000 });
  t.after(() => session.close());
  const changes: StateChange[] = [];
  session.onState((change) => changes.push(change));
  return { session, changes };
}

/** Takes `n` values from `ch`, failing after a bound. */
async function takeN<T>(ch: Channel<T>, n: number, what: string): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push((await within(ch.take(), `${what}: value ${i + 1} of ${n}`, 20_000)) as T);
  return out;
}

/** The longest `"é".repeat(n)` put to `n:<name>` that the session takes, found from the byte budget of a put frame. */
function longestFitting(limit: number, name: string): number {
  // [seq,"p","n:name","ééé"] with a sequence number of up to 16 digits, in a packet's brackets.
  const fixed = `[0,"p",${JSON.stringify(`n:${name}`)},""]`.length + 2 + 15;
  return Math.floor((limit - fixed) / 2);
}

describe("sizes are UTF-8 bytes on both sides (B1, B2, B6)", TEST, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: multi-byte text at the limit arrives; just over it fails at once, typed, and the session stays open`, async (t) => {
      const { server, url } = await start(t, { maxMessageSize: KIB64 });
      const inbox = server.channel<string>("in", 4);
      const { session, changes } = await client(t, url, transport);
      const proxy = session.serverChan<string>("in");
      const n = longestFitting(KIB64, "in");
      assert.equal(await within(proxy.put("é".repeat(n)), "the put at the limit"), true, "taken");
      assert.equal((await within(inbox.take(), "the value at the limit"))?.length, n, "arrived whole");
      assertThrowsCode(() => proxy.put("é".repeat(n + 1)), "ERR_MESSAGE_TOO_LARGE", "one é more", RangeError);
      // The issue's reproduction: 40,000 é are 80,000 bytes, though only 40,000 characters.
      assertThrowsCode(() => proxy.put("é".repeat(40_000)), "ERR_MESSAGE_TOO_LARGE", "80,000 bytes in 40,000 characters", RangeError);
      assert.equal(await within(proxy.put("after"), "a put after the refusals"), true, "the session still serves");
      assert.equal(await within(inbox.take(), "the put after"), "after");
      assert.equal(session.state, "open", "still open");
      assert.deepEqual(changes, [], "no reconnect, no loss");
    });

    it(`${transport}: a burst of 2-3x the limit in one tick (multi-byte and ASCII) arrives once, in order`, async (t) => {
      const { server, url } = await start(t, { maxMessageSize: KIB64 });
      const inbox = server.channel<string>("in", 1024);
      const { session, changes } = await client(t, url, transport);
      const proxy = session.serverChan<string>("in");
      const wide = Array.from({ length: 100 }, (_, i) => `${i}:${"中".repeat(1000)}`); // ~300 KB
      const narrow = Array.from({ length: 200 }, (_, i) => `${i}:${"x".repeat(1000)}`); // ~200 KB
      for (const batch of [wide, narrow]) {
        const puts = batch.map((value) => proxy.put(value));
        assert.deepEqual(await within(Promise.all(puts), `the ${batch.length} puts`, 20_000), batch.map(() => true), "every put taken");
        assert.deepEqual(await takeN(inbox, batch.length, "the burst"), batch, "every value once, in order");
      }
      assert.deepEqual(changes, [], "no reconnect, no loss");
    });
  }

  it("a value too large fails the same way whether or not other puts wait: a synchronous RangeError", async (t) => {
    const { server, url } = await start(t, { maxMessageSize: KIB64, window: 1 });
    server.channel<string>("stuck"); // nobody takes: the first put stays in flight, the next ones wait
    const { session } = await client(t, url, "websocket");
    const proxy = session.serverChan<string>("stuck");
    const huge = "x".repeat(KIB64);
    assertThrowsCode(() => proxy.put(huge), "ERR_MESSAGE_TOO_LARGE", "nothing waits", RangeError);
    void proxy.put("first");
    void proxy.put("second, waiting for credit");
    assertThrowsCode(() => proxy.put(huge), "ERR_MESSAGE_TOO_LARGE", "another put waits", RangeError);
    assertThrowsCode(() => proxy.put(10n as unknown as string), "ERR_WIRE_VALUE", "a BigInt, another put waiting", TypeError);
  });
});

describe("the client's own limit", TEST, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: a client whose maxMessageSize is below the server's gets packets it accepts (its hello says its limit)`, async (t) => {
      const { server, url } = await start(t);
      const feed = server.channel<RemoteChannel<string>>("feed");
      const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000, maxMessageSize: KIB64 });
      t.after(() => session.close());
      const changes: StateChange[] = [];
      session.onState((change) => changes.push(change));
      const mine = chan<string>(128);
      const asked = session.serverChan<Channel<string>>("feed").put(mine);
      const to = await within(feed.take(), "the client's channel");
      await within(asked, "the feed request");
      // A hundred 1,000-byte values at once: the server would have packed them into one 100 KB packet.
      const values = Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(1000, "x"));
      const puts = values.map((value) => (to as RemoteChannel<string>).put(value));
      assert.deepEqual(await takeN(mine, 100, "the server's values"), values, "every value, in order");
      assert.deepEqual(await within(Promise.all(puts), "the server's puts"), values.map(() => true));
      assert.throws(() => (to as RemoteChannel<string>).put("y".repeat(KIB64)), /maxMessageSize 65536/, "a value over the client's limit fails at the server, typed");
      assert.deepEqual(changes, [], "the session was never lost");
    });
  }

  it("a hello cannot make the server pack under 64 KiB: a hostile limit would make the server's own puts throw", () => {
    assert.equal(packetLimitFor(1024 * 1024, 0), MIN_CLIENT_PACKET_LIMIT, "a limit of 0 is raised to the floor");
    assert.equal(packetLimitFor(1024 * 1024, 200_000), 200_000, "a limit above the floor is kept");
    assert.equal(packetLimitFor(1024 * 1024, undefined), 1024 * 1024, "no limit said: the server's");
    assert.equal(packetLimitFor(1000, 0), 1000, "a server limit below the floor stays the server's");
  });
});

describe("resume (B5, B7)", TEST, () => {
  it("a resume the server refuses is answered with ERR_SESSION_LOST, never a welcome (WebSocket and open)", async (t) => {
    const { url } = await start(t);
    const first = await RawSocket.connect(url);
    t.after(() => first.terminate());
    await first.hello();
    const { sid, secret } = first;
    first.terminate();
    const again = await RawSocket.connect(url);
    t.after(() => again.terminate());
    again.send([hello({ sid, secret, recv: 999 })]);
    const error = await again.errorFrame("the refusal of a recv never sent");
    assert.equal(error[1], "ERR_SESSION_LOST", `the code (got ${JSON.stringify(error)})`);
    assert.equal(again.frames.some((f) => f[0] === "welcome"), false, "no welcome before it");
    await again.closed("the server closes the socket");

    const opened = await openHttpSession(url);
    const answer = await request(url, `${PATH}/open`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify([hello({ sid: opened.sid, secret: opened.secret, recv: 5 })]) });
    assert.equal(answer.status, 410, `410 (got ${answer.status} ${answer.text})`);
    assert.equal(errorCodeOf(answer), "ERR_SESSION_LOST", "an error packet, not a welcome");
  });

  it("a WebSocket hello older than what the long-poll link acknowledged resumes the session (the upgrade probe's race)", async (t) => {
    const { server, url } = await start(t, { pollTimeout: 200 });
    const twice = server.channel<{ reply: RemoteChannel<number>; n: number }>("twice");
    void (async () => {
      // Not awaited: this raw client answers no put, and both frames must go out.
      for await (const { reply, n } of twice) {
        void reply.put(n);
        void reply.put(n + 1);
      }
    })();
    const session = await openHttpSession(url);
    // Frames 1 (the answer), 2 and 3 (the two puts into c.1) are made for the client.
    const sent = await send(url, sessionHeaders(session), [[1, "p", "n:twice", { reply: { "~c": "c.1" }, n: 10 }]]);
    assert.equal(sent.status, 200);
    let received = 0;
    const seen: WireFrame[] = [];
    while (received < 3) {
      const poll = await request(url, `${PATH}/poll`, { headers: sessionHeaders(session, { "x-wirechan-recv": String(received) }) });
      for (const frame of poll.json as WireFrame[]) {
        seen.push(frame);
        if (typeof frame[0] === "number") received = Math.max(received, frame[0]);
      }
    }
    // This poll acknowledges frames 1 to 3 (it is answered [] after pollTimeout).
    await request(url, `${PATH}/poll`, { headers: sessionHeaders(session, { "x-wirechan-recv": "3" }) });
    assert.equal(serverSession(server, session.sid).peer.unacknowledged, 0, "the server forgot frames 1 to 3");
    // The probe's hello was written before that acknowledgement: recv 0.
    const socket = await RawSocket.connect(url);
    t.after(() => socket.terminate());
    const welcome = await socket.hello({ sid: session.sid, secret: session.secret, recv: 0 });
    assert.equal(welcome.resumed, true, "resumed");
    socket.received = 3;
    socket.nextSeq = 2;
    socket.put("n:twice", { reply: { "~c": "c.1" }, n: 20 });
    const twenty = await socket.frame((f) => typeof f[0] === "number" && f[1] === "p" && f[3] === 20, "the next value on the WebSocket");
    assert.ok((twenty[0] as number) > 3, "numbered after the acknowledged frames");
    assert.equal(socket.frames.some((f) => f[0] === "error"), false, `no error (got ${socket.describe()})`);
    assert.equal(server.sessionCount, 1, "the session lives");
  });
});

/** `POST path/open` from a chosen loopback address (127.0.0.2 …), so a flood can come from another address than the test's client. */
function openFrom(url: string, localAddress: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path: `${PATH}/open`, method: "POST", localAddress, headers: { "content-type": "application/json" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(JSON.stringify([hello()]));
  });
}

describe("bounded per server (B8, B9, B10, B12)", TEST, () => {
  it("a flood of bare opens from one address stops at maxSessionsPerAddress, the sessions expire after linkTimeout, and another client is served meanwhile", async (t) => {
    const { server, url } = await start(t, { maxSessionsPerAddress: 50, linkTimeout: 500 });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(...(await Promise.all(Array.from({ length: 50 }, () => openFrom(url, "127.0.0.2")))));
    assert.equal(answers.filter((a) => a.status === 200).length, 50, "50 sessions made");
    const refused = answers.filter((a) => a.status !== 200);
    assert.equal(refused.length, 150, "the rest refused");
    for (const answer of refused) {
      assert.equal(answer.status, 503, "503");
      assert.match(answer.body, /ERR_TOO_MANY_SESSIONS.*maxSessionsPerAddress/, "the code and the option");
    }
    const { session } = await client(t, url, "websocket");
    const inbox = server.channel<string>("in", 1);
    assert.equal(await within(session.serverChan<string>("in").put("served"), "the other client's put"), true);
    assert.equal(await within(inbox.take(), "its value"), "served");
    await until(() => server.sessionCount === 1, `the 50 sessions that never got a link to expire (sessions: ${server.sessionCount})`, 10_000);
    assert.equal((await openFrom(url, "127.0.0.2")).status, 200, "the address may open sessions again");
  });

  it("replay memory is bounded across sessions: the session keeping the most unacknowledged frames is ended first", async (t) => {
    const budget = 300_000;
    const { server, url } = await start(t, { replayBudget: budget });
    const sockets: RawSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = await RawSocket.connect(url);
      t.after(() => socket.terminate());
      await socket.hello();
      sockets.push(socket);
    }
    // Puts to a name nobody registered are answered at once (an error and an "a" frame each),
    // and these clients never acknowledge: every answer stays in the server's replay buffer.
    const [big, small] = sockets as [RawSocket, RawSocket, RawSocket];
    for (let i = 0; i < 1200; i++) small.put("n:nobody", i);
    for (let i = 0; i < 3000; i++) big.put("n:nobody", i);
    const error = await big.errorFrame("the end of the session keeping the most", 20_000);
    assert.equal(error[1], "ERR_SESSION_LOST", `the code (got ${JSON.stringify(error)})`);
    assert.match(String(error[2]), /replayBudget/, "names the option");
    await settle();
    const table = (server as unknown as { protocol: { sessions: { replayBytes: number } } }).protocol.sessions;
    assert.ok(table.replayBytes <= budget, `within the budget (${table.replayBytes} bytes)`);
    assert.equal(await small.answersPing("still-there"), true, "the smaller session is served");
  });

  it("a fatal error frame from the client ends its session on the server at once", async (t) => {
    const { server, url } = await start(t);
    const socket = await RawSocket.connect(url);
    t.after(() => socket.terminate());
    await socket.hello();
    assert.equal(server.sessionCount, 1);
    socket.send([["error", "ERR_BAD_FRAME", "the client could not read a packet", 1]]);
    await until(() => server.sessionCount === 0, "the server to end the session (it kept it for sessionTtl)");
  });

  it("a WebSocket that never says hello is closed after linkTimeout with ERR_HANDSHAKE_TIMEOUT", async (t) => {
    const { server, url } = await start(t, { linkTimeout: 200 });
    const silent = await RawSocket.connect(url);
    t.after(() => silent.terminate());
    const error = await silent.errorFrame("the handshake timeout");
    assert.equal(error[1], "ERR_HANDSHAKE_TIMEOUT", `the code (got ${JSON.stringify(error)})`);
    await silent.closed("the server closes it");
    await until(() => server.connectionCount === 0, "its connection slot to be freed");
  });

  it("a short linkTimeout makes the sweep run often, but links are still pinged once per heartbeat", async (t) => {
    const heartbeat = 400;
    const { url } = await start(t, { heartbeat, heartbeatTimeout: 10_000, linkTimeout: 40 });
    const socket = await RawSocket.connect(url);
    t.after(() => socket.terminate());
    await socket.hello();
    const times: number[] = [];
    for (let n = 1; n <= 3; n++) {
      await until(() => socket.frames.filter((f) => f[0] === "ping").length >= n, `ping ${n}`, 10_000);
      times.push(Date.now());
    }
    // A lower bound only: a loaded machine makes pings later, never earlier. The sweep runs every
    // 20 ms here; before, it pinged on every sweep.
    for (let i = 1; i < times.length; i++) assert.ok((times[i] as number) - (times[i - 1] as number) >= heartbeat / 2, `pings ${i} and ${i + 1} are a heartbeat apart (${(times[i] as number) - (times[i - 1] as number)} ms)`);
  });

  it("a packet of more arrays and objects than MAX_PACKET_NODES is refused before it is parsed; a put of such a value fails at the sender", async (t) => {
    const { server, url } = await start(t);
    const inbox = server.channel<unknown>("in", 4);
    const raw = await RawSocket.connect(url);
    t.after(() => raw.terminate());
    await raw.hello();
    raw.put("n:in", Array.from({ length: MAX_PACKET_NODES }, () => []));
    const error = await raw.errorFrame("the refusal");
    assert.equal(error[1], "ERR_VALUE_TOO_COMPLEX", `the code (got ${JSON.stringify(error)})`);
    const { session } = await client(t, url, "websocket");
    const proxy = session.serverChan<unknown>("in");
    assertThrowsCode(() => proxy.put(Array.from({ length: MAX_PACKET_NODES }, () => ({}))), "ERR_VALUE_TOO_COMPLEX", "too many objects", RangeError);
    const fits = Array.from({ length: MAX_PACKET_NODES - 4 }, (_, i) => [i]);
    assert.equal(await within(proxy.put(fits), "a value just under the limit"), true, "taken");
    assert.equal(((await within(inbox.take(), "its arrival")) as unknown[]).length, fits.length, "arrived whole");
  });
});

describe("security (B13)", TEST, () => {
  it("a resume by another principal than the session's is refused with ERR_UNAUTHORIZED, and the session stays its owner's", async (t) => {
    const { server, url } = await start(t, { authenticate: (req) => req.headers["x-user"] ?? "anonymous" });
    const inbox = server.channel<string>("in", { envelope: true });
    const alice = await RawSocket.connect(url, { "x-user": "alice" });
    t.after(() => alice.terminate());
    await alice.hello();
    const mallory = await RawSocket.connect(url, { "x-user": "mallory" });
    t.after(() => mallory.terminate());
    mallory.send([hello({ sid: alice.sid, secret: alice.secret, recv: 0 })]);
    const error = await mallory.errorFrame("the refusal");
    assert.equal(error[1], "ERR_UNAUTHORIZED", `the code (got ${JSON.stringify(error)})`);
    assert.equal(alice.isOpen, true, "alice's link is untouched");
    alice.put("n:in", "from alice");
    const envelope = await within(inbox.take(), "alice's value");
    assert.equal(envelope?.session.principal, "alice", "still alice's session");
  });

  it("authenticate is the hook to rate-limit new sessions: a ProtocolError it throws (ERR_RATE_LIMITED) is the refusal, 429", async (t) => {
    let refuse = true;
    const { server, url } = await start(t, {
      authenticate: () => {
        if (refuse) throw new ProtocolError("ERR_RATE_LIMITED", "too many new sessions from you; try again in a minute");
        return "ok";
      },
    });
    const open = await request(url, `${PATH}/open`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify([hello()]) });
    assert.equal(open.status, 429, `429 (got ${open.status} ${open.text})`);
    assert.equal(errorCodeOf(open), "ERR_RATE_LIMITED");
    await assert.rejects(
      connect(url, { transports: ["websocket"], upgradeProbeInterval: 0, connectTimeout: 5_000 }),
      (thrown: unknown) => thrown instanceof ProtocolError && thrown.code === "ERR_RATE_LIMITED",
      "connect rejects with the hook's code",
    );
    assert.equal(server.sessionCount, 0, "no session made");
    refuse = false;
    await client(t, url, "longpoll");
    assert.equal(server.sessionCount, 1, "served once the hook lets it");
  });

  it("util.inspect of a server session does not show its secret", async (t) => {
    const { server, url } = await start(t);
    const opened = await openHttpSession(url);
    const text = inspect(serverSession(server, opened.sid), { depth: 10, showHidden: true });
    assert.equal(text.includes(opened.secret), false, `the secret is not printed (got ${text})`);
  });

  for (const transport of ["websocket", "sse"] as const) {
    it(`${transport}: server.close() tells the client: its session is lost with ERR_SERVER_CLOSED, not reconnecting`, async (t) => {
      const server = createServer({ closeTimeout: 1_000 });
      const handle = await server.listen();
      const session = await connect(handle.url, { transports: [transport], upgradeProbeInterval: 0 });
      t.after(() => session.close());
      const changes: StateChange[] = [];
      session.onState((change) => changes.push(change));
      const sid = session.id ?? "";
      await until(() => serverSession(server, sid).link !== null, "the session's downstream to attach");
      await within(handle.close(), "the server's close");
      await until(() => session.state === "lost", `the client to learn (state ${session.state})`);
      assert.equal(changes.at(-1)?.error?.code, "ERR_SERVER_CLOSED", "the reason");
      assert.equal(session.lastChange.error?.code, "ERR_SERVER_CLOSED", "the session says why afterwards too");
      assert.equal(changes.some((c) => c.state === "reconnecting"), false, "it never went reconnecting");
    });
  }
});

