// One behavioural suite for every backplane engine (memory, Redis, NATS), run by
// memory-engine.test.ts, redis-engine.test.ts and nats-engine.test.ts over nodes made by the
// engine's fixture: one publisher's order across nodes, own messages back, unsubscribe, text of
// every script arriving identical, odd subjects kept apart, close twice, and ERR_BACKPLANE_FULL
// while the engine is unreachable. Each test works in a space of its own (a subject prefix, or
// a bus of its own), since Redis and NATS are shared by test files running in parallel.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import fc from "fast-check";
import type { Backplane, BackplaneMessage, BackplaneOptions } from "../../src/backplane/index.js";
import { settle, until } from "../helpers/async.js";
import { assertThrowsCode } from "../helpers/errors.js";

/** How one engine makes nodes for the suites. */
export interface EngineFixture {
  readonly name: string;
  /** Whether every node sees one order for messages of several publishers (memory, Redis), or each publisher's only (NATS core). */
  readonly ordersAcrossPublishers: boolean;
  /** A node in `space` (the nodes of one space see each other's messages and no other space's), closed after the test. */
  node(t: TestContext, space: string, options?: BackplaneOptions): Promise<Backplane>;
  /**
   * A node in `space` whose way to the engine can be cut (the engine unreachable for it, as if
   * down; `cut` resolves once the node's connections know) and restored, closed after the test.
   */
  cuttableNode(t: TestContext, space: string, options?: BackplaneOptions): Promise<{ node: Backplane; cut(): Promise<void>; restore(): void }>;
}

/** A space no other test (nor test file) uses. */
export function newSpace(): string {
  return `test-${randomUUID()}.`;
}

const TEST = { timeout: 60_000 };

/** Every message `node` gets on `subject`, from now on. */
function record(node: Backplane, subject: string): BackplaneMessage[] {
  const got: BackplaneMessage[] = [];
  node.subscribe(subject, (message) => got.push(message));
  return got;
}

/** Texts in many scripts, and the characters framing and protocols care about. */
const TEXTS = [
  "plain ASCII",
  "Français: déjà vu, œuvre, ça",
  "Ελληνικά · русский · українська · ქართული · Հայերեն",
  "עברית · العربية · فارسی · اردو",
  "हिन्दी · বাংলা · தமிழ் · ไทย · ລາວ · မြန်မာ · ខ្មែរ",
  "中文 · 日本語のかな · 한국어",
  "emoji 🙂👍🏽 👩‍👩‍👧‍👦 🇫🇷 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "NUL \u0000 inside, and \u0001\u001f controls",
  "line\nbreaks\r\nand\ttabs",
  "wc1 fake-node\nnot a header",
  "",
  "PUB x 5\r\nMSG\r\n+OK\r\n*3\r\n$7\r\nmessage\r\n",
  "é".repeat(50_000),
];

/** Subjects that an engine could confuse: separators, wildcards, escapes, spaces, unicode. */
const SUBJECTS = ["a b", "a.b", "a..b", ".a", "a.", ".", "*", ">", "a.*", "a.>", "a*", "~", "~7E", "~2E", "é", "e\u0301", "🙂", " ", "\t", "a\nb", "$SYS.x", "wirechan.topic.a b"];

