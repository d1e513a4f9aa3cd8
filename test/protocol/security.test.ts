// Security properties of the protocol (docs/protocol.md sections 3, 5 and 7), checked with raw
// clients on real sockets: references are scoped to their session, the secret only counts in
// its header, ids are unguessable, the origin allow-list guards every endpoint, and every limit
// is answered by a typed error instead of growing memory or crashing.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { inspect } from "node:util";
import { type Channel, chan, TooManyPendingError } from "../../src/csp/index.js";
import { connect, ProtocolError, type Session } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { createServer, type Envelope, type RemoteChannel, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { settle, until } from "../helpers/async.js";
import {
  clientPeer,
  errorCodeOf,
  type HttpSession,
  openHttpSession,
  PATH,
  RawSocket,
  request,
  send,
  serverSession,
  sessionHeaders,
  type WireFrame,
  within,
} from "./security-wire.js";

const TEST = { timeout: 30_000 };

async function start(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; url: string }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000, ...options });
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, url: handle.url };
}

async function rawSession(t: TestContext, url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  const socket = await RawSocket.connect(url, headers);
  t.after(() => socket.terminate());
  await socket.hello();
  return socket;
}

async function client(t: TestContext, url: string, transport: TransportName = "websocket"): Promise<Session> {
  const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000 });
  t.after(() => session.close());
  return session;
}

/** Property paths (own keys, enumerable or not, `depth` levels deep) from `root` to the string `needle`. */
function pathsTo(root: unknown, needle: string, depth: number): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  const walk = (value: unknown, path: string, left: number): void => {
    if (value === needle) found.push(path);
    if (typeof value !== "object" || value === null || left === 0 || seen.has(value)) return;
    seen.add(value);
    if (value instanceof Map) {
      for (const [key, item] of value) walk(item, `${path}.get(${String(key)})`, left - 1);
      return;
    }
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor !== undefined && "value" in descriptor) walk(descriptor.value, `${path}.${String(key)}`, left - 1);
    }
  };
  walk(root, "envelope", depth);
  return found;
}

function isSeq(op: string, ...args: unknown[]): (frame: WireFrame) => boolean {
  return (frame) => typeof frame[0] === "number" && frame[1] === op && args.every((arg, i) => frame[i + 2] === arg);
}

/**
 * A server whose channel "give" answers `{ reply }` by putting a channel the server made into
 * `reply`, and a raw session A that asked for one: A learns the reference `s.<tag>.<n>` of a
 * channel exported in A's session only.
 */
async function exportToA(t: TestContext): Promise<{ server: WirechanServer; url: string; a: RawSocket; ref: string; made: Channel<unknown>; sink: Channel<unknown> }> {
  const { server, url } = await start(t);
  const made: Array<Channel<unknown>> = [];
  const give = server.channel<{ reply: RemoteChannel<Channel<unknown>> }>("give");
  void (async () => {
    for await (const { reply } of give) {
      const channel = chan<unknown>(8);
      made.push(channel);
      await reply.put(channel);
    }
  })();
  const sink = server.channel<unknown>("sink", 8);
  const a = await rawSession(t, url);
  a.put("n:give", { reply: { "~c": "c.1" } });
  const delivered = await a.frame(isSeq("p", "c.1"), "the server's put into A's channel c.1");
  const wrapped = delivered[3] as Record<string, unknown>;
  const ref = wrapped["~c"];
  assert.equal(typeof ref, "string", `the server put a channel reference into c.1 (got ${JSON.stringify(delivered)})`);
  assert.match(ref as string, /^s\.[A-Za-z0-9_-]+\.[0-9]+$/, "a server reference is s.<tag>.<n>");
  a.sendSeq("a", delivered[0], 1);
  a.ack();
  await until(() => made.length === 1, "the server to make the channel it exported");
  return { server, url, a, ref: ref as string, made: made[0] as Channel<unknown>, sink };
}

