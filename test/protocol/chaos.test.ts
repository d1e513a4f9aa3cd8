// Timing between links, through relays that put a network's latency back (issue 9): the
// WebSocket upgrade probe of a client on SSE or long-polling (B7: its hello is older than what
// the old link acknowledged meanwhile), and a chaos run in which links are cut at random,
// WebSocket comes and goes, and transports switch by the probe. Every session must keep every
// value, once and in order, both ways. Real server, real sockets on 127.0.0.1, bounded in time.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { chan, type Channel } from "../../src/csp/index.js";
import { connect, type Session, type StateChange } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { createServer, type Envelope, type RemoteChannel, type WirechanServer } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { LatencyRelay } from "../helpers/latency-relay.js";

const TEST = { timeout: 90_000 };

/**
 * A server whose channel "in" records every value per session, and whose channel "feed" takes
 * a client's channel and puts 0, 1, 2 … into it every `everyMs` until told to stop: values flow
 * both ways at once, as in the reproduction.
 */
class TwoWayServer {
  readonly received = new Map<string, number[]>();
  private stopped = false;
  private readonly feeds: Array<Promise<void>> = [];

  constructor(
    readonly server: WirechanServer,
    private readonly everyMs: number,
  ) {
    const inbox = server.channel<number>("in", { envelope: true, buffer: 1024 });
    void this.record(inbox);
    const feed = server.channel<RemoteChannel<number>>("feed", { envelope: true });
    void this.serveFeeds(feed);
  }

  /** Stops the feeds; resolves with how many values each sent, by session. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.feeds);
  }

  readonly sent = new Map<string, number>();

  private async record(inbox: Channel<Envelope<number>>): Promise<void> {
    for await (const { value, session } of inbox) {
      const list = this.received.get(session.id) ?? [];
      list.push(value);
      this.received.set(session.id, list);
    }
  }

  private async serveFeeds(feed: Channel<Envelope<RemoteChannel<number>>>): Promise<void> {
    for await (const { value: to, session } of feed) this.feeds.push(this.push(to, session.id));
  }

  private async push(to: RemoteChannel<number>, sid: string): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      if (!(await to.put(i))) return;
      this.sent.set(sid, i + 1);
      await new Promise((resolve) => setTimeout(resolve, this.everyMs));
    }
  }
}

/** One client of the two-way test: puts 0, 1, 2 … to "in" every `everyMs`, and collects what the server's feed puts into its channel. */
class TwoWayClient {
  readonly changes: StateChange[] = [];
  readonly got: number[] = [];
  private putCount = 0;
  private stopped = false;
  private putting: Promise<void> | null = null;

  private constructor(readonly session: Session) {
    session.onState((change) => this.changes.push(change));
  }

  static async start(t: TestContext, url: string, transports: readonly TransportName[], probeMs: number): Promise<TwoWayClient> {
    const session = await connect(url, { transports, upgradeProbeInterval: probeMs, connectTimeout: 5_000, reconnect: { initial: 20, max: 400, jitter: 0.5 } });
    t.after(() => session.close());
    const client = new TwoWayClient(session);
    const mine = chan<number>(1024);
    void client.collect(mine);
    await within(session.serverChan<Channel<number>>("feed").put(mine), "the feed request");
    return client;
  }

  get puts(): number {
    return this.putCount;
  }

  startPutting(everyMs: number): void {
    this.putting = this.putLoop(everyMs);
  }

  async stopPutting(): Promise<void> {
    this.stopped = true;
    await this.putting;
  }

  get lost(): StateChange | undefined {
    return this.changes.find((change) => change.state === "lost" || change.state === "closed");
  }

