// server.onSession (docs/api.md "Session lifecycle"): server code hears each session open,
// resume on a new link and end with why, once each and in order, over real sockets with the
// real client; a listener that throws is logged and changes nothing.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { connect, type Session } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { createServer, type ServerOptions, type SessionEvent, type WirechanServer } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { RecordingLogger } from "../helpers/recording-logger.js";
import { hello, RawSocket } from "./security-wire.js";

const fastReconnect = { initial: 5, max: 50, jitter: 0.5 };
const TEST = { timeout: 20_000 };

/** Every event a server's listener heard, and the types per session id in order. */
class EventLog {
  readonly events: SessionEvent[] = [];

  readonly listener = (event: SessionEvent): void => {
    this.events.push(event);
  };

  of(id: string | null): string[] {
    return this.events.filter((event) => event.session.id === id).map((event) => (event.type === "end" ? `end:${event.reason.code}` : event.type));
  }
}

interface Started {
  server: WirechanServer;
  url: string;
  log: EventLog;
  logger: RecordingLogger;
  proxy: FaultProxy;
  close(): Promise<void>;
}

/** A server with a listener on its sessions, behind a fault proxy. */
async function start(t: TestContext, options: ServerOptions = {}): Promise<Started> {
  const logger = new RecordingLogger();
  const server = createServer({ heartbeat: 1_000, heartbeatTimeout: 5_000, pollTimeout: 2_000, logger, ...options });
  const log = new EventLog();
  server.onSession(log.listener);
  const handle = await server.listen();
  const proxy = await FaultProxy.start({ targetPort: handle.port });
  t.after(async () => {
    await proxy.close();
    await handle.close();
  });
  return { server, url: handle.url, log, logger, proxy, close: handle.close };
}

async function open(t: TestContext, url: string, transports: TransportName[] = ["websocket"]): Promise<Session> {
  const session = await connect(url, { transports, reconnect: fastReconnect, upgradeProbeInterval: 0, connectTimeout: 2_000 });
  t.after(() => session.close());
  return session;
}