/** A can still put into its reference, and the value is the first one the channel ever got. */
async function aStillWorks(a: RawSocket, ref: string, made: Channel<unknown>): Promise<void> {
  assert.equal(a.isOpen, true, "A's link is still open");
  const seq = a.put(ref, "from A");
  const answer = await a.frame(isSeq("a", seq), "the server to accept A's put into its own reference");
  assert.equal(answer[3], 1, "A's put was taken by the channel");
  assert.equal(await within(made.take(), "the value A put"), "from A", "the first value in A's channel is A's: nothing of B's got in");
}

describe("references are valid only in the session that exported them", TEST, () => {
  it("a put from another session to A's reference gets ERR_FOREIGN_REFERENCE, closes that link and delivers nothing", async (t) => {
    const { server, url, a, ref, made } = await exportToA(t);
    const b = await rawSession(t, url);
    assert.equal(server.sessionCount, 2, "two sessions");
    b.put(ref, "from B");
    const error = await b.errorFrame("B's error frame");
    assert.equal(error[1], "ERR_FOREIGN_REFERENCE", `the code (got ${JSON.stringify(error)})`);
    assert.equal(error[3], 1, "the error is fatal");
    await b.closed("the server to close B's link");
    assert.equal(b.sequenced("a").length, 0, "B's put was never answered as accepted");
    await settle();
    assert.equal(made.poll(), undefined, "nothing arrived in A's channel");
    assert.equal(server.sessionCount, 1, "B's session ended; A's is left");
    await aStillWorks(a, ref, made);
  });

  it("a value holding A's reference, sent by another session, gets ERR_FOREIGN_REFERENCE and delivers nothing", async (t) => {
    const { server, url, a, ref, made, sink } = await exportToA(t);
    for (const value of [{ "~c": ref }, { x: { "~c": ref } }, [1, { y: [{ "~c": ref }] }]]) {
      const b = await rawSession(t, url);
      b.put("n:sink", value);
      const error = await b.errorFrame(`B's error frame for ${JSON.stringify(value)}`);
      assert.equal(error[1], "ERR_FOREIGN_REFERENCE", `the code for ${JSON.stringify(value)} (got ${JSON.stringify(error)})`);
      assert.equal(error[3], 1, "the error is fatal");
      await b.closed("the server to close B's link");
    }
    await settle();
    assert.equal(sink.poll(), undefined, "nothing reached the named channel");
    assert.equal(server.sessionCount, 1, "only A's session is left");
    await aStillWorks(a, ref, made);
  });

  it("another session can neither release A's reference nor reach a guessed number under A's tag", async (t) => {
    const { server, url, a, ref, made } = await exportToA(t);
    const guessed = ref.replace(/[0-9]+$/, "2");
    const attempts: Array<[string, (b: RawSocket) => void]> = [
      ["a release of A's reference", (b) => b.sendSeq("r", ref, 1)],
      ["a put to another number under A's tag", (b) => b.put(guessed, 1)],
      ["a put to A's reference, after a good frame in the same packet", (b) => b.send([[1, "p", "n:nobody", 1], [2, "p", ref, 2]])],
    ];
    for (const [what, attack] of attempts) {
      const b = await rawSession(t, url);
      attack(b);
      const error = await b.errorFrame(`the error frame for ${what}`);
      assert.equal(error[1], "ERR_FOREIGN_REFERENCE", `${what}: the code (got ${JSON.stringify(error)})`);
      await b.closed(`the server to close the link after ${what}`);
    }
    assert.equal(server.sessionCount, 1, "only A's session is left");
    // Had the release counted, A's export would be gone and A's put answered "closed" (ok 0).
    await aStillWorks(a, ref, made);
  });

  it("over the HTTP upstream too: POST send with A's reference is refused and ends that session only", async (t) => {
    const { server, url, a, ref, made } = await exportToA(t);
    const b = await openHttpSession(url);
    const answer = await send(url, sessionHeaders(b), [[1, "p", ref, "from B"]]);
    assert.ok(answer.status >= 400 && answer.status < 500, `a 4xx (got ${answer.status} ${answer.text})`);
    assert.equal(errorCodeOf(answer), "ERR_FOREIGN_REFERENCE", `the error packet's code (got ${answer.text})`);
    const poll = await request(url, `${PATH}/poll`, { headers: sessionHeaders(b, { "x-wirechan-recv": "0" }) });
    assert.equal(poll.status, 410, `B's session is gone (got ${poll.status} ${poll.text})`);
    assert.equal(server.sessionCount, 1, "A's session is left");
    await aStillWorks(a, ref, made);
  });
});

