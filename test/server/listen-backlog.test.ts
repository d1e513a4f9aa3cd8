// listen's `backlog` option (docs/api.md "Options"): it reaches node's net.Server as given, 511
// when left out, through listen and runServer; a value libuv cannot take is refused with the
// RangeError the numeric server options use, before anything listens.
import assert from "node:assert/strict";
import { Server } from "node:net";
import { describe, it, mock, type TestContext } from "node:test";
import { createServer, runServer } from "../../src/server/index.js";

/** A reader of the first argument of every `net.Server#listen` call from now on (the calls themselves go through). */
function listenCalls(t: TestContext): () => unknown[] {
  const spy = mock.method(Server.prototype, "listen");
  t.after(() => spy.mock.restore());
  return () => spy.mock.calls.map((call) => call.arguments[0]);
}

describe("listen({ backlog })", { timeout: 20_000 }, () => {
  it("reaches the net.Server as given, and is node's 511 when left out; runServer passes it on", async (t) => {
    const calls = listenCalls(t);
    const given = await createServer().route("*", () => ({ body: "ok" })).listen({ backlog: 64 });
    t.after(() => given.close());
    const left = await createServer().listen();
    t.after(() => left.close());
    const run = await runServer(() => ({ body: "run" }), { backlog: 2048 });
    t.after(() => run.close());
    assert.deepEqual(
      calls().map((options) => (options as { backlog?: unknown }).backlog),
      [64, 511, 2048],
    );
    assert.equal(await (await fetch(given.url)).text(), "ok", "the server listening with backlog 64 serves");
    assert.equal(await (await fetch(run.url)).text(), "run");
  });

  it("a backlog that is not an integer from 1 to 2^31 - 1 is a RangeError ERR_SERVER_OPTION naming it, and the server can still listen", async (t) => {
    const calls = listenCalls(t);
    const server = createServer().route("*", () => ({ body: "ok" }));
    for (const backlog of [0, -1, 1.5, Number.NaN, 2 ** 31, "64" as unknown as number]) {
      await assert.rejects(server.listen({ backlog }), (error: unknown) => {
        assert.ok(error instanceof RangeError, `a RangeError for ${String(backlog)}`);
        assert.equal((error as RangeError & { code?: unknown }).code, "ERR_SERVER_OPTION");
        assert.match(error.message, /backlog must be an integer from 1 to 2147483647/);
        return true;
      });
    }
    assert.equal(calls().length, 0, "nothing listened");
    const handle = await server.listen({ backlog: 1 });
    t.after(() => handle.close());
    assert.equal(await (await fetch(handle.url)).text(), "ok");
  });
});