  private async putLoop(everyMs: number): Promise<void> {
    const proxy = this.session.serverChan<number>("in");
    while (!this.stopped) {
      const ok = await proxy.put(this.putCount);
      if (!ok) return;
      this.putCount++;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }

  private async collect(mine: Channel<number>): Promise<void> {
    for await (const value of mine) this.got.push(value);
  }
}

/** Every value 0 … n-1 exactly once and in order. */
function assertExactlyOnce(values: readonly number[], n: number, what: string): void {
  const firstWrong = values.findIndex((value, i) => value !== i);
  assert.equal(firstWrong, -1, `${what}: value ${firstWrong} is ${values[firstWrong]} (${values.length} values: ${JSON.stringify(values.slice(Math.max(0, firstWrong - 3), firstWrong + 3))})`);
  assert.equal(values.length, n, `${what}: all ${n} values`);
}

async function checkSession(app: TwoWayServer, client: TwoWayClient, what: string): Promise<void> {
  const sid = client.session.id ?? "";
  await until(() => (app.received.get(sid)?.length ?? 0) === client.puts, `${what}: the server to get the client's ${client.puts} values (has ${app.received.get(sid)?.length ?? 0})`, 20_000);
  await until(() => client.got.length === (app.sent.get(sid) ?? 0), `${what}: the client to get the server's ${app.sent.get(sid) ?? 0} values (has ${client.got.length})`, 20_000);
  assertExactlyOnce(app.received.get(sid) ?? [], client.puts, `${what}, client to server`);
  assertExactlyOnce(client.got, app.sent.get(sid) ?? 0, `${what}, server to client`);
}

describe("the WebSocket upgrade probe through a relay that delays the handshake (B7)", TEST, () => {
  for (const transport of ["sse", "longpoll"] as const) {
    it(`from ${transport}: the sessions move to WebSocket while values flow both ways, and none is lost`, async (t) => {
      const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000 });
      const handle = await server.listen();
      t.after(() => handle.close());
      // 50 ms on each WebSocket handshake, 1 ms on everything else: the old link acknowledges
      // many frames while the probe's hello is on its way.
      const relay = await LatencyRelay.start({ targetPort: handle.port, latencyMs: 1, handshakeLatencyMs: 50 });
      t.after(() => relay.close());
      const app = new TwoWayServer(server, 10);
      const clients = await Promise.all(Array.from({ length: 4 }, () => TwoWayClient.start(t, relay.url, [transport, "websocket"], 100)));
      for (const client of clients) client.startPutting(10);
      await until(() => clients.every((client) => client.session.transport === "websocket" || client.lost !== undefined), "every session to move to WebSocket", 30_000);
      // Values keep flowing over the new link for a while.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await Promise.all(clients.map((client) => client.stopPutting()));
      await app.stop();
      for (const [i, client] of clients.entries()) {
        assert.equal(client.lost, undefined, `session ${i} was not lost (${JSON.stringify(client.lost)})`);
        assert.equal(client.session.transport, "websocket", `session ${i} moved to WebSocket`);
        await checkSession(app, client, `session ${i}`);
      }
    });
  }
});

describe("chaos: random cuts, latency, WebSocket blocked and unblocked, transports switching", TEST, () => {
  it("no session is lost, and every value arrives exactly once, in order, both ways", async (t) => {
    const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000 });
    const handle = await server.listen();
    t.after(() => handle.close());
    const relay = await LatencyRelay.start({ targetPort: handle.port, latencyMs: 2, handshakeLatencyMs: 30 });
    t.after(() => relay.close());
    const seed = Date.now();
    const proxy = await FaultProxy.start({ targetPort: relay.port, seed });
    t.after(() => proxy.close());
    const url = `http://127.0.0.1:${proxy.port}`;
    const app = new TwoWayServer(server, 5);
    const starts: Array<readonly TransportName[]> = [["websocket", "sse", "longpoll"], ["sse", "websocket"], ["longpoll", "websocket"], ["websocket", "longpoll"], ["sse", "longpoll", "websocket"], ["longpoll", "sse", "websocket"]];
    const clients = await Promise.all(starts.map((transports) => TwoWayClient.start(t, url, transports, 150)));
    for (const client of clients) client.startPutting(5);
    const cutting = proxy.cutRandomly({ count: 40, minBytes: 2_000, maxBytes: 60_000 });
    cutting.catch(() => undefined);
    // WebSocket is refused for a while, then allowed again, a few times: links fall back, then the probe moves them back.
    for (let round = 0; round < 4; round++) {
      proxy.setBlockWebSocket(round % 2 === 0);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    proxy.setBlockWebSocket(false);
    await within(cutting, `the 40 cuts (seed ${seed})`, 60_000).catch(() => proxy.stopCutting());
    proxy.stopCutting();
    await until(() => clients.every((client) => client.session.state === "open" || client.lost !== undefined), "every session to be open again", 30_000);
    await Promise.all(clients.map((client) => client.stopPutting()));
    await app.stop();
    const transportsSeen = new Set(clients.flatMap((client) => client.changes.map((change) => change.state)));
    for (const [i, client] of clients.entries()) {
      assert.equal(client.lost, undefined, `session ${i} (${starts[i]?.join(">")}) was not lost (seed ${seed}): ${JSON.stringify(client.lost)}`);
      assert.ok(client.puts > 0 && (app.sent.get(client.session.id ?? "") ?? 0) > 0, `session ${i}: values went both ways`);
      await checkSession(app, client, `session ${i} (seed ${seed})`);
    }
    assert.ok(proxy.cuts > 0, "links were cut");
    assert.ok(transportsSeen.has("reconnecting"), "sessions reconnected");
  });
});
