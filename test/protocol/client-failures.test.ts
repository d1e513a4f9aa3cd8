// Failures end, they do not loop (the hardening issue's item 5, and which refusals a reconnect
// can pass, item 7): a link refused for a reason no resend can cure (a WebSocket closed 1009,
// an HTTP 413, a refusal that says the session is gone or unauthorized) ends the session as
// `lost` with that error; a busy server is tried again with growing delays; the delays start
// again only after a link made progress, never because a link opened; `shouldReconnect` sees
// each try and may stop them. Attempts are counted, never timed. Real sockets on 127.0.0.1:
// the real server, or (for what the real server never does) a hand-played one on real `ws`.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { connect, ProtocolError, type ReconnectCause, type Session, type StateChange } from "../../src/client/index.js";
import { createServer } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { BodyLimitProxy } from "../client/body-limit-proxy.js";
import { HandServer, type HandServerOptions } from "../client/hand-server.js";

const TEST = { timeout: 60_000 };
/** Delays of 10, 20, 40 … ms with no spread, so each try's delay is known exactly. */
const DOUBLING = { initial: 10, max: 10_000, jitter: 0 };

async function handServer(t: TestContext, options: HandServerOptions): Promise<HandServer> {
  const hand = await HandServer.start(options);
  t.after(() => hand.close());
  return hand;
}

/** Waits until `condition()` holds (bounded); on a timeout the failure says `what()` at that moment, not when the wait began. */
async function waitFor(condition: () => boolean, what: () => string): Promise<void> {
  try {
    await until(condition, "a condition");
  } catch {
    assert.fail(`timed out waiting for ${what()}`);
  }
}

/** Every state change of `session`, as `state` or `state:code`. */
function record(session: Session): { changes: StateChange[]; summary: () => string[] } {
  const changes: StateChange[] = [];
  session.onState((change) => changes.push(change));
  return { changes, summary: () => changes.map((c) => (c.error === undefined ? c.state : `${c.state}:${c.error.code}`)) };
}

describe("the reconnect backoff grows until a link makes progress", TEST, () => {
  it("a server that drops every link right after its welcome: each try waits twice as long as the one before, one hello per try", async (t) => {
    const hand = await handServer(t, { dropAfterWelcome: true });
    const session = await connect(hand.url, { transports: ["websocket"], reconnect: DOUBLING, upgradeProbeInterval: 0 });
    t.after(() => session.close());
    const tries: Array<{ attempt: number; delay: number; hellos: number }> = [];
    session.onState((change) => {
      if (change.state === "reconnecting" && change.cause !== undefined) tries.push({ attempt: change.cause.attempt, delay: change.cause.delay, hellos: hand.hellos });
    });
    await waitFor(() => tries.length >= 6, () => `six reconnects (got ${JSON.stringify(tries)})`);
    session.close();
    assert.deepEqual(
      tries.slice(0, 6),
      [1, 2, 3, 4, 5, 6].map((attempt) => ({ attempt, delay: 10 * 2 ** (attempt - 1), hellos: attempt })),
      "every link opened (one hello each) and was cut at once: the count goes on, the delay doubles",
    );
  });

  it("shouldReconnect is asked before every try, with the cause and the count; false closes the session with that cause", async (t) => {
    const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000 });
    const handle = await server.listen();
    const proxy = await FaultProxy.start({ targetPort: handle.port });
    t.after(async () => {
      await proxy.close();
      await handle.close();
    });
    const asked: ReconnectCause[] = [];
    const session = await connect(proxy.url, {
      transports: ["websocket"],
      reconnect: DOUBLING,
      upgradeProbeInterval: 0,
      shouldReconnect: (cause) => {
        asked.push(cause);
        return cause.attempt < 4;
      },
    });
    t.after(() => session.close());
    const { changes, summary } = record(session);
    proxy.setRefusing(true);
    proxy.cutAll();
    await waitFor(() => session.state === "closed", () => `the session to close (changes ${summary().join(", ")})`);
    assert.deepEqual(
      asked.map((c) => [c.attempt, c.delay, c.transport]),
      [
        [1, 10, "websocket"],
        [2, 20, "websocket"],
        [3, 40, "websocket"],
        [4, 80, "websocket"],
      ],
      "asked once per try, and never again after it said no",
    );
    assert.equal(asked[0]?.code, 1006, `the first cause is the cut link's close code (${JSON.stringify(asked[0])})`);
    assert.deepEqual(summary(), ["reconnecting", "closed"]);
    assert.equal(changes[1]?.cause?.attempt, 4, "the closed change carries the cause declined");
    assert.equal(changes[1]?.error, undefined, "closed, not lost: the session was not lost, the app ended it");
  });

  it("a shouldReconnect that throws is reported to the logger and counts as yes", async (t) => {
    const hand = await handServer(t, { refuse: (_hello, n) => (n === 2 ? new ProtocolError("ERR_TOO_MANY_CONNECTIONS", "busy") : null) });
    const logged: string[] = [];
    const session = await connect(hand.url, {
      transports: ["websocket"],
      reconnect: DOUBLING,
      upgradeProbeInterval: 0,
      logger: { error: (message) => logged.push(message), warn: (message) => logged.push(message) },
      shouldReconnect: () => {
        throw new Error("a bug in the app's policy");
      },
    });
    t.after(() => session.close());
    const { summary } = record(session);
    hand.dropAll();
    await waitFor(() => summary().length >= 2, () => `the session to reconnect (changes ${summary().join(", ")})`);
    assert.deepEqual(summary(), ["reconnecting", "open"]);
    assert.equal(hand.hellos, 3, "refused once, then welcomed");
    assert.equal(logged.filter((m) => /shouldReconnect/.test(m)).length, 2, `each throw logged (${JSON.stringify(logged)})`);
  });
});

