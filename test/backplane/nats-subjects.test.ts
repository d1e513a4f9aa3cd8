// The escape of wirechan subjects into NATS subjects (src/backplane/subjects.ts), pure, and fuzzed
// with fast-check: every subject gives a valid NATS subject (non-empty tokens of printable ASCII,
// no wildcard nor space), and distinct subjects give distinct NATS subjects.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MAX_NATS_SUBJECT_BYTES, natsSubject } from "../../src/backplane/subjects.js";
import { assertThrowsCode } from "../helpers/errors.js";

/** What a NATS server takes as a publish subject, and stricter: tokens of `[A-Za-z0-9_~-]`, one dot between. */
const VALID = /^[A-Za-z0-9_~-]+(?:\.[A-Za-z0-9_~-]+)*$/;

/** Well-formed strings of any code point: lone surrogates are refused, tested apart. */
const subject = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(".", "*", ">", " ", "~", "7", "E", "2", "a", "é", "🙂", "\t", "$"), maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 20 }).map((name) => `wirechan.topic.${name}`),
);

describe("NATS subjects", () => {
  it("plain dotted subjects stay as they are, readable and usable in permissions", () => {
    assert.equal(natsSubject("wirechan.topic.news"), "wirechan.topic.news");
    assert.equal(natsSubject("a_b-c.D9"), "a_b-c.D9");
  });

  it("everything else is escaped by UTF-8 byte; an empty token is ~", () => {
    assert.equal(natsSubject("wirechan.topic.a b"), "wirechan.topic.a~20b");
    assert.equal(natsSubject("wirechan.topic.*"), "wirechan.topic.~2A");
    assert.equal(natsSubject(">"), "~3E");
    assert.equal(natsSubject("a..b"), "a.~.b");
    assert.equal(natsSubject(".a."), "~.a.~");
    assert.equal(natsSubject(""), "~");
    assert.equal(natsSubject("~"), "~7E");
    assert.equal(natsSubject("é"), "~C3~A9");
    assert.equal(natsSubject("🙂"), "~F0~9F~99~82");
    assert.equal(natsSubject("$SYS"), "~24SYS");
  });

  it("fuzzed: always valid, and injective", () => {
    fc.assert(
      fc.property(subject, subject, (a, b) => {
        const [x, y] = [natsSubject(a), natsSubject(b)];
        assert.match(x, VALID);
        assert.match(y, VALID);
        assert.equal(x === y, a === b, `${JSON.stringify(a)} → ${x}, ${JSON.stringify(b)} → ${y}`);
      }),
      { numRuns: 5_000 },
    );
  });

  it("fuzzed: no two of many subjects meet", () => {
    fc.assert(
      fc.property(fc.uniqueArray(subject, { minLength: 50, maxLength: 200 }), (subjects) => {
        assert.equal(new Set(subjects.map(natsSubject)).size, subjects.length);
      }),
      { numRuns: 200 },
    );
  });

  it("a lone surrogate, or an escape past the server's control line, is refused", () => {
    assertThrowsCode(() => natsSubject("a\uD800"), "ERR_BACKPLANE_SUBJECT", "a lone high surrogate");
    assertThrowsCode(() => natsSubject("\uDC00.b"), "ERR_BACKPLANE_SUBJECT", "a lone low surrogate");
    assert.equal(natsSubject("a".repeat(MAX_NATS_SUBJECT_BYTES)).length, MAX_NATS_SUBJECT_BYTES);
    assertThrowsCode(() => natsSubject("a".repeat(MAX_NATS_SUBJECT_BYTES + 1)), "ERR_BACKPLANE_SUBJECT", "too long as it is");
    assertThrowsCode(() => natsSubject("é".repeat(700)), "ERR_BACKPLANE_SUBJECT", "too long escaped (4,200 bytes)");
  });
});
