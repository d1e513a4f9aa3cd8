// The chat over the network: a real server on 127.0.0.1 with mountChat, and real Node clients
// (src/client) on each transport. Each "survives its users" case was first seen failing against
// the old chat loop (a crash, a 10 s stall per stuck or vanished client); here they are counted.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { chatDefaults, type ChatOptions, mountChat } from "../../apps/chat/chat-app.js";
import type { ChatEvent, ChatLine, ChatRequest } from "../../apps/chat/chat-messages.js";
import { connect, type Session } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { type Channel, chan } from "../../src/csp/index.js";
import { createServer, type Logger, type ServerHandle, type ServerOptions, type WirechanServer } from "../../src/server/index.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { until } from "../helpers/async.js";

const quiet: Logger = { error: () => undefined, warn: () => undefined };
const LIMIT_MS = 60_000;

interface Running {
  server: WirechanServer;
  handle: ServerHandle;
}

/** These tests send lines in bursts to test other bounds: the per-session allowance is lifted unless a test sets it. */
const UNTHROTTLED: ChatOptions = { lineBurst: 1_000_000, linesPerSecond: 1_000_000, addressLineBurst: 1_000_000, addressLinesPerSecond: 1_000_000 };

async function start(t: TestContext, chat: ChatOptions = {}, server: ServerOptions = {}): Promise<Running> {
  const wirechan = createServer({ logger: quiet, ...server });
  const mounted = mountChat(wirechan, { ...UNTHROTTLED, ...chat });
  const handle = await wirechan.listen({ port: 0 });
  t.after(async () => {
    mounted.close();
    await handle.close();
  });
  return { server: wirechan, handle };
}

/** A chat client: a session, an inbox, and every event that arrived on it. */
class ChatClient {
  readonly events: ChatEvent[] = [];
  private counter = 0;

  private constructor(
    readonly name: string,
    readonly session: Session,
    readonly inbox: Channel<ChatEvent>,
  ) {}

  /** Connects and joins; `read: false` leaves the inbox unread (a page whose tab froze). */
  static async join(t: TestContext, name: string, url: string, options: { transport?: TransportName; read?: boolean; buffer?: number } = {}): Promise<ChatClient> {
    const session = await connect(url, { transports: [options.transport ?? "websocket"], reconnect: { initial: 5, max: 50, jitter: 0.5 }, upgradeProbeInterval: 0, logger: quiet });
    t.after(() => session.close());
    const client = new ChatClient(name, session, chan<ChatEvent>(options.buffer ?? 1024));
    if (options.read !== false) void client.read();
    await client.chat.put({ join: client.inbox });
    return client;
  }

  get chat(): { put(request: ChatRequest): Promise<boolean> } {
    return this.session.serverChan<ChatRequest>("chat");
  }

  say(text: string, id = `${this.name}-${++this.counter}`): Promise<boolean> {
    return this.chat.put({ say: { id, nick: this.name, text } });
  }

  lines(): ChatLine[] {
    return this.events.flatMap((event) => ("line" in event ? [event.line] : []));
  }

  history(): Array<{ history: ChatLine[]; done: boolean }> {
    return this.events.flatMap((event) => ("history" in event ? [event] : []));
  }

  refusals(): Array<{ id: string; reason: string }> {
    return this.events.flatMap((event) => ("refused" in event ? [event.refused] : []));
  }

  async read(): Promise<void> {
    for await (const event of this.inbox) this.events.push(event);
  }
}

