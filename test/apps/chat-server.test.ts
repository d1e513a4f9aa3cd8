import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { censor, censorLine } from "../../apps/chat/censor.js";
import { type ChatRequest, runChatServer } from "../../apps/chat/chat-server.js";
import { chan, xf } from "../../src/index.js";

describe("censor (seed 001: a transducer tested on plain arrays first)", () => {
  it("masks blocked words in messages and leaves other requests alone", () => {
    const inbox = chan<string[]>(1);
    const out = xf.sequence(censor, [{ msg: "what the heck" }, { add: inbox }, { msg: "Darn, no heckling" }] as ChatRequest[]);
    assert.deepEqual(out[0], { msg: "what the ****" });
    assert.equal((out[1] as { add: unknown }).add, inbox);
    assert.deepEqual(out[2], { msg: "****, no heckling" });
    assert.equal(censorLine("frak frak"), "**** ****");
  });
});

describe("runChatServer (seed 000's chat loop)", () => {
  it("sends history to a new listener, then each new line to every listener", async () => {
    const server = chan<ChatRequest>(8);
    const done = runChatServer(server);
    const a = chan<string[]>(8);
    const b = chan<string[]>(8);
    await server.put({ add: a });
    assert.deepEqual(await a.take(), []);
    await server.put({ msg: "one" });
    assert.deepEqual(await a.take(), ["one"]);
    await server.put({ add: b });
    assert.deepEqual(await b.take(), ["one"]);
    await server.put({ msg: "two" });
    assert.deepEqual(await a.take(), ["two"]);
    assert.deepEqual(await b.take(), ["two"]);
    server.close();
    await done;
    assert.equal(await a.take(), undefined, "listeners are closed when the server ends");
    assert.equal(await b.take(), undefined);
  });

  it("drops a listener whose channel closed and keeps serving the others", async () => {
    const server = chan<ChatRequest>(8);
    const done = runChatServer(server);
    const gone = chan<string[]>(8);
    const stays = chan<string[]>(8);
    await server.put({ add: gone });
    await server.put({ add: stays });
    assert.deepEqual(await gone.take(), []);
    assert.deepEqual(await stays.take(), []);
    gone.close();
    await server.put({ msg: "after" });
    await server.put({ msg: "again" });
    assert.deepEqual(await stays.take(), ["after"]);
    assert.deepEqual(await stays.take(), ["again"]);
    server.close();
    await done;
  });

  it("keeps at most maxHistory lines and refuses listeners past maxListeners", async () => {
    const server = chan<ChatRequest>(8);
    const done = runChatServer(server, { maxHistory: 2, maxListeners: 1 });
    for (const msg of ["a", "b", "c"]) await server.put({ msg });
    const first = chan<string[]>(8);
    const second = chan<string[]>(8);
    await server.put({ add: first });
    await server.put({ add: second });
    assert.deepEqual(await first.take(), ["b", "c"]);
    assert.equal(await second.take(), undefined, "a listener over the limit gets its channel closed");
    server.close();
    await done;
  });
});
