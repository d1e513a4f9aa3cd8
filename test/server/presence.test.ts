// A topic's presence on one server (docs/api.md "Presence"), with real Node clients on 127.0.0.1:
// entries for clients' subscriptions and server code's channels given a principal, join and
// leave events on a watcher's channel, a client's `{ presence: inbox }` answer, what a principal
// becomes when it cannot cross, the bounds (maxWatchers, watchQueueLength, maxListed), and the
// options refused.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { connect, type Session } from "../../src/client/index.js";
import { chan, type Channel } from "../../src/csp/channel.js";
import { createServer, isTopicDropped, type PresenceAnswer, type PresenceEvent, type ServerOptions, type TopicDropped, type TopicOptions, type TopicRequest, type WirechanServer } from "../../src/server/index.js";
import { resolvePresenceOptions } from "../../src/server/presence-options.js";
import { pollAll, until, within } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";
import { RecordingLogger } from "../helpers/recording-logger.js";

const TEST = { timeout: 30_000 };

async function start(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; url: string; logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000, logger, ...options });
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, url: handle.url, logger };
}

async function client(t: TestContext, url: string): Promise<Session> {
  const session = await connect(url, { transports: ["websocket"] });
  t.after(() => session.close());
  return session;
}

async function subscribe(session: Session, topic = "room"): Promise<Channel<unknown>> {
  const inbox = chan<unknown>(16);
  assert.equal(await session.serverChan<TopicRequest<unknown>>(topic).put({ subscribe: inbox }), true);
  return inbox;
}

/** What a client's `{ presence: inbox }` gets. */
async function ask(session: Session, topic = "room"): Promise<PresenceAnswer | TopicDropped | undefined> {
  const inbox = chan<PresenceAnswer | TopicDropped>(2);
  assert.equal(await session.serverChan<TopicRequest<unknown>>(topic).put({ presence: inbox }), true);
  return within(inbox.take(), "the presence answer");
}

