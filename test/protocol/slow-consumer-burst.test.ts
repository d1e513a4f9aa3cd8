// A client that reads at once but is sent, in one turn, more than `maxBufferedBytes`: the
// session's writer hands every frame due to the link to its socket in one go, so the bytes
// the kernel has not taken yet pass the bound and the link is dropped as a slow consumer
// although the client reads (docs/api.md "Slow consumers"; here, on loopback, once). What must
// hold however the burst goes: it gets what was queued, resumes, and gets every value once and
// in order.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { chan } from "../../src/csp/channel.js";
import { connect, type ProtocolError, type StateChange } from "../../src/client/index.js";
import { createServer, type RemoteChannel } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";

const TEST = { timeout: 60_000 };
const BOUND = 256 * 1024;
const VALUES = 60;
const VALUE_BYTES = 120 * 1024;

describe("a burst bigger than maxBufferedBytes to a client that reads", TEST, () => {
  it("every value arrives once and in order, the link dropped as a slow consumer on the way or not; the session is never lost", async (t: TestContext) => {
    const server = createServer({ maxBufferedBytes: BOUND, heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000 });
    const handle = await server.listen();
    t.after(() => handle.close());
    const requests = server.channel<RemoteChannel<string>>("give", 1);
    const session = await connect(handle.url, { transports: ["websocket"], reconnect: { initial: 20, max: 200 } });
    t.after(() => session.close());
    const states: StateChange[] = [];
    const notices: ProtocolError[] = [];
    session.onState((change) => states.push(change));
    session.onRefusal((error) => notices.push(error));
    const inbox = chan<string>(VALUES);
    assert.equal(await session.serverChan<unknown>("give").put(inbox), true);
    const proxy = (await within(requests.take(), "the client's inbox")) as RemoteChannel<string>;
    // Every put in one turn: the window (256) and the replay buffer (8 MiB) let them all go at once.
    const puts = Array.from({ length: VALUES }, (_, i) => proxy.put(`${String(i).padStart(6, "0")}${"x".repeat(VALUE_BYTES)}`));
    const got: number[] = [];
    for (let i = 0; i < VALUES; i++) got.push(Number(((await within(inbox.take(), `value ${i}`, 30_000)) ?? "").slice(0, 6)));
    assert.deepEqual(got, Array.from({ length: VALUES }, (_, i) => i), "every value, once, in order");
    assert.deepEqual(await Promise.all(puts), Array.from({ length: VALUES }, () => true));
    await until(() => session.state === "open", "the session open");
    assert.ok(notices.every((error) => error.code === "ERR_SLOW_CONSUMER"), "no other notice");
    assert.ok(!states.some((change) => change.state === "lost"), "never lost");
  });
});
