// Text in every script crosses a network that splits it anywhere: through a relay that cuts every
// chunk into 5-byte pieces read apart (so a character's UTF-8 bytes, a WebSocket frame's header,
// an SSE line and an HTTP body are split between reads), adds latency and cuts links at random,
// every value put either way arrives whole, once and in order, on every transport. The client's
// SSE reader decodes each piece as it comes ({ stream: true }), the server reads POST bodies and
// WebSocket messages whole. Real server, real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { chan } from "../../src/csp/channel.js";
import { type RemoteChannel, type TransportName } from "../../src/client/index.js";
import { createServer } from "../../src/server/index.js";
import { relayedSession } from "../helpers/relayed-session.js";

const TRANSPORTS: readonly TransportName[] = ["websocket", "sse", "longpoll"];
/** Two, three and four UTF-8 bytes per character, right to left, combining marks, emoji with joiners. */
const SCRIPTS = ["héllo Ωμέγα", "Привет שלום", "مرحبا नमस्ते", "こんにちは 你好 안녕", "🙂🚀 👩‍👩‍👧 ok", "e\u0301 ﷽ 𝄞"];
const COUNT = 24;
const TEXTS = Array.from({ length: COUNT }, (_, i) => `${i} ${SCRIPTS[i % SCRIPTS.length] ?? ""}`);

/** A server whose `sink` keeps what it takes, and whose `feed`, given `{ inbox }`, puts TEXTS into it one by one. */
async function server(t: TestContext): Promise<{ port: number; sunk: string[]; fed: Promise<boolean[]> }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 30_000 });
  const sink = server.channel<string>("sink");
  const feed = server.channel<{ inbox: RemoteChannel<string> }>("feed");
  const sunk: string[] = [];
  void (async () => {
    for await (const text of sink) sunk.push(text);
  })();
  const fed = (async () => {
    const request = await feed.take();
    if (request === undefined || request === null) return [];
    return Promise.all(TEXTS.map((text) => request.inbox.put(text)));
  })();
  const handle = await server.listen();
  t.after(() => handle.close());
  return { port: handle.port, sunk, fed };
}

describe("text in every script through a relay that splits every chunk, adds latency and cuts", { timeout: 60_000 }, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: every value arrives whole, once and in order, both ways`, async (t) => {
      const { port, sunk, fed } = await server(t);
      const { relay, session } = await relayedSession(t, port, transport, 20, 5);
      const seed = relay.cutRandomly({ everyMs: [150, 400], maxCuts: 3 });
      const sent = await Promise.all(TEXTS.map((text) => session.serverChan<string>("sink").put(text)));
      const inbox = chan<string>();
      await session.serverChan<{ inbox: typeof inbox }>("feed").put({ inbox });
      const got: Array<string | undefined> = [];
      for (let i = 0; i < COUNT; i++) got.push(await inbox.take());
      relay.stopCutting();
      assert.deepStrictEqual(sent, Array<boolean>(COUNT).fill(true), `every client put accepted (seed ${seed})`);
      assert.deepStrictEqual(sunk, TEXTS, `every client put arrived whole, once, in order (seed ${seed})`);
      assert.deepStrictEqual(got, TEXTS, `every server put arrived whole, once, in order (seed ${seed})`);
      assert.deepStrictEqual(await fed, Array<boolean>(COUNT).fill(true), "every server put accepted");
      assert.ok(relay.cuts >= 1, `the relay cut at least once (seed ${seed}, ${relay.cuts} cuts)`);
    });
  }
});
