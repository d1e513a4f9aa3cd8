// A loop of awaited puts runs at round-trip speed on every transport, and through a relay that
// adds latency and cuts it still delivers every put once, in order: the answer to a put goes
// at the end of the receiver's turn, never after a timer (docs/protocol.md section 4). In the
// first suite every setTimeout of the process is mocked and never advanced, so a put answered only by a timer
// would never resolve; the loop's end is waited for with a real timer captured before the
// mock, a bound on a hang, not a timing assertion. Real server, real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import { describe, it, mock, type TestContext } from "node:test";
import { chan } from "../../src/csp/channel.js";
import { connect, type RemoteChannel, type TransportName } from "../../src/client/index.js";
import { createServer } from "../../src/server/index.js";
import { relayedSession } from "../helpers/relayed-session.js";

const TRANSPORTS: readonly TransportName[] = ["websocket", "sse", "longpoll"];
const PUTS = 100;
const realSetTimeout = globalThis.setTimeout;

/** `promise`, or a failure naming `what` after `ms` of real time (the mocked clock never moves). */
function settleWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = realSetTimeout(() => reject(new Error(`${what}: not done after ${ms} ms of real time, so something waited for a timer`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * A server with a `sink` that takes every put and answers nothing else, and a `feed` that, given
 * `{ inbox }`, puts 0, 1, 2 … on it, awaiting each put before the next.
 */
async function server(t: TestContext): Promise<{ url: string; fed: Promise<boolean[]>; sunk: number[] }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, pollTimeout: 30_000 });
  const sink = server.channel<number>("sink");
  const feed = server.channel<{ inbox: RemoteChannel<number> }>("feed");
  const sunk: number[] = [];
  void (async () => {
    for await (const n of sink) sunk.push(n);
  })();
  const fed = (async () => {
    const request = await feed.take();
    const answers: boolean[] = [];
    if (request === undefined || request === null) return answers;
    for (let n = 0; n < PUTS; n++) answers.push(await request.inbox.put(n));
    return answers;
  })();
  const handle = await server.listen();
  t.after(() => handle.close());
  return { url: handle.url, fed, sunk };
}

describe("awaited puts are answered at round-trip speed, not paced by a timer", { timeout: 60_000 }, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: ${PUTS} awaited puts each way, with every setTimeout of the process frozen`, async (t) => {
      const { url, fed } = await server(t);
      const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0 });
      t.after(() => session.close());
      const sink = session.serverChan<number>("sink");
      // Once connected: from here on no timer of this process fires.
      mock.timers.enable({ apis: ["setTimeout"] });
      t.after(() => mock.timers.reset());
      const putAll = async (): Promise<boolean[]> => {
        const answers: boolean[] = [];
        for (let n = 0; n < PUTS; n++) answers.push(await sink.put(n));
        return answers;
      };
      const sent = await settleWithin(putAll(), 10_000, `${PUTS} awaited client puts over ${transport}`);
      assert.deepStrictEqual(sent, Array<boolean>(PUTS).fill(true), "every client put accepted");
      const inbox = chan<number>();
      await settleWithin(session.serverChan<{ inbox: typeof inbox }>("feed").put({ inbox }), 20_000, "the feed request");
      const takeAll = async (): Promise<Array<number | undefined>> => {
        const got: Array<number | undefined> = [];
        for (let n = 0; n < PUTS; n++) got.push(await inbox.take());
        return got;
      };
      const got = await settleWithin(takeAll(), 10_000, `${PUTS} awaited server puts over ${transport}`);
      assert.deepStrictEqual(got, Array.from({ length: PUTS }, (_, i) => i), "every server put arrived, in order");
      assert.deepStrictEqual(await settleWithin(fed, 20_000, "the server's last answers"), Array<boolean>(PUTS).fill(true), "every server put accepted");
    });
  }
});

describe("awaited puts through a relay that adds latency and cuts", { timeout: 60_000 }, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: every awaited put and every awaited server put arrives once, in order, across cuts`, async (t) => {
      const { url, fed, sunk } = await server(t);
      const port = Number(new URL(url).port);
      const { relay, session } = await relayedSession(t, port, transport, 30);
      const seed = relay.cutRandomly({ everyMs: [60, 200], maxCuts: 3 });
      const sink = session.serverChan<number>("sink");
      const sent: boolean[] = [];
      for (let n = 0; n < PUTS; n++) sent.push(await sink.put(n));
      const inbox = chan<number>();
      await session.serverChan<{ inbox: typeof inbox }>("feed").put({ inbox });
      const got: Array<number | undefined> = [];
      for (let n = 0; n < PUTS; n++) got.push(await inbox.take());
      relay.stopCutting();
      assert.deepStrictEqual(sent, Array<boolean>(PUTS).fill(true), `every client put accepted (seed ${seed})`);
      assert.deepStrictEqual(sunk, Array.from({ length: PUTS }, (_, i) => i), `every client put arrived once, in order (seed ${seed})`);
      assert.deepStrictEqual(got, Array.from({ length: PUTS }, (_, i) => i), `every server put arrived once, in order (seed ${seed})`);
      assert.deepStrictEqual(await fed, Array<boolean>(PUTS).fill(true), "every server put accepted");
      assert.ok(relay.cuts >= 1, `the relay cut at least once (seed ${seed}, ${relay.cuts} cuts)`);
    });
  }
});