describe("the chat over the network", { timeout: 180_000 }, () => {
  it("two clients on different transports, through random cuts: every line once, in order, through the pipeline", async (t) => {
    const { handle } = await start(t, {}, { heartbeat: 500, heartbeatTimeout: 2_000, pollTimeout: 1_000 });
    const proxy = await FaultProxy.start({ targetPort: handle.port });
    t.after(() => proxy.close());
    const alice = await ChatClient.join(t, "alice", proxy.url, { transport: "websocket" });
    const bob = await ChatClient.join(t, "bob", proxy.url, { transport: "longpoll" });
    const cutting = proxy.cutRandomly({ count: 20, minBytes: 500, maxBytes: 5_000 });
    cutting.catch(() => undefined);
    const expected: string[] = [];
    for (let i = 0; i < 120; i++) {
      const speaker = i % 2 === 0 ? alice : bob;
      const text = i % 30 === 0 ? `line ${i}, teh heck :)` : `line ${i}`;
      assert.equal(await speaker.say(text), true, `${speaker.name}'s line ${i} was taken`);
      expected.push(i % 30 === 0 ? `line ${i}, the **** \u{1F642}` : `line ${i}`);
    }
    await until(() => alice.lines().length >= expected.length && bob.lines().length >= expected.length, "both clients to get every line", LIMIT_MS);
    proxy.stopCutting();
    t.diagnostic(`${proxy.cuts} cuts`);
    assert.deepEqual(
      alice.lines().map((line) => line.text),
      expected,
    );
    assert.deepEqual(
      bob.lines().map((line) => line.text),
      expected,
    );
  });

  it("a late joiner gets the history, done on the last batch; a refusal reaches only its sender; a resent id shows once", async (t) => {
    const { handle } = await start(t);
    const first = await ChatClient.join(t, "first", handle.url, { transport: "sse" });
    await until(() => first.history().length === 1, "the empty history", LIMIT_MS);
    assert.deepEqual(first.history(), [{ history: [], done: true }]);
    await first.say("hello", "id-1");
    await first.say("hello", "id-1");
    await first.say("   ", "id-2");
    assert.equal(await first.session.serverChan<unknown>("chat").put({ join: "not a channel" }), true, "taken, and ignored");
    assert.equal(await first.session.serverChan<unknown>("chat").put(42), true);
    const late = await ChatClient.join(t, "late", handle.url);
    await until(() => late.history().length === 1 && first.refusals().length === 1, "the history and the refusal", LIMIT_MS);
    assert.deepEqual(
      late.history()[0]?.history.map((line) => [line.id, line.nick, line.text]),
      [["id-1", "first", "hello"]],
    );
    assert.deepEqual(first.refusals(), [{ id: "id-2", reason: "a line may not be empty" }]);
    assert.equal(first.lines().length, 1, "the resent id was not added again");
    assert.deepEqual(late.refusals(), [], "another session hears nothing of it");
  });

  it("a session saying 1,000 lines in a burst with the default allowance: refused past lineBurst, and no reader is dropped", async (t) => {
    const { lineBurst, linesPerSecond, addressLineBurst, addressLinesPerSecond } = chatDefaults;
    const { handle } = await start(t, { lineBurst, linesPerSecond, addressLineBurst, addressLinesPerSecond });
    const readers = await Promise.all(["ann", "bob"].map((name) => ChatClient.join(t, name, handle.url)));
    const flooder = await ChatClient.join(t, "flood", handle.url);
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => flooder.say(`flood ${i}`)));
    assert.ok(results.every((taken) => taken), "the server took every put (and refused most lines)");
    // Its refusals outrun its own queue, so the flooder itself may be dropped: its problem alone.
    await until(() => flooder.refusals().length >= 1, "a refusal at the flooder", LIMIT_MS);
    assert.match(flooder.refusals()[0]?.reason ?? "", /\(lineBurst, linesPerSecond\)/);
    await readers[0]?.say("still talking");
    for (const reader of readers) {
      await until(() => reader.lines().some((line) => line.text === "still talking"), `${reader.name} hears the others`, LIMIT_MS);
      assert.ok(!reader.events.some((event) => "dropped" in event), `${reader.name} was not dropped`);
      const flood = reader.lines().filter((line) => line.nick === "flood").length;
      assert.ok(flood >= chatDefaults.lineBurst && flood <= chatDefaults.lineBurst + 2, `${reader.name} got ${flood} of the flood`);
    }
  });

  it("two 600,000-character lines and a join: refused by default, and the server goes on", async (t) => {
    const { handle } = await start(t);
    const talker = await ChatClient.join(t, "talker", handle.url);
    const long = "x".repeat(600_000);
    assert.equal(await talker.say(long), true);
    assert.equal(await talker.say(long), true);
    const joiner = await ChatClient.join(t, "joiner", handle.url);
    await talker.say("still here");
    await until(() => joiner.lines().length === 1 && talker.refusals().length === 2, "the next line and both refusals", LIMIT_MS);
    assert.deepEqual(joiner.history(), [{ history: [], done: true }]);
    assert.equal(talker.refusals()[0]?.reason, "a line may have at most 500 characters");
  });

  it("with limits raised, 600,000-character lines are kept under the byte bound and a join gets them in batches under the message limit", async (t) => {
    const historyBytes = 3 * 1024 * 1024;
    const { handle } = await start(t, { maxLineLength: 700_000, historyBytes });
    const talker = await ChatClient.join(t, "talker", handle.url);
    const long = "x".repeat(600_000);
    for (let i = 0; i < 7; i++) assert.equal(await talker.say(long), true);
    // Seven lines of 600 KB are 4.2 MB: the history keeps five (3 MB), and one message could never carry them.
    const joiner = await ChatClient.join(t, "joiner", handle.url);
    await until(() => joiner.history().at(-1)?.done === true, "the whole history", LIMIT_MS);
    const batches = joiner.history();
    assert.deepEqual(
      batches.map((batch) => batch.history.length),
      [1, 1, 1, 1, 1],
      "each batch under the 1 MiB message limit: one long line each",
    );
    assert.ok(batches.flatMap((batch) => batch.history).reduce((total, line) => total + Buffer.byteLength(JSON.stringify(line)), 0) <= historyBytes);
    await talker.say("after");
    await until(() => joiner.lines().length === 1, "the next line", LIMIT_MS);
  });

  it("1,000 long lines: the history stays under its byte bound, and a join gets it all in batches", async (t) => {
    const historyBytes = 256 * 1024;
    const batchBytes = 16 * 1024;
    const { handle } = await start(t, { historyBytes, batchBytes });
    const talker = await ChatClient.join(t, "talker", handle.url);
    const text = "\u00e9".repeat(500); // 500 characters, 1,000 bytes
    const taken = await Promise.all(Array.from({ length: 1000 }, (_, i) => talker.say(text, `l${i}`)));
    assert.ok(taken.every(Boolean));
    const joiner = await ChatClient.join(t, "joiner", handle.url);
    await until(() => joiner.history().at(-1)?.done === true, "the whole history", LIMIT_MS);
    const lines = joiner.history().flatMap((batch) => batch.history);
    const bytes = lines.reduce((total, line) => total + Buffer.byteLength(JSON.stringify(line)), 0);
    assert.ok(bytes <= historyBytes, `${bytes} <= ${historyBytes}`);
    assert.ok(lines.length > 200 && lines.length < 1000, `${lines.length} lines kept`);
    assert.equal(lines.at(-1)?.id, "l999", "the newest kept, the oldest dropped");
    for (const batch of joiner.history()) assert.ok(Buffer.byteLength(JSON.stringify(batch.history)) <= batchBytes + 1000);
  });

  it("a listener whose inbox nobody reads is dropped once its queue is full; the others get every line", async (t) => {
    const queueLength = 20;
    const { handle } = await start(t, { queueLength, historyBytes: 64 * 1024 });
    const frozen = await ChatClient.join(t, "frozen", handle.url, { read: false, buffer: 0 });
    const alice = await ChatClient.join(t, "alice", handle.url);
    const bob = await ChatClient.join(t, "bob", handle.url, { transport: "sse" });
    const count = 10 * queueLength;
    for (let i = 0; i < count; i++) assert.equal(await (i % 2 === 0 ? alice : bob).say(`line ${i}`), true);
    await until(() => alice.lines().length === count && bob.lines().length === count, "every line at both readers", LIMIT_MS);
    // Now the frozen page reads: it was dropped long ago, so it finds what was in flight, then
    // the word that it was dropped, and no more.
    void frozen.read();
    await until(() => frozen.events.some((event) => "dropped" in event), "the dropped event", LIMIT_MS);
    assert.ok("dropped" in (frozen.events.at(-1) as ChatEvent), "the last event");
    assert.ok(frozen.lines().length < count / 2, `the frozen listener got ${frozen.lines().length} of ${count} lines: it was dropped`);
    // A page then joins again with a new inbox, as apps/chat/page.ts does when its inbox closes.
    const again = chan<ChatEvent>(1024);
    const events: ChatEvent[] = [];
    void (async () => {
      for await (const event of again) events.push(event);
    })();
    await frozen.chat.put({ join: again });
    await alice.say("welcome back");
    await until(() => events.some((event) => "line" in event && event.line.text === "welcome back"), "the next line after joining again", LIMIT_MS);
    const history = events.flatMap((event) => ("history" in event ? event.history : []));
    assert.equal(history.length, count, "the history reloaded");
  });

  it("a client that vanishes without goodbye does not stall the others: every line arrives while its session waits to be resumed", async (t) => {
    const { server, handle } = await start(t, { queueLength: 40, historyBytes: 64 * 1024 }, { sessionTtl: 120_000 });
    const proxy = await FaultProxy.start({ targetPort: handle.port });
    t.after(() => proxy.close());
    const vanishing = await ChatClient.join(t, "vanishing", proxy.url);
    const alice = await ChatClient.join(t, "alice", handle.url);
    const bob = await ChatClient.join(t, "bob", handle.url, { transport: "longpoll" });
    await until(() => vanishing.history().length === 1, "the vanishing client's history", LIMIT_MS);
    // The process is gone: its socket reset, and no way back to the server.
    proxy.setRefusing(true);
    proxy.cutAll();
    const count = 200;
    for (let i = 0; i < count; i++) assert.equal(await (i % 2 === 0 ? alice : bob).say(`line ${i}`), true);
    await until(() => alice.lines().length === count && bob.lines().length === count, "every line at both others", LIMIT_MS);
    assert.equal(server.sessionCount, 3, "the vanished client's session still exists, waiting to be resumed, while the others got every line");
    // It comes back (the network returns): what was in flight, then the word that it was dropped.
    proxy.setRefusing(false);
    await until(() => vanishing.events.some((event) => "dropped" in event), "the dropped event after the resume", LIMIT_MS);
    assert.ok(vanishing.lines().length < count, `it got ${vanishing.lines().length} of ${count} lines before being dropped`);
  });

  it("close() stops the chat: puts on \"chat\" then resolve false", async (t) => {
    const wirechan = createServer({ logger: quiet });
    const mounted = mountChat(wirechan);
    const handle = await wirechan.listen({ port: 0 });
    t.after(() => handle.close());
    const client = await ChatClient.join(t, "ann", handle.url);
    await until(() => client.history().length === 1, "the history", LIMIT_MS);
    mounted.close();
    assert.equal(await client.say("anyone?"), false);
    assert.throws(() => mountChat(wirechan), /already named "chat"/, "one chat per server");
  });
});
