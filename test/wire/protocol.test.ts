// The facts both ends share (src/wire/protocol.ts, src/wire/handshake.ts), and the JSON codec's
// bound on arrays and objects: sizes in UTF-8 bytes, decoding under the limits, error frames
// with checked codes, and the two halves of the handshake reading what the other writes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isWirechanError, PROTOCOL_ERROR_CODES } from "../../src/csp/errors.js";
import { countContainers, jsonCodec } from "../../src/wire/codec.js";
import type { HelloBody, WelcomeBody } from "../../src/wire/frames.js";
import { helloPacket, readHello, readHelloAnswer, refusalPacket, welcomePacket } from "../../src/wire/handshake.js";
import { ProtocolError } from "../../src/wire/protocol-error.js";
import { decodePacket, endpointPath, fitsInBytes, MAX_PACKET_NODES, peerError, utf8Length } from "../../src/wire/protocol.js";
import { assertThrowsCode } from "../helpers/errors.js";

/** Strings of any UTF-16 code units, lone surrogates included. */
const anyUtf16 = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 64 }).map((units) => String.fromCharCode(...units));

describe("utf8Length", () => {
  it("is what Buffer.byteLength counts, for text in every script and for lone surrogates (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }), anyUtf16), (text) => {
        assert.equal(utf8Length(text), Buffer.byteLength(text, "utf8"), JSON.stringify(text));
      }),
      { seed: 9001, numRuns: 2_000 },
    );
  });

  it("counts bytes, not characters", () => {
    assert.equal(utf8Length("é"), 2);
    assert.equal(utf8Length("中"), 3);
    assert.equal(utf8Length("😀"), 4, "a surrogate pair");
    assert.equal(utf8Length("\ud800"), 3, "a lone surrogate goes as U+FFFD");
    assert.equal(utf8Length('[1,"p","n:x","ab"]'), 18, "ASCII: one byte each");
    assert.equal(utf8Length("ab😀cd"), 8, "counting starts at the first unit that is not ASCII, a pair included");
  });

  it("agrees with Buffer.byteLength after an ASCII prefix of any length (property)", () => {
    // The count skips the ASCII prefix: whatever follows it must still be counted whole.
    fc.assert(
      fc.property(fc.string({ unit: "binary-ascii", maxLength: 80 }), anyUtf16, (prefix, rest) => {
        const text = prefix + rest;
        assert.equal(utf8Length(text), Buffer.byteLength(text, "utf8"), JSON.stringify(text));
      }),
      { seed: 9003, numRuns: 2_000 },
    );
  });

  it("fitsInBytes agrees with utf8Length at every limit (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), fc.integer({ min: 0, max: 200 }), (text, limit) => {
        assert.equal(fitsInBytes(text, limit), utf8Length(text) <= limit);
      }),
      { seed: 9002, numRuns: 2_000 },
    );
  });
});

