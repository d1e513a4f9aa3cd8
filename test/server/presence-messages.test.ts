// What a topic's presence puts on the backplane, pure (src/server/presence-messages.ts): every
// message reads back as written; anything else, fuzzed with fast-check, reads as null and never
// throws (another node's bug must not crash this one); entries are packed into messages within
// maxMessageBytes, 100,000 of them included; a principal crosses as JSON or not at all.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { crossingPrincipal, MAX_PRINCIPAL_DEPTH, packByBytes, type PresenceMessage, readPresenceMessage, type WireEntry, writePresenceMessage } from "../../src/server/presence-messages.js";
import { utf8Length } from "../../src/wire/protocol.js";

const id = fc.string({ minLength: 1, maxLength: 40 });
const seq = fc.nat();
const json = fc.jsonValue();
const entry: fc.Arbitrary<WireEntry> = fc.tuple(id, fc.option(id, { nil: null }), json);

const message: fc.Arbitrary<PresenceMessage> = fc.oneof(
  fc.record({ kind: fc.constant("join" as const), epoch: id, seq, entries: fc.array(entry, { maxLength: 5 }) }),
  fc.record({ kind: fc.constant("leave" as const), epoch: id, seq, keys: fc.array(id, { maxLength: 5 }) }),
  fc.record({ kind: fc.constant("beat" as const), epoch: id, seq }),
  fc.record({ kind: fc.constant("bye" as const), epoch: id, seq }),
  fc.record({ kind: fc.constant("sync" as const), epoch: id, seq, to: fc.oneof(fc.constant("*" as const), fc.array(id, { maxLength: 3 })) }),
  fc.record({ kind: fc.constant("snap" as const), epoch: id, seq, to: fc.array(id, { maxLength: 3 }), id, part: seq, last: fc.boolean(), entries: fc.array(entry, { maxLength: 5 }) }),
);

describe("presence messages", () => {
  it("every message reads back as it was written", () => {
    fc.assert(
      fc.property(message, (m) => {
        // JSON has no -0: what crosses is what JSON makes of the principals.
        assert.deepEqual(readPresenceMessage(writePresenceMessage(m)), JSON.parse(JSON.stringify(m)));
      }),
    );
  });

  it("any text reads as a message or null, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
        readPresenceMessage(text);
      }),
      { numRuns: 2_000 },
    );
  });

  it("a well-formed message with one field broken reads as null", () => {
    const broken = (m: PresenceMessage, field: string, value: unknown): string => JSON.stringify({ ...(JSON.parse(writePresenceMessage(m)) as object), [field]: value });
    const bad = fc.oneof(fc.constant(null), fc.constant(-1), fc.constant(1.5), fc.constant(""), fc.constant("x".repeat(200)), fc.constant({}), fc.constant([[1, 2, 3]]));
    fc.assert(
      fc.property(message, fc.constantFrom("v", "k", "e", "s"), bad, (m, field, value) => {
        assert.equal(readPresenceMessage(broken(m, field, value)), null);
      }),
    );
    const join: PresenceMessage = { kind: "join", epoch: "e", seq: 1, entries: [["k", null, 1]] };
    for (const en of [[["k", null]], [[1, null, 1]], [["k", 5, 1]], "entries", [["", null, 1]]]) assert.equal(readPresenceMessage(broken(join, "en", en)), null, JSON.stringify(en));
    assert.equal(readPresenceMessage(broken({ kind: "sync", epoch: "e", seq: 0, to: "*" }, "to", Array.from({ length: 2_000 }, () => "n"))), null, "too many recipients");
  });

  it("packs entries into runs within maxMessageBytes, 100,000 of them included, keeping their order", () => {
    const entries: WireEntry[] = Array.from({ length: 100_000 }, (_, i) => [i.toString(36), `session-${i}`, { user: `user ${i}`, name: "é".repeat(i % 30) }]);
    const max = 65_536;
    const runs = packByBytes(entries, max);
    assert.ok(runs.length > 100, `${runs.length} messages`);
    assert.deepEqual(runs.flat().length, entries.length);
    assert.equal(runs.flat()[99_999], entries[99_999]);
    for (const run of runs) {
      const text = writePresenceMessage({ kind: "snap", epoch: globalThis.crypto.randomUUID(), seq: Number.MAX_SAFE_INTEGER, to: ["node-1"], id: "abcdefgh.zz", part: 9_999, last: false, entries: run });
      assert.ok(utf8Length(text) <= max, `a message of ${utf8Length(text)} bytes`);
    }
    assert.deepEqual(packByBytes([], max), []);
  });

  it("a principal crosses as JSON carries it, or not at all (a cycle, a BigInt, over the bound)", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.deepEqual(crossingPrincipal({ a: 1, b: undefined, d: new Date(0) }, 100), { value: { a: 1, d: "1970-01-01T00:00:00.000Z" } });
    assert.deepEqual(crossingPrincipal(undefined, 100), { value: null });
    assert.deepEqual(crossingPrincipal(() => 1, 100), { value: null });
    assert.equal(crossingPrincipal(cycle, 100), undefined);
    assert.equal(crossingPrincipal(1n, 100), undefined);
    assert.equal(crossingPrincipal("é".repeat(50), 100), undefined, "102 bytes with the quotes");
    assert.deepEqual(crossingPrincipal("é".repeat(49), 100), { value: "é".repeat(49) });
  });

  it("a principal nested deeper than MAX_PRINCIPAL_DEPTH does not cross, either way; one that crosses is frozen", () => {
    const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);
    assert.ok(crossingPrincipal(nest(MAX_PRINCIPAL_DEPTH), 10_000) !== undefined);
    assert.equal(crossingPrincipal(nest(MAX_PRINCIPAL_DEPTH + 1), 10_000), undefined);
    const join = (principal: unknown): string => writePresenceMessage({ kind: "join", epoch: "e", seq: 1, entries: [["k", null, principal]] });
    assert.equal(readPresenceMessage(join(nest(MAX_PRINCIPAL_DEPTH + 1))), null);
    assert.equal(readPresenceMessage(`{"v":1,"k":"join","e":"e","s":1,"en":[["k",null,${"[".repeat(100_000)}${"]".repeat(100_000)}]]}`), null, "very deep: refused, no stack overflow");
    const read = readPresenceMessage(join({ user: { name: "ann" } }));
    assert.ok(read?.kind === "join");
    const principal = read.entries[0]![2] as { user: { name: string } };
    assert.ok(Object.isFrozen(principal) && Object.isFrozen(principal.user));
    assert.ok(Object.isFrozen(crossingPrincipal({ a: [1] }, 100)!.value));
  });
});
