// One session between two Peers (docs/protocol.md sections 4 and 5), over in-memory links that
// deliver packets asynchronously: puts, channels inside values, credit, close and release,
// session end, resume, loss, and what a peer that breaks the protocol gets. Deterministic:
// properties use fixed seeds and every wait is bounded by event-loop turns, not time.
import { createHook } from "node:async_hooks";
import { describe, it, mock, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { chan, type Channel } from "../../src/csp/channel.js";
import { TooManyPendingError } from "../../src/csp/errors.js";
import { MAX_PENDING } from "../../src/csp/channel.js";
import { ACK_DELAY_MS } from "../../src/session/peer.js";
import { decodePacket, REPLAY_ENTRY_OVERHEAD } from "../../src/wire/protocol.js";
import { jsonCodec } from "../../src/wire/codec.js";
import { ProtocolError } from "../../src/wire/protocol-error.js";
import { RemoteChannel } from "../../src/wire/remote-channel.js";
import { gcReleaseScenario, type GcResult } from "./gc-scenario.js";
import { echoExchanges, framesOf, lonePeer, Pair, type PairOptions, SERVER_PREFIX, takeN, turn, until } from "./harness.js";
import { isPending, track, until as untilTime } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";

function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

function assertProtocolError(f: () => unknown, code: string, what: string): void {
  assertThrowsCode(f, code, what, ProtocolError);
}


/** Connects a pair and gives the server a proxy of a fresh client channel (sent inside a value). */
async function withClientChannel(pair: Pair): Promise<{ local: Channel<unknown>; proxy: RemoteChannel<unknown> }> {
  const local = chan<unknown>();
  const put = pair.client.peer.serverChan("chat").put({ reply: local });
  const message = (await pair.chat.take()) as { reply: unknown };
  assert.equal(await put, true, "the put carrying the channel was taken");
  assert.ok(message.reply instanceof RemoteChannel, "the channel arrived as a RemoteChannel");
  return { local, proxy: message.reply as RemoteChannel<unknown> };
}

/** A packet text of the given frames. */
function packet(...frames: unknown[][]): string {
  return JSON.stringify(frames);
}

describe("peer: puts to a named server channel", () => {
  it("serverChan(name).put(v) resolves true once the server's channel took v", async () => {
    const pair = new Pair();
    pair.connect();
    const put = pair.client.peer.serverChan<string>("chat").put("hello");
    await pair.quiesce();
    assert.equal(await isPending(put), true, "not resolved while nobody took the value");
    assert.equal(await pair.chat.take(), "hello", "the server side takes v");
    assert.equal(await put, true, "resolved true once taken");
    await pair.quiesce();
    pair.assertClean();
    assert.equal(pair.client.peer.unacknowledged, 0, "the client's frames were acknowledged");
    assert.equal(pair.server.peer.unacknowledged, 0, "the server's frames were acknowledged");
  });

  it("serverChan returns the same proxy for a name", () => {
    const pair = new Pair();
    const a = pair.client.peer.serverChan("chat");
    assert.equal(pair.client.peer.serverChan("chat"), a, "same proxy");
    assert.equal(a.target, "n:chat", "target names the channel");
    assert.equal(pair.client.peer.channelCount, 1, "a named proxy counts as a channel");
  });

  it("many puts arrive in the order they were made, each exactly once", async () => {
    const pair = new Pair();
    pair.connect();
    const proxy = pair.client.peer.serverChan<number>("chat");
    const puts = range(200).map((i) => proxy.put(i));
    assert.deepStrictEqual(await takeN(pair.chat, 200), range(200), "in order");
    assert.deepStrictEqual(await Promise.all(puts), range(200).map(() => true), "every put resolved true");
    await pair.quiesce();
    assert.equal(pair.chat.poll(), undefined, "nothing more arrived");
    assert.equal(pair.putsSent("up"), 200, "200 put frames crossed");
    pair.assertClean();
  });

  it("values keep their shape (nested data, ~ keys, null)", async () => {
    const pair = new Pair();
    pair.connect();
    const proxy = pair.client.peer.serverChan<unknown>("chat");
    const values: unknown[] = [null, 0, "", { "~c": "not a ref" }, { a: [1, { "~~": 2 }] }, [[[]]], JSON.parse('{"__proto__": {"x": 1}}')];
    const puts = values.map((v) => proxy.put(v));
    const got = await takeN(pair.chat, values.length);
    assert.deepStrictEqual(got, values, "same values");
    assert.equal(Object.getPrototypeOf(got[6]), Object.prototype, "__proto__ stayed data");
    assert.deepStrictEqual(await Promise.all(puts), values.map(() => true), "all taken");
  });

  it("an unknown named channel: the put resolves false and the client hears ERR_UNKNOWN_CHANNEL (not fatal)", async () => {
    const pair = new Pair();
    pair.connect();
    assert.equal(await pair.client.peer.serverChan("nope").put(1), false, "put to an unknown name resolves false");
    await pair.quiesce();
    assert.deepStrictEqual(
      pair.client.peerErrors.map((e) => [e.code, e.fatal]),
      [["ERR_UNKNOWN_CHANNEL", false]],
      "a non-fatal error frame",
    );
    const still = pair.client.peer.serverChan("chat").put("still fine");
    assert.equal(await pair.chat.take(), "still fine", "the session goes on");
    assert.equal(await still, true, "and that put resolved true");
  });

  it("a put the server's resolver refuses (authorize): resolves false, the client hears its code (not fatal), and the value goes nowhere", async () => {
    const pair = new Pair({ refuse: (name) => (name === "chat" ? new ProtocolError("ERR_FORBIDDEN", "not yours", false) : undefined) });
    pair.connect();
    const reply = chan<unknown>();
    assert.equal(await pair.client.peer.serverChan("chat").put({ reply }), false, "refused: false");
    await pair.quiesce();
    assert.deepStrictEqual(
      pair.client.peerErrors.map((e) => [e.code, e.message, e.fatal]),
      [["ERR_FORBIDDEN", "not yours", false]],
      "a non-fatal error frame with the resolver's code",
    );
    assert.equal(pair.chat.poll(), undefined, "nothing reached the channel");
    assert.equal(pair.client.peer.hasEnded || pair.server.peer.hasEnded, false, "the session goes on");
  });

  it("a named channel that is closed refuses puts (false)", async () => {
    const pair = new Pair();
    pair.connect();
    pair.chat.close();
    assert.equal(await pair.client.peer.serverChan("chat").put(1), false, "closed channel");
    pair.assertClean();
  });

  it("wrap puts the envelope the server asked for", async () => {
    const inbox = chan<unknown>(8);
    const pair = new Pair({ named: new Map([["env", { channel: inbox as Channel<unknown, unknown>, wrap: (value: unknown) => ({ value, session: "S" }) }]]) });
    pair.connect();
    assert.equal(await pair.client.peer.serverChan("env").put(5), true, "buffered channel takes at once");
    assert.deepStrictEqual(inbox.poll(), { value: 5, session: "S" }, "wrapped");
  });
});

describe("peer: channels inside values", () => {
  it("a channel passed inside a value arrives as a RemoteChannel whose put lands in the original channel", async () => {
    const pair = new Pair();
    pair.connect();
    const { local, proxy } = await withClientChannel(pair);
    assert.equal(proxy.target, "c.1", "the client's first export");
    const put = proxy.put("pong");
    assert.equal(await local.take(), "pong", "landed in the client's channel");
    assert.equal(await put, true, "resolved true");
    assert.equal(pair.client.peer.channelCount, 2, "client: the named proxy and one export");
    assert.equal(pair.server.peer.channelCount, 1, "server: one import");
    pair.assertClean();
  });

  it("the same channel sent twice is the same proxy on the other side", async () => {
    const pair = new Pair();
    pair.connect();
    const local = chan<unknown>();
    const proxy = pair.client.peer.serverChan("chat");
    const puts = [proxy.put({ a: local }), proxy.put([local, local])];
    const [first, second] = (await takeN(pair.chat, 2)) as [{ a: unknown }, unknown[]];
    await Promise.all(puts);
    assert.ok(first.a instanceof RemoteChannel, "a proxy");
    assert.equal(second[0], first.a, "same proxy again");
    assert.equal(second[1], first.a, "and again");
    assert.equal(pair.server.peer.channelCount, 1, "one import");
  });

  it("a proxy sent back to its owner decodes to the original local channel (both directions)", async () => {
    const pair = new Pair();
    pair.connect();
    const { local, proxy } = await withClientChannel(pair);
    // Server → client: the client's own channel comes back as itself.
    const back = proxy.put({ same: proxy });
    const got = (await local.take()) as { same: unknown };
    assert.equal(got.same, local, "the client got its own channel, not a proxy");
    assert.equal(await back, true, "taken");
    // Client → server: a server channel comes back to the server as itself.
    const serverLocal = chan<unknown>();
    const give = proxy.put({ mine: serverLocal });
    const gift = (await local.take()) as { mine: unknown };
    await give;
    assert.ok(gift.mine instanceof RemoteChannel, "the server's channel is a proxy on the client");
    assert.ok((gift.mine as RemoteChannel<unknown>).target.startsWith(SERVER_PREFIX), "with a server reference");
    const returned = pair.client.peer.serverChan("chat").put({ back: gift.mine });
    const arrived = (await pair.chat.take()) as { back: unknown };
    assert.equal(arrived.back, serverLocal, "the server got its own channel back");
    assert.equal(await returned, true, "taken");
    pair.assertClean();
  });

  it("a named proxy or a proxy of another session cannot be sent (TypeError before anything is sent)", async () => {
    const pair = new Pair();
    pair.connect();
    const other = new Pair();
    other.connect();
    const foreign = (await withClientChannel(other)).proxy;
    const { proxy } = await withClientChannel(pair);
    const before = pair.putsSent("down");
    assertThrowsCode(() => proxy.put({ p: foreign }), "ERR_WIRE_VALUE", "a proxy of another session", TypeError);
    assertThrowsCode(() => pair.client.peer.serverChan("chat").put({ n: pair.client.peer.serverChan("chat") }), "ERR_WIRE_VALUE", "a named proxy", TypeError);
    await pair.quiesce();
    assert.equal(pair.putsSent("down"), before, "nothing was sent");
  });
});

describe("peer: credit", () => {
  it(`with nobody taking, at most window puts are in flight; taking releases the rest in order`, async () => {
    const pair = new Pair({ window: 4 });
    pair.connect();
    const proxy = pair.client.peer.serverChan<number>("chat");
    const puts = range(10).map((i) => track(proxy.put(i)));
    await pair.quiesce();
    assert.equal(pair.putsSent("up"), 4, "only window (4) puts crossed the wire");
    assert.ok(
      puts.every((p) => !p.done),
      "no put resolved",
    );
    assert.equal(await pair.chat.take(), 0, "first value");
    await pair.quiesce();
    assert.equal(pair.putsSent("up"), 5, "one taken, one more sent");
    assert.deepStrictEqual(
      puts.map((p) => p.done),
      [true, ...range(9).map(() => false)],
      "only the taken put resolved",
    );
    assert.deepStrictEqual(await takeN(pair.chat, 9), range(9, 1), "the rest, in order");
    await until(() => puts.every((p) => p.done), "every put resolved");
    assert.ok(
      puts.every((p) => p.value === true),
      "all true",
    );
    assert.equal(pair.putsSent("up"), 10, "ten put frames in all");
    pair.assertClean();
  });

  it("credit is per proxy: a stalled channel does not stop puts to another one", async () => {
    const other = chan<unknown>();
    const pair = new Pair({ named: new Map([["stalled", { channel: chan<unknown>() as Channel<unknown, unknown> }], ["other", { channel: other as Channel<unknown, unknown> }]]) });
    pair.connect();
    const stalled = pair.client.peer.serverChan("stalled");
    for (let i = 0; i < 6; i++) void stalled.put(i);
    const put = pair.client.peer.serverChan("other").put("through");
    assert.equal(await other.take(), "through", "the other channel got its value");
    assert.equal(await put, true, "resolved");
    pair.assertClean();
  });

  it("offer sends only while there is credit", async () => {
    const pair = new Pair({ window: 4 });
    pair.connect();
    const proxy = pair.client.peer.serverChan<number>("chat");
    assert.deepStrictEqual(
      range(6).map((i) => proxy.offer(i)),
      [true, true, true, true, false, false],
      "four offers go, then no credit",
    );
    assert.deepStrictEqual(await takeN(pair.chat, 4), [0, 1, 2, 3], "the offered values arrive");
    await pair.quiesce();
    assert.equal(proxy.offer(9), true, "credit back after they were taken");
    assert.equal(await pair.chat.take(), 9, "arrives");
  });

  it(`puts waiting in a proxy are bounded: ${MAX_PENDING} wait, the next throws TooManyPendingError`, async () => {
    const pair = new Pair({ window: 4 });
    pair.connect();
    const proxy = pair.client.peer.serverChan<number>("chat");
    for (let i = 0; i < 4 + MAX_PENDING; i++) void proxy.put(i);
    assert.throws(() => proxy.put(-1), TooManyPendingError, "one more than the limit");
    await pair.quiesce();
    assert.equal(pair.putsSent("up"), 4, "still only window in flight");
  });

  // The server counts credit per target; a client may hold a second proxy of the same named
  // channel after closing the first (close keeps the first one's puts in flight).
  it("a named proxy closed with puts in flight and opened again stays within the server's credit", async () => {
    const pair = new Pair({ window: 4 });
    pair.connect();
    const first = pair.client.peer.serverChan<number>("chat");
    const early = range(4).map((i) => first.put(i));
    await pair.quiesce();
    assert.equal(first.close(), true, "closed the first proxy");
    const second = pair.client.peer.serverChan<number>("chat");
    assert.notEqual(second, first, "a new proxy");
    const late = second.put(4);
    await pair.quiesce();
    pair.assertClean("after a second proxy of the same name put while the first's puts are in flight");
    assert.deepStrictEqual(await takeN(pair.chat, 5), range(5), "all five arrive");
    assert.deepStrictEqual(await Promise.all([...early, late]), range(5).map(() => true), "all resolved true");
  });
});

describe("peer: closing and releasing", () => {
  it("closing an exported channel closes its proxy on the other side; its puts resolve false", async () => {
    const pair = new Pair();
    pair.connect();
    const { local, proxy } = await withClientChannel(pair);
    assert.equal(proxy.closed, false, "open at first");
    local.close();
    await pair.quiesce();
    assert.equal(proxy.closed, true, "the proxy closed");
    assert.equal(await proxy.put("late"), false, "a put after the close resolves false");
    assert.equal(pair.server.peer.channelCount, 0, "the server forgot the import");
    assert.equal(pair.client.peer.channelCount, 1, "the client forgot the export after the release (only the named proxy left)");
    pair.assertClean();
  });

  it("close with puts pending: waiting puts resolve false, the one the channel held is still delivered", async () => {
    const pair = new Pair({ window: 4 });
    pair.connect();
    const { local, proxy } = await withClientChannel(pair);
    const puts = range(6).map((i) => proxy.put(i));
    await pair.quiesce();
    local.close();
    await pair.quiesce();
    assert.equal(proxy.closed, true, "closed");
    // Channel semantics: a put parked before close is still delivered to a taker.
    assert.equal(await local.take(), 0, "the value parked in the channel");
    assert.equal(await local.take(), undefined, "then nothing");
    assert.deepStrictEqual(await Promise.all(puts), [true, false, false, false, false, false], "the rest were refused");
    pair.assertClean();
  });

  // The owner sends "c" once, when the channel closes. If it sends the (closed) channel again
  // before the peer's release arrived, the peer makes a new proxy for the same ref, and nothing
  // ever closes it.
  it("a closed channel sent again before the release arrives still reaches the other side closed", async () => {
    const pair = new Pair();
    pair.connect();
    const local = chan<unknown>();
    const proxy = pair.client.peer.serverChan("chat");
    const first = proxy.put({ ch: local });
    local.close();
    const second = proxy.put({ ch: local });
    const [a, b] = (await takeN(pair.chat, 2)) as Array<{ ch: RemoteChannel<unknown> }>;
    await Promise.all([first, second]);
    await pair.quiesce();
    assert.equal(a?.ch.closed, true, "the first proxy closed");
    assert.equal(await b?.ch.put(1), false, "the channel is closed: puts are refused");
    assert.equal(b?.ch.closed, true, "the second proxy of the closed channel is closed too");
  });

  // A closed channel is exported with a "c" that goes out in a microtask; if the put carrying it
  // has to wait for credit, that "c" goes before the put, the peer ignores it (an unknown ref),
  // and the proxy the put then makes never closes.
  it("a closed channel inside a put that waits for credit arrives as a closed proxy", async () => {
    const pair = new Pair({ window: 1 });
    pair.connect();
    const named = pair.client.peer.serverChan("chat");
    const first = named.put("occupies the window");
    const local = chan<unknown>();
    local.close();
    const second = named.put({ ch: local });
    await pair.quiesce();
    assert.equal(await pair.chat.take(), "occupies the window", "first value");
    const message = (await pair.chat.take()) as { ch: RemoteChannel<unknown> };
    await Promise.all([first, second]);
    await pair.quiesce();
    assert.ok(message.ch instanceof RemoteChannel, "a proxy");
    assert.equal(await message.ch.put(1), false, "the channel is closed: puts are refused");
    assert.equal(message.ch.closed, true, "the proxy of a closed channel is closed");
  });

  it("proxy.close() releases: the owner forgets the export, its channel stays open", async () => {
    const pair = new Pair();
    pair.connect();
    const { local, proxy } = await withClientChannel(pair);
    assert.equal(pair.client.peer.channelCount, 2, "named proxy + export");
    assert.equal(proxy.close(), true, "first close");
    assert.equal(proxy.close(), false, "second close");
    assert.equal(proxy.closed, true, "closed");
    assert.equal(pair.server.peer.channelCount, 0, "the server forgot the import at once");
    await pair.quiesce();
    const releases = pair.framesSent("down").filter((f) => f.kind === "seq" && f.op === "r");
    assert.deepStrictEqual(releases.map((f) => f.kind === "seq" && f.op === "r" && [f.ref, f.count]), [["c.1", 1]], "one release with the count of copies");
    assert.equal(pair.client.peer.channelCount, 1, "the client forgot the export");
    assert.equal(local.closed, false, "releasing does not close the owner's channel");
    assert.equal(await proxy.put(1), false, "a released proxy refuses puts");
    pair.assertClean();
  });

  it("a release counts every copy received: the export goes only when all copies are released", async () => {
    const pair = new Pair();
    pair.connect();
    const local = chan<unknown>();
    const named = pair.client.peer.serverChan("chat");
    const puts = [named.put({ a: local, b: local }), named.put([local])];
    const [m1] = (await takeN(pair.chat, 2)) as [{ a: RemoteChannel<unknown> }];
    await Promise.all(puts);
    m1.a[Symbol.dispose]();
    await pair.quiesce();
    const release = pair.framesSent("down").find((f) => f.kind === "seq" && f.op === "r");
    assert.deepStrictEqual(release !== undefined && release.kind === "seq" && release.op === "r" && [release.ref, release.count], ["c.1", 3], "three copies released at once");
    assert.equal(pair.client.peer.channelCount, 1, "export forgotten");
    // Sent again: a new reference.
    const again = named.put({ c: local });
    const m3 = (await pair.chat.take()) as { c: RemoteChannel<unknown> };
    await again;
    assert.equal(m3.c.target, "c.2", "a fresh reference after the release");
  });

  it("a put to a reference that is no longer exported is answered ok 0", async () => {
    const server = lonePeer("server");
    server.peer.receive(packet([1, "p", `${SERVER_PREFIX}99`, "x"]));
    await turn();
    const answers = server.frames().filter((f) => f.kind === "seq" && f.op === "a");
    assert.deepStrictEqual(answers.map((f) => f.kind === "seq" && f.op === "a" && [f.putSeq, f.ok]), [[1, false]], "refused like a closed channel");
  });

  it("a proxy that becomes unreachable is released (FinalizationRegistry)", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    let result: GcResult;
    if (typeof gc === "function") {
      result = await gcReleaseScenario(gc);
    } else {
      const root = fileURLToPath(new URL("../../", import.meta.url));
      const script = fileURLToPath(new URL("./gc-release.fixture.ts", import.meta.url));
      const output = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", script], { cwd: root, encoding: "utf8", timeout: 120_000 });
      const last = output.trim().split("\n").at(-1) ?? "";
      result = JSON.parse(last) as GcResult;
    }
    assert.equal(result.arrivedAsProxy, true, "the channel arrived as a proxy");
    assert.equal(result.clientCountBefore, 2, "client: named proxy + export before");
    assert.equal(result.serverCountBefore, 1, "server: one import before");
    assert.equal(result.serverCountAfter, 0, "the server dropped the collected import");
    assert.deepStrictEqual(result.releases, [["c.1", 1]], "and sent one release");
    assert.equal(result.clientCountAfter, 1, "the client forgot the export");
    assert.equal(result.ownerChannelClosed, false, "the owner's channel stays open");
    assert.deepStrictEqual(result.errors, [], "no errors");
  });
});

