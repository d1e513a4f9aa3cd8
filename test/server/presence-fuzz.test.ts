// Whatever other nodes send on a topic's presence subject, the node goes on (fast-check): well-formed
// messages in any order and with any content (gaps, unknown keys, snapshots out of place,
// restarts, goodbyes), and garbage, never make TopicPresence.relayed throw, and the view keeps its
// bounds: size is what list() holds, at most maxEntries of other nodes' entries and at most
// maxNodes other nodes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MemoryBus, memoryBackplane } from "../../src/backplane/index.js";
import { chan } from "../../src/csp/channel.js";
import { type PresenceMessage, type WireEntry, writePresenceMessage } from "../../src/server/presence-messages.js";
import { resolvePresenceOptions } from "../../src/server/presence-options.js";
import { TopicPresence } from "../../src/server/presence.js";
import type { PresenceEvent } from "../../src/server/presence-view.js";
import { RecordingLogger } from "../helpers/recording-logger.js";

// Few values, so that keys, epochs, nodes and snapshot ids meet each other often.
const node = fc.constantFrom("n1", "n2", "n3", "n4");
const epoch = fc.constantFrom("e1", "e2");
const key = fc.constantFrom("a", "b", "c", "d", "e", "f");
const seq = fc.nat({ max: 6 });
const entry: fc.Arbitrary<WireEntry> = fc.tuple(key, fc.option(fc.constantFrom("s1", "s2"), { nil: null }), fc.jsonValue({ maxDepth: 2 }));
const message: fc.Arbitrary<PresenceMessage> = fc.oneof(
  fc.record({ kind: fc.constant("join" as const), epoch, seq, entries: fc.array(entry, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant("leave" as const), epoch, seq, keys: fc.array(key, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant("beat" as const), epoch, seq }),
  fc.record({ kind: fc.constant("bye" as const), epoch, seq }),
  fc.record({ kind: fc.constant("sync" as const), epoch, seq, to: fc.oneof(fc.constant("*" as const), fc.array(fc.constantFrom("me", "n1"), { maxLength: 2 })) }),
  fc.record({ kind: fc.constant("snap" as const), epoch, seq, to: fc.constantFrom(["me"], ["n2"]), id: fc.constantFrom("x", "y"), part: fc.nat({ max: 2 }), last: fc.boolean(), entries: fc.array(entry, { maxLength: 4 }) }),
);
const body = fc.oneof({ weight: 5, arbitrary: message.map(writePresenceMessage) }, { weight: 1, arbitrary: fc.string() });

describe("a topic's presence under any messages from other nodes", () => {
  it("never throws and keeps its bounds", async () => {
    const backplane = memoryBackplane(new MemoryBus(), { nodeId: "me" });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(node, body), { maxLength: 40 }), async (messages) => {
          const logger = new RecordingLogger();
          const options = resolvePresenceOptions({ heartbeatInterval: 60_000, timeout: 120_000, maxEntries: 5, maxNodes: 2 })!;
          const presence = new TopicPresence("fuzz", { backplane, logger }, options, null);
          const events = chan<PresenceEvent>(10_000);
          presence.watch(events);
          presence.track(null, "mine");
          try {
            for (const [from, text] of messages) {
              presence.relayed({ from, body: text });
              assert.equal(presence.size, presence.list().length);
              const others = presence.list().filter((e) => e.node !== "me");
              assert.ok(others.length <= 5, `${others.length} entries of other nodes`);
              assert.ok(new Set(others.map((e) => e.node)).size <= 2, "at most maxNodes other nodes");
              assert.equal(presence.list().filter((e) => e.node === "me").length, 1, "its own entry stays");
            }
            // Every event told is one the watcher can account for: joins minus leaves is the size.
            let joined = 0;
            for (let e = events.poll(); e !== undefined; e = events.poll()) joined += e.type === "join" ? 1 : -1;
            assert.equal(joined, presence.size);
            assert.ok(logger.lines.every((l) => !l.message.includes("threw")));
          } finally {
            presence.close();
          }
        }),
        { numRuns: 300 },
      );
    } finally {
      await backplane.close();
    }
  });
});
