// The apps as nodes of a cluster (docs/apps.md "Running more than one server"), over any engine:
// run by apps-cluster.test.ts with the memory bus, Redis and NATS. Real app servers (startApps,
// port 0, each with its own backplane node) and real Node clients on 127.0.0.1. A line said on
// one node reaches a page on the other; a node started after the line shows it in its history;
// who is here and the viewer count cover both nodes, and a node that closes takes its pages out
// of both; the two nodes' pages draw the same readings. Every wait polls for the state; nothing
// asserts a duration.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import type { ChatEvent, ChatLine, ChatRequest } from "../../apps/chat/chat-messages.js";
import type { DashboardEvent, DashboardRequest, Reading } from "../../apps/dashboard/dashboard-messages.js";
import { type RunningApps, startApps } from "../../apps/server.js";
import type { Backplane } from "../../src/backplane/index.js";
import { connect, type Session } from "../../src/client/index.js";
import { chan } from "../../src/csp/index.js";
import type { Logger, TopicDropped } from "../../src/server/index.js";
import { until } from "../helpers/async.js";

const quiet: Logger = { error: () => undefined, warn: () => undefined };
const TEST = { timeout: 90_000 };
/** A bound on a hang (engines over the network, a loaded machine), never a timing assertion. */
const LIMIT_MS = 30_000;

/** How one engine makes the nodes of a cluster. */
export interface AppsClusterFixture {
  readonly name: string;
  /** A node of the cluster `space` (nodes of one space share everything, and nothing with another space). startApps owns it. */
  node(space: string, nodeId: string): Promise<Backplane>;
}

/** An app server on a node of `space`, closed after the test (closing twice is harmless), and its backplane. */
async function appsNode(t: TestContext, fixture: AppsClusterFixture, space: string, nodeId: string): Promise<RunningApps & { backplane: Backplane }> {
  const backplane = await fixture.node(space, nodeId);
  const apps = await startApps({ port: 0, interval: 50, backplane, server: { logger: quiet, closeTimeout: 1_000 } });
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => (closed ??= apps.close());
  t.after(close);
  return { ...apps, close, backplane };
}

async function session(t: TestContext, url: string): Promise<Session> {
  const opened = await connect(url, { transports: ["websocket"], logger: quiet });
  t.after(() => opened.close());
  return opened;
}

/** A page of the chat: every event its inbox got. */
class ChatPage {
  readonly events: ChatEvent[] = [];
  #counter = 0;

  private constructor(
    readonly nick: string,
    readonly session: Session,
  ) {}

  static async join(t: TestContext, url: string, nick: string): Promise<ChatPage> {
    const page = new ChatPage(nick, await session(t, url));
    const inbox = chan<ChatEvent>(1024);
    void page.#read(inbox);
    await page.session.serverChan<ChatRequest>("chat").put({ join: inbox, nick });
    return page;
  }

  say(text: string, nick = this.nick, id = `${this.nick}-${++this.#counter}-${randomUUID()}`): Promise<boolean> {
    return this.session.serverChan<ChatRequest>("chat").put({ say: { id, nick, text } });
  }

  lines(): ChatLine[] {
    return this.events.flatMap((event) => ("line" in event ? [event.line] : []));
  }

  history(): ChatLine[] | null {
    const batches = this.events.flatMap((event) => ("history" in event ? [event] : []));
    return batches.some((batch) => batch.done) ? batches.flatMap((batch) => batch.history) : null;
  }

  /** The last "who is here" list, or null before the first. */
  here(): string[] | null {
    const lists = this.events.flatMap((event) => ("here" in event ? [event.here.nicks] : []));
    return lists.at(-1) ?? null;
  }

  async #read(inbox: AsyncIterable<ChatEvent>): Promise<void> {
    for await (const event of inbox) this.events.push(event);
  }
}