describe("a topic's presence on one server", TEST, () => {
  it("clients' subscriptions and server channels with a principal are entries; a watcher gets joins and leaves in order", async (t) => {
    const { server, url } = await start(t, { authenticate: () => ({ user: "ann", token: "secret" }) });
    const topic = server.topic<string>("room", { presence: { principalOf: (session) => (session.principal as { user: string }).user } });
    const presence = topic.presence!;
    const events = chan<PresenceEvent>(64);
    assert.deepEqual(presence.watch(events), [], "nobody yet");
    const local = chan<string>(4);
    topic.subscribe(local, { principal: { bot: "greeter" } });
    topic.subscribe(chan<string>(4)); // no principal: not an entry
    const session = await client(t, url);
    const inbox = await subscribe(session);
    await until(() => presence.size === 2, "two entries");
    const list = presence.list();
    assert.deepEqual(
      list.map((e) => [e.node, e.session === null ? null : "a session", e.principal]),
      [
        ["local", null, { bot: "greeter" }],
        ["local", "a session", "ann"],
      ],
      "principalOf shows what it picks (not the token)",
    );
    assert.equal(presence.nodes, 1);
    await session.serverChan<TopicRequest<unknown>>("room").put({ unsubscribe: inbox });
    topic.unsubscribe(local);
    await until(() => presence.size === 0, "both left");
    const seen = pollAll(events).map((e) => [e.type, e.type === "leave" ? e.reason : null, e.entry.session === null ? "server" : "client"]);
    assert.deepEqual(seen, [
      ["join", null, "server"],
      ["join", null, "client"],
      ["leave", "left", "client"],
      ["leave", "left", "server"],
    ]);
    assert.equal(local.closed, false, "unsubscribe leaves the channel open");
  });

  it("a session that ends takes its entries with it; the topic's close leaves every entry (closed) and closes the watchers", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<string>("room", { presence: true });
    const presence = topic.presence!;
    const events = chan<PresenceEvent>(64);
    presence.watch(events);
    const session = await client(t, url);
    await subscribe(session);
    await subscribe(session);
    await until(() => presence.size === 2, "two subscriptions of one session: two entries");
    await session.close();
    await until(() => presence.size === 0, "the ended session's entries left");
    topic.subscribe(chan<string>(1), { principal: "server" });
    topic.close();
    const types = pollAll(events).map((e) => (e.type === "leave" ? `leave:${e.reason}` : e.type));
    assert.deepEqual(types, ["join", "join", "leave:left", "leave:left", "join", "leave:closed"]);
    assert.equal(events.closed, true, "the watcher's channel closed with the topic");
    assert.equal(presence.size, 0);
  });

  it("a client's { presence: inbox } gets who is here once (principals, no session ids), at most maxListed with the count whole; a topic without presence answers null", async (t) => {
    const { server, url } = await start(t, { authenticate: () => "someone" });
    server.topic<string>("room", { presence: { maxListed: 2 } });
    server.topic<string>("plain");
    for (let i = 0; i < 3; i++) await subscribe(await client(t, url));
    const asker = await client(t, url);
    const answer = await ask(asker);
    assert.ok(answer !== undefined && !isTopicDropped(answer) && answer.presence !== null);
    assert.equal(answer.presence.count, 3);
    assert.equal(answer.presence.more, 1);
    assert.deepEqual(answer.presence.entries.map((e) => Object.keys(e).sort()), [["key", "node", "principal"], ["key", "node", "principal"]]);
    assert.deepEqual(answer.presence.entries.map((e) => e.principal), ["someone", "someone"]);
    assert.deepEqual(await ask(asker, "plain"), { presence: null });
  });

  it("this node's entries are bounded by the topic's maxSubscribers: a subscription refused there is no entry", async (t) => {
    const { server, url } = await start(t);
    const topic = server.topic<string>("room", { presence: true, maxSubscribers: 2 });
    await subscribe(await client(t, url));
    topic.subscribe(chan<string>(1), { principal: "server" });
    const refused = await subscribe(await client(t, url));
    const word = await within(refused.take(), "the refusal");
    assert.ok(isTopicDropped(word) && word.dropped.code === "ERR_TOO_MANY_SUBSCRIBERS");
    assertThrowsCode(() => topic.subscribe(chan<string>(1), { principal: "one more" }), "ERR_TOO_MANY_SUBSCRIBERS", "a local one past it", RangeError);
    assert.equal(topic.presence?.size, 2);
    assert.deepEqual(topic.presence?.list(1).length, 1, "list(limit)");
  });

  it("a client authorize refuses to subscribe is refused the presence too (ERR_FORBIDDEN)", async (t) => {
    const { server, url } = await start(t, { authorize: (_principal, _name, op) => op !== "subscribe" });
    server.topic<string>("room", { presence: true });
    const answer = await ask(await client(t, url));
    assert.ok(isTopicDropped(answer));
    assert.equal(answer.dropped.code, "ERR_FORBIDDEN");
  });

  it("a principal JSON cannot write, or over maxPrincipalBytes, is listed as null and logged; one that can is listed as JSON carries it", async (t) => {
    const { server, logger } = await start(t);
    const topic = server.topic<string>("room", { presence: { maxPrincipalBytes: 64 } });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    topic.subscribe(chan<string>(1), { principal: cycle });
    topic.subscribe(chan<string>(1), { principal: 10n });
    topic.subscribe(chan<string>(1), { principal: "x".repeat(100) });
    topic.subscribe(chan<string>(1), { principal: { at: new Date(0), skip: undefined } });
    assert.deepEqual(
      topic.presence!.list().map((e) => e.principal),
      [null, null, null, { at: "1970-01-01T00:00:00.000Z" }],
    );
    assert.equal(logger.lines.filter((l) => l.message.includes("maxPrincipalBytes")).length, 3);
  });

  it("maxWatchers: one more is ERR_TOO_MANY_LISTENERS; a watcher whose buffer is full is dropped, its channel closed after what it holds; the others go on", async (t) => {
    const { server } = await start(t);
    const topic = server.topic<string>("room", { presence: { maxWatchers: 2 } });
    const presence = topic.presence!;
    const stuck = chan<PresenceEvent>(2); // never read: two events fit
    const reader = chan<PresenceEvent>(64);
    presence.watch(stuck);
    presence.watch(reader);
    assertThrowsCode(() => presence.watch(chan<PresenceEvent>(1)), "ERR_TOO_MANY_LISTENERS", "a third watcher", RangeError);
    presence.watch(reader); // again: no new watcher
    for (let i = 0; i < 5; i++) topic.subscribe(chan<string>(1), { principal: i });
    assert.equal(stuck.closed, true, "the stuck watcher was dropped at the third event");
    assert.deepEqual(pollAll(stuck).map((e) => e.entry.principal), [0, 1], "what it held can still be taken");
    assert.deepEqual(pollAll(reader).map((e) => e.entry.principal), [0, 1, 2, 3, 4], "the reader got every event");
    presence.watch(chan<PresenceEvent>(1)); // its place is free again
    assert.equal(presence.unwatch(reader), true);
    topic.subscribe(chan<string>(1), { principal: 5 });
    assert.equal(reader.closed, false, "unwatch leaves the channel open");
    assert.deepEqual(pollAll(reader), [], "and offers it nothing more");
  });

  it("options: a bad one is ERR_PRESENCE_OPTION naming it, and the topic's name stays free", async (t) => {
    const { server } = await start(t);
    const bad: Array<[TopicOptions["presence"], string]> = [
      [{ heartbeatInterval: 0 }, "heartbeatInterval"],
      [{ heartbeatInterval: 1_000, timeout: 1_500 }, "timeout"],
      [{ maxEntries: 1.5 }, "maxEntries"],
      [{ maxMessageBytes: 1_500, maxPrincipalBytes: 1_000 }, "maxMessageBytes"],
      [{ principalOf: "user" as unknown as () => unknown }, "principalOf"],
      ["yes" as unknown as boolean, "presence"],
    ];
    for (const [presence, name] of bad) {
      assert.throws(
        () => server.topic("room", { presence }),
        (error: Error & { code?: string }) => error.code === "ERR_PRESENCE_OPTION" && error.message.includes(name),
        name,
      );
    }
    assert.equal(server.topic("room", { presence: { maxEntries: 10, heartbeatInterval: undefined } }).presence?.size, 0, "the name was free");
    assert.equal(resolvePresenceOptions(false), null);
    assert.equal(resolvePresenceOptions(true)?.timeout, 15_000);
    assert.equal(server.topic("off").presence, null, "off by default");
  });
});