describe("peer: session end", () => {
  it("end() closes every proxy, resolves pending puts false, forgets every reference", async () => {
    const pair = new Pair({ window: 4 });
    pair.connect();
    const { local, proxy: serverProxy } = await withClientChannel(pair);
    const serverChannel = chan<unknown>();
    const give = serverProxy.put({ s: serverChannel });
    const clientProxy = ((await local.take()) as { s: RemoteChannel<unknown> }).s;
    await give;
    const named = pair.client.peer.serverChan<number>("chat");
    const puts = range(6).map((i) => named.put(i)); // 4 in flight, 2 waiting
    const toServer = clientProxy.put("never taken");
    await pair.quiesce();
    pair.client.peer.end();
    assert.equal(pair.client.peer.hasEnded, true, "ended");
    assert.deepStrictEqual(await Promise.all([...puts, toServer]), range(7).map(() => false), "every pending put resolved false");
    assert.equal(named.closed, true, "named proxy closed");
    assert.equal(clientProxy.closed, true, "imported proxy closed");
    assert.equal(pair.client.peer.channelCount, 0, "no channels left");
    assert.equal(local.closed, false, "exported channels themselves stay open");
    assert.equal(await named.put(9), false, "later puts resolve false");
    const after = pair.client.peer.serverChan("chat");
    assert.equal(after.closed, true, "serverChan after the end is a closed proxy");
    assert.equal(await after.put(1), false, "whose puts resolve false");
    assertThrowsCode(() => named.put(undefined as unknown as number), "ERR_UNDEFINED_PUT", "undefined is still refused", TypeError);
    pair.client.peer.receive(packet([1000, "p", "c.1", 1])); // ignored after the end
    pair.client.peer.end(); // idempotent
  });
});

