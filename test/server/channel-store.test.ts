// MemoryChannelStore against a real server (runServer + withChannel) and real clients: the
// `ws` client, the `eventsource` package's EventSource, and fetch for long-polls and streams.
import assert from "node:assert/strict";
import { get } from "node:http";
import { describe, it, mock } from "node:test";
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { GroupLimitError, MemoryChannelStore, memoryChannelStoreDefaults } from "../../src/server/channel-store.js";
import type { EncodedMessage } from "../../src/server/encoded-message.js";
import { consoleLogger } from "../../src/session/logger.js";
import { type CloseStatus, type Connection, runServer, type SendData, type ServerHandle, type ServerRequest, withChannel } from "../../src/server/index.js";
import { AsyncQueue } from "../helpers/server.js";

const TEST = { timeout: 20_000 };

/** Waits, a few ms at a time, until `condition` holds; fails after about 5 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i >= 1_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface WsMessage {
  data: Buffer;
  isBinary: boolean;
}

interface WsClient {
  ws: WebSocket;
  messages: AsyncQueue<WsMessage>;
}

interface SseClient {
  es: EventSource;
  events: AsyncQueue<string>;
}

interface Answer {
  status: number;
  type: string | null;
  body: Uint8Array;
}

interface StreamClient {
  /** The first chunk (the handler's `open;`). */
  first: string;
  /** Everything after it, once the stream ends. */
  rest: Promise<string>;
}

/**
 * A server whose handler takes every request over and, unless `join` is false, adds the
 * connection to each `group` of its query with its `name` as the attachment (`stream` starts a
 * chunked HTTP stream first). Keeps the server's connections and every argument of their
 * `send` by name, and the clients it opened, to close them all in `close()`.
 */
class Fixture {
  readonly conns = new Map<string, Connection>();
  readonly sends = new Map<string, SendData[]>();
  /** Messages encoded once for many members, written past `send` (broadcastEncoded). */
  readonly encoded = new Map<string, EncodedMessage[]>();
  private handle: ServerHandle | null = null;
  private readonly closers: Array<() => void> = [];
  private readonly pending: Array<Promise<unknown>> = [];

  constructor(
    readonly store: MemoryChannelStore<string>,
    private readonly join = true,
  ) {}

  async start(): Promise<this> {
    this.handle = await runServer((req) => withChannel(req, (conn) => this.accept(req, conn)));
    return this;
  }

  conn(name: string): Connection {
    const conn = this.conns.get(name);
    assert.ok(conn !== undefined, `the server has a connection named ${name}`);
    return conn;
  }

