// Topics and the session events where loopback would hide the races: a client subscribed through
// a relay that delays every chunk and every handshake, and cuts links at random while a topic's
// values flow, over each transport. Each value arrives once and in order, the subscription
// outlives every cut, and the server's session events for that client are one open, then
// resumes only (no second session, no end), in that order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chan } from "../../src/csp/channel.js";
import { createServer, type TopicDropped, type TopicRequest } from "../../src/server/index.js";
import type { SessionEvent } from "../../src/server/protocol/session-events.js";
import { until, within } from "../helpers/async.js";
import { relayedSession } from "../helpers/relayed-session.js";

const LIMIT_MS = 60_000;
/** Values put at least; more while the relay has not cut twice, at most this many more. */
const VALUES = 60;
const MAX_VALUES = 600;

describe("topics and session events through a relay with latency and cuts", { timeout: 4 * LIMIT_MS }, () => {
  for (const transport of ["websocket", "sse", "longpoll"] as const) {
    it(`over ${transport}: every value once, in order; one open then resumes only`, { timeout: LIMIT_MS }, async (t) => {
      const server = createServer({ pollTimeout: 1_000, closeTimeout: 1_000 });
      const events: SessionEvent[] = [];
      server.onSession((event) => void events.push(event));
      const topic = server.topic<number>("t");
      const handle = await server.listen();
      t.after(() => handle.close());
      const { relay, session, reconnects } = await relayedSession(t, handle.port, transport, 40);
      // Not every cut takes the link down: over long-polling, a POST send cut on a kept-alive
      // socket is made again on a fresh one, and an idle pooled socket cut is only closed. So
      // the relay cuts until the client had to reconnect at least once.
      const inbox = chan<number | TopicDropped>(MAX_VALUES + 8);
      assert.equal(await session.serverChan<TopicRequest<number>>("t").put({ subscribe: inbox }), true);

      const seed = relay.cutRandomly({ everyMs: [80, 250], maxCuts: 8 });
      let put = 0;
      while (put < MAX_VALUES && (put < VALUES || relay.cuts < 2 || reconnects() < 1)) {
        await topic.put(put++);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      relay.stopCutting();

      const got: Array<number | TopicDropped | undefined> = [];
      for (let i = 0; i < put; i++) got.push(await within(inbox.take(), () => `value ${i} of ${put} (seed ${seed}); got ${got.length}`, LIMIT_MS));
      assert.deepEqual(got, Array.from({ length: put }, (_, i) => i), `every value once, in order (seed ${seed})`);
      assert.ok(relay.cuts >= 2, `the relay cut ${relay.cuts} times (seed ${seed})`);
      assert.ok(reconnects() >= 1, `a cut took the link down and the client reconnected (${relay.cuts} cuts, seed ${seed})`);
      assert.equal(topic.subscriberCount, 1, "the subscription outlived every cut");

      await until(() => events.some((event) => event.type === "resume"), `a resume event (seed ${seed}; the client reconnected ${reconnects()} times)`, LIMIT_MS);
      const mine = events.filter((event) => event.session.id === session.id).map((event) => event.type);
      assert.equal(mine[0], "open", `first the open: ${mine.join(", ")}`);
      assert.ok(mine.slice(1).every((type) => type === "resume"), `then resumes only: ${mine.join(", ")}`);
      assert.equal(new Set(events.map((event) => event.session.id)).size, 1, "one session all along");
    });
  }
});
