// A busy server is tried again, never taken for a lost session (the hardening issue's item 7):
// a POST refused because the server is at maxConnections (503, ERR_TOO_MANY_CONNECTIONS or
// plain text) drops the link and the client reconnects with backoff until there is room; the
// put goes through then. Regression: the 503's body was read as a packet, and the session was
// lost. Real server, real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../src/client/index.js";
import { createServer } from "../../src/server/index.js";
import { until, within } from "../helpers/async.js";
import { RawSocket } from "./security-wire.js";

describe("a busy server is tried again", { timeout: 60_000 }, () => {
  it("longpoll: a put refused 503 at maxConnections is sent again once there is room; the session is never lost", async (t) => {
    const server = createServer({ maxConnections: 3, pollTimeout: 30_000, linkTimeout: 60_000, heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000 });
    const handle = await server.listen();
    t.after(() => handle.close());
    const inbox = server.channel<string>("in", 1);
    const session = await connect(handle.url, { transports: ["longpoll"], reconnect: { initial: 10, max: 200, jitter: 0 }, upgradeProbeInterval: 0 });
    t.after(() => session.close());
    const changes: string[] = [];
    session.onState((change) => changes.push(`${change.state}${change.error === undefined ? "" : `:${change.error.code}`}`));
    await until(() => server.connectionCount === 1, "the held poll");
    // Two idle WebSockets take the other slots: the client's held poll and these make three.
    const holders = [await RawSocket.connect(handle.url), await RawSocket.connect(handle.url)];
    t.after(() => holders.forEach((h) => h.terminate()));
    const put = session.serverChan<string>("in").put("once there is room");
    await until(() => changes.length > 0, "the refused POST to change the session's state");
    assert.equal(changes[0], "reconnecting", `the refusal dropped the link, and did not lose the session (changes ${changes.join(", ")})`);
    for (const holder of holders) holder.terminate();
    assert.equal(await within(put, "the put, sent again"), true, "taken");
    assert.equal(await within(inbox.take(), "the value"), "once there is room");
    await until(() => session.state === "open", "the session to be open");
    assert.equal(changes.some((c) => c.startsWith("lost")), false, `never lost (changes ${changes.join(", ")})`);
  });
});