export function engineSuite(fixture: EngineFixture): void {
  describe(`backplane engine behaviour: ${fixture.name}`, () => {
    it("one publisher's messages reach every node, itself included, in publish order, with who sent them", TEST, async (t) => {
      const space = newSpace();
      const nodes = await Promise.all([0, 1, 2].map((i) => fixture.node(t, space, { nodeId: `n${i}` })));
      const got = nodes.map((node) => record(node, "order"));
      await Promise.all(nodes.map((node) => node.ready()));
      const expected = Array.from({ length: 300 }, (_, i) => `m${i}`);
      for (const body of expected) nodes[0]!.publish("order", body);
      await until(() => got.every((messages) => messages.length >= expected.length), "every node got every message");
      for (const messages of got) {
        assert.deepEqual(messages.map((m) => m.body), expected);
        assert.ok(messages.every((m) => m.from === "n0"), "each message says who published it");
      }
      await until(() => nodes[0]!.pending === 0, "the engine took every publish");
      await settle();
      assert.deepEqual(got.map((messages) => messages.length), [300, 300, 300], "nothing twice");
    });

    it("a log one node appends to is read by another, oldest first, trimmed to the newest maxEntries, text of every script intact", TEST, async (t) => {
      const space = newSpace();
      const [writer, reader] = await Promise.all(["w", "r"].map((nodeId) => fixture.node(t, space, { nodeId })));
      assert.deepEqual(await reader!.read("history", 10), [], "a log nobody wrote is empty");
      const texts = TEXTS.slice(0, 8);
      for (const text of texts) await writer!.append("history", text, 5);
      assert.deepEqual(await reader!.read("history", 5), texts.slice(3), "the newest five, in the order appended");
      assert.deepEqual(await reader!.read("history", 2), texts.slice(6), "a reader may ask for fewer");
      await writer!.append("other log", "apart", 5);
      assert.deepEqual(await reader!.read("other log", 5), ["apart"], "logs are kept apart");
      await writer!.close();
      assert.deepEqual(await reader!.read("history", 5), texts.slice(3), "the log outlives the node that wrote it");
    });

    it("two publishers: each one's order holds on every node" + (fixture.ordersAcrossPublishers ? ", and every node sees one order" : ""), TEST, async (t) => {
      const space = newSpace();
      const [a, b, c] = await Promise.all(["a", "b", "c"].map((nodeId) => fixture.node(t, space, { nodeId })));
      const got = [a!, b!, c!].map((node) => record(node, "two"));
      await Promise.all([a!, b!, c!].map((node) => node.ready()));
      for (let i = 0; i < 100; i++) (i % 2 === 0 ? a! : b!).publish("two", String(i));
      await until(() => got.every((messages) => messages.length >= 100), "every node got both publishers' messages");
      for (const messages of got) {
        for (const from of ["a", "b"]) {
          const mine = messages.filter((m) => m.from === from).map((m) => Number(m.body));
          assert.deepEqual(mine, [...mine].sort((x, y) => x - y), `${from}'s order`);
          assert.equal(mine.length, 50);
        }
      }
      if (fixture.ordersAcrossPublishers) for (const messages of got.slice(1)) assert.deepEqual(messages, got[0]);
    });

    it("unsubscribe stops delivery; the node's other subjects and the other nodes go on", TEST, async (t) => {
      const space = newSpace();
      const [a, b] = await Promise.all(["a", "b"].map((nodeId) => fixture.node(t, space, { nodeId })));
      const gotA = record(a!, "s");
      const gotB: string[] = [];
      const stop = b!.subscribe("s", (m) => gotB.push(m.body));
      const gotOther = record(b!, "other");
      await Promise.all([a!.ready(), b!.ready()]);
      a!.publish("s", "before");
      await until(() => gotB.length === 1 && gotA.length === 1, "the first message");
      stop();
      stop();
      a!.publish("s", "after");
      a!.publish("other", "still here");
      await until(() => gotA.length === 2 && gotOther.length === 1, "the messages after unsubscribe");
      await settle();
      assert.deepEqual(gotB, ["before"], "nothing after unsubscribe");
      // The subject is free again on this node, and a new subscription gets what follows.
      const again = record(b!, "s");
      await b!.ready();
      a!.publish("s", "again");
      await until(() => again.length === 1, "the new subscription");
      assert.equal(again[0]!.body, "again");
    });

    it("text in every script, emoji, NUL, line breaks and 100 KB arrive identical", TEST, async (t) => {
      const space = newSpace();
      const [a, b] = await Promise.all(["a", "b"].map((nodeId) => fixture.node(t, space, { nodeId })));
      const got = record(b!, "texts");
      await b!.ready();
      const generated = fc.sample(fc.string({ unit: "grapheme", maxLength: 40 }), { numRuns: 100, seed: 11 });
      const texts = [...TEXTS, ...generated];
      for (const text of texts) a!.publish("texts", text);
      await until(() => got.length >= texts.length, "every text");
      assert.deepEqual(got.map((m) => m.body), texts);
    });

    it("subjects with spaces, dots, wildcards, escapes and unicode stay distinct", TEST, async (t) => {
      const space = newSpace();
      const [a, b] = await Promise.all(["a", "b"].map((nodeId) => fixture.node(t, space, { nodeId })));
      const got = new Map(SUBJECTS.map((subject) => [subject, record(b!, subject)]));
      await b!.ready();
      for (const subject of SUBJECTS) a!.publish(subject, subject);
      const last = record(b!, "after all");
      await b!.ready();
      a!.publish("after all", "done");
      // Published after every other by one publisher: once it is here, so are they.
      await until(() => last.length === 1, "the last message");
      await settle();
      for (const [subject, messages] of got) assert.deepEqual(messages.map((m) => m.body), [subject], `subject ${JSON.stringify(subject)} got its own message only`);
    });

    it("close is idempotent; then publish, subscribe and ready say ERR_BACKPLANE_CLOSED", TEST, async (t) => {
      const node = await fixture.node(t, newSpace());
      record(node, "s");
      await node.ready();
      const first = node.close();
      const second = node.close();
      await Promise.all([first, second]);
      await node.close();
      assertThrowsCode(() => node.publish("s", "x"), "ERR_BACKPLANE_CLOSED", "publish after close");
      assertThrowsCode(() => node.subscribe("t", () => undefined), "ERR_BACKPLANE_CLOSED", "subscribe after close");
      await assert.rejects(node.ready(), { code: "ERR_BACKPLANE_CLOSED" });
    });

    it("the engine unreachable: maxPending publishes wait, the next throws ERR_BACKPLANE_FULL, local subscribe still works; once back, the waiting ones are delivered in order", TEST, async (t) => {
      const space = newSpace();
      const observer = await fixture.node(t, space, { nodeId: "observer" });
      const seen = record(observer, "outage");
      await observer.ready();
      const { node, cut, restore } = await fixture.cuttableNode(t, space, { nodeId: "cut", maxPending: 5 });
      await node.ready();
      await cut();
      for (let i = 0; i < 5; i++) node.publish("outage", `held ${i}`);
      assert.equal(node.pending, 5);
      assertThrowsCode(() => node.publish("outage", "one too many"), "ERR_BACKPLANE_FULL", "maxPending publishes wait");
      // The node itself goes on: subscribing is local bookkeeping, the engine catches up later.
      const own = record(node, "own");
      // A while unreachable (not a timing assertion: the engine must not give up on its own).
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(node.pending, 5, "still waiting: nothing resolved nor rejected while unreachable");
      restore();
      await until(() => node.pending === 0, "the engine took the waiting publishes once back", 30_000);
      await until(() => seen.length >= 5, "the waiting publishes reached the observer", 30_000);
      assert.deepEqual(seen.map((m) => m.body), [0, 1, 2, 3, 4].map((i) => `held ${i}`));
      await node.ready();
      node.publish("own", "after");
      await until(() => own.length === 1, "a subscription made during the outage works once back", 30_000);
    });
  });
}