describe("peer: resume and loss", () => {
  it("detach, keep putting on both sides, attach new links: everything arrives exactly once, in order", async () => {
    const pair = new Pair({ window: 4 });
    pair.connect();
    const { local, proxy } = await withClientChannel(pair);
    const named = pair.client.peer.serverChan<number>("chat");
    const clientPuts = range(5).map((i) => named.put(i));
    const serverPuts = range(5).map((i) => proxy.put(i));
    await turn();
    pair.disconnect(0, 0);
    clientPuts.push(...range(5, 5).map((i) => named.put(i)));
    serverPuts.push(...range(5, 5).map((i) => proxy.put(i)));
    const atServer = takeN(pair.chat, 15);
    const atClient = takeN(local, 15);
    await pair.quiesce();
    pair.connect();
    clientPuts.push(...range(5, 10).map((i) => named.put(i)));
    serverPuts.push(...range(5, 10).map((i) => proxy.put(i)));
    assert.deepStrictEqual(await atServer, range(15), "server side: exactly once, in order");
    assert.deepStrictEqual(await atClient, range(15), "client side: exactly once, in order");
    assert.deepStrictEqual(await Promise.all(clientPuts), range(15).map(() => true), "client puts resolved true");
    assert.deepStrictEqual(await Promise.all(serverPuts), range(15).map(() => true), "server puts resolved true");
    await pair.quiesce();
    assert.equal(pair.chat.poll(), undefined, "nothing extra at the server");
    assert.equal(local.poll(), undefined, "nothing extra at the client");
    pair.assertClean();
  });

  it("frames cut in flight are sent again on the next link", async () => {
    const pair = new Pair({ window: 4 });
    pair.connect();
    const named = pair.client.peer.serverChan<number>("chat");
    const puts = range(8).map((i) => named.put(i));
    const taken = takeN(pair.chat, 8);
    // Cut with everything still in flight.
    pair.disconnect(0, 0);
    await pair.quiesce();
    pair.connect();
    assert.deepStrictEqual(await taken, range(8), "exactly once, in order");
    assert.deepStrictEqual(await Promise.all(puts), range(8).map(() => true), "resolved");
    assert.ok(pair.pipes.length === 2 && pair.pipes[1]?.up.sent.length !== 0, "the second link carried the resent frames");
    pair.assertClean();
  });

  it("the replay buffer's cost is the UTF-8 size of the very frames sent, with their sequence numbers of 1, 2 and 3 digits", async () => {
    const pair = new Pair({ window: 128, replay: { messages: 256, bytes: 1 << 20 } });
    const named = pair.client.peer.serverChan<string>("chat");
    // No link yet: every put stays in the replay buffer, numbered 1 to 105.
    const puts = range(105).map((i) => named.put(`é😀${i}`));
    const cost = pair.client.peer.replayCost;
    pair.connect();
    assert.deepStrictEqual(await takeN(pair.chat, 105), range(105).map((i) => `é😀${i}`), "all arrive");
    await Promise.all(puts);
    const sent = pair.up?.sent.flatMap((packet) => (JSON.parse(packet) as unknown[][]).filter((frame) => frame[1] === "p")) ?? [];
    assert.equal(sent.length, 105, "every put went on the first link");
    const bytes = sent.reduce((sum, frame) => sum + Buffer.byteLength(JSON.stringify(frame)) + REPLAY_ENTRY_OVERHEAD, 0);
    assert.equal(cost, bytes, "what the buffer counted is what was sent");
    pair.assertClean();
  });

  it("puts wait for room in a full replay buffer instead of overflowing it", async () => {
    const pair = new Pair({ window: 8, clientReplay: { messages: 2, bytes: 1 << 16 } });
    const named = pair.client.peer.serverChan<number>("chat");
    const puts = range(6).map((i) => named.put(i));
    assert.equal(pair.client.peer.unacknowledged, 2, "the replay buffer holds 2 (its limit), the rest wait");
    assert.deepStrictEqual(pair.client.fatal, [], "no ERR_SESSION_LOST");
    pair.connect();
    assert.deepStrictEqual(await takeN(pair.chat, 6), range(6), "all arrive in order");
    assert.deepStrictEqual(await Promise.all(puts), range(6).map(() => true), "all resolved");
    pair.assertClean();
  });

  it("an answer that would overflow the replay buffer ends the session (onFatal ERR_SESSION_LOST)", async () => {
    const server = lonePeer("server", { replay: { messages: 2, bytes: 1 << 16 } });
    const taker = takeN(server.chat, 3);
    server.peer.receive(packet([1, "p", "n:chat", 1], [2, "p", "n:chat", 2], [3, "p", "n:chat", 3]));
    assert.deepStrictEqual(await taker, [1, 2, 3], "delivered");
    await until(() => server.fatal.length > 0, "onFatal");
    assert.deepStrictEqual(server.fatal.map((e) => e.code), ["ERR_SESSION_LOST"], "the third answer did not fit");
  });

  /** A pair whose client put three values the server took and acknowledged, then lost its link. */
  async function threeAcknowledgedThenCut(): Promise<Pair> {
    const pair = new Pair();
    pair.connect();
    const named = pair.client.peer.serverChan<number>("chat");
    const taken = takeN(pair.chat, 3);
    const puts = range(3).map((i) => named.put(i));
    await taken;
    await Promise.all(puts);
    await pair.quiesce();
    pair.disconnect();
    return pair;
  }

  it("attach refuses a recv that cannot be resumed (ERR_SESSION_LOST)", async () => {
    const pair = await threeAcknowledgedThenCut();
    const link = { oneShot: false, send: () => undefined };
    assertProtocolError(() => pair.client.peer.attach(link, 4), "ERR_SESSION_LOST", "the server claims a frame never sent");
  });

  it("attach with a recv below what the peer acknowledged resumes after the acknowledged frames (a hello older than the newest ack)", async () => {
    const pair = await threeAcknowledgedThenCut();
    const sent: string[] = [];
    pair.client.peer.attach({ oneShot: false, send: (packet) => void sent.push(packet) }, 1);
    await pair.quiesce();
    const resent = sent.flatMap((packet) => JSON.parse(packet) as unknown[][]).filter((frame) => typeof frame[0] === "number");
    assert.deepEqual(resent, [], "the three puts were acknowledged: none is sent again");
  });

  it("random packet loss and reconnects: every value exactly once, in order, on both sides (property)", async () => {
    type Step =
      | { kind: "clientPut"; n: number }
      | { kind: "serverPut"; n: number }
      | { kind: "cut"; keepUp: number; keepDown: number }
      | { kind: "connect" }
      | { kind: "turns"; n: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant("clientPut" as const), n: fc.integer({ min: 1, max: 10 }) }),
      fc.record({ kind: fc.constant("serverPut" as const), n: fc.integer({ min: 1, max: 10 }) }),
      fc.record({ kind: fc.constant("cut" as const), keepUp: fc.integer({ min: 0, max: 3 }), keepDown: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant("connect" as const) }),
      fc.record({ kind: fc.constant("turns" as const), n: fc.integer({ min: 0, max: 4 }) }),
    );
    // How much loss the runs really saw, so the property cannot pass vacuously.
    const seen = { runs: 0, runsWithDrops: 0, dropped: 0, reconnects: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 25 }), fc.uniqueArray(fc.integer({ min: 0, max: 10 }), { minLength: 1, maxLength: 6 }), async (steps, dropAt) => {
        const pair = new Pair({ window: 4 });
        pair.connect();
        const { local, proxy } = await withClientChannel(pair);
        await pair.quiesce();
        // From here on, the packets numbered in dropAt are lost (and their connection with them).
        let count = 0;
        let dropping = true;
        const drops = new Set(dropAt);
        let droppedHere = 0;
        pair.tap = () => {
          const drop = dropping && drops.has(count++);
          if (drop) droppedHere++;
          return !drop;
        };
        const named = pair.client.peer.serverChan<number>("chat");
        const clientPuts: Array<Promise<boolean>> = [];
        const serverPuts: Array<Promise<boolean>> = [];
        const atServer: unknown[] = [];
        const atClient: unknown[] = [];
        const collect = async (ch: Channel<unknown>, out: unknown[]): Promise<void> => {
          for (let v = await ch.take(); v !== undefined; v = await ch.take()) out.push(v);
        };
        const collecting = [collect(pair.chat, atServer), collect(local, atClient)];
        for (const s of steps) {
          pair.reapDeadConnection();
          switch (s.kind) {
            case "clientPut":
              for (let i = 0; i < s.n; i++) clientPuts.push(named.put(clientPuts.length));
              break;
            case "serverPut":
              for (let i = 0; i < s.n; i++) serverPuts.push(proxy.put(serverPuts.length));
              break;
            case "cut":
              pair.disconnect(s.keepUp, s.keepDown);
              break;
            case "connect":
              if (pair.up === null) pair.connect();
              break;
            case "turns":
              for (let i = 0; i < s.n; i++) await turn();
              break;
          }
        }
        // Let the network heal: no more loss, reconnect, and wait for every put to be answered.
        dropping = false;
        const settled = clientPuts.map(track).concat(serverPuts.map(track));
        await until(() => {
          if (pair.reapDeadConnection() || pair.up === null) {
            if (pair.idle) pair.connect();
          }
          return settled.every((p) => p.done);
        }, "every put answered");
        pair.chat.close();
        local.close();
        await Promise.all(collecting);
        assert.deepStrictEqual(atServer, range(clientPuts.length), "server side: exactly once, in order");
        assert.deepStrictEqual(atClient, range(serverPuts.length), "client side: exactly once, in order");
        assert.ok(
          settled.every((p) => p.value === true),
          "every put resolved true",
        );
        pair.assertClean("after loss");
        seen.runs++;
        seen.dropped += droppedHere;
        if (droppedHere > 0) seen.runsWithDrops++;
        seen.reconnects += pair.pipes.length - 1;
      }),
      { seed: 4001, numRuns: 100 },
    );
    assert.ok(seen.runsWithDrops >= 25, `enough runs lost packets (${JSON.stringify(seen)})`);
    assert.ok(seen.reconnects >= seen.runs, `enough reconnects (${JSON.stringify(seen)})`);
  });
});

