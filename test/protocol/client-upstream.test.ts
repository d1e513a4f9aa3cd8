// The client's HTTP upstream (B2): one packet per POST, so a body is never larger than the
// packets the session makes, each within maxMessageSize counted in UTF-8 bytes. Regression:
// the upstream merged every queued packet into one POST, so a burst in one tick went over the
// server's limit, was refused 413, and lost the session. Real server, real sockets.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { connect, type StateChange } from "../../src/client/index.js";
import { createServer } from "../../src/server/index.js";
import { within } from "../helpers/async.js";

const KIB64 = 64 * 1024;

/** The global fetch, recording the UTF-8 size of every POST body to `path/send`. */
function recordingFetch(bodies: number[]): typeof fetch {
  return function recordSend(input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
    const url = input instanceof URL ? input.href : typeof input === "string" ? input : input.url;
    if (url.endsWith("/send") && typeof init?.body === "string") bodies.push(Buffer.byteLength(init.body));
    return fetch(input, init);
  };
}

async function start(t: TestContext, transport: "sse" | "longpoll"): Promise<{ put: (value: string) => Promise<boolean>; inbox: { take(): Promise<string | undefined> }; bodies: number[]; changes: StateChange[] }> {
  const server = createServer({ maxMessageSize: KIB64, heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000 });
  const handle = await server.listen();
  t.after(() => handle.close());
  const inbox = server.channel<string>("in", 1024);
  const bodies: number[] = [];
  const session = await connect(handle.url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000, fetch: recordingFetch(bodies) });
  t.after(() => session.close());
  const changes: StateChange[] = [];
  session.onState((change) => changes.push(change));
  const proxy = session.serverChan<string>("in");
  return { put: (value) => proxy.put(value), inbox, bodies, changes };
}

describe("the HTTP upstream sends one packet per POST, never a body over the limit (B2)", { timeout: 60_000 }, () => {
  for (const transport of ["sse", "longpoll"] as const) {
    for (const [what, count, unit] of [
      ["200 puts of 1,000 ASCII characters", 200, "x"],
      ["100 puts of 1,000 CJK characters (3,000 bytes each)", 100, "中"],
    ] as const) {
      it(`${transport}: ${what} in one tick, server limit 64 KiB: every put resolves true, every value arrives once, in order`, async (t) => {
        const { put, inbox, bodies, changes } = await start(t, transport);
        const values = Array.from({ length: count }, (_, i) => `${i}:${unit.repeat(1000)}`);
        const puts = values.map((value) => put(value));
        assert.deepEqual(await within(Promise.all(puts), `the ${count} puts`, 20_000), values.map(() => true), "every put taken");
        for (let i = 0; i < count; i++) assert.equal(await within(inbox.take(), `value ${i}`, 20_000), values[i], `value ${i}, once and in order`);
        assert.ok(bodies.length > 1, `the burst took several POSTs (${bodies.length})`);
        const largest = Math.max(...bodies);
        assert.ok(largest <= KIB64, `no POST body over the server's limit (largest ${largest} bytes)`);
        assert.deepEqual(changes, [], "no reconnect, no loss");
      });
    }
  }
});

/** The global fetch, except that the first POST to `path/send` never gets an answer (until aborted): a request lost in a proxy. */
function fetchLosingFirstSend(): { fetch: typeof fetch; lost: () => boolean } {
  let lost = false;
  function loseFirstSend(input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
    const url = input instanceof URL ? input.href : typeof input === "string" ? input : input.url;
    if (!lost && url.endsWith("/send")) {
      lost = true;
      return new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
    }
    return fetch(input, init);
  }
  return { fetch: loseFirstSend, lost: () => lost };
}

describe("a POST that never gets an answer does not wedge the session", { timeout: 60_000 }, () => {
  for (const transport of ["sse", "longpoll"] as const) {
    it(`${transport}: the heartbeat drops the link, the session resumes on a new one, and the put arrives once`, async (t) => {
      // The server pings every 100 ms, so the downstream stays alive the whole time.
      const server = createServer({ heartbeat: 100, heartbeatTimeout: 60_000, pollTimeout: 1_000, closeTimeout: 1_000 });
      const handle = await server.listen();
      t.after(() => handle.close());
      const inbox = server.channel<string>("in", 8);
      const losing = fetchLosingFirstSend();
      const session = await connect(handle.url, { transports: [transport], upgradeProbeInterval: 0, connectTimeout: 5_000, heartbeatTimeout: 600, fetch: losing.fetch });
      t.after(() => session.close());
      const changes: StateChange[] = [];
      session.onState((change) => changes.push(change));
      const put = session.serverChan<string>("in").put("through");
      assert.equal(await within(inbox.take(), "the value, sent again on the next link", 20_000), "through");
      assert.equal(await within(put, "the put's answer", 20_000), true);
      assert.ok(losing.lost(), "the first POST was lost");
      assert.ok(changes.some((change) => change.state === "reconnecting" && /upstream/.test(change.cause?.reason ?? "")), `the link was dropped for its upstream (got ${JSON.stringify(changes)})`);
      assert.equal(changes.at(-1)?.state, "open", "open again");
    });
  }
});
