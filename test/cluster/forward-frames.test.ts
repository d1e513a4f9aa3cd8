// What crosses between an edge and an owner (src/server/cluster/forward-frames.ts): written and
// read back as it was, whatever the payload's script; anything else on a node's subject (another
// version, another program, a truncated or hostile message) is read as null or refused with
// MalformedForward, never thrown otherwise; session ids carry their node's tag.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type ForwardKind,
  MalformedForward,
  readAnswer,
  readAttachRequest,
  readForward,
  readForwardedHello,
  readSendRequest,
  writeAnswer,
  writeForward,
} from "../../src/server/cluster/forward-frames.js";
import { isNodeTag, nodeTag, ownerTagOf } from "../../src/server/cluster/node-tag.js";

const KINDS: ForwardKind[] = ["socket", "up", "open", "attach", "send", "close", "ok", "down", "answer", "drop"];

describe("forward frames", () => {
  it("a message reads back as written, whatever its payload (every script, newlines, NUL)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), fc.string({ minLength: 1, maxLength: 30 }), fc.nat(), fc.string({ unit: "binary" }), (kind, nodeId, n, payload) => {
        const tag = nodeTag(nodeId);
        const tunnel = n.toString(36);
        assert.deepEqual(readForward(writeForward(kind, tag, tunnel, payload)), { kind, from: tag, tunnel, payload });
      }),
    );
  });

  it("any text is read as a message or null, never a throw; a bad header is null", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const message = readForward(text);
        if (message !== null) assert.ok(KINDS.includes(message.kind) && isNodeTag(message.from));
      }),
    );
    const tag = nodeTag("a");
    for (const text of ["", "down", `down ${tag} 1`, `nope ${tag} 1\n`, `down short 1\n`, `down ${tag} UPPER\n`, `down ${tag} 1 extra\n`, `down  ${tag} 1\n`, `${"x".repeat(100)}\n`]) {
      assert.equal(readForward(text), null, JSON.stringify(text));
    }
  });

  it("payload readers refuse what is not their shape with MalformedForward only", () => {
    const readers = [readForwardedHello, readAttachRequest, readSendRequest, readAnswer];
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), fc.constantFrom(...readers), (payload, read) => {
        try {
          read(payload);
        } catch (error) {
          assert.ok(error instanceof MalformedForward, String(error));
        }
      }),
    );
    assert.throws(() => readAttachRequest(JSON.stringify({ sid: "s", secret: "x", recv: 1, transport: "websocket" })), MalformedForward);
    assert.throws(() => readAnswer("99 {}\n"), MalformedForward);
    assert.throws(() => readAnswer("200 not json\nbody"), MalformedForward);
  });

  it("an answer crosses with its status, text headers and body; bytes become text", () => {
    const answer = readAnswer(writeAnswer({ status: 410, headers: { "content-type": "application/json", "x-n": 3, "x-list": ["a", "b"] }, body: "[\"é😀\"]" }));
    assert.deepEqual(answer, { status: 410, headers: { "content-type": "application/json", "x-n": "3", "x-list": "a, b" }, body: "[\"é😀\"]" });
    assert.equal(readAnswer(writeAnswer({ body: new TextEncoder().encode("ü") })).body, "ü");
    assert.equal(readAnswer(writeAnswer({})).status, 200);
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (body) => {
        const written = writeAnswer({ status: 200, body });
        assert.ok(written.endsWith(body), "the body crosses as it is, not escaped");
        assert.equal(readAnswer(written).body, body);
      }),
    );
  });

  it("a node's session ids end with its tag, which fits the protocol's 64-character ids", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), (nodeId) => {
        const tag = nodeTag(nodeId);
        assert.ok(isNodeTag(tag));
        const sid = `${"A".repeat(22)}.${tag}`;
        assert.ok(sid.length <= 64);
        assert.equal(ownerTagOf(sid), tag);
      }),
    );
    assert.equal(ownerTagOf("A".repeat(22)), null, "an id without a tag (a server without a backplane)");
    assert.equal(ownerTagOf(`${"A".repeat(22)}.short`), null);
    assert.notEqual(nodeTag("node-1"), nodeTag("node-2"));
  });
});