/**
 * A connected pair (with the servers' and clients' ACK_DELAY_MS) whose server echoes each
 * `{ reply, n }` on "chat" with `reply.put(n)`, after `rounds` round trips from the client.
 */
describe("peer: acknowledgements", () => {
  it("in a request and response exchange the answers acknowledge: no ack frames until the end, both replay buffers empty", async () => {
    const pair = await echoExchanges(20);
    // The last answer and acknowledgement have nothing to ride with: they go after the delay.
    await untilTime(() => pair.client.peer.unacknowledged === 0 && pair.server.peer.unacknowledged === 0, "the last frames acknowledged");
    await pair.quiesce();
    const packets = [...(pair.up?.sent ?? []), ...(pair.down?.sent ?? [])];
    const acks = packets.flatMap(framesOf).filter((frame) => frame.kind === "ack").length;
    assert.ok(packets.length >= 40, `one packet each way per exchange at least (got ${packets.length})`);
    assert.ok(acks <= 2, `at most the last frames of each side need an ack frame (got ${acks} in ${packets.length} packets)`);
    assert.equal(pair.client.peer.unacknowledged, 0, "the client's frames were acknowledged");
    assert.equal(pair.server.peer.unacknowledged, 0, "the server's frames were acknowledged");
    pair.assertClean();
  });

  it("in a request and response exchange the reply takes the answer along and the end-of-turn wake-up is dropped", async (t) => {
    // Immediates the session's end of the turn made (told by their stack), and those of them that ran.
    const ours = new Set<number>();
    let made = 0;
    let ran = 0;
    const hook = createHook({
      init(asyncId, type) {
        if (type === "Immediate" && (new Error().stack ?? "").includes("end-of-turn")) {
          ours.add(asyncId);
          made++;
        }
      },
      before(asyncId) {
        if (ours.has(asyncId)) ran++;
      },
    }).enable();
    t.after(() => hook.disable());
    const pair = await echoExchanges(20);
    await pair.quiesce();
    hook.disable();
    assert.ok(made >= 38, `each side waited for the end of the turn with each answer (${made} times)`);
    // Only the last answer of each side has no reply to ride with.
    assert.ok(ran <= 2, `the wake-ups were dropped: ${ran} of ${made} ran`);
    pair.assertClean();
  });

  it("a loop of awaited puts is answered at the end of each turn: one packet each way per put, no timer", async (t) => {
    // Every setTimeout is frozen: an answer that waited for a timer would never come.
    mock.timers.enable({ apis: ["setTimeout"] });
    t.after(() => mock.timers.reset());
    const pair = new Pair({ ackDelay: ACK_DELAY_MS, window: 64 });
    pair.connect();
    const taken: unknown[] = [];
    void (async () => {
      for await (const value of pair.chat) taken.push(value);
    })();
    const proxy = pair.client.peer.serverChan<number>("chat");
    let done = false;
    void (async () => {
      for (let n = 0; n < 30; n++) assert.equal(await proxy.put(n), true);
      done = true;
    })();
    await until(() => done, "30 awaited puts, with no timer firing");
    await pair.quiesce();
    assert.deepStrictEqual(taken, range(30), "every put taken, in order");
    const up = pair.up?.sent ?? [];
    const down = pair.down?.sent ?? [];
    assert.equal(up.length, 30, "one packet per put (the acknowledgement of the last answer rides with the next put)");
    assert.equal(down.length, 30, "one packet per answer");
    assert.ok(down.every((p) => framesOf(p).every((f) => f.kind === "seq" && f.op === "a")), "the server's packets hold answers only: no ack frame, the answer acknowledges");
  });

  it("a stream of puts each answered before the next: the acknowledgement of an answer rides with the next put, never alone", async (t) => {
    mock.timers.enable({ apis: ["setTimeout"] });
    t.after(() => mock.timers.reset());
    const pair = new Pair({ ackDelay: ACK_DELAY_MS, window: 64 });
    pair.connect();
    void (async () => {
      for await (const value of pair.chat) void value;
    })();
    const proxy = pair.client.peer.serverChan<number>("chat");
    const ackOnly = (p: string): boolean => framesOf(p).every((f) => f.kind === "ack");
    for (let n = 0; n < 20; n++) {
      const answered = track(proxy.put(n));
      await until(() => answered.done, `put ${n} answered`);
      await pair.quiesce();
      // A reading every 90 ms: far more than a round trip; 20 of them stay under ACK_DELAY_MS.
      mock.timers.tick(90);
      await pair.quiesce();
    }
    const up = pair.up?.sent ?? [];
    assert.equal(up.filter(ackOnly).length, 0, `no packet of acknowledgements alone while puts keep coming (${up.length} packets up)`);
    assert.equal(up.length, 20, "one packet per put");
    // Nothing more to ride with: after ACK_DELAY_MS the last acknowledgement goes alone.
    mock.timers.tick(ACK_DELAY_MS);
    await pair.quiesce();
    assert.equal(up.filter(ackOnly).length, 1, "the last acknowledgement went alone after the delay");
    assert.equal(pair.server.peer.unacknowledged, 0, "the server's answers were all acknowledged");
    assert.equal(pair.client.peer.unacknowledged, 0, "the client's puts were all acknowledged");
  });

  it("a burst of puts shares one packet of answers", async () => {
    const chat = chan<unknown>(64);
    const pair = new Pair({ ackDelay: ACK_DELAY_MS, window: 64, named: new Map([["chat", { channel: chat }]]) });
    pair.connect();
    const proxy = pair.client.peer.serverChan<number>("chat");
    const puts = range(40).map((n) => proxy.put(n));
    assert.deepStrictEqual(await Promise.all(puts), Array<boolean>(40).fill(true), "every put accepted");
    await pair.quiesce();
    const up = pair.up?.sent ?? [];
    assert.equal(pair.down?.sent.length, 1, "the 40 answers came back in one packet");
    assert.equal(up.length, 2, "the burst went in one packet, and one more");
    // 40 answers are past a quarter of the window: their acknowledgement goes at once rather
    // than let the server's replay buffer hold them for ACK_DELAY_MS.
    assert.deepStrictEqual(framesOf(up[1] ?? "[]"), [{ kind: "ack", seq: 40 }], "the second packet acknowledges the 40 answers");
    assert.deepStrictEqual(await takeN(chat, 40), range(40), "every value, in order");
  });

  it("an answer to a put that was never sent is ERR_SEQUENCE", () => {
    const pair = new Pair();
    pair.connect();
    assertThrowsCode(() => pair.client.peer.receive(packet([1, "a", 5, 1])), "ERR_SEQUENCE", "an answer to put 5 before any put", ProtocolError);
  });
});