describe("refusals no resend can cure end the session as lost", TEST, () => {
  it("websocket: a packet over the server's real limit (close 1009) loses the session with ERR_MESSAGE_TOO_LARGE, one hello, no reconnect", async (t) => {
    // The hand server welcomes with a 1 MiB limit but its socket takes 16 KiB: a server with a smaller limit than it says, or a proxy in front.
    const hand = await handServer(t, { maxPayload: 16 * 1024 });
    const session = await connect(hand.url, { transports: ["websocket"], reconnect: DOUBLING, upgradeProbeInterval: 0 });
    t.after(() => session.close());
    const { changes, summary } = record(session);
    const put = session.serverChan<string>("anywhere").put("x".repeat(20_000));
    await waitFor(() => session.state === "lost", () => `the session to end (changes ${summary().join(", ")}, hellos ${hand.hellos})`);
    assert.deepEqual(summary(), ["lost:ERR_MESSAGE_TOO_LARGE"], "lost at once, never reconnecting");
    assert.ok(changes[0]?.error instanceof ProtocolError, "a ProtocolError");
    assert.match(changes[0]?.error?.message ?? "", /1009/, "the message names the close code");
    assert.equal(await within(put, "the put"), false, "the put resolves false");
    assert.equal(hand.hellos, 1, "one hello: nothing was sent again");
  });

  for (const transport of ["sse", "longpoll"] as const) {
    it(`${transport}: a proxy's plain 413 for a POST over its body limit loses the session with ERR_MESSAGE_TOO_LARGE, no reconnect, and the server is told`, async (t) => {
      const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000 });
      const handle = await server.listen();
      const proxy = await BodyLimitProxy.start(handle.port, 16 * 1024);
      t.after(async () => {
        await proxy.close();
        await handle.close();
      });
      const session = await connect(proxy.url, { transports: [transport], reconnect: DOUBLING, upgradeProbeInterval: 0 });
      t.after(() => session.close());
      const { summary } = record(session);
      const put = session.serverChan<string>("anywhere").put("x".repeat(20_000));
      await waitFor(() => session.state === "lost", () => `the session to end (changes ${summary().join(", ")})`);
      assert.deepEqual(summary(), ["lost:ERR_MESSAGE_TOO_LARGE"], "lost at once, never reconnecting");
      assert.equal(await within(put, "the put"), false, "the put resolves false");
      assert.equal(proxy.refused, 1, "one refused POST: nothing was sent again");
      assert.equal(proxy.requests.filter((r) => r.endsWith("/open")).length, 1, "one open: no reconnect");
      await waitFor(() => server.sessionCount === 0, () => `the server to be told (sessions: ${server.sessionCount})`);
    });
  }

  it("a resume refused with ERR_UNAUTHORIZED ends the session as lost; one refused with ERR_TOO_MANY_CONNECTIONS is tried again with backoff", async (t) => {
    const busy = await handServer(t, { refuse: (_hello, n) => (n >= 2 && n <= 4 ? new ProtocolError("ERR_TOO_MANY_CONNECTIONS", "the server is full") : null) });
    const asked: ReconnectCause[] = [];
    const patient = await connect(busy.url, { transports: ["websocket"], reconnect: DOUBLING, upgradeProbeInterval: 0, shouldReconnect: (cause) => asked.push(cause) > 0 });
    t.after(() => patient.close());
    const patientStates = record(patient);
    busy.dropAll();
    await waitFor(() => patient.state === "open" && busy.hellos === 5, () => `the busy server to take the fourth try (hellos ${busy.hellos}, changes ${patientStates.summary().join(", ")})`);
    assert.deepEqual(patientStates.summary(), ["reconnecting", "open"], "reconnecting until the server had room");
    assert.deepEqual(
      asked.map((c) => c.attempt),
      [1, 2, 3, 4],
      "each refusal was one more try",
    );
    assert.match(asked[1]?.reason ?? "", /ERR_TOO_MANY_CONNECTIONS/, "the cause says why a try failed");

    const strict = await handServer(t, { refuse: (_hello, n) => (n === 2 ? new ProtocolError("ERR_UNAUTHORIZED", "token expired") : null) });
    const refused = await connect(strict.url, { transports: ["websocket"], reconnect: DOUBLING, upgradeProbeInterval: 0 });
    t.after(() => refused.close());
    const refusedStates = record(refused);
    strict.dropAll();
    await waitFor(() => refused.state === "lost", () => `the refused session to end (changes ${refusedStates.summary().join(", ")})`);
    assert.deepEqual(refusedStates.summary(), ["reconnecting", "lost:ERR_UNAUTHORIZED"]);
    assert.equal(strict.hellos, 2, "no try after the refusal");
  });
});
