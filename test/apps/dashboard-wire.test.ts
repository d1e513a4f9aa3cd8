// The dashboard over the network: a real server on 127.0.0.1 with mountDashboard, real Node
// clients watching on the named channel, and the plain /happiness feed read by a plain
// WebSocket, an EventSource and a long-poll GET. Readings are counted, never timed.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { type DashboardEvent, type DashboardOptions, type DashboardRequest, mountDashboard, type Reading } from "../../apps/dashboard/dashboard-app.js";
import { connect, type Session } from "../../src/client/index.js";
import { chan } from "../../src/csp/index.js";
import { createServer, type Logger, type ServerHandle } from "../../src/server/index.js";
import { until } from "../helpers/async.js";

const quiet: Logger = { error: () => undefined, warn: () => undefined };
const LIMIT_MS = 60_000;

interface Mounted {
  handle: ServerHandle;
  close(): void;
}

async function start(t: TestContext, options: DashboardOptions = {}): Promise<Mounted> {
  const server = createServer({ logger: quiet });
  const dashboard = mountDashboard(server, { interval: 20, ...options });
  const handle = await server.listen({ port: 0 });
  t.after(async () => {
    dashboard.close();
    await handle.close();
  });
  return { handle, close: () => dashboard.close() };
}

/** A page watching: its session and every event its inbox got. */
class Watcher {
  readonly events: DashboardEvent[] = [];

  private constructor(readonly session: Session) {}

  static async watch(t: TestContext, url: string): Promise<Watcher> {
    const session = await connect(url, { transports: ["websocket"], logger: quiet });
    t.after(() => session.close());
    const watcher = new Watcher(session);
    const inbox = chan<DashboardEvent>(256);
    void watcher.read(inbox);
    await session.serverChan<DashboardRequest>("dashboard").put({ watch: inbox });
    return watcher;
  }

  readings(): Array<{ reading: Reading; viewers: number }> {
    return this.events.flatMap((event) => ("reading" in event ? [event] : []));
  }

  viewerCounts(): number[] {
    return this.events.flatMap((event) => ("viewers" in event ? [event.viewers] : []));
  }

  private async read(inbox: AsyncIterable<DashboardEvent>): Promise<void> {
    for await (const event of inbox) this.events.push(event);
  }
}

function checkReading(value: unknown): void {
  assert.deepEqual(Object.keys(value as object), ["happiness", "ts"]);
  const { happiness, ts } = value as Reading;
  assert.ok(happiness >= 0 && happiness < 10, `0 <= ${happiness} < 10`);
  assert.ok(Number.isInteger(ts) && ts > 1_600_000_000_000, "ms since the epoch");
}