describe("peer: lazy answers", () => {
  /** A pair whose sides read the lazy flag, with the real acknowledgement delay and every setTimeout frozen. */
  function lazyPair(t: TestContext, options: PairOptions = {}): { pair: Pair; proxy: RemoteChannel<number> } {
    mock.timers.enable({ apis: ["setTimeout"] });
    t.after(() => mock.timers.reset());
    const pair = new Pair({ ackDelay: ACK_DELAY_MS, window: 64, lazyAnswers: true, ...options });
    pair.connect();
    void (async () => {
      for await (const value of pair.chat) void value;
    })();
    return { pair, proxy: pair.client.peer.serverChan<number>("chat") };
  }

  /** The put frames of the packets sent one way, in order. */
  function putsIn(packets: readonly string[]): Array<{ seq: number; lazy: boolean }> {
    return packets.flatMap(framesOf).flatMap((f) => (f.kind === "seq" && f.op === "p" ? [{ seq: f.seq, lazy: f.lazy === true }] : []));
  }

  function answersIn(packets: readonly string[]): number {
    return packets.flatMap(framesOf).filter((f) => f.kind === "seq" && f.op === "a").length;
  }

  it("a stream of lazy puts draws no packet until the acknowledgement delay, then one with every answer", async (t) => {
    // Ten puts held are 20 frames waiting (answers and acknowledgements): under a quarter of 256.
    const { pair, proxy } = lazyPair(t, { window: 256 });
    const answers = [];
    for (let n = 0; n < 10; n++) {
      answers.push(track(proxy.put(n, { lazyAnswer: true })));
      await pair.quiesce();
    }
    assert.deepStrictEqual(putsIn(pair.up?.sent ?? []).map((p) => p.lazy), Array<boolean>(10).fill(true), "each put went with the lazy flag");
    assert.equal(pair.down?.sent.length, 0, "the server held the answers (no timer has fired)");
    assert.ok(answers.every((a) => !a.done), "so no put is answered yet");
    mock.timers.tick(ACK_DELAY_MS);
    await pair.quiesce();
    assert.equal(pair.down?.sent.length, 1, "one packet after the delay");
    assert.equal(answersIn(pair.down?.sent ?? []), 10, "holding the ten answers");
    assert.ok(answers.every((a) => a.done && a.value === true), "every put answered true");
    assert.equal(pair.client.peer.unacknowledged, 0, "the answers acknowledged every put");
    pair.assertClean();
  });

  it("a prompt put brings the lazy answers held before it, at the end of its turn", async (t) => {
    const { pair, proxy } = lazyPair(t);
    const lazy = [];
    for (let n = 0; n < 5; n++) {
      lazy.push(track(proxy.put(n, { lazyAnswer: true })));
      await pair.quiesce();
    }
    assert.equal(pair.down?.sent.length, 0, "nothing answered yet");
    assert.equal(await proxy.put(5), true, "the prompt put is answered without a timer");
    await pair.quiesce();
    assert.equal(pair.down?.sent.length, 1, "in one packet");
    assert.equal(answersIn(pair.down?.sent ?? []), 6, "with the five held answers");
    assert.ok(lazy.every((a) => a.done && a.value === true), "the lazy puts are answered too");
  });

  it("lazy answers go at once when a quarter of the window waits, so a sender never runs out of credit for the timer", async (t) => {
    const { pair, proxy } = lazyPair(t, { window: 16 });
    const answers = [];
    for (let n = 0; n < 40; n++) {
      answers.push(track(proxy.put(n, { lazyAnswer: true })));
      await pair.quiesce();
    }
    const down = pair.down?.sent ?? [];
    // Each held put waits twice (its answer, and its acknowledgement): 16 / 4 = 4 frames is two puts.
    assert.ok(down.length >= 10, `answers went in batches without a timer (${down.length} packets for 40 puts)`);
    assert.ok(down.length <= 20, `in batches, not one per put (${down.length} packets for 40 puts)`);
    assert.ok(answers.filter((a) => a.done).length >= 38, "all but the last batch answered with every timer frozen");
  });

  it("to a peer that did not say it reads the flag, a put asked to be lazy goes prompt and is answered at the end of the turn", async (t) => {
    const { pair, proxy } = lazyPair(t, { lazyAnswers: false });
    for (let n = 0; n < 5; n++) {
      assert.equal(await proxy.put(n, { lazyAnswer: true }), true, `put ${n} answered with every timer frozen`);
      await pair.quiesce();
    }
    assert.deepStrictEqual(putsIn(pair.up?.sent ?? []).map((p) => p.lazy), Array<boolean>(5).fill(false), "no put carried the flag");
    assert.equal(pair.down?.sent.length, 5, "one answer packet per put");
  });

  it("past half of its replay buffer a sender asks for prompt answers, which free it within a round trip", async (t) => {
    const { pair, proxy } = lazyPair(t, { clientReplay: { messages: 8, bytes: 1 << 16 } });
    const answers = [];
    for (let n = 0; n < 5; n++) {
      answers.push(track(proxy.put(n, { lazyAnswer: true })));
      await pair.quiesce();
    }
    // Four unanswered puts fill half of 8 frames: the fifth goes prompt.
    assert.deepStrictEqual(putsIn(pair.up?.sent ?? []).map((p) => p.lazy), [true, true, true, true, false]);
    assert.ok(answers.every((a) => a.done && a.value === true), "the prompt put drew every answer, no timer fired");
    assert.equal(pair.client.peer.unacknowledged, 0, "and the buffer is empty again");
  });

  it("while the replay budget shared with other sessions is over half spent, a sender asks for prompt answers", async (t) => {
    let pressed = false;
    const { pair, proxy } = lazyPair(t, { clientReplay: { messages: 64, bytes: 1 << 16, budgetPressed: () => pressed } });
    const answers = [];
    for (let n = 0; n < 2; n++) {
      answers.push(track(proxy.put(n, { lazyAnswer: true })));
      await pair.quiesce();
    }
    pressed = true;
    answers.push(track(proxy.put(2, { lazyAnswer: true })));
    await pair.quiesce();
    assert.deepStrictEqual(putsIn(pair.up?.sent ?? []).map((p) => p.lazy), [true, true, false], "the put made while the budget was pressed went prompt");
    assert.ok(answers.every((a) => a.done && a.value === true), "and drew every answer, no timer fired");
    assert.equal(pair.client.peer.unacknowledged, 0, "the buffer is empty again");
  });

  it("a lazy put's frame is kept with its flag and sent again after a cut, delivered once", async (t) => {
    const { pair } = lazyPair(t);
    const taken: unknown[] = [];
    const chat = chan<number>(64);
    pair.named.set("stream", { channel: chat as Channel<unknown, unknown> });
    const stream = pair.client.peer.serverChan<number>("stream");
    const answers = [track(stream.put(1, { lazyAnswer: true }))];
    await pair.quiesce();
    pair.disconnect();
    answers.push(track(stream.put(2, { lazyAnswer: true })));
    pair.connect();
    await pair.quiesce();
    mock.timers.tick(ACK_DELAY_MS);
    await pair.quiesce();
    for (let i = 0; i < 2; i++) taken.push(await chat.take());
    assert.deepStrictEqual(taken, [1, 2], "each value once, in order");
    assert.ok(answers.every((a) => a.done && a.value === true), "both answered");
    assert.ok(putsIn(pair.up?.sent ?? []).every((p) => p.lazy), "the put sent again kept its flag");
    pair.assertClean();
  });
});

