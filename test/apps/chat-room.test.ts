// The chat room in-process, with local channels for inboxes: what each input does.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatInput } from "../../apps/chat/chat-input.js";
import type { ChatEvent } from "../../apps/chat/chat-messages.js";
import { type ChatOptions, resolveChatOptions } from "../../apps/chat/chat-options.js";
import { ChatRoom } from "../../apps/chat/chat-room.js";
import { type Channel, chan } from "../../src/index.js";
import type { ChatLine } from "../../apps/chat/chat-messages.js";
import { createServer, type Logger } from "../../src/server/index.js";
import { pollAll, settle } from "../helpers/async.js";

const quiet: Logger = { error: () => undefined, warn: () => undefined };

function room(options: ChatOptions = {}): ChatRoom {
  // Lines come in bursts here to test other bounds: the per-session allowance is lifted unless a test sets it.
  const unthrottled = { lineBurst: 1_000_000, linesPerSecond: 1_000_000, addressLineBurst: 1_000_000, addressLinesPerSecond: 1_000_000 };
  return new ChatRoom(resolveChatOptions({ ...unthrottled, ...options }, quiet), () => 1000);
}

function join(r: ChatRoom, session: string, buffer = 1000): Channel<ChatEvent> {
  const inbox = chan<ChatEvent>(buffer);
  r.handle({ kind: "join", inbox, session });
  return inbox;
}

function say(id: string, text: string, session = "s1"): ChatInput {
  return { kind: "say", say: { id, nick: "ann", text }, session, address: `address of ${session}` };
}