describe("decodePacket", () => {
  it("refuses a packet over maxMessageSize in bytes, even when its characters are fewer", () => {
    const packet = JSON.stringify([["bye", "é".repeat(60)]]); // 72 characters, 132 bytes
    assertThrowsCode(() => decodePacket(packet, { codec: jsonCodec, maxMessageSize: 100 }), "ERR_MESSAGE_TOO_LARGE", "132 bytes over 100", ProtocolError);
    assert.equal(decodePacket(packet, { codec: jsonCodec, maxMessageSize: 132 }).length, 1, "at the limit it is read");
  });

  it("refuses more than MAX_PACKET_NODES arrays and objects with ERR_VALUE_TOO_COMPLEX, and reads exactly that many", () => {
    const value = (n: number): string => JSON.stringify([[1, "p", "n:x", Array.from({ length: n }, () => [])]]);
    // The packet, the frame and the value's array: three, then n empty arrays.
    const fits = value(MAX_PACKET_NODES - 3);
    assert.equal(countContainers(fits, MAX_PACKET_NODES), MAX_PACKET_NODES, "exactly at the limit");
    assert.equal(decodePacket(fits, { codec: jsonCodec, maxMessageSize: 1 << 20 }).length, 1, "read");
    assertThrowsCode(() => decodePacket(value(MAX_PACKET_NODES - 2), { codec: jsonCodec, maxMessageSize: 1 << 20 }), "ERR_VALUE_TOO_COMPLEX", "one more", ProtocolError);
  });

  it("countContainers counts the arrays and objects of any JSON value, brackets inside strings aside (property)", () => {
    const count = (value: unknown): number =>
      typeof value !== "object" || value === null ? 0 : 1 + (Array.isArray(value) ? value : Object.values(value as object)).reduce<number>((sum, item) => sum + count(item), 0);
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        assert.equal(countContainers(text, Number.MAX_SAFE_INTEGER), count(JSON.parse(text)), text.slice(0, 200));
      }),
      { seed: 9003, numRuns: 1_000 },
    );
    assert.equal(countContainers(JSON.stringify(["[{\"\\\"[", { "a]": "{" }]), 100), 2, "brackets and escaped quotes in strings are text");
  });
});

describe("error frames from the peer", () => {
  it("keep a known code, and turn an unknown one into ERR_PROTOCOL instead of trusting it (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...PROTOCOL_ERROR_CODES), fc.string({ maxLength: 70 })), fc.string(), fc.boolean(), (code, message, fatal) => {
        const error = peerError({ code, message, fatal });
        assert.ok(isWirechanError(error), "a wirechan error");
        assert.ok(PROTOCOL_ERROR_CODES.has(error.code), `a registered code (got ${error.code})`);
        assert.equal(error.code, PROTOCOL_ERROR_CODES.has(code) ? code : "ERR_PROTOCOL");
        assert.equal(error.fatal, fatal);
      }),
      { seed: 9004, numRuns: 500 },
    );
  });
});

describe("the handshake's two halves", () => {
  const helloBody: HelloBody = { sid: "abc", secret: "s3cret", recv: 7 };
  const welcomeBody: WelcomeBody = { sid: "abc", secret: null, recv: 3, resumed: true, heartbeat: 25_000, window: 256, limits: { maxMessageSize: 1024, maxChannels: 16 } };

  it("the server reads the client's hello, and the client reads the server's welcome", () => {
    const hello = readHello(helloPacket(helloBody), 1024);
    assert.deepEqual(hello, { body: helloBody, rest: [] });
    assert.deepEqual(readHelloAnswer(welcomePacket(welcomeBody), 1024), { kind: "welcome", welcome: welcomeBody });
  });

  it("a refusal reads as the error, its code kept", () => {
    const answer = readHelloAnswer(refusalPacket(new ProtocolError("ERR_TOO_MANY_SESSIONS", "full")), 1024);
    assert.equal(answer.kind, "refused");
    assert.equal(answer.kind === "refused" ? answer.error.code : "", "ERR_TOO_MANY_SESSIONS");
  });

  it("a hello of another version is ERR_VERSION; a first packet without hello is ERR_NO_SESSION; an answer that is neither is ERR_BAD_FRAME", () => {
    assertThrowsCode(() => readHello(JSON.stringify([["hello", 2, helloBody]]), 1024), "ERR_VERSION", "version 2", ProtocolError);
    assertThrowsCode(() => readHello(JSON.stringify([["ack", 1]]), 1024), "ERR_NO_SESSION", "no hello", ProtocolError);
    assertThrowsCode(() => readHelloAnswer(JSON.stringify([["ack", 1]]), 1024), "ERR_BAD_FRAME", "no welcome", ProtocolError);
  });

  it("endpoint paths hang under the protocol's path", () => {
    assert.equal(endpointPath("/wirechan", "open"), "/wirechan/open");
    assert.equal(endpointPath("/x/y", "poll"), "/x/y/poll");
  });
});