describe("peer: sequence numbers on receive", () => {
  it("a duplicate frame is dropped (not delivered twice); the stream goes on", async () => {
    const server = lonePeer("server");
    server.peer.receive(packet([1, "p", "n:chat", "a"]));
    server.peer.receive(packet([1, "p", "n:chat", "a"]));
    server.peer.receive(packet([1, "p", "n:chat", "a"], [2, "p", "n:chat", "b"]));
    assert.equal(server.peer.received, 2, "received up to 2");
    assert.deepStrictEqual(await takeN(server.chat, 2), ["a", "b"], "each once");
    await turn();
    assert.equal(server.chat.poll(), undefined, "no third value");
    const answers = server.frames().filter((f) => f.kind === "seq" && f.op === "a");
    assert.deepStrictEqual(answers.map((f) => f.kind === "seq" && f.op === "a" && f.putSeq), [1, 2], "each answered once");
    const acks = server.frames().filter((f) => f.kind === "ack");
    assert.equal(acks.at(-1)?.kind === "ack" && acks.at(-1)?.seq, 2, "acknowledged up to 2");
  });

  it("a gap is ERR_SEQUENCE and the frame after the gap is not delivered", async () => {
    const server = lonePeer("server");
    server.peer.receive(packet([1, "p", "n:chat", "a"]));
    assertProtocolError(() => server.peer.receive(packet([3, "p", "n:chat", "c"])), "ERR_SEQUENCE", "3 after 1");
    assert.equal(server.peer.received, 1, "still at 1");
    assert.equal(await server.chat.take(), "a", "the first one arrived");
    await turn();
    assert.equal(server.chat.poll(), undefined, "frame 3 was not delivered");
  });

  it("an ack of a frame never sent is ERR_SEQUENCE", () => {
    const server = lonePeer("server");
    assertProtocolError(() => server.peer.receive(packet(["ack", 1])), "ERR_SEQUENCE", "nothing was sent");
  });

  it("ping is answered with pong and the same token; error and bye reach their callbacks", async () => {
    const client = lonePeer("client");
    client.peer.receive(packet(["ping", "tok"], ["error", "ERR_X", "m", 0], ["bye", "done"]));
    await turn();
    assert.ok(
      client.frames().some((f) => f.kind === "pong" && f.token === "tok"),
      "pong with the token",
    );
    assert.deepStrictEqual(client.peerErrors, [{ code: "ERR_X", message: "m", fatal: false }], "onPeerError");
    assert.deepStrictEqual(client.byes, ["done"], "onBye");
  });

  it("hello and welcome inside a session are ERR_BAD_FRAME", () => {
    const server = lonePeer("server");
    assertProtocolError(() => server.peer.receive(packet(["hello", 1, { sid: null, secret: null, recv: 0 }])), "ERR_BAD_FRAME", "hello");
    const client = lonePeer("client");
    assertProtocolError(
      () => client.peer.receive(packet(["welcome", 1, { sid: "s", secret: null, recv: 0, resumed: false, heartbeat: 1, window: 1, limits: { maxMessageSize: 1, maxChannels: 1 } }])),
      "ERR_BAD_FRAME",
      "welcome",
    );
  });
});

