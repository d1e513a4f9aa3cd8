// Lazy answers (docs/protocol.md section 4), over real sockets on 127.0.0.1 through a relay that
// adds latency: a topic's deliveries to a client draw its answers in batches, not one upstream
// message (over SSE and long-polling, one POST) per delivery; a client's lazy puts through a relay
// that also cuts arrive once each, in order, every one answered. With raw clients: the flag is only
// sent to a client that said in its hello that it reads it, and not while the server's replay
// budget is over half spent; a client's lazy put is answered with the next packet that goes.
import assert from "node:assert/strict";
import { subscribe as subscribeChannel, unsubscribe as unsubscribeChannel } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { describe, it, type TestContext } from "node:test";
import { WebSocket } from "ws";
import { chan, type Channel } from "../../src/csp/channel.js";
import { connect, type Session } from "../../src/client/index.js";
import type { WebSocketLike } from "../../src/client/link.js";
import { createServer, type ServerHandle, type ServerOptions, type TopicRequest, type WirechanServer } from "../../src/server/index.js";
import { ACK_DELAY_MS } from "../../src/session/peer.js";
import { type Frame, parsePacket } from "../../src/wire/frames.js";
import { until, within } from "../helpers/async.js";
import { LatencyRelay } from "../helpers/latency-relay.js";
import { relayedSession } from "../helpers/relayed-session.js";

const TEST = { timeout: 60_000 };
const DELIVERIES = 20;

async function start(t: TestContext): Promise<{ server: WirechanServer; relay: LatencyRelay }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 5_000, closeTimeout: 1_000 });
  const handle = await server.listen();
  t.after(() => handle.close());
  const relay = await LatencyRelay.start({ targetPort: handle.port, latencyMs: 5 });
  t.after(() => relay.close());
  return { server, relay };
}

/** What the client sends upstream, counted as it goes: WebSocket messages, or `POST …/send` requests. */
class Upstream {
  messages = 0;

  /** A `ws` client that counts the messages it sends. */
  webSocket(): WebSocketLike {
    const count = (): void => {
      this.messages++;
    };
    class CountingWebSocket extends WebSocket {
      override send(data: string): void {
        count();
        super.send(data);
      }
    }
    return CountingWebSocket as unknown as WebSocketLike;
  }

  /** Counts this process's node:http requests to `…/send` until the test ends. */
  countPosts(t: TestContext): void {
    const onStart = (message: unknown): void => {
      if ((message as { request: ClientRequest }).request.path.endsWith("/send")) this.messages++;
    };
    subscribeChannel("http.client.request.start", onStart);
    t.after(() => unsubscribeChannel("http.client.request.start", onStart));
  }
}

async function take<T>(inbox: Channel<T>, what: string): Promise<T> {
  return (await within(inbox.take(), what)) as T;
}

describe("lazy answers across the wire", TEST, () => {
  for (const transport of ["websocket", "sse", "longpoll"] as const) {
    it(`a topic's deliveries, each taken before the next, draw their answers in a batch, not one upstream message each (${transport})`, async (t) => {
      const { server, relay } = await start(t);
      const topic = server.topic<number>("feed");
      const upstream = new Upstream();
      if (transport !== "websocket") upstream.countPosts(t);
      const session: Session = await connect(relay.url, { transports: [transport], upgradeProbeInterval: 0, WebSocket: upstream.webSocket() });
      t.after(() => session.close());
      assert.equal(session.transport, transport);
      const inbox = chan<number>(64);
      assert.equal(await session.serverChan<TopicRequest<number>>("feed").put({ subscribe: inbox }), true, "subscribed");
      const before = upstream.messages;
      const started = Date.now();
      for (let i = 0; i < DELIVERIES; i++) {
        await topic.put(i);
        assert.equal(await take(inbox, `delivery ${i}`), i, "in order");
      }
      const during = upstream.messages - before;
      // One per delivery without the flag. With it, held answers go when ACK_DELAY_MS passes:
      // once per such span the loop took (a loaded machine may take several), and no more.
      const spans = Math.ceil((Date.now() - started) / ACK_DELAY_MS);
      assert.ok(during <= spans, `${during} upstream messages for ${DELIVERIES} deliveries in ${spans} span(s) of ${ACK_DELAY_MS} ms`);
      // The held answers still go, after the acknowledgement delay at most.
      await until(() => upstream.messages > before + during, "the held answers sent", ACK_DELAY_MS * 5);
      assert.equal(inbox.poll(), undefined, "nothing twice");
      assert.equal(session.state, "open", "the session never reconnected");
    });
  }
});