/** A page of the dashboard: the readings and viewer counts its inbox got. */
class DashboardPage {
  readonly events: Array<DashboardEvent | TopicDropped> = [];

  static async watch(t: TestContext, url: string): Promise<DashboardPage> {
    const page = new DashboardPage();
    const opened = await session(t, url);
    const inbox = chan<DashboardEvent>(4096);
    void page.#read(inbox);
    await opened.serverChan<DashboardRequest>("dashboard").put({ watch: inbox });
    return page;
  }

  /** The viewer count last shown, or null before one came. */
  viewers(): number | null {
    const counts = this.events.flatMap((event) => ("viewers" in event ? [event.viewers] : []));
    return counts.at(-1) ?? null;
  }

  readings(): Reading[] {
    return this.events.flatMap((event) => ("reading" in event ? [event.reading] : []));
  }

  async #read(inbox: AsyncIterable<DashboardEvent>): Promise<void> {
    for await (const event of inbox) this.events.push(event);
  }
}

function texts(lines: readonly ChatLine[] | null): string[] {
  return (lines ?? []).map((line) => line.text);
}

export function appsClusterSuite(fixture: AppsClusterFixture): void {
  describe(`the apps on two nodes: ${fixture.name}`, () => {
    it("a line said on node A reaches a page on node B once; a node started after it shows it in its history", TEST, async (t) => {
      const space = `apps-${randomUUID()}.`;
      const a = await appsNode(t, fixture, space, "node-a");
      const b = await appsNode(t, fixture, space, "node-b");
      const ann = await ChatPage.join(t, a.url, "ann");
      const bob = await ChatPage.join(t, b.url, "bob");
      await until(() => ann.history() !== null && bob.history() !== null, "both histories", LIMIT_MS);
      assert.equal(await ann.say("hello from node A, teh end :)"), true);
      await until(() => bob.lines().length >= 1 && ann.lines().length >= 1, "the line on both nodes", LIMIT_MS);
      assert.deepEqual(texts(bob.lines()), ["hello from node A, the end 🙂"], "through the pipeline once, on the other node");
      assert.equal(await bob.say("and back from node B"), true);
      await until(() => ann.lines().length >= 2, "bob's line on node A", LIMIT_MS);
      assert.deepEqual(texts(ann.lines()), texts(bob.lines()), "both nodes show the two lines in one order");

      const c = await appsNode(t, fixture, space, "node-c");
      const cat = await ChatPage.join(t, c.url, "cat");
      await until(() => cat.history() !== null, "the history on node C", LIMIT_MS);
      assert.deepEqual(texts(cat.history()), ["hello from node A, the end 🙂", "and back from node B"], "node C read the engine's log");
    });

    it("a line resent with its id through another node (a page whose session was lost) shows once on every node", TEST, async (t) => {
      const space = `apps-${randomUUID()}.`;
      const a = await appsNode(t, fixture, space, "node-a");
      const b = await appsNode(t, fixture, space, "node-b");
      const ann = await ChatPage.join(t, a.url, "ann");
      const annAgain = await ChatPage.join(t, b.url, "ann");
      await until(() => ann.history() !== null && annAgain.history() !== null, "both histories", LIMIT_MS);
      // Both at once: node B may not have the line yet when the resend reaches it, and puts it too.
      await Promise.all([ann.say("once only", "ann", "the-id"), annAgain.say("once only", "ann", "the-id")]);
      await ann.say("after it");
      await until(() => ann.lines().length >= 2 && annAgain.lines().length >= 2, "both lines on both nodes", LIMIT_MS);
      for (const page of [ann, annAgain]) assert.deepEqual(texts(page.lines()), ["once only", "after it"]);
      const c = await appsNode(t, fixture, space, "node-c");
      const late = await ChatPage.join(t, c.url, "late");
      await until(() => late.history() !== null, "the history on node C", LIMIT_MS);
      assert.deepEqual(texts(late.history()), ["once only", "after it"], "the log may hold it twice; the history shows it once");
    });

    it("who is here lists the pages of both nodes; a node that closes takes its pages off the list", TEST, async (t) => {
      const space = `apps-${randomUUID()}.`;
      const a = await appsNode(t, fixture, space, "node-a");
      const b = await appsNode(t, fixture, space, "node-b");
      const ann = await ChatPage.join(t, a.url, "ann");
      const bob = await ChatPage.join(t, b.url, "bob");
      const both = (page: ChatPage): boolean => JSON.stringify(page.here()) === JSON.stringify(["ann", "bob"]);
      await until(() => both(ann) && both(bob), `both lists to name ann and bob: ${JSON.stringify([ann.here(), bob.here()])}`, LIMIT_MS);
      // A line under another nickname renames the page in every list.
      await bob.say("call me rob", "rob");
      await until(() => JSON.stringify(ann.here()) === JSON.stringify(["ann", "rob"]), `ann's list to say rob: ${JSON.stringify(ann.here())}`, LIMIT_MS);
      await b.close();
      await until(() => JSON.stringify(ann.here()) === JSON.stringify(["ann"]), `ann's list without node B's page: ${JSON.stringify(ann.here())}`, LIMIT_MS);
    });

    it("the viewer count covers both nodes, and a node that closes takes its viewers out of it; both nodes draw the same readings", TEST, async (t) => {
      const space = `apps-${randomUUID()}.`;
      const a = await appsNode(t, fixture, space, "node-a");
      const b = await appsNode(t, fixture, space, "node-b");
      const onA = await DashboardPage.watch(t, a.url);
      const onB = await DashboardPage.watch(t, b.url);
      const secondOnB = await DashboardPage.watch(t, b.url);
      await until(() => [onA, onB, secondOnB].every((page) => page.viewers() === 3), `3 viewers on every page: ${JSON.stringify([onA.viewers(), onB.viewers(), secondOnB.viewers()])}`, LIMIT_MS);
      // One producer for the cluster: every reading node B's page got, node A's page got too (A watched first).
      await until(() => onB.readings().length >= 5, "readings on node B", LIMIT_MS);
      const seenOnB = onB.readings().slice(0, 5);
      await until(() => seenOnB.every((reading) => onA.readings().some((other) => other.ts === reading.ts)), "node B's readings on node A", LIMIT_MS);
      for (const reading of seenOnB) {
        assert.deepEqual(onA.readings().filter((other) => other.ts === reading.ts), [reading], "the same reading, once, on both nodes");
      }
      await b.close();
      await until(() => onA.viewers() === 1, `node A's page to count 1 viewer: ${String(onA.viewers())}`, LIMIT_MS);
      // Node A goes on making readings whoever made them before.
      const before = onA.readings().length;
      await until(() => onA.readings().length >= before + 3, "readings after node B closed", LIMIT_MS);
    });

    it("a node that dies (cut from the engine, no goodbye) leaves the viewer count after the presence timeout, and another node takes over the readings", TEST, async (t) => {
      const space = `apps-${randomUUID()}.`;
      // node-0 sorts first: it makes the readings until it dies.
      const dying = await appsNode(t, fixture, space, "node-0");
      const survivor = await appsNode(t, fixture, space, "node-1");
      const onDying = await DashboardPage.watch(t, dying.url);
      const onSurvivor = await DashboardPage.watch(t, survivor.url);
      await until(() => onDying.viewers() === 2 && onSurvivor.viewers() === 2, "2 viewers on both pages", LIMIT_MS);
      await dying.backplane.close();
      await until(() => onSurvivor.viewers() === 1, `the survivor's page to count 1 viewer: ${String(onSurvivor.viewers())}`, LIMIT_MS);
      const before = onSurvivor.readings().length;
      await until(() => onSurvivor.readings().length >= before + 3, "readings made by the survivor", LIMIT_MS);
    });
  });
}