describe("peer: a peer that breaks the protocol", () => {
  it("a foreign reference as a put target is ERR_FOREIGN_REFERENCE and nothing is delivered", async () => {
    const server = lonePeer("server");
    assertProtocolError(() => server.peer.receive(packet([1, "p", "s.OTHER.1", "x"])), "ERR_FOREIGN_REFERENCE", "target s.OTHER.1");
    await turn();
    assert.equal(server.chat.poll(), undefined, "nothing delivered");
    assert.deepStrictEqual(server.frames().filter((f) => f.kind === "seq"), [], "nothing answered");
  });

  it("a foreign reference inside a value is ERR_FOREIGN_REFERENCE and nothing is delivered", async () => {
    for (const value of [{ "~c": "s.OTHER.1" }, { ok: { "~c": "c.1" }, bad: [{ "~c": "s.OTHER.1" }] }]) {
      const server = lonePeer("server");
      assertProtocolError(() => server.peer.receive(packet([1, "p", "n:chat", value])), "ERR_FOREIGN_REFERENCE", `value ${JSON.stringify(value)}`);
      await turn();
      assert.equal(server.chat.poll(), undefined, "nothing delivered");
    }
    const release = lonePeer("server");
    assertProtocolError(() => release.peer.receive(packet([1, "r", "s.OTHER.1", 1])), "ERR_FOREIGN_REFERENCE", "a release of a foreign reference");
  });

  it("references of the wrong kind are ERR_BAD_FRAME", () => {
    assertProtocolError(() => lonePeer("server").peer.receive(packet([1, "p", "c.1", 1])), "ERR_BAD_FRAME", "server: a c. target");
    assertProtocolError(() => lonePeer("server").peer.receive(packet([1, "p", "n:chat", { "~c": "x.1" }])), "ERR_BAD_FRAME", "server: an x. ref");
    assertProtocolError(() => lonePeer("client").peer.receive(packet([1, "p", "n:chat", 1])), "ERR_BAD_FRAME", "client: a named target");
    assertProtocolError(() => lonePeer("client").peer.receive(packet([1, "p", "s.T1.1", 1])), "ERR_BAD_FRAME", "client: an s. target");
    assertProtocolError(() => lonePeer("client").peer.receive(packet([1, "p", "c.1", { "~c": "c2" }])), "ERR_BAD_FRAME", "client: a ref that is not the server's");
    assertProtocolError(() => lonePeer("server").peer.receive(packet([1, "p", "n:chat", { "~x": 1 }])), "ERR_BAD_FRAME", "a single-~ key");
  });

  it("more puts than the window to one channel is ERR_CREDIT", async () => {
    const server = lonePeer("server", { window: 4 });
    const puts = range(5).map((i) => [i + 1, "p", "n:chat", i]);
    assertProtocolError(() => server.peer.receive(packet(...puts)), "ERR_CREDIT", "five puts, window 4");
    assert.deepStrictEqual(await takeN(server.chat, 4), [0, 1, 2, 3], "the four within the window were delivered");
    await turn();
    assert.equal(server.chat.poll(), undefined, "the fifth was not");
  });

  it("the window is per channel: window puts to each of two channels are fine", () => {
    const a = chan<unknown>();
    const b = chan<unknown>();
    const server = lonePeer("server", {
      window: 2,
      named: new Map([
        ["a", { channel: a as Channel<unknown, unknown> }],
        ["b", { channel: b as Channel<unknown, unknown> }],
      ]),
    });
    server.peer.receive(packet([1, "p", "n:a", 1], [2, "p", "n:b", 1], [3, "p", "n:a", 2], [4, "p", "n:b", 2]));
    assert.equal(server.peer.received, 4, "all accepted");
  });

  it(`too many channels from the peer is ERR_TOO_MANY_CHANNELS (maxChannels 16)`, () => {
    const refs = (n: number): unknown[] => range(n, 1).map((i) => ({ "~c": `c.${i}` }));
    const ok = lonePeer("server", { maxChannels: 16 });
    ok.peer.receive(packet([1, "p", "n:chat", refs(16)]));
    assert.equal(ok.peer.channelCount, 16, "16 imports fit");
    const tooMany = lonePeer("server", { maxChannels: 16 });
    assertProtocolError(() => tooMany.peer.receive(packet([1, "p", "n:chat", refs(17)])), "ERR_TOO_MANY_CHANNELS", "17 imports");
  });

  it("too many channels on encoding throws ERR_TOO_MANY_CHANNELS from put, before anything is sent", async () => {
    const pair = new Pair({ maxChannels: 16 });
    pair.connect();
    const named = pair.client.peer.serverChan("chat"); // 1
    const fifteen = range(15).map(() => chan<unknown>());
    const put = named.put(fifteen);
    await pair.chat.take();
    await put;
    assert.equal(pair.client.peer.channelCount, 16, "at the limit");
    await pair.quiesce();
    const sent = pair.putsSent("up");
    assertThrowsCode(() => named.put({ one: chan<unknown>() }), "ERR_TOO_MANY_CHANNELS", "a 17th channel");
    assertThrowsCode(() => pair.client.peer.serverChan("another"), "ERR_TOO_MANY_CHANNELS", "a 17th named proxy");
    const again = named.put({ again: fifteen[0] });
    assert.ok((await pair.chat.take()) !== undefined, "an exported channel can be sent again");
    assert.equal(await again, true, "and its put resolves true");
    await pair.quiesce();
    assert.equal(pair.putsSent("up"), sent + 1, "nothing was sent for the refused puts");
  });

  it("a put too large for maxMessageSize throws ERR_MESSAGE_TOO_LARGE from put; later puts still work", async () => {
    const pair = new Pair({ maxMessageSize: 1 << 20 });
    pair.connect();
    const named = pair.client.peer.serverChan<unknown>("chat");
    assertThrowsCode(() => named.put("x".repeat(1 << 20)), "ERR_MESSAGE_TOO_LARGE", "a 1 MiB string", RangeError);
    assert.equal(pair.client.peer.unacknowledged, 0, "nothing appended");
    const put = named.put("small");
    assert.equal(await pair.chat.take(), "small", "the next put goes through");
    assert.equal(await put, true, "resolved");
    await pair.quiesce();
    assert.equal(pair.putsSent("up"), 1, "only the small put crossed");
    pair.assertClean();
  });

  it("a put too large for maxMessageSize leaves no export behind for the channels in it", async () => {
    const pair = new Pair({ maxMessageSize: 1 << 20 });
    pair.connect();
    const named = pair.client.peer.serverChan<unknown>("chat");
    const before = pair.client.peer.channelCount;
    assertThrowsCode(() => named.put({ reply: chan<unknown>(), big: "x".repeat(1 << 20) }), "ERR_MESSAGE_TOO_LARGE", "too large");
    assert.equal(pair.client.peer.channelCount, before, "the channel in the refused put is not kept exported (the peer never received it)");
  });

  // A copy of a channel is counted when the value is encoded; if the put never goes out, the
  // peer will never release it, so the count must be taken back or the export stays forever
  // (and counts against maxChannels).
  it("an offer that cannot be sent (no credit) leaves no export behind", async () => {
    const pair = new Pair({ window: 1 });
    pair.connect();
    const named = pair.client.peer.serverChan<unknown>("chat");
    void named.put("occupies the window");
    await pair.quiesce();
    const before = pair.client.peer.channelCount;
    assert.equal(named.offer({ ch: chan<unknown>() }), false, "no credit: not offered");
    assert.equal(pair.client.peer.channelCount, before, "the channel in the refused offer is not kept exported");
  });

  it("a put that fails while encoding (a channel, then a cycle) leaves no export behind", async () => {
    const pair = new Pair();
    pair.connect();
    const named = pair.client.peer.serverChan<unknown>("chat");
    const before = pair.client.peer.channelCount;
    const cyclic: Record<string, unknown> = { ch: chan<unknown>() };
    cyclic.self = cyclic;
    assertThrowsCode(() => named.put(cyclic), "ERR_WIRE_VALUE", "a channel, then a cycle", TypeError);
    assert.equal(pair.client.peer.channelCount, before, "no export left");
    await pair.quiesce();
    assert.equal(pair.putsSent("up"), 0, "nothing was sent");
  });

  it("a put refused for too many channels leaves no export behind for the channels before the limit", async () => {
    const pair = new Pair({ maxChannels: 16 });
    pair.connect();
    const named = pair.client.peer.serverChan<unknown>("chat");
    const before = pair.client.peer.channelCount;
    assertThrowsCode(() => named.put(range(20).map(() => chan<unknown>())), "ERR_TOO_MANY_CHANNELS", "20 new channels with room for 15");
    assert.equal(pair.client.peer.channelCount, before, "no export left");
    const put = named.put({ fresh: chan<unknown>() });
    assert.ok((await pair.chat.take()) !== undefined, "a later put with a channel still goes through");
    assert.equal(await put, true, "resolved");
  });

  it("a put refused for a BigInt leaves no export behind", async () => {
    const pair = new Pair();
    pair.connect();
    const named = pair.client.peer.serverChan<unknown>("chat");
    const before = pair.client.peer.channelCount;
    assert.throws(() => named.put({ ch: chan<unknown>(), n: 1n }), TypeError, "a BigInt");
    assert.equal(pair.client.peer.channelCount, before, "no export left");
    await pair.quiesce();
    assert.equal(pair.putsSent("up"), 0, "nothing was sent");
  });

  it("puts still waiting when their proxy closes leave no export behind", async () => {
    const pair = new Pair({ window: 1 });
    pair.connect();
    const named = pair.client.peer.serverChan<unknown>("chat");
    void named.put("occupies the window");
    const waiting = named.put({ ch: chan<unknown>() });
    await pair.quiesce();
    assert.equal(named.close(), true, "closed with a put waiting");
    assert.equal(await waiting, false, "the waiting put resolved false");
    assert.equal(pair.client.peer.channelCount, 0, "neither the named proxy nor the never-sent channel is left");
  });

  it("a packet over maxMessageSize is ERR_MESSAGE_TOO_LARGE", () => {
    const server = lonePeer("server", { maxMessageSize: 100 });
    assertProtocolError(() => server.peer.receive(packet([1, "p", "n:chat", "x".repeat(200)])), "ERR_MESSAGE_TOO_LARGE", "200 characters");
    assertProtocolError(() => decodePacket("x".repeat(101), { codec: jsonCodec, maxMessageSize: 100 }), "ERR_MESSAGE_TOO_LARGE", "decodePacket checks size first");
    assertProtocolError(() => decodePacket("[", { codec: jsonCodec, maxMessageSize: 100 }), "ERR_BAD_FRAME", "not JSON");
  });

  it("a value nested 100000 levels deep is refused before it is parsed (ERR_VALUE_TOO_COMPLEX), not a stack overflow", () => {
    const server = lonePeer("server");
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    assertProtocolError(() => server.peer.receive(`[[1,"p","n:chat",${deep}]]`), "ERR_VALUE_TOO_COMPLEX", "deep value");
  });

  it("a value nested deeper than MAX_DEPTH but small enough to parse is ERR_BAD_FRAME", () => {
    const server = lonePeer("server");
    const deep = `${"[".repeat(5_000)}${"]".repeat(5_000)}`;
    assertProtocolError(() => server.peer.receive(`[[1,"p","n:chat",${deep}]]`), "ERR_BAD_FRAME", "deep value");
  });

  // Valid JSON whose head cannot be turned into a string: String({"toString": 1}) throws.
  it('a frame head like {"toString": 1} is ERR_BAD_FRAME, not a TypeError', () => {
    for (const text of ['[[{"toString":1}]]', '[[1,{"toString":1}]]']) {
      assertProtocolError(() => lonePeer("server").peer.receive(text), "ERR_BAD_FRAME", text);
    }
  });
});