describe("lazy puts through a relay with latency and cuts", { timeout: 3 * TEST.timeout }, () => {
  for (const transport of ["websocket", "sse", "longpoll"] as const) {
    it(`a client's lazy puts each arrive once, in order, and each resolves true though held answers were cut (${transport})`, { timeout: TEST.timeout }, async (t) => {
      const server = createServer({ pollTimeout: 1_000, closeTimeout: 1_000 });
      const handle = await server.listen();
      t.after(() => handle.close());
      const sink = server.channel<number>("sink");
      const { relay, session, reconnects } = await relayedSession(t, handle.port, transport, 20);
      const got: number[] = [];
      void (async () => {
        for await (const value of sink) got.push(value);
      })();
      const proxy = session.serverChan<number>("sink");
      const seed = relay.cutRandomly({ everyMs: [80, 250], maxCuts: 6 });
      const answers: Array<Promise<boolean>> = [];
      // Put until the relay cut at least twice and the client reconnected, so held answers were on cut links.
      for (let n = 0; n < 400 && (n < 60 || relay.cuts < 2 || reconnects() < 1); n++) {
        answers.push(proxy.put(n, { lazyAnswer: true }));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      relay.stopCutting();
      const resolved = await within(Promise.all(answers), () => `every put answered (seed ${seed}, ${relay.cuts} cuts, ${reconnects()} reconnects)`, TEST.timeout / 2);
      assert.ok(resolved.every((ok) => ok), `every put resolved true (seed ${seed})`);
      await until(() => got.length >= answers.length, `every value taken (seed ${seed})`);
      assert.deepEqual(got, Array.from({ length: answers.length }, (_, i) => i), `each value once, in order (seed ${seed})`);
      assert.ok(relay.cuts >= 2 && reconnects() >= 1, `the relay cut ${relay.cuts} times and the client reconnected ${reconnects()} times (seed ${seed})`);
    });
  }
});

describe("lazy answers: the hello says whether a client reads the flag", TEST, () => {
  /** A client speaking the protocol by hand over `ws`, with or without `lazyAnswers` in its hello. */
  async function rawClient(t: TestContext, url: string, lazyAnswers: boolean): Promise<{ welcome: Record<string, unknown>; frames: Frame[]; socket: WebSocket }> {
    const socket = new WebSocket(new URL("/wirechan", url.replace(/^http/, "ws")));
    t.after(() => socket.close());
    const frames: Frame[] = [];
    const welcome = new Promise<Record<string, unknown>>((resolve, reject) => {
      socket.once("error", reject);
      socket.on("message", (data: Buffer) => {
        const parsed = parsePacket(JSON.parse(data.toString("utf8")) as unknown);
        for (const frame of parsed) {
          if (frame.kind === "welcome") resolve(frame.body as unknown as Record<string, unknown>);
          else frames.push(frame);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    socket.send(JSON.stringify([["hello", 1, { sid: null, secret: null, recv: 0, ...(lazyAnswers ? { lazyAnswers: true } : {}) }]]));
    return { welcome: await welcome, frames, socket };
  }

  /** A listening server that sends no ping during a test (a ping would carry held answers), closed after it. */
  async function quietServer(t: TestContext, options: ServerOptions = {}): Promise<{ server: WirechanServer; handle: ServerHandle }> {
    const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, ...options });
    const handle = await server.listen();
    t.after(() => handle.close());
    return { server, handle };
  }

  it("the server's welcome says it reads the flag; its topic puts carry it only to a client whose hello said so", async (t) => {
    const { server, handle } = await quietServer(t);
    const topic = server.topic<number>("feed");
    const older = await rawClient(t, handle.url, false);
    const newer = await rawClient(t, handle.url, true);
    for (const { welcome, socket } of [older, newer]) {
      assert.equal(welcome.lazyAnswers, true, "the welcome says the server reads the flag");
      socket.send(JSON.stringify([[1, "p", "n:feed", { subscribe: { "~c": "c.1" } }]]));
    }
    await until(() => topic.subscriberCount === 2, "both subscribed");
    for (let i = 0; i < 3; i++) await topic.put(i);
    const putsTo = (frames: Frame[]): unknown[] => frames.filter((f) => f.kind === "seq" && f.op === "p").map((f) => (f.kind === "seq" && f.op === "p" ? [f.value, f.lazy === true] : null));
    await until(() => putsTo(older.frames).length === 3 && putsTo(newer.frames).length === 3, "three puts to each");
    assert.deepEqual(putsTo(older.frames), [[0, false], [1, false], [2, false]], "no flag to a client that did not ask");
    assert.deepEqual(putsTo(newer.frames), [[0, true], [1, true], [2, true]], "the flag to one that did");
  });

  it("while every session's replay buffers hold over half of replayBudget, the topic's puts go without the flag", async (t) => {
    const budget = 200_000;
    const { server, handle } = await quietServer(t, { replayBudget: budget });
    const topic = server.topic<number>("feed");
    const reader = await rawClient(t, handle.url, true);
    reader.socket.send(JSON.stringify([[1, "p", "n:feed", { subscribe: { "~c": "c.1" } }]]));
    await until(() => topic.subscriberCount === 1, "subscribed");
    const lazyFlags = (): boolean[] => reader.frames.flatMap((f) => (f.kind === "seq" && f.op === "p" ? [f.lazy === true] : []));
    await topic.put(0);
    await until(() => lazyFlags().length === 1, "the first value");
    // A client that never acknowledges: each put to an unknown name is answered, and the answer kept for replay.
    const hoarder = await rawClient(t, handle.url, false);
    hoarder.socket.send(JSON.stringify(Array.from({ length: 1500 }, (_, i) => [i + 1, "p", "n:nobody", i])));
    const table = (server as unknown as { protocol: { sessions: { replayBytes: number } } }).protocol.sessions;
    await until(() => table.replayBytes * 2 > budget, "over half of the budget held");
    assert.ok(table.replayBytes <= budget, `still within the budget (${table.replayBytes} bytes): nobody was ended`);
    await topic.put(1);
    await until(() => lazyFlags().length === 2, "the second value");
    assert.deepEqual(lazyFlags(), [true, false], "lazy while the budget had room, prompt once it was over half spent");
  });

  it("the server holds the answer to a client's lazy put until something else goes: here the pong to a ping", async (t) => {
    const { server, handle } = await quietServer(t);
    const inbox = server.channel<string>("inbox");
    const client = await rawClient(t, handle.url, true);
    const packets: string[][] = [];
    const names = (frames: Frame[]): string[] => frames.map((f) => (f.kind !== "seq" ? f.kind : f.op === "a" ? `a${f.putSeq}` : f.op));
    client.socket.on("message", (data: Buffer) => packets.push(names(parsePacket(JSON.parse(data.toString("utf8")) as unknown))));
    // Held answers go after ACK_DELAY_MS at the latest: a step that took that long proves nothing, and is done again.
    async function held(step: () => Promise<void>, heldAnswer: () => string, expected: () => string[], what: string): Promise<void> {
      for (;;) {
        const from = packets.length;
        const started = Date.now();
        await step();
        const carrier = (): string[] | undefined => packets.slice(from).find((p) => p.includes(heldAnswer()));
        await until(() => carrier() !== undefined, what);
        if (Date.now() - started < ACK_DELAY_MS) {
          assert.deepEqual(carrier(), expected(), what);
          return;
        }
      }
    }
    let seq = 0;
    async function put(value: string, lazy: boolean): Promise<number> {
      seq++;
      client.socket.send(JSON.stringify([lazy ? [seq, "p", "n:inbox", value, 1] : [seq, "p", "n:inbox", value]]));
      assert.equal(await within(inbox.take(), `${value} taken`), value);
      return seq;
    }
    let lazy = 0;
    await held(
      async () => {
        lazy = await put("lazy", true);
        await put("prompt", false);
      },
      () => `a${lazy}`,
      () => [`a${lazy}`, `a${lazy + 1}`],
      "no packet for the lazy put; its answer came with the prompt one's, at once",
    );
    await held(
      async () => {
        lazy = await put("lazy again", true);
        client.socket.send(JSON.stringify([["ping", 7]]));
      },
      () => `a${lazy}`,
      () => ["pong", `a${lazy}`],
      "the held answer rode with the pong",
    );
  });
});