describe("the session secret counts only in its header", TEST, () => {
  const attempts = (s: HttpSession): Array<[string, string, Record<string, string>]> => {
    const flipped = `${s.secret.slice(0, -1)}${s.secret.endsWith("A") ? "B" : "A"}`;
    return [
      ["a wrong secret of the right length", "", sessionHeaders({ sid: s.sid, secret: flipped })],
      ["the secret in another case", "", sessionHeaders({ sid: s.sid, secret: s.secret.toUpperCase() === s.secret ? s.secret.toLowerCase() : s.secret.toUpperCase() })],
      ["a prefix of the secret", "", sessionHeaders({ sid: s.sid, secret: s.secret.slice(0, 8) })],
      ["an empty secret", "", sessionHeaders({ sid: s.sid, secret: "" })],
      ["no headers at all", "", {}],
      ["the session header only", "", { "x-wirechan-session": s.sid }],
      ["the secret only in a cookie", "", { "x-wirechan-session": s.sid, cookie: `x-wirechan-secret=${s.secret}; secret=${s.secret}; wirechan=${s.secret}` }],
      ["both only in cookies", "", { cookie: `x-wirechan-session=${s.sid}; x-wirechan-secret=${s.secret}` }],
      ["the secret only in the query", `?secret=${s.secret}&x-wirechan-secret=${s.secret}`, { "x-wirechan-session": s.sid }],
      ["both only in the query", `?sid=${s.sid}&secret=${s.secret}&x-wirechan-session=${s.sid}&x-wirechan-secret=${s.secret}`, {}],
    ];
  };

  it("POST send with a wrong, missing, cookie or query secret is refused and changes nothing", async (t) => {
    const { server, url } = await start(t);
    const inbox = server.channel<string>("inbox", 16);
    const s = await openHttpSession(url);
    for (const [what, query, headers] of attempts(s)) {
      const answer = await request(url, `${PATH}/send${query}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify([[1, "p", "n:inbox", `evil: ${what}`]]),
      });
      assert.ok(answer.status === 410 || (answer.status >= 400 && answer.status < 500), `${what}: refused with 410 or a 4xx (got ${answer.status})`);
      const code = errorCodeOf(answer);
      assert.ok(code === "ERR_SESSION_LOST" || code === "ERR_NO_SESSION", `${what}: an error packet (got ${answer.text})`);
    }
    await settle();
    assert.equal(inbox.poll(), undefined, "nothing reached the channel");
    assert.equal(server.sessionCount, 1, "the session is still there");
    // Sequence number 1 was never used up: the real put with it is accepted and delivered.
    const good = await send(url, sessionHeaders(s), [[1, "p", "n:inbox", "good"]]);
    assert.equal(good.status, 200, `the right headers are accepted (got ${good.status} ${good.text})`);
    assert.deepEqual(good.json, [["ack", 1]], "the server acknowledges frame 1: the refused POSTs did not count");
    assert.equal(await within(inbox.take(), "the good value"), "good", "the first and only value is the good one");
  });

  it("GET sse and poll with a wrong, missing, cookie or query secret are refused", async (t) => {
    const { server, url } = await start(t);
    const s = await openHttpSession(url);
    for (const endpoint of ["sse", "poll"]) {
      for (const [what, query, headers] of attempts(s)) {
        const answer = await request(url, `${PATH}/${endpoint}${query}`, {
          headers: { accept: endpoint === "sse" ? "text/event-stream" : "application/json", "x-wirechan-recv": "0", ...headers },
        });
        assert.equal(answer.status, 410, `${endpoint}, ${what}: refused with 410 (got ${answer.status} ${answer.text})`);
        const code = errorCodeOf(answer);
        assert.ok(code === "ERR_SESSION_LOST" || code === "ERR_NO_SESSION", `${endpoint}, ${what}: an error packet (got ${answer.text})`);
      }
    }
    assert.equal(server.sessionCount, 1, "the session is still there");
  });

  it("a WebSocket hello naming a session with a wrong or missing secret is refused and leaves that session alone", async (t) => {
    const { server, url } = await start(t);
    const owner = await rawSession(t, url);
    const sid = owner.sid as string;
    const secret = owner.secret as string;
    for (const [what, body] of [
      ["no secret", { sid, secret: null }],
      ["a wrong secret", { sid, secret: `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}` }],
      ["the id as the secret", { sid, secret: sid }],
    ] as const) {
      const intruder = await RawSocket.connect(url);
      t.after(() => intruder.terminate());
      intruder.send([["hello", 1, { ...body, recv: 0 }]]);
      const error = await intruder.errorFrame(`the refusal of ${what}`);
      assert.equal(error[1], "ERR_SESSION_LOST", `${what}: the code (got ${JSON.stringify(error)})`);
      await intruder.closed(`the intruder's link to close (${what})`);
      assert.equal(intruder.frames.some((f) => f[0] === "welcome"), false, `${what}: no welcome`);
    }
    assert.equal(server.sessionCount, 1, "the owner's session is still there");
    assert.equal(await owner.answersPing("still-mine"), true, "the owner's link was not replaced");
  });
});