describe("peer: fuzzing receive", () => {
  const refs = ["n:chat", "n:nope", `${SERVER_PREFIX}1`, `${SERVER_PREFIX}2`, "s.OTHER.1", "c.1", "c.2", "x", ""];
  const ref = fc.constantFrom(...refs);
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: "small" },
      fc.jsonValue({ maxDepth: 1 }),
      ref.map((r) => ({ "~c": r })),
      fc.constantFrom<unknown>({ "~x": 1 }, { "~c": 1 }, { "~~c": "c.1" }, { "~c": "c.1", extra: 1 }),
      fc.array(tie("v"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom("a", "~c", "~~c", "__proto__", "~"), tie("v"), { maxKeys: 3 }),
    ),
  })).v;
  const seq = fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: -1, max: 0 }), fc.double(), fc.constantFrom<unknown>("1", null, 2 ** 60));
  const frame = fc.oneof(
    fc.tuple(seq, fc.constant("p"), ref, value).map((f) => [...f]),
    fc.tuple(seq, fc.constant("a"), seq, fc.constantFrom<unknown>(0, 1, 2)).map((f) => [...f]),
    fc.tuple(seq, fc.constant("c"), ref).map((f) => [...f]),
    fc.tuple(seq, fc.constant("r"), ref, seq).map((f) => [...f]),
    fc.tuple(fc.constantFrom("ack", "ping", "pong", "bye", "error", "hello", "welcome", "nope"), fc.array(fc.oneof(seq, fc.jsonValue({ maxDepth: 1 })), { maxLength: 3 })).map(([h, rest]) => [h, ...rest]),
    fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 }),
  );
  const packetText = fc.oneof(
    { weight: 6, arbitrary: fc.array(frame, { maxLength: 6 }).map((frames) => JSON.stringify(frames)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  );

  for (const kind of ["server", "client"] as const) {
    it(`${kind}: random and malformed packets only ever throw ProtocolError`, async () => {
      const unexpected: unknown[] = [];
      const onProcessError = (error: unknown): void => {
        unexpected.push(error);
      };
      process.on("unhandledRejection", onProcessError);
      process.on("uncaughtException", onProcessError);
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(packetText, { minLength: 1, maxLength: 8 }), async (texts) => {
            const peer = lonePeer(kind, { window: 4, maxChannels: 16 });
            // Somebody takes on the server's channel, so deliveries and their answers run too.
            const drain = (async () => {
              for (let v = await peer.chat.take(); v !== undefined; v = await peer.chat.take());
            })();
            for (const text of texts) {
              try {
                peer.peer.receive(text);
              } catch (error) {
                assert.ok(error instanceof ProtocolError, `receive threw a non-ProtocolError for ${text.slice(0, 200)}: ${String(error)}`);
              }
            }
            await turn();
            peer.chat.close();
            await drain;
            peer.peer.end();
          }),
          { seed: kind === "server" ? 5001 : 5002, numRuns: 400 },
        );
        await turn();
      } finally {
        process.off("unhandledRejection", onProcessError);
        process.off("uncaughtException", onProcessError);
      }
      assert.deepStrictEqual(unexpected.map(String), [], "no unhandled rejection or uncaught exception");
    });
  }
});

describe("peer: control frames without a link", () => {
  it("keep the newest 64 (MAX_QUEUED_CONTROL), dropping the oldest, and go out when a link attaches", async () => {
    const { peer, sent, frames } = lonePeer("server");
    // Replace the link lonePeer attached with one of ours, then take that away too.
    const link = { oneShot: false, send: (packet: string): void => void sent.push(packet) };
    peer.attach(link, 0);
    peer.detach(link);
    for (let token = 1; token <= 100; token++) peer.sendControl({ kind: "ping", token });
    await turn();
    assert.equal(sent.length, 0, "nothing is written without a link");
    peer.attach(link, 0);
    const tokens = frames().flatMap((frame) => (frame.kind === "ping" ? [frame.token] : []));
    assert.deepEqual(tokens, Array.from({ length: 64 }, (_, i) => 37 + i), "the newest 64 pings, in order");
  });
});