describe("ChatRoom", () => {
  it("a join gets one empty history with done when nothing was said, then each line", async () => {
    const r = room();
    const inbox = join(r, "s1");
    r.handle(say("a", "hello"));
    await settle();
    assert.deepEqual(pollAll(inbox), [{ history: [], done: true }, { line: { id: "a", nick: "ann", text: "hello", ts: 1000 } }]);
  });

  it("a say whose id is in the history is not added again", async () => {
    const r = room();
    const inbox = join(r, "s1");
    r.handle(say("a", "hello"));
    r.handle(say("a", "hello"));
    await settle();
    assert.equal(pollAll(inbox).length, 2, "the empty history and one line");
    assert.equal(r.history.length, 1);
  });

  it("a refusal goes to every inbox of the session that sent it, and only there", async () => {
    const r = room();
    const mine = [join(r, "s1"), join(r, "s1")];
    const theirs = join(r, "s2");
    r.handle({ kind: "refused", id: "x", reason: "a line may not be empty", session: "s1" });
    await settle();
    for (const inbox of mine) assert.deepEqual(pollAll(inbox).at(-1), { refused: { id: "x", reason: "a line may not be empty" } });
    assert.deepEqual(pollAll(theirs), [{ history: [], done: true }]);
  });

  it("a large history comes in batches under batchBytes, done on the last only", async () => {
    const r = room({ batchBytes: 4096, historyBytes: 200_000 });
    for (let i = 0; i < 200; i++) r.handle(say(`l${i}`, "w".repeat(400)));
    const inbox = join(r, "s1");
    await settle();
    const events = pollAll(inbox) as Array<{ history: unknown[]; done: boolean }>;
    assert.ok(events.length > 10, `${events.length} batches`);
    for (const event of events) assert.ok(Buffer.byteLength(JSON.stringify(event.history)) <= 4096 + 100);
    assert.deepEqual(
      events.map((event) => event.done),
      [...Array<boolean>(events.length - 1).fill(false), true],
    );
    assert.equal(events.flatMap((event) => event.history).length, 200);
  });

  it("a listener nobody reads is dropped once its queue is full, and the others get every line", async () => {
    const r = room({ queueLength: 150 });
    const stuck = join(r, "s1", 0); // unbuffered, and nobody takes: its pump waits on the first put
    const reader = join(r, "s2");
    for (let i = 0; i < 400; i++) {
      r.handle(say(`l${i}`, `line ${i}`, "s2"));
      await settle(1);
    }
    assert.equal(r.listenerCount, 1, "the stuck listener is gone");
    assert.equal(stuck.closed, true, "its inbox closed");
    const got = pollAll(reader).filter((event) => "line" in event);
    assert.equal(got.length, 400, "every line reached the reader");
  });

  it("a join past maxListeners is told the room is full and its inbox closed; joining twice with one inbox is ignored", async () => {
    const r = room({ maxListeners: 2 });
    const a = join(r, "s1");
    r.handle({ kind: "join", inbox: a, session: "s1" });
    join(r, "s2");
    const third = join(r, "s3");
    await settle();
    assert.equal(third.closed, true);
    assert.deepEqual(pollAll(third), [{ refused: { id: "", reason: "the chat is full (2 listeners, maxListeners): try again later" } }]);
    assert.equal(r.listenerCount, 2);
    assert.equal(r.ignored, 1);
    r.close();
    assert.equal(a.closed, true, "close closes every inbox");
  });

  it("one session joining again and again holds at most maxJoinsPerSession inboxes: each new join replaces its oldest", async () => {
    const r = room({ maxJoinsPerSession: 3, maxListeners: 5 });
    const other = join(r, "s2");
    const inboxes = Array.from({ length: 50 }, () => join(r, "s1"));
    assert.equal(r.listenerCount, 4, "three of s1's and one of s2's");
    const kept = inboxes.slice(-3);
    assert.ok(inboxes.slice(0, -3).every((inbox) => inbox.closed), "the older inboxes are released");
    assert.ok(kept.every((inbox) => !inbox.closed));
    r.handle(say("a", "still here", "s2"));
    await settle();
    for (const inbox of [other, ...kept]) assert.deepEqual(pollAll(inbox).at(-1), { line: { id: "a", nick: "ann", text: "still here", ts: 1000 } });
    const newcomer = join(r, "s3");
    assert.equal(newcomer.closed, false, "the room still has room for another session");
  });

  it("a session saying lines in a loop gets lineBurst of them, then is refused, naming the options; others still speak", async () => {
    let now = 1000;
    const r = new ChatRoom(resolveChatOptions({ lineBurst: 10, linesPerSecond: 2 }, quiet), () => now);
    const flooder = join(r, "s1");
    const other = join(r, "s2");
    for (let i = 0; i < 50; i++) r.handle(say(`f${i}`, `flood ${i}`, "s1"));
    r.handle(say("o1", "hello", "s2"));
    await settle();
    const seen = pollAll(other).filter((event) => "line" in event);
    assert.equal(seen.length, 11, "ten of the flood and the other session's line");
    const refused = pollAll(flooder).filter((event): event is { refused: { id: string; reason: string } } => "refused" in event);
    assert.equal(refused.length, 40);
    assert.match(refused[0]?.refused.reason ?? "", /at most 10 at once, then 2 a second \(lineBurst, linesPerSecond\)/);
    now += 1000;
    r.handle(say("f-later", "a second later", "s1"));
    await settle();
    assert.deepEqual(pollAll(other).at(-1), { line: { id: "f-later", nick: "ann", text: "a second later", ts: 2000 } });
  });

  it("many sessions of one address share the address's allowance; another address still speaks", async () => {
    const r = new ChatRoom(resolveChatOptions({ lineBurst: 10, addressLineBurst: 25 }, quiet), () => 1000);
    const reader = join(r, "reader");
    for (let n = 0; n < 20; n++) {
      for (let i = 0; i < 10; i++) r.handle({ kind: "say", say: { id: `s${n}-${i}`, nick: "bot", text: "flood" }, session: `s${n}`, address: "10.0.0.1" });
    }
    r.handle({ kind: "say", say: { id: "elsewhere", nick: "ann", text: "hello" }, session: "other", address: "10.0.0.2" });
    await settle();
    const lines = pollAll(reader).filter((event) => "line" in event);
    assert.equal(lines.length, 26, "25 from the flooding address, 1 from the other");
    assert.deepEqual(lines.at(-1), { line: { id: "elsewhere", nick: "ann", text: "hello", ts: 1000 } });
  });

  it("a line goes out on the room's bus and is shown when the bus brings it back; a known id brought back shows nothing", async () => {
    const sent: ChatLine[] = [];
    const r = new ChatRoom(resolveChatOptions({}, quiet), () => 1000, { lines: { publish: (line) => (sent.push(line), null) } });
    const inbox = join(r, "s1");
    r.handle(say("a", "hello"));
    await settle();
    assert.deepEqual(pollAll(inbox), [{ history: [], done: true }], "not shown before the bus brings it");
    assert.deepEqual(sent, [{ id: "a", nick: "ann", text: "hello", ts: 1000 }]);
    r.receive(sent[0] as ChatLine);
    r.receive({ id: "a", nick: "ann", text: "hello", ts: 2000 });
    r.receive({ id: "b", nick: "bob", text: "from another node", ts: 1500 });
    await settle();
    assert.deepEqual(pollAll(inbox), [{ line: { id: "a", nick: "ann", text: "hello", ts: 1000 } }, { line: { id: "b", nick: "bob", text: "from another node", ts: 1500 } }]);
  });

  it("a line the bus cannot send is refused to its session with the bus's reason", async () => {
    const r = new ChatRoom(resolveChatOptions({}, quiet), () => 1000, { lines: { publish: () => "the engine is down" } });
    const inbox = join(r, "s1");
    r.handle(say("a", "hello"));
    await settle();
    assert.deepEqual(pollAll(inbox).at(-1), { refused: { id: "a", reason: "the engine is down" } });
    assert.equal(r.history.length, 0);
  });

  it("the lines loaded from the engine's log are the history a join gets, each id once", async () => {
    const r = room();
    r.load([{ id: "a", nick: "ann", text: "one", ts: 1 }, { id: "b", nick: "bob", text: "two", ts: 2 }, { id: "a", nick: "ann", text: "one", ts: 1 }]);
    const inbox = join(r, "s1");
    await settle();
    assert.deepEqual(pollAll(inbox), [{ history: [{ id: "a", nick: "ann", text: "one", ts: 1 }, { id: "b", nick: "bob", text: "two", ts: 2 }], done: true }]);
  });

  it("who is here: each join's nickname (or guest), renamed by a line under another, gone when its listener is", async () => {
    const server = createServer({ logger: quiet });
    const hereTopic = server.topic<never>("apps.chat.here", { presence: true });
    const r = new ChatRoom(resolveChatOptions({}, quiet), () => 1000, { hereTopic });
    const ann = chan<ChatEvent>(100);
    r.handle({ kind: "join", inbox: ann, session: "s1", nick: "ann" });
    r.handle({ kind: "join", inbox: chan<ChatEvent>(100), session: "s2" });
    const lastHere = (): unknown => pollAll(ann).filter((event) => "here" in event).at(-1);
    await settle(20);
    assert.deepEqual(lastHere(), { here: { nicks: ["ann", "guest"], more: 0 } });
    r.handle({ kind: "say", say: { id: "x", nick: "zed", text: "hi" }, session: "s2", address: "a" });
    await settle(20);
    assert.deepEqual(lastHere(), { here: { nicks: ["ann", "zed"], more: 0 } });
    const bob = join(r, "s3");
    await settle(20);
    bob.close(); // a listener whose put fails is dropped, and leaves
    r.handle(say("y", "after bob left", "s1"));
    await settle(20);
    assert.deepEqual(lastHere(), { here: { nicks: ["ann", "zed"], more: 0 } });
    r.close();
    hereTopic.close();
  });
});
