// The Node client's requests on kept-alive sockets (src/client/node-http.ts), over real sockets:
// the real client and server on 127.0.0.1, and between them a proxy that plays a server closing
// an idle keep-alive connection just as the client sends its next request on it. A `POST send`
// lost that way is made once more on a fresh socket, so the link stays up and every put arrives
// once, in order (a copy the server did read is dropped by its sequence numbers); a long-poll
// lost that way is not made again: its link goes down and the session resumes. Counted in
// faults, states and values, never timed.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { connect, type Session } from "../../src/client/index.js";
import { createServer, type WirechanServer } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { type StaleFault, StaleSocketProxy } from "../helpers/stale-socket-proxy.js";

const TEST = { timeout: 30_000 };
const PUTS = 60;

interface Rig {
  server: WirechanServer;
  proxy: StaleSocketProxy;
  session: Session;
  /** Every state the session went through after it opened. */
  states: string[];
}

async function rig(t: TestContext, requestLine: string, faults: readonly StaleFault[]): Promise<Rig> {
  const server = createServer({ pollTimeout: 2_000 });
  const handle = await server.listen();
  const proxy = await StaleSocketProxy.start(handle.port, requestLine, faults);
  t.after(async () => {
    await proxy.close();
    await handle.close();
  });
  const session = await connect(proxy.url, { transports: ["longpoll"], reconnect: { initial: 5, max: 50, jitter: 0.5 }, upgradeProbeInterval: 0, connectTimeout: 2_000 });
  t.after(() => session.close());
  const states: string[] = [];
  session.onState((change) => states.push(change.state));
  return { server, proxy, session, states };
}

/** Puts 1..PUTS from the client, each awaited, while the server takes them; what the server took. */
async function putAll(server: WirechanServer, session: Session): Promise<number[]> {
  const inbox = server.channel<number>("in");
  const outbox = session.serverChan<number>("in");
  const taken = takeAll(inbox);
  for (let value = 1; value <= PUTS; value++) assert.equal(await within(outbox.put(value), `put ${value}`), true);
  return within(taken, "the server's takes");
}

async function takeAll(inbox: { take(): Promise<number | undefined> }): Promise<number[]> {
  const values: number[] = [];
  while (values.length < PUTS) {
    const value = await inbox.take();
    if (value === undefined) break;
    values.push(value);
  }
  return values;
}

function oneToPuts(): number[] {
  return Array.from({ length: PUTS }, (_, index) => index + 1);
}

describe("the Node client on reused keep-alive sockets", () => {
  it("makes a POST send lost on a reused socket before any answer once more on a fresh one: no reconnect, each put once and in order (regression)", TEST, async (t) => {
    const faults: StaleFault[] = ["fin", "reset", "answered", "fin", "reset", "answered"];
    const { server, proxy, session, states } = await rig(t, "POST /wirechan/send ", faults);
    assert.deepEqual(await putAll(server, session), oneToPuts());
    assert.deepEqual(proxy.taken, faults, "every fault was taken");
    assert.deepEqual(states, [], "the link never went down");
    assert.equal(session.state, "open");
  });

  it("does not make a long-poll lost on a reused socket again: the link goes down and the session resumes", TEST, async (t) => {
    const { server, proxy, session, states } = await rig(t, "GET /wirechan/poll ", ["reset"]);
    assert.deepEqual(await putAll(server, session), oneToPuts());
    await until(() => proxy.taken.length === 1 && session.state === "open" && states.includes("reconnecting"), "the resume after the lost poll");
  });
});