describe("the dashboard over the network", { timeout: 120_000 }, () => {
  it("one session watching again and again counts at most maxWatchesPerSession viewers, and its latest inbox still gets readings", async (t) => {
    const { handle } = await start(t, { maxWatchesPerSession: 2 });
    const other = await Watcher.watch(t, handle.url);
    const session = await connect(handle.url, { transports: ["websocket"], logger: quiet });
    t.after(() => session.close());
    const dashboard = session.serverChan<DashboardRequest>("dashboard");
    const inboxes = Array.from({ length: 20 }, () => chan<DashboardEvent>(1024));
    for (const inbox of inboxes) await dashboard.put({ watch: inbox });
    const latest = inboxes.at(-1);
    assert.ok(latest !== undefined);
    let readingAtLatest: { viewers: number } | undefined;
    await until(() => {
      for (let event = latest.poll(); event !== undefined; event = latest.poll()) if ("reading" in event) readingAtLatest = event;
      return readingAtLatest !== undefined;
    }, "a reading at the session's latest inbox", LIMIT_MS);
    assert.equal(readingAtLatest?.viewers, 3, "the other page and two of this session's");
    await until(() => other.viewerCounts().at(-1) === 3, "the other page counts 3 viewers", LIMIT_MS);
    assert.ok(Math.max(...other.viewerCounts()) <= 3, `never more than 3: ${JSON.stringify(other.viewerCounts())}`);
  });

  it("a watcher gets the history first, then readings with the viewer count; a second watcher makes it 2, and leaving makes it 1", async (t) => {
    const { handle } = await start(t);
    const first = await Watcher.watch(t, handle.url);
    await until(() => first.readings().length >= 3, "three readings", LIMIT_MS);
    const second = await Watcher.watch(t, handle.url);
    await until(() => second.readings().length >= 3, "three readings at the second", LIMIT_MS);
    const opening = second.events[0];
    assert.ok(opening !== undefined && "history" in opening, "the history comes first");
    assert.ok(opening.history.length >= 3, `the readings so far (${opening.history.length})`);
    opening.history.forEach(checkReading);
    second.readings().forEach(({ reading }) => checkReading(reading));
    assert.ok(first.viewerCounts().includes(2), "the first saw the second come");
    assert.equal(second.readings().at(-1)?.viewers, 2);
    second.session.close();
    await until(() => first.viewerCounts().at(-1) === 1, "the count back to 1 when the second left", LIMIT_MS);
  });

  it("a watch past maxViewers is refused, and the count stays", async (t) => {
    const { handle } = await start(t, { maxViewers: 2 });
    const watchers = [await Watcher.watch(t, handle.url), await Watcher.watch(t, handle.url), await Watcher.watch(t, handle.url)];
    await until(() => (watchers[0]?.readings().length ?? 0) >= 5, "five readings", LIMIT_MS);
    assert.equal(watchers[0]?.readings().at(-1)?.viewers, 2);
    assert.equal(watchers[2]?.events.length, 0, "the third is not a viewer");
  });

  it("/happiness: a plain WebSocket and an EventSource get JSON readings; a GET long-polls for the next one", async (t) => {
    const { handle } = await start(t);
    const wsUrl = handle.url.replace("http:", "ws:") + "/happiness";
    const ws = new WebSocket(wsUrl);
    t.after(() => ws.close());
    const frames: unknown[] = [];
    ws.on("message", (data) => frames.push(JSON.parse(String(data))));
    const source = new EventSource(handle.url + "/happiness");
    t.after(() => source.close());
    const events: unknown[] = [];
    source.onmessage = (event): void => {
      events.push(JSON.parse(event.data as string));
    };
    await until(() => frames.length >= 3 && events.length >= 3, "three readings on each", LIMIT_MS);
    frames.forEach(checkReading);
    events.forEach(checkReading);
    const poll = await fetch(handle.url + "/happiness");
    assert.equal(poll.status, 200);
    assert.match(poll.headers.get("content-type") ?? "", /^application\/json/);
    checkReading(await poll.json());
  });

  it("the feed answers 503 past maxFeedClients", async (t) => {
    const { handle } = await start(t, { maxFeedClients: 1, interval: 60_000 });
    const ws = new WebSocket(handle.url.replace("http:", "ws:") + "/happiness");
    t.after(() => ws.close());
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const refused = await fetch(handle.url + "/happiness");
    assert.equal(refused.status, 503);
  });

  it("close() stops the readings: a closed dashboard sends none while another one sends ten", async (t) => {
    const closing = await start(t);
    const running = await start(t);
    const watcher = await Watcher.watch(t, closing.handle.url);
    const witness = await Watcher.watch(t, running.handle.url);
    await until(() => watcher.readings().length >= 2, "readings before close", LIMIT_MS);
    closing.close();
    // What was on its way when close() ran may still land: count from two witness readings on.
    const mark = witness.readings().length;
    await until(() => witness.readings().length >= mark + 2, "two readings elsewhere", LIMIT_MS);
    const settled = watcher.readings().length;
    await until(() => witness.readings().length >= mark + 12, "ten more readings elsewhere", LIMIT_MS);
    assert.equal(watcher.readings().length, settled, "no reading after close");
    assert.equal((await fetch(closing.handle.url + "/happiness")).status, 503, "the feed is closed too");
  });
});