describe("session ids and secrets", TEST, () => {
  it("are 22 base64url characters (128 bits), all distinct over 200 sessions", async (t) => {
    const { server, url } = await start(t);
    const seen = new Set<string>();
    const sessions: HttpSession[] = [];
    for (let batch = 0; batch < 10; batch++) {
      sessions.push(...(await Promise.all(Array.from({ length: 20 }, () => openHttpSession(url)))));
    }
    for (const { sid, secret } of sessions) {
      assert.match(sid, /^[A-Za-z0-9_-]{22}$/, `a session id is 22 base64url characters (got ${sid})`);
      assert.match(secret, /^[A-Za-z0-9_-]{22}$/, `a secret is 22 base64url characters (got ${secret})`);
      seen.add(sid);
      seen.add(secret);
    }
    assert.equal(seen.size, 400, "200 ids and 200 secrets, no two alike");
    assert.equal(server.sessionCount, 200, "200 sessions");
  });

  it("the secret is sent once, in the welcome of a new session, never in a resume's welcome", async (t) => {
    const { url } = await start(t);
    const first = await rawSession(t, url);
    const again = await RawSocket.connect(url);
    t.after(() => again.terminate());
    const welcome = await again.hello({ sid: first.sid, secret: first.secret, recv: first.received });
    assert.equal(welcome.resumed, true, "the resume was accepted");
    assert.equal(welcome.secret, null, "a resume's welcome carries no secret");
  });
});

describe("the origin allow-list guards every protocol endpoint", TEST, () => {
  const evil = { origin: "http://evil.example" };

  it("with the default (same-origin) policy a foreign Origin is refused 403 everywhere and changes nothing", async (t) => {
    const { server, url } = await start(t);
    const inbox = server.channel<string>("inbox", 16);
    const refusedUpgrade = await RawSocket.refusal(url, evil);
    assert.equal(refusedUpgrade.status, 403, `the WebSocket upgrade is refused (got ${refusedUpgrade.status})`);
    const open = await request(url, `${PATH}/open`, { method: "POST", headers: { "content-type": "application/json", ...evil }, body: JSON.stringify([["hello", 1, { sid: null, secret: null, recv: 0 }]]) });
    assert.equal(open.status, 403, `POST open is refused (got ${open.status} ${open.text})`);
    assert.equal(server.sessionCount, 0, "no session was made");

    const s = await openHttpSession(url);
    const sent = await send(url, sessionHeaders(s, evil), [[1, "p", "n:inbox", "evil"]]);
    assert.equal(sent.status, 403, `POST send is refused (got ${sent.status})`);
    const sse = await request(url, `${PATH}/sse`, { headers: sessionHeaders(s, { ...evil, accept: "text/event-stream", "x-wirechan-recv": "0" }) });
    assert.equal(sse.status, 403, `GET sse is refused (got ${sse.status})`);
    const poll = await request(url, `${PATH}/poll`, { headers: sessionHeaders(s, { ...evil, "x-wirechan-recv": "0" }) });
    assert.equal(poll.status, 403, `GET poll is refused (got ${poll.status})`);
    const resume = await RawSocket.refusal(url, evil);
    assert.equal(resume.status, 403, "a second upgrade is refused too");

    await settle();
    assert.equal(inbox.poll(), undefined, "nothing reached the channel");
    const good = await send(url, sessionHeaders(s), [[1, "p", "n:inbox", "good"]]);
    assert.deepEqual(good.json, [["ack", 1]], `the same frame without the foreign Origin is frame 1 (got ${good.text})`);
    assert.equal(await within(inbox.take(), "the good value"), "good");
  });

  it("the server's own origin is let in", async (t) => {
    const { url } = await start(t);
    const socket = await RawSocket.connect(url, { origin: url });
    t.after(() => socket.terminate());
    const welcome = await socket.hello();
    assert.equal(typeof welcome.sid, "string", "a same-origin upgrade gets a session");
    const open = await request(url, `${PATH}/open`, { method: "POST", headers: { "content-type": "application/json", origin: url }, body: JSON.stringify([["hello", 1, { sid: null, secret: null, recv: 0 }]]) });
    assert.equal(open.status, 200, `a same-origin POST open is answered (got ${open.status})`);
  });
});

