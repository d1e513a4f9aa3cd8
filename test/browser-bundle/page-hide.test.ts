// The browser entry in Node, standing in for a page: `globalThis` is given a page's event
// methods (and, per case, a WebSocket or an EventSource), so the platform reads what a browser
// would have. A closed tab (`pagehide`) ends its server session at once on every transport; the
// transports follow what exists (no WebSocket: SSE; no EventSource either: long-polling). Real
// server, real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { WebSocket as WsWebSocket } from "ws";
import { connect, type ConnectOptions, type Session, type TransportName } from "../../src/client/browser.js";
import { connect as nodeConnect } from "../../src/client/index.js";
import { createServer, type WirechanServer } from "../../src/server/index.js";
import { until } from "../helpers/async.js";

const TEST = { timeout: 30_000 };

/** A page's `pagehide`, as the platform sees it through `globalThis`. */
class FakePage {
  readonly listeners = new Set<() => void>();

  addEventListener(type: string, listener: () => void): void {
    if (type === "pagehide") this.listeners.add(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    if (type === "pagehide") this.listeners.delete(listener);
  }

  hide(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

type Globals = Record<"addEventListener" | "removeEventListener" | "WebSocket" | "EventSource", unknown>;

/** Installs `page` and the given browser APIs on globalThis until the test ends. */
function asPage(t: TestContext, page: FakePage, apis: { WebSocket?: unknown; EventSource?: unknown }): void {
  const g = globalThis as unknown as Globals;
  const saved = { addEventListener: g.addEventListener, removeEventListener: g.removeEventListener, WebSocket: g.WebSocket, EventSource: g.EventSource };
  g.addEventListener = page.addEventListener.bind(page);
  g.removeEventListener = page.removeEventListener.bind(page);
  g.WebSocket = apis.WebSocket;
  g.EventSource = apis.EventSource;
  t.after(() => Object.assign(g, saved));
}

async function start(t: TestContext): Promise<{ server: WirechanServer; url: string }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000 });
  const handle = await server.listen();
  t.after(() => handle.close());
  return { server, url: handle.url };
}

/** Stands in for the browser's EventSource: the client reads SSE through fetch, and only asks whether one exists. */
class SomeEventSource {}

const PAGES: ReadonlyArray<{ transport: TransportName; apis: { WebSocket?: unknown; EventSource?: unknown } }> = [
  { transport: "websocket", apis: { WebSocket: WsWebSocket, EventSource: SomeEventSource } },
  { transport: "sse", apis: { EventSource: SomeEventSource } },
  { transport: "longpoll", apis: {} },
];

describe("the browser entry: transports follow what the page has, and pagehide says goodbye", TEST, () => {
  for (const { transport, apis } of PAGES) {
    it(`with ${Object.keys(apis).join(" and ") || "neither WebSocket nor EventSource"}: ${transport}; pagehide ends the server's session at once`, async (t) => {
      const { server, url } = await start(t);
      const page = new FakePage();
      asPage(t, page, apis);
      const session = await connect(url, { upgradeProbeInterval: 0 });
      t.after(() => session.close());
      assert.equal(session.transport, transport);
      assert.equal(server.sessionCount, 1);
      assert.equal(page.listeners.size, 1, "the session listens for pagehide");
      page.hide();
      assert.equal(session.state, "closed");
      await until(() => server.sessionCount === 0, "the server ended the session on the bye");
      assert.equal(page.listeners.size, 0, "the listener went with the session");
    });
  }

  it("the bye of an HTTP link is a keepalive request, so it leaves a page that is going away", async (t) => {
    const { server, url } = await start(t);
    const page = new FakePage();
    asPage(t, page, {});
    const keepalive: Array<boolean | undefined> = [];
    const recording: NonNullable<ConnectOptions["fetch"]> = (input, init) => {
      if (String(input).endsWith("/send") && typeof init?.body === "string" && init.body.includes('"bye"')) keepalive.push(init.keepalive);
      return fetch(input, init);
    };
    const session = await connect(url, { upgradeProbeInterval: 0, fetch: recording });
    page.hide();
    await until(() => server.sessionCount === 0, "the server ended the session on the bye");
    assert.deepEqual(keepalive, [true]);
    assert.equal(session.state, "closed");
  });

  it("closeOnPageHide: false leaves the session open on pagehide", async (t) => {
    const { server, url } = await start(t);
    const page = new FakePage();
    asPage(t, page, { EventSource: SomeEventSource });
    const session: Session = await connect(url, { upgradeProbeInterval: 0, closeOnPageHide: false });
    t.after(() => session.close());
    assert.equal(page.listeners.size, 0);
    page.hide();
    assert.equal(session.state, "open");
    assert.equal(server.sessionCount, 1);
  });

  it("a session closed by the app stops listening", async (t) => {
    const { url } = await start(t);
    const page = new FakePage();
    asPage(t, page, { EventSource: SomeEventSource });
    const session = await connect(url, { upgradeProbeInterval: 0 });
    assert.equal(page.listeners.size, 1);
    session.close();
    assert.equal(page.listeners.size, 0);
  });

  it("the Node entry never listens for pagehide, page or no page", async (t) => {
    const { server, url } = await start(t);
    const page = new FakePage();
    asPage(t, page, { WebSocket: WsWebSocket });
    const session = await nodeConnect(url, { upgradeProbeInterval: 0 });
    t.after(() => session.close());
    assert.equal(page.listeners.size, 0);
    page.hide();
    assert.equal(session.state, "open");
    assert.equal(server.sessionCount, 1);
  });

  it("connect rejects a closeOnPageHide that is not a boolean", async () => {
    await assert.rejects(connect("http://127.0.0.1:1", { closeOnPageHide: "yes" as unknown as boolean }), { code: "ERR_CONNECT_OPTION", message: /closeOnPageHide/ });
  });
});