  async ws(name: string, ...groups: string[]): Promise<WsClient> {
    const ws = new WebSocket(this.url(name, groups).replace("http:", "ws:"));
    this.closers.push(() => ws.terminate());
    const messages = new AsyncQueue<WsMessage>();
    ws.on("message", (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    await until(() => this.conns.has(name), `${name} to connect`);
    return { ws, messages };
  }

  async sse(name: string, ...groups: string[]): Promise<SseClient> {
    const es = new EventSource(this.url(name, groups));
    this.closers.push(() => es.close());
    const events = new AsyncQueue<string>();
    es.addEventListener("message", (event: MessageEvent<string>) => events.push(event.data));
    await until(() => this.conns.has(name), `${name} to connect`);
    return { es, events };
  }

  /** Starts a long-poll; resolves when the server has it. The answer comes with the promise inside. */
  async longPoll(name: string, ...groups: string[]): Promise<{ answer: Promise<Answer> }> {
    const controller = new AbortController();
    this.closers.push(() => controller.abort());
    const answer = fetch(this.url(name, groups), { signal: controller.signal }).then(async (res) => ({
      status: res.status,
      type: res.headers.get("content-type"),
      body: new Uint8Array(await res.arrayBuffer()),
    }));
    // Aborted at cleanup when a test did not need the answer: that rejection is expected.
    this.pending.push(answer.catch(() => undefined));
    await until(() => this.conns.has(name), `${name} to connect`);
    return { answer };
  }

  /**
   * A plain node:http request that the test can make vanish (its socket destroyed). A fetch
   * aborted while the server listens is no good for that: undici then opens a spare socket
   * that sends nothing, and the server's close() waits `closeTimeout` for it.
   */
  async vanishing(name: string, accept: string, ...groups: string[]): Promise<() => void> {
    const req = get(this.url(name, groups), { headers: { accept } });
    req.on("error", () => {}); // "socket hang up": the point of the exercise
    req.on("response", (res) => res.resume());
    const destroy = (): void => {
      req.destroy();
    };
    this.closers.push(destroy);
    await until(() => this.conns.has(name), `${name} to connect`);
    return destroy;
  }

  async stream(name: string, ...groups: string[]): Promise<StreamClient> {
    const controller = new AbortController();
    this.closers.push(() => controller.abort());
    const res = await fetch(`${this.url(name, groups)}&stream`, { signal: controller.signal });
    assert.ok(res.body !== null, "a stream has a body");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    const readRest = async (): Promise<string> => {
      let text = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
      return text + decoder.decode();
    };
    const rest = readRest();
    this.pending.push(rest.catch(() => undefined));
    return { first: decoder.decode(first.value, { stream: true }), rest };
  }

  /**
   * Closes the server and every client. The server stops listening first, so no client can
   * open a new socket while going (see {@link vanishing}); it then sends everything left away.
   */
  async close(): Promise<void> {
    const closing = this.handle?.close();
    for (const close of this.closers) close();
    await Promise.all(this.pending);
    await closing;
  }

  private url(name: string, groups: string[]): string {
    assert.ok(this.handle !== null, "the server is started");
    const query = new URLSearchParams([["name", name], ...groups.map((group) => ["group", group])]);
    return `${this.handle.url}/?${query.toString()}`;
  }

  private accept(req: ServerRequest, conn: Connection): void {
    const name = req.query.get("name") ?? "";
    this.conns.set(name, conn);
    this.record(name, conn);
    if (req.query.has("stream")) conn.send("open;", false);
    if (this.join) for (const group of req.query.getAll("group")) this.store.addToGroup(group, conn, name);
  }

  /** Keeps what the store hands each connection, to check that one object went to many. */
  private record(name: string, conn: Connection): void {
    const log: SendData[] = [];
    this.sends.set(name, log);
    const send = conn.send.bind(conn);
    conn.send = (data, close) => {
      log.push(data);
      return send(data, close);
    };
    const ours = conn as Connection & { sendEncoded?: (message: EncodedMessage) => boolean };
    if (ours.sendEncoded !== undefined) {
      const messages: EncodedMessage[] = [];
      this.encoded.set(name, messages);
      const sendEncoded = ours.sendEncoded.bind(conn);
      ours.sendEncoded = (message) => {
        messages.push(message);
        return sendEncoded(message);
      };
    }
  }
}

async function withFixture(store: MemoryChannelStore<string>, test: (fx: Fixture) => Promise<void>, join = true): Promise<void> {
  const fx = await new Fixture(store, join).start();
  try {
    await test(fx);
  } finally {
    await fx.close();
  }
}

/** The data broadcast gives each member in most tests: who it is for and how it travels. */
function greeting(conn: Connection, name: string): string {
  return JSON.stringify({ to: name, via: conn.transport });
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe("MemoryChannelStore.broadcast", TEST, () => {
  it("sends each WebSocket and SSE member the data its attachment gives, and keeps them; undefined skips a member", async () => {
    await withFixture(new MemoryChannelStore(), async (fx) => {
      const alice = await fx.ws("alice", "room");
      const bob = await fx.ws("bob", "room");
      const carol = await fx.sse("carol", "room");
      const dave = await fx.ws("dave", "other");
      assert.equal(fx.store.broadcast("room", greeting), 3);
      assert.deepEqual(JSON.parse(String((await alice.messages.next()).data)), { to: "alice", via: "websocket" });
      assert.deepEqual(JSON.parse(String((await bob.messages.next()).data)), { to: "bob", via: "websocket" });
      assert.deepEqual(JSON.parse(await carol.events.next()), { to: "carol", via: "sse" });
      assert.equal(fx.store.members("room"), 3, "WebSocket and SSE members stay");

      assert.equal(fx.store.broadcast("room", (_conn, name) => (name === "bob" ? undefined : `second for ${name}`)), 2);
      assert.equal(fx.store.broadcast("room", (_conn, name) => `third for ${name}`), 3);
      assert.equal(String((await alice.messages.next()).data), "second for alice");
      assert.equal(String((await bob.messages.next()).data), "third for bob", "bob skipped the second");
      assert.equal(await carol.events.next(), "second for carol");

      assert.equal(fx.store.broadcast("other", () => "only dave"), 1);
      assert.equal(String((await dave.messages.next()).data), "only dave", "nothing of room's reached dave first");
      assert.equal(fx.store.broadcast("nobody", greeting), 0);
    });
  });

  it("answers a long-poll member with 200 JSON (a string as is, { data }, or its own { status, headers, body }) and removes it from all its groups", async () => {
    await withFixture(new MemoryChannelStore(), async (fx) => {
      const alice = await fx.ws("alice", "room");
      const erin = await fx.longPoll("erin", "room", "audit");
      const frank = await fx.longPoll("frank", "room");
      const gus = await fx.longPoll("gus", "room");
      assert.equal(fx.store.members("room"), 4);
      assert.equal(fx.store.groups(), 2);
      const sent = fx.store.broadcast("room", (conn, name): SendData => {
        if (name === "frank") return { data: '{"via":"data"}', id: "1" };
        if (name === "gus") return { status: 202, headers: { "Content-Type": "application/x-ndjson", "x-for": name }, body: "{}\n" };
        return greeting(conn, name);
      });
      assert.equal(sent, 4);
      assert.equal(fx.store.members("room"), 1, "only the WebSocket member is left");
      assert.equal(fx.store.members("audit"), 0);
      assert.equal(fx.store.groups(), 1, "audit lost its last member and is gone");

      const answer = await erin.answer;
      assert.equal(answer.status, 200);
      assert.equal(answer.type, "application/json; charset=utf-8");
      assert.equal(text(answer.body), JSON.stringify({ to: "erin", via: "http" }), "the string is the body, not encoded again");
      const fromData = await frank.answer;
      assert.equal(fromData.type, "application/json; charset=utf-8");
      assert.equal(text(fromData.body), '{"via":"data"}');
      const own = await gus.answer;
      assert.equal(own.status, 202);
      assert.equal(own.type, "application/x-ndjson", "the caller's Content-Type wins");
      assert.equal(text(own.body), "{}\n");
      assert.deepEqual(JSON.parse(String((await alice.messages.next()).data)), { to: "alice", via: "websocket" });
      assert.equal(fx.conn("erin").isOpen, false);
    });
  });

  it("a streaming HTTP member is answered like a long-poll: the data ends its stream and it leaves", async () => {
    await withFixture(new MemoryChannelStore(), async (fx) => {
      const alice = await fx.ws("alice", "room");
      const gina = await fx.stream("gina", "room");
      assert.equal(gina.first, "open;");
      assert.equal(fx.store.broadcast("room", greeting), 2);
      assert.equal(await gina.rest, JSON.stringify({ to: "gina", via: "http" }));
      assert.deepEqual(JSON.parse(String((await alice.messages.next()).data)), { to: "alice", via: "websocket" });
      assert.equal(fx.store.members("room"), 1);
    });
  });

  it("a member whose data cannot be sent does not stop the others", async () => {
    const errors = mock.method(console, "error", () => {});
    try {
      await withFixture(new MemoryChannelStore(), async (fx) => {
        const alice = await fx.ws("alice", "room");
        await fx.sse("carol", "room"); // bad SSE id: send throws ERR_SSE_FIELD
        await fx.ws("bob", "room"); // fn throws
        const erin = await fx.longPoll("erin", "room"); // bad header: send throws
        const zed = await fx.ws("zed", "room"); // closing: send would return false
        const dora = await fx.sse("dora", "room");
        fx.conn("zed").close();
        const sent = fx.store.broadcast("room", (_conn, name): SendData => {
          if (name === "carol") return { data: "x", id: "line\nbreak" };
          if (name === "bob") throw new Error("no data for bob");
          if (name === "erin") return { headers: { "x-bad": "a\nb" }, body: "{}" };
          return `ok ${name}`;
        });
        assert.equal(sent, 2);
        assert.equal(String((await alice.messages.next()).data), "ok alice");
        assert.equal(await dora.events.next(), "ok dora");
        assert.equal(errors.mock.callCount(), 3, "each failure is reported");
        for (const call of errors.mock.calls) assert.match(String(call.arguments[0]), /broadcast to group "room" skipped a member/);
        assert.equal(fx.conn("carol").isOpen, true, "a throwing send leaves its member open");
        assert.equal(fx.conn("erin").isOpen, true, "an unanswered long-poll still waits");
        await until(() => fx.store.members("room") === 5, "zed to leave");
        assert.equal(zed.ws.readyState === WebSocket.CLOSING || zed.ws.readyState === WebSocket.CLOSED, true, "zed was closing");
        assert.equal(fx.store.broadcast("room", () => '"later"'), 5);
        assert.equal(text((await erin.answer).body), '"later"');
      });
    } finally {
      errors.mock.restore();
    }
  });
});

describe("MemoryChannelStore.broadcastEncoded", TEST, () => {
  it("encodes once: the same message object to every WebSocket and SSE member, the same answer to every long-poll", async () => {
    await withFixture(new MemoryChannelStore(), async (fx) => {
      const sockets = [await fx.ws("w1", "room"), await fx.ws("w2", "room")];
      const streams = [await fx.sse("s1", "room"), await fx.sse("s2", "room")];
      const polls = [await fx.longPoll("p1", "room"), await fx.longPoll("p2", "room")];
      const payload = JSON.stringify({ msg: "héllo ✓", n: 1 });
      const utf8 = Buffer.from(payload, "utf8");
      assert.equal(fx.store.broadcastEncoded("room", payload), 6);

      for (const { messages } of sockets) {
        const got = await messages.next();
        assert.equal(got.isBinary, false, "a string goes as a text frame");
        assert.deepEqual(got.data, utf8);
      }
      for (const { events } of streams) assert.equal(await events.next(), payload);
      for (const { answer } of polls) {
        const got = await answer;
        assert.equal(got.status, 200);
        assert.equal(got.type, "application/json; charset=utf-8");
        assert.deepEqual(Buffer.from(got.body), utf8);
      }

      const [w1, w2, s1, s2, p1, p2] = ["w1", "w2", "s1", "s2", "p1", "p2"].map((name) => fx.sends.get(name)?.[0]);
      for (const sent of [w1, w2, s1, s2]) assert.equal(sent, undefined, "WebSocket and SSE members are not sent to through send, which would encode again");
      const messages = ["w1", "w2", "s1", "s2"].map((name) => fx.encoded.get(name)?.[0]);
      assert.ok(messages[0] !== undefined, "WebSocket and SSE members get the message encoded once");
      for (const message of messages) assert.equal(message, messages[0], "one message object for every member");
      assert.deepEqual(messages[0].bytes, utf8);
      assert.ok(typeof p1 === "object" && typeof p2 === "object" && "body" in p1 && "body" in p2, "long-polls get { status, headers, body }");
      assert.equal(p1, p2, "one answer object for every long-poll");
      assert.ok(p1.body instanceof Uint8Array, "encoded to bytes once");

      const bytes = new TextEncoder().encode('{"bytes":"ü"}');
      assert.equal(fx.store.broadcastEncoded("room", bytes), 4);
      for (const { messages } of sockets) {
        const got = await messages.next();
        assert.equal(got.isBinary, true, "bytes go as a binary frame");
        assert.deepEqual(new Uint8Array(got.data), bytes);
      }
      for (const { events } of streams) assert.equal(await events.next(), '{"bytes":"ü"}');
      const second = ["w1", "w2", "s1", "s2"].map((name) => fx.encoded.get(name)?.[1]);
      assert.ok(second[0] !== undefined && second[0].isText === false);
      for (const message of second) assert.equal(message, second[0], "one message object for every member");
    });
  });
});

describe("MemoryChannelStore membership", TEST, () => {
  it("a connection that closes leaves every group, whichever side closes it", async () => {
    await withFixture(new MemoryChannelStore(), async (fx) => {
      const alice = await fx.ws("alice", "a", "b");
      const carolGoes = await fx.vanishing("carol", "text/event-stream", "a", "c");
      const erinGoes = await fx.vanishing("erin", "*/*", "b");
      await fx.ws("bob", "a", "c");
      assert.equal(fx.conn("carol").transport, "sse");
      assert.equal(fx.conn("erin").transport, "http");
      assert.deepEqual([fx.store.groups(), fx.store.members("a"), fx.store.members("b"), fx.store.members("c")], [3, 3, 2, 2]);
      alice.ws.terminate();
      await until(() => fx.store.members("a") === 2, "alice to leave a");
      assert.equal(fx.store.members("b"), 1, "and b");
      carolGoes();
      erinGoes();
      await until(() => fx.store.members("b") === 0 && fx.store.members("a") === 1, "carol and erin to leave");
      assert.equal(fx.store.groups(), 2, "b is gone with its last member");
      fx.conn("bob").close();
      await until(() => fx.store.groups() === 0, "bob to leave after the server closed him");
    });
  });

  it("watches a connection once however often it leaves and rejoins, in turn with its onClose listeners, ours or another kind", async () => {
    const store = new MemoryChannelStore<string>();
    const told = mock.method(store, "leave");
    await withFixture(store, async (fx) => {
      const alice = await fx.ws("alice", "a");
      const conn = fx.conn("alice");
      const seen: number[] = [];
      // Registered after the store's watch: the store has let it go by then.
      conn.onClose(() => seen.push(fx.store.members("a")));
      // Alone in "a": each leave deletes the group, each join makes it anew, watching alice anew.
      for (let i = 0; i < 3; i++) {
        fx.store.removeFromGroup("a", conn);
        fx.store.addToGroup("a", conn, "alice");
      }
      told.mock.resetCalls();
      alice.ws.terminate();
      await until(() => seen.length === 1, "alice's onClose");
      assert.deepEqual(seen, [0]);
      assert.equal(told.mock.callCount(), 1, "told once: the groups it left let it go");
    });
    const listeners: Array<(status: CloseStatus) => void> = [];
    const foreign: Connection = {
      transport: "websocket",
      isWebSocket: true,
      isOpen: true,
      request: { method: "GET", url: "/", headers: {}, remoteAddress: "" },
      bufferedAmount: 0,
      send: () => true,
      close: () => true,
      onReceive: () => {},
      onClose: (fn) => listeners.push(fn),
    };
    for (let i = 0; i < 3; i++) {
      store.addToGroup("b", foreign, "x");
      store.removeFromGroup("b", foreign);
    }
    store.addToGroup("b", foreign, "x");
    assert.equal(listeners.length, 1, "a connection of another kind gets one onClose listener");
    listeners[0]?.({ by: "client", code: 1000, reason: "" });
    assert.equal(store.members("b"), 0);
  });

  it("an SSE or HTTP member that left a group is not told by it when it closes; its other groups are", async () => {
    const store = new MemoryChannelStore<string>();
    const told = mock.method(store, "leave");
    await withFixture(store, async (fx) => {
      const carolGoes = await fx.vanishing("carol", "text/event-stream", "a", "b");
      const erinGoes = await fx.vanishing("erin", "*/*", "a", "c");
      fx.store.removeFromGroup("a", fx.conn("carol"));
      fx.store.removeFromGroup("a", fx.conn("erin"));
      told.mock.resetCalls();
      carolGoes();
      erinGoes();
      await until(() => fx.store.groups() === 0, "carol and erin to leave b and c");
      assert.deepEqual(told.mock.calls.map((call) => call.arguments[0].name).sort(), ["b", "c"]);
    });
  });

  it("removeFromGroup keeps the connection open and in its other groups; adding again replaces the attachment", async () => {
    await withFixture(new MemoryChannelStore(), async (fx) => {
      const alice = await fx.ws("alice", "a", "b");
      const conn = fx.conn("alice");
      fx.store.removeFromGroup("a", conn);
      fx.store.removeFromGroup("a", conn); // not a member any more: nothing happens
      fx.store.removeFromGroup("nowhere", conn);
      assert.equal(fx.store.members("a"), 0);
      assert.equal(fx.store.groups(), 1, "a is gone, b stays");
      assert.equal(fx.store.broadcast("a", greeting), 0);
      assert.equal(conn.isOpen, true);

      fx.store.addToGroup("b", conn, "alice the second");
      assert.equal(fx.store.members("b"), 1, "the same connection twice is one member");
      assert.equal(fx.store.broadcast("b", (_c, name) => name), 1);
      assert.equal(String((await alice.messages.next()).data), "alice the second");

      fx.store.addToGroup("a", conn, "back in a");
      assert.equal(fx.store.broadcast("a", (_c, name) => name), 1);
      assert.equal(String((await alice.messages.next()).data), "back in a");
      alice.ws.terminate();
      await until(() => fx.store.groups() === 0, "alice, removed once and added back, to leave on close");
    });
  });

  it("members() and groups() count; a closed connection is not added", async () => {
    await withFixture(
      new MemoryChannelStore(),
      async (fx) => {
        const { store } = fx;
        const alice = await fx.ws("alice");
        await fx.ws("bob");
        await fx.sse("carol");
        assert.deepEqual([store.groups(), store.members("a")], [0, 0]);
        store.addToGroup("a", fx.conn("alice"), "alice");
        store.addToGroup("a", fx.conn("bob"), "bob");
        store.addToGroup("b", fx.conn("carol"), "carol");
        store.addToGroup("b", fx.conn("alice"), "alice");
        store.addToGroup("b", fx.conn("alice"), "alice again");
        assert.deepEqual([store.groups(), store.members("a"), store.members("b"), store.members("c")], [2, 2, 2, 0]);
        store.removeFromGroup("a", fx.conn("bob"));
        assert.deepEqual([store.groups(), store.members("a")], [2, 1]);
        alice.ws.terminate();
        await until(() => store.groups() === 1, "alice to leave");
        store.addToGroup("c", fx.conn("alice"), "too late");
        assert.deepEqual([store.groups(), store.members("b"), store.members("c")], [1, 1, 0]);
      },
      false,
    );
  });
});

describe("MemoryChannelStore limits", TEST, () => {
  it("maxGroups: a new group past the limit throws ERR_GROUP_LIMIT and changes nothing", async () => {
    await withFixture(
      new MemoryChannelStore({ maxGroups: 2 }),
      async (fx) => {
        const { store } = fx;
        const alice = await fx.ws("alice");
        await fx.ws("bob");
        store.addToGroup("a", fx.conn("alice"), "alice");
        store.addToGroup("b", fx.conn("alice"), "alice");
        assert.throws(
          () => store.addToGroup("c", fx.conn("bob"), "bob"),
          (error: unknown) => {
            assert.ok(error instanceof GroupLimitError, "a GroupLimitError");
            assert.equal(error.code, "ERR_GROUP_LIMIT");
            assert.equal(error.option, "maxGroups");
            assert.equal(error.limit, 2);
            assert.equal(error.group, "c");
            assert.match(error.message, /already has 2 groups/);
            assert.match(error.message, /option maxGroups/);
            return true;
          },
        );
        assert.deepEqual([store.groups(), store.members("a"), store.members("b"), store.members("c")], [2, 1, 1, 0]);
        store.addToGroup("a", fx.conn("bob"), "bob");
        assert.equal(store.members("a"), 2, "existing groups still take members");
        assert.equal(store.broadcast("b", (_c, name) => `b for ${name}`), 1);
        assert.equal(String((await alice.messages.next()).data), "b for alice");
        store.removeFromGroup("b", fx.conn("alice"));
        store.addToGroup("c", fx.conn("bob"), "bob");
        assert.equal(store.groups(), 2, "a group that emptied made room");
      },
      false,
    );
  });

  it("maxMembersPerGroup: a member past the limit throws ERR_GROUP_LIMIT; the members stay and can be replaced", async () => {
    await withFixture(
      new MemoryChannelStore({ maxMembersPerGroup: 2 }),
      async (fx) => {
        const { store } = fx;
        const alice = await fx.ws("alice");
        const bob = await fx.ws("bob");
        await fx.sse("carol");
        store.addToGroup("a", fx.conn("alice"), "alice");
        store.addToGroup("a", fx.conn("bob"), "bob");
        assert.throws(
          () => store.addToGroup("a", fx.conn("carol"), "carol"),
          (error: unknown) => {
            assert.ok(error instanceof GroupLimitError, "a GroupLimitError");
            assert.equal(error.code, "ERR_GROUP_LIMIT");
            assert.equal(error.option, "maxMembersPerGroup");
            assert.equal(error.limit, 2);
            assert.match(error.message, /already has 2 members/);
            assert.match(error.message, /option maxMembersPerGroup/);
            return true;
          },
        );
        assert.equal(store.members("a"), 2);
        store.addToGroup("a", fx.conn("bob"), "bob, replaced");
        assert.equal(store.broadcast("a", (_c, name) => name), 2);
        assert.equal(String((await alice.messages.next()).data), "alice");
        assert.equal(String((await bob.messages.next()).data), "bob, replaced");
        store.addToGroup("other", fx.conn("carol"), "carol");
        assert.equal(store.members("other"), 1, "the limit is per group");
      },
      false,
    );
  });

  it("has documented defaults and refuses limits that are not positive integers", () => {
    assert.deepEqual(memoryChannelStoreDefaults, { maxGroups: 100_000, maxMembersPerGroup: 100_000, logger: consoleLogger });
    assert.deepEqual(new MemoryChannelStore().options, memoryChannelStoreDefaults);
    assert.deepEqual(new MemoryChannelStore({ maxGroups: undefined, maxMembersPerGroup: 3 }).options, { maxGroups: 100_000, maxMembersPerGroup: 3, logger: consoleLogger });
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      for (const option of ["maxGroups", "maxMembersPerGroup"] as const) {
        assert.throws(() => new MemoryChannelStore({ [option]: bad }), { name: "RangeError", code: "ERR_CHANNEL_STORE_OPTION", message: new RegExp(option) });
      }
    }
  });
});
