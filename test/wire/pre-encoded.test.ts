// A value encoded once for many sessions (src/wire/pre-encoded.ts, Codec.framePut): framed for a
// session it is the very text a put encoded per session is, and it decodes to the value. Every
// property uses a fixed seed, so a run is the same every time.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { chan } from "../../src/csp/channel.js";
import { jsonCodec } from "../../src/wire/codec.js";
import { sequencedFrame } from "../../src/wire/frames.js";
import { preEncode } from "../../src/wire/pre-encoded.js";
import { decodePacket, utf8Length } from "../../src/wire/protocol.js";
import { decodeValue, encodeValue } from "../../src/wire/values.js";
import { assertThrowsCode } from "../helpers/errors.js";

const noRefs = (): undefined => undefined;
const target = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("c.1", "c.12345", "n:chat"));
const seq = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
/** JSON values with keys that start with "~" now and then: the escaping must survive being shared. */
const value = fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom("~c", "~~c", "a", "~"), fc.jsonValue({ maxDepth: 2 })));

describe("pre-encoded values", () => {
  it("framed for a session, are the same text as a put encoded for it, and decode to the value (fast-check)", () => {
    fc.assert(
      fc.property(value, target, seq, (v, to, n) => {
        const shared = preEncode(v, jsonCodec);
        const framed = jsonCodec.framePut(n, to, shared.text);
        const perSession = jsonCodec.encodeFrame(sequencedFrame(n, { op: "p", target: to, value: encodeValue(v, noRefs) }));
        assert.equal(framed, perSession);
        assert.equal(shared.bytes, utf8Length(shared.text), "the size is the text's UTF-8 bytes");
        assert.equal(utf8Length(jsonCodec.framePut(n, to, "")) + shared.bytes, utf8Length(framed), "a frame's size is its own bytes plus the value's");
        if (n === 0) return;
        const [frame] = decodePacket(jsonCodec.joinPacket([framed]), { codec: jsonCodec, maxMessageSize: 1 << 30 });
        assert.ok(frame?.kind === "seq" && frame.op === "p");
        assert.equal(frame.target, to);
        assert.deepStrictEqual(decodeValue(frame.value, noRefs), JSON.parse(JSON.stringify(v)) as unknown);
      }),
      { seed: 1101, numRuns: 500 },
    );
  });

  it("counts the arrays and objects of the value once, as a put does", () => {
    const counter = { nodes: 0 };
    const v = { a: [1, { b: [] }], c: {} };
    encodeValue(v, noRefs, counter);
    assert.equal(preEncode(v, jsonCodec).nodes, counter.nodes);
    assert.equal(counter.nodes, 5);
  });

  it("refuses a value with a channel in it (a reference is valid in one session only), and what JSON cannot write (ERR_WIRE_VALUE)", () => {
    assertThrowsCode(() => preEncode({ inbox: chan() }, jsonCodec), "ERR_WIRE_VALUE", "a channel", TypeError);
    assertThrowsCode(() => preEncode(undefined, jsonCodec), "ERR_WIRE_VALUE", "undefined", TypeError);
    assertThrowsCode(() => preEncode({ n: 1n }, jsonCodec), "ERR_WIRE_VALUE", "a BigInt", TypeError);
  });

  it("knows the codec that wrote it", () => {
    const other = { ...jsonCodec };
    const shared = preEncode([1], jsonCodec);
    assert.equal(shared.encodedBy(jsonCodec), true);
    assert.equal(shared.encodedBy(other), false);
  });
});