describe("session lifecycle hooks", TEST, () => {
  for (const transport of ["websocket", "longpoll"] as const) {
    it(`${transport}: open, a resume after a cut link, and end by the client's bye, once each and in order`, async (t) => {
      const { server, log, proxy } = await start(t);
      const inbox = server.channel<string>("in", { envelope: true });
      const session = await open(t, proxy.url, [transport]);
      await until(() => log.of(session.id).length === 1, "the open event");
      const opened = log.events[0];
      assert.equal(opened?.type, "open");
      assert.equal(opened?.session.principal, null, "no authenticate: principal null");
      assert.equal(typeof opened?.session.address, "string");

      let reconnected = false;
      session.onState((change) => {
        if (change.state === "reconnecting") reconnected = true;
      });
      proxy.cutAll();
      await until(() => reconnected && session.state === "open" && log.of(session.id).length === 2, "the resume");
      assert.deepEqual(log.of(session.id), ["open", "resume"]);
      // The session is the same one: a put after the resume arrives with the same id.
      void session.serverChan<string>("in").put("after the cut");
      const envelope = await within(inbox.take(), "a put after the resume");
      assert.equal(envelope?.session.id, session.id);

      session.close();
      await until(() => log.of(session.id).length === 3, "the end event");
      assert.deepEqual(log.of(session.id), ["open", "resume", "end:bye"]);
      assert.equal(server.sessionCount, 0, "the table forgot it before the listener heard");
    });
  }

  it("a session without a link for sessionTtl ends as expired", async (t) => {
    const { log, proxy } = await start(t, { sessionTtl: 300 });
    const session = await open(t, proxy.url);
    proxy.setRefusing(true);
    proxy.cutAll();
    await until(() => log.of(session.id).length === 2, "the end event");
    assert.deepEqual(log.of(session.id), ["open", "end:expired"]);
    const end = log.events.find((event) => event.type === "end");
    assert.match(end?.type === "end" ? end.reason.message : "", /sessionTtl/);
  });

  it("a new session that never gets a link ends as link-timeout", async (t) => {
    const { url, log } = await start(t, { linkTimeout: 200 });
    const response = await fetch(`${url}/wirechan/open`, { method: "POST", body: JSON.stringify([["hello", 1, { sid: null, secret: null, recv: 0 }]]) });
    assert.equal(response.status, 200);
    const welcome = (await response.json()) as [[string, number, { sid: string }]];
    const id = welcome[0][2].sid;
    await until(() => log.of(id).length === 2, "the end event");
    assert.deepEqual(log.of(id), ["open", "end:link-timeout"]);
  });

  it("a fatal protocol error ends the session as error, a resume past what was sent as lost (raw wire: the real client does neither)", async (t) => {
    const { url, log } = await start(t);
    const broken = await RawSocket.connect(url);
    t.after(() => broken.terminate());
    const brokenId = String((await broken.hello()).sid);
    broken.sendText("not a packet");
    await until(() => log.of(brokenId).length === 2, "the end of the broken session");
    assert.deepEqual(log.of(brokenId), ["open", "end:error"]);
    const end = log.events.find((event) => event.type === "end" && event.session.id === brokenId);
    assert.equal(end?.type === "end" ? end.reason.error?.code : undefined, "ERR_BAD_FRAME");

    const owner = await RawSocket.connect(url);
    t.after(() => owner.terminate());
    const welcome = await owner.hello();
    const id = String(welcome.sid);
    const resumer = await RawSocket.connect(url);
    t.after(() => resumer.terminate());
    resumer.send([hello({ sid: id, secret: String(welcome.secret), recv: 99 })]);
    await until(() => log.of(id).length === 2, "the end of the unresumable session");
    assert.deepEqual(log.of(id), ["open", "end:lost"], "a refused resume is no resume");
  });

  it("server.close() ends every session as server-closed, and the client is told", async (t) => {
    const { log, proxy, close } = await start(t);
    const first = await open(t, proxy.url);
    const second = await open(t, proxy.url, ["longpoll"]);
    await close();
    for (const session of [first, second]) {
      assert.deepEqual(log.of(session.id), ["open", "end:server-closed"], `session ${session.id}`);
    }
    await until(() => first.state === "lost", "the client lost its session");
    assert.equal(first.lastChange.error?.code, "ERR_SERVER_CLOSED");
  });

  it("a listener that throws, or rejects, is logged; other listeners and the session go on", async (t) => {
    const { server, log, logger, proxy } = await start(t);
    server.onSession(function throwing(): void {
      throw new Error("listener bug");
    });
    server.onSession(async function rejecting(): Promise<void> {
      await Promise.resolve();
      throw new Error("async listener bug");
    });
    const later = new EventLog();
    server.onSession(later.listener);
    const inbox = server.channel<string>("in");
    const session = await open(t, proxy.url);
    void session.serverChan<string>("in").put("still served");
    assert.equal(await within(inbox.take(), "a put"), "still served");
    assert.deepEqual(later.of(session.id), ["open"], "the listener after the throwing one heard");
    session.close();
    await until(() => log.of(session.id).length === 2 && later.of(session.id).length === 2, "the end event");
    await until(() => logger.lines.length === 4, "two lines per event (open, end)");
    assert.ok(logger.lines.every((line) => /a session listener threw/.test(line.message)), JSON.stringify(logger.lines.map((line) => line.message)));
    assert.ok(logger.lines.some((line) => line.detail instanceof Error && line.detail.message === "async listener bug"));
    assert.equal(server.sessionCount, 0);
  });

  it("the function onSession returns removes the listener", async (t) => {
    const { server, proxy } = await start(t);
    const heard = new EventLog();
    const stop = server.onSession(heard.listener);
    const first = await open(t, proxy.url);
    stop();
    first.close();
    const second = await open(t, proxy.url);
    second.close();
    await until(() => server.sessionCount === 0, "both ended");
    assert.deepEqual(heard.of(first.id), ["open"]);
    assert.deepEqual(heard.of(second.id), []);
  });
});