describe("limits are answered by typed errors", TEST, () => {
  it("maxMessageSize: a larger WebSocket packet closes the link with 1009, and delivers nothing", async (t) => {
    const { server, url } = await start(t, { maxMessageSize: 4_096 });
    const sink = server.channel<string>("sink", 4);
    const socket = await rawSession(t, url);
    socket.sendText(JSON.stringify([[1, "p", "n:sink", "x".repeat(5_000)]]));
    const close = await socket.closed("the server to close the link");
    assert.equal(close.code, 1009, `closed with 1009, message too big (got ${close.code} ${close.reason})`);
    await settle();
    assert.equal(sink.poll(), undefined, "nothing was delivered");
  });

  it("maxMessageSize: a larger POST body is answered 413 ERR_MESSAGE_TOO_LARGE and changes nothing", async (t) => {
    const { server, url } = await start(t, { maxMessageSize: 4_096 });
    const sink = server.channel<string>("sink", 4);
    const big = JSON.stringify([["hello", 1, { sid: null, secret: null, recv: 0, pad: "x".repeat(5_000) }]]);
    const open = await request(url, `${PATH}/open`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    assert.equal(open.status, 413, `POST open: 413 (got ${open.status} ${open.text})`);
    assert.equal(errorCodeOf(open), "ERR_MESSAGE_TOO_LARGE", `POST open: the error packet (got ${open.text})`);
    assert.equal(server.sessionCount, 0, "no session was made");
    const s = await openHttpSession(url);
    const sent = await send(url, sessionHeaders(s), [[1, "p", "n:sink", "x".repeat(5_000)]]);
    assert.equal(sent.status, 413, `POST send: 413 (got ${sent.status} ${sent.text})`);
    assert.equal(errorCodeOf(sent), "ERR_MESSAGE_TOO_LARGE", `POST send: the error packet (got ${sent.text})`);
    await settle();
    assert.equal(sink.poll(), undefined, "nothing was delivered");
  });

  it("maxMessageSize: the client refuses a put too large for one message with a RangeError, before sending", async (t) => {
    const { server, url } = await start(t, { maxMessageSize: 4_096 });
    const sink = server.channel<string>("sink", 4);
    const session = await client(t, url);
    const proxy = session.serverChan<string>("sink");
    let error: unknown;
    try {
      void proxy.put("x".repeat(5_000));
    } catch (thrown) {
      error = thrown;
    }
    assert.ok(error instanceof RangeError, `a RangeError, thrown by put itself (got ${String(error)})`);
    assert.equal((error as RangeError & { code?: string }).code, "ERR_MESSAGE_TOO_LARGE", "its code");
    assert.equal(await within(proxy.put("small"), "a small put"), true, "the session goes on");
    assert.equal(sink.poll(), "small", "the small value is the first the server got");
    assert.equal(session.state, "open");
  });

  it("maxChannelsPerSession: a put with more fresh channels than allowed throws a RangeError before anything is sent", async (t) => {
    const { server, url } = await start(t, { maxChannelsPerSession: 4 });
    const sink = server.channel<unknown>("sink", 4);
    const session = await client(t, url);
    const proxy = session.serverChan<unknown>("sink");
    const peer = clientPeer(session);
    const received = serverSession(server, session.id as string).peer.received;
    let error: unknown;
    try {
      void proxy.put({ chans: [chan(), chan(), chan(), chan()] });
    } catch (thrown) {
      error = thrown;
    }
    assert.ok(error instanceof RangeError, `a RangeError thrown by put (got ${String(error)})`);
    assert.equal((error as RangeError & { code?: string }).code, "ERR_TOO_MANY_CHANNELS", "its code");
    await settle();
    assert.equal(serverSession(server, session.id as string).peer.received, received, "the server received no frame");
    assert.equal(peer.unacknowledged, 0, "nothing waits in the client's replay buffer");
    assert.equal(await within(proxy.put("plain"), "a put without channels"), true, "the session goes on");
    assert.equal(sink.poll(), "plain", "the first value the server got is the plain one");
  });

  it("maxChannelsPerSession: a refused put leaves the client's channel table as it was", async (t) => {
    const { server, url } = await start(t, { maxChannelsPerSession: 4 });
    const sink = server.channel<unknown>("sink", 4);
    const session = await client(t, url);
    const proxy = session.serverChan<unknown>("sink");
    const peer = clientPeer(session);
    const before = peer.channelCount;
    assert.throws(() => void proxy.put({ chans: [chan(), chan(), chan(), chan()] }), RangeError, "the put with too many channels throws");
    const after = peer.channelCount;
    // What a leftover would cost: the session could no longer send even one channel.
    let error: unknown;
    let outcome: boolean | undefined;
    try {
      outcome = await within(proxy.put({ one: chan<number>() }), "a put with one channel");
    } catch (thrown) {
      error = thrown;
    }
    assert.ok(
      after === before && error === undefined,
      `the channels of the refused value were never sent, so none may stay exported: channelCount ${before} before the refused put, ${after} after; ` +
        `a later put with a single channel ${error === undefined ? "worked" : `threw ${String(error)}`}`,
    );
    assert.equal(outcome, true, "the put with one channel is accepted");
    assert.ok(sink.poll() !== undefined, "and arrives");
  });

  it("maxMessageSize: a put with a channel refused as too large leaves the client's channel table as it was", async (t) => {
    const { server, url } = await start(t, { maxMessageSize: 4_096 });
    server.channel<unknown>("sink", 4);
    const session = await client(t, url);
    const proxy = session.serverChan<unknown>("sink");
    const peer = clientPeer(session);
    const before = peer.channelCount;
    assert.throws(() => void proxy.put({ reply: chan<number>(), pad: "x".repeat(5_000) }), RangeError, "the put too large for one message throws");
    assert.equal(peer.channelCount, before, `the channel in the refused value was never sent, so it may not stay exported (channelCount ${before} before, ${peer.channelCount} after)`);
  });

  it("maxChannelsPerSession: a raw packet importing more channels than allowed gets a fatal ERR_TOO_MANY_CHANNELS", async (t) => {
    const { server, url } = await start(t, { maxChannelsPerSession: 4 });
    const sink = server.channel<unknown>("sink", 4);
    const ok = await rawSession(t, url);
    const seq = ok.put("n:sink", Array.from({ length: 10 }, () => ({ "~c": "c.1" })));
    const accepted = await ok.frame(isSeq("a", seq), "the answer to ten copies of one reference");
    assert.equal(accepted[3], 1, "ten copies of one channel count once, and are accepted");
    assert.equal((await within(sink.take(), "the value with ten copies")) !== undefined, true);

    const socket = await rawSession(t, url);
    socket.put("n:sink", Array.from({ length: 5 }, (_, i) => ({ "~c": `c.${i + 1}` })));
    const error = await socket.errorFrame("the error frame");
    assert.equal(error[1], "ERR_TOO_MANY_CHANNELS", `the code (got ${JSON.stringify(error)})`);
    assert.equal(error[3], 1, "fatal");
    await socket.closed("the server to close the link");
    await settle();
    assert.equal(sink.poll(), undefined, "nothing was delivered");
    assert.equal(server.sessionCount, 1, "the offending session ended, the other one is left");
  });

  it("maxSessions: a new hello beyond the limit gets ERR_TOO_MANY_SESSIONS; resuming and ending still work", async (t) => {
    const { server, url } = await start(t, { maxSessions: 2 });
    const first = await rawSession(t, url);
    const second = await rawSession(t, url);
    assert.equal(server.sessionCount, 2);

    const third = await RawSocket.connect(url);
    t.after(() => third.terminate());
    third.send([["hello", 1, { sid: null, secret: null, recv: 0 }]]);
    const error = await third.errorFrame("the refusal of a third session");
    assert.equal(error[1], "ERR_TOO_MANY_SESSIONS", `over WebSocket (got ${JSON.stringify(error)})`);
    await third.closed("the third link to close");

    const open = await request(url, `${PATH}/open`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify([["hello", 1, { sid: null, secret: null, recv: 0 }]]) });
    assert.equal(errorCodeOf(open), "ERR_TOO_MANY_SESSIONS", `over POST open (got ${open.status} ${open.text})`);
    assert.ok(open.status >= 400, `a refusal status (got ${open.status})`);

    await assert.rejects(
      connect(url, { transports: ["websocket"], upgradeProbeInterval: 0, connectTimeout: 5_000 }),
      (thrown: unknown) => thrown instanceof ProtocolError && thrown.code === "ERR_TOO_MANY_SESSIONS",
      "connect() rejects with the server's ProtocolError",
    );
    assert.equal(server.sessionCount, 2, "still two sessions");

    const resumed = await RawSocket.connect(url);
    t.after(() => resumed.terminate());
    const welcome = await resumed.hello({ sid: first.sid, secret: first.secret, recv: first.received });
    assert.equal(welcome.resumed, true, "an existing session resumes at the limit");

    second.send([["bye", "done"]]);
    await until(() => server.sessionCount === 1, "the second session to end");
    const fourth = await rawSession(t, url);
    assert.equal(typeof fourth.sid, "string", "a new session is accepted once there is room");
  });

  it("pending puts on one proxy: beyond window + 1024 waiting, put throws TooManyPendingError", async (t) => {
    const window = 2;
    const { server, url } = await start(t, { window });
    const sink = server.channel<number>("sink");
    const session = await client(t, url);
    const proxy = session.serverChan<number>("sink");
    const puts: Array<Promise<boolean>> = [];
    for (let i = 0; i < window + 1024; i++) puts.push(proxy.put(i));
    let error: unknown;
    try {
      puts.push(proxy.put(-1));
    } catch (thrown) {
      error = thrown;
    }
    assert.ok(error instanceof TooManyPendingError, `TooManyPendingError (got ${String(error)})`);
    assert.equal(error.code, "ERR_TOO_MANY_PENDING_PUTS", "its code");
    assert.equal(error.limit, 1024, "the limit it names");
    assert.equal(await within(sink.take(), "the first value"), 0, "values still flow once someone takes");
    assert.equal(await within(puts[0] as Promise<boolean>, "the first put"), true);
    await until(() => {
      try {
        puts.push(proxy.put(-2));
        return true;
      } catch {
        return false;
      }
    }, "room for one more put once a value was taken");
    session.close();
    const outcomes = await within(Promise.all(puts), "every put to settle once the session closed");
    assert.equal(outcomes.filter((ok) => ok).length, 1, "only the taken value resolved true; the rest resolve false on close");
  });

  it("authenticate throwing: 401 / ERR_UNAUTHORIZED on every way in, and no session is made", async (t) => {
    const { server, url } = await start(t, {
      authenticate: (req) => {
        if (req.headers["x-token"] !== "good") throw new Error("bad token");
        return { user: "alice" };
      },
    });
    // A browser cannot read a refused upgrade's answer: the socket opens, carries the refusal, closes.
    const refused = await RawSocket.connect(url);
    t.after(() => refused.terminate());
    const error = await refused.errorFrame("the refusal on the socket");
    assert.equal(error[1], "ERR_UNAUTHORIZED", `the refusal says ERR_UNAUTHORIZED (got ${JSON.stringify(error)})`);
    await refused.closed("the server closes the socket");
    const open = await request(url, `${PATH}/open`, { method: "POST", headers: { "content-type": "application/json", "x-token": "bad" }, body: JSON.stringify([["hello", 1, { sid: null, secret: null, recv: 0 }]]) });
    assert.equal(open.status, 401, `POST open is refused 401 (got ${open.status})`);
    assert.equal(errorCodeOf(open), "ERR_UNAUTHORIZED", `the error packet (got ${open.text})`);
    for (const transport of ["sse", "longpoll"] as const) {
      await assert.rejects(
        connect(url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000 }),
        (thrown: unknown) => thrown instanceof ProtocolError && thrown.code === "ERR_UNAUTHORIZED",
        `connect over ${transport} rejects with ERR_UNAUTHORIZED`,
      );
    }
    await assert.rejects(
      connect(url, { transports: ["websocket"], upgradeProbeInterval: 0, connectTimeout: 5_000 }),
      (thrown: unknown) => thrown instanceof ProtocolError && thrown.code === "ERR_UNAUTHORIZED",
      "connect over websocket rejects with ERR_UNAUTHORIZED, read from the socket",
    );
    assert.equal(server.sessionCount, 0, "no session was made");
    const allowed = await rawSession(t, url, { "x-token": "good" });
    assert.equal(typeof allowed.sid, "string", "the right token gets a session");
    assert.equal(server.sessionCount, 1);
  });

  it("authenticate's principal reaches envelope values as session.principal, per session", async (t) => {
    const { server, url } = await start(t, { authenticate: (req) => ({ user: req.headers["x-user"] ?? "nobody" }) });
    const who = server.channel<string>("who", { envelope: true });
    const alice = await rawSession(t, url, { "x-user": "alice" });
    alice.put("n:who", "hi from alice");
    const first = (await within(who.take(), "alice's envelope")) as Envelope<string>;
    assert.equal(first.value, "hi from alice");
    assert.deepEqual(first.session.principal, { user: "alice" }, "alice's principal");
    assert.equal(first.session.id, alice.sid, "alice's session id");
    assert.equal(first.session.transport, "websocket");

    const bob = await openHttpSession(url, { "x-user": "bob" });
    await send(url, sessionHeaders(bob), [[1, "p", "n:who", "hi from bob"]]);
    const second = (await within(who.take(), "bob's envelope")) as Envelope<string>;
    assert.equal(second.value, "hi from bob");
    assert.deepEqual(second.session.principal, { user: "bob" }, "bob's principal");
    assert.equal(second.session.id, bob.sid, "bob's session id");
  });

  it("an envelope's session info does not carry the session's secret", async (t) => {
    const { server, url } = await start(t);
    const who = server.channel<string>("who", { envelope: true });
    const s = await openHttpSession(url);
    await send(url, sessionHeaders(s), [[1, "p", "n:who", "hi"]]);
    const envelope = (await within(who.take(), "the envelope")) as Envelope<string>;
    const info = envelope.session as unknown as Record<string, unknown>;
    // SessionInfo is documented as "the session id (not its secret)": server code hands
    // envelopes on (logs, broadcasts, other sessions), so the secret must not ride along,
    // neither as a property nor anywhere an object reachable from one would show it.
    assert.equal(info.secret, undefined, "envelope.session.secret is not readable");
    const paths = pathsTo(envelope, s.secret, 5);
    assert.deepEqual(paths, [], `no property path from the envelope reaches the secret (found: ${paths.join(", ")})`);
    assert.ok(!inspect(envelope, { depth: 6 }).includes(s.secret), "logging the envelope (util.inspect) does not print the secret");
    assert.equal(info.id, s.sid, "the id is there");
  });
});

