// Frames of protocol v1 (docs/protocol.md section 2): every kind round-trips through its builder,
// JSON text and parsePacket; parsePacket turns anything else into ERR_BAD_FRAME and never
// throws anything but a ProtocolError. Every property uses a fixed seed.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { jsonCodec } from "../../src/wire/codec.js";
import {
  type ControlFrame,
  controlFrame,
  type Frame,
  MAX_FRAMES_PER_PACKET,
  type Operation,
  parseFrame,
  parsePacket,
  PROTOCOL_VERSION,
  sequencedFrame,
} from "../../src/wire/frames.js";
import { ProtocolError } from "../../src/wire/protocol-error.js";
import { assertThrowsCode } from "../helpers/errors.js";

/** Builder → codec text (one frame per packet) → decodePacket → parsePacket. */
function throughWire(frame: unknown[]): Frame[] {
  const text = jsonCodec.joinPacket([jsonCodec.encodeFrame(frame)]);
  return parsePacket(jsonCodec.decodePacket(text));
}

function assertBadFrame(f: () => unknown, what: string): void {
  assertThrowsCode(f, "ERR_BAD_FRAME", what, ProtocolError);
}

/** parsePacket's contract: frames, or a ProtocolError (ERR_BAD_FRAME); nothing else. */
function parsesOrBadFrame(packet: unknown): Frame[] | ProtocolError {
  try {
    const frames = parsePacket(packet);
    assert.ok(Array.isArray(frames), "parsePacket returns an array");
    assert.equal(frames.length, (packet as unknown[]).length, "one frame per element");
    return frames;
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `parsePacket threw something other than a ProtocolError: ${String(error)}`);
    assert.equal(error.code, "ERR_BAD_FRAME", "parsePacket's errors are ERR_BAD_FRAME");
    return error;
  }
}

const controlFrames: ControlFrame[] = [
  { kind: "hello", version: PROTOCOL_VERSION, body: { sid: null, secret: null, recv: 0 } },
  { kind: "hello", version: PROTOCOL_VERSION, body: { sid: "AAAAAAAAAAAAAAAAAAAAAA", secret: "BBBBBBBBBBBBBBBBBBBBBB", recv: 17 } },
  { kind: "hello", version: PROTOCOL_VERSION, body: { sid: null, secret: null, recv: 0, lazyAnswers: true } },
  {
    kind: "welcome",
    version: PROTOCOL_VERSION,
    body: { sid: "AAAAAAAAAAAAAAAAAAAAAA", secret: "BBBBBBBBBBBBBBBBBBBBBB", recv: 0, resumed: false, heartbeat: 25_000, window: 16, limits: { maxMessageSize: 1 << 20, maxChannels: 1024 } },
  },
  {
    kind: "welcome",
    version: PROTOCOL_VERSION,
    body: { sid: "AAAAAAAAAAAAAAAAAAAAAA", secret: null, recv: 9, resumed: true, heartbeat: 0, window: 1, limits: { maxMessageSize: 0, maxChannels: 0 } },
  },
  {
    kind: "welcome",
    version: PROTOCOL_VERSION,
    body: { sid: "AAAAAAAAAAAAAAAAAAAAAA", secret: null, recv: 9, resumed: true, heartbeat: 0, window: 1, limits: { maxMessageSize: 0, maxChannels: 0 }, lazyAnswers: true },
  },
  { kind: "ack", seq: 1 },
  { kind: "ack", seq: Number.MAX_SAFE_INTEGER },
  { kind: "ping", token: 42 },
  { kind: "ping", token: "t" },
  { kind: "pong", token: 0 },
  { kind: "pong", token: null },
  { kind: "error", code: "ERR_SEQUENCE", message: "frames were skipped", fatal: true },
  { kind: "error", code: "ERR_UNKNOWN_CHANNEL", message: "", fatal: false },
  { kind: "bye", reason: "done" },
  { kind: "bye", reason: "" },
];

const operations: Operation[] = [
  { op: "p", target: "n:chat", value: { text: "hi", "~~c": 1 } },
  { op: "p", target: "s.T1.3", value: null },
  { op: "p", target: "c.1", value: [1, "two", { "~c": "c.2" }] },
  { op: "p", target: "n:feed", value: 7, lazy: true },
  { op: "a", putSeq: 5, ok: true },
  { op: "a", putSeq: 6, ok: false },
  { op: "c", ref: "s.T1.1" },
  { op: "r", ref: "c.4", count: 3 },
];

describe("frames: round trip", () => {
  it("every control frame kind round-trips through controlFrame, JSON and parsePacket", () => {
    for (const frame of controlFrames) {
      assert.deepStrictEqual(throughWire(controlFrame(frame)), [frame], `${frame.kind} round trip`);
    }
  });

  it("every sequenced operation round-trips through sequencedFrame, JSON and parsePacket", () => {
    operations.forEach((operation, i) => {
      const seq = i + 1;
      assert.deepStrictEqual(throughWire(sequencedFrame(seq, operation)), [{ kind: "seq", seq, ...operation }], `${operation.op} round trip`);
    });
  });

  it("the wire forms are the protocol's", () => {
    assert.deepStrictEqual(sequencedFrame(3, { op: "p", target: "n:x", value: 1 }), [3, "p", "n:x", 1], "put");
    assert.deepStrictEqual(sequencedFrame(3, { op: "p", target: "n:x", value: 1, lazy: false }), [3, "p", "n:x", 1], "put, prompt");
    assert.deepStrictEqual(sequencedFrame(3, { op: "p", target: "n:x", value: 1, lazy: true }), [3, "p", "n:x", 1, 1], "put with the lazy flag");
    assert.deepStrictEqual(sequencedFrame(4, { op: "a", putSeq: 3, ok: true }), [4, "a", 3, 1], "accepted");
    assert.deepStrictEqual(sequencedFrame(5, { op: "a", putSeq: 3, ok: false }), [5, "a", 3, 0], "refused");
    assert.deepStrictEqual(sequencedFrame(6, { op: "c", ref: "c.1" }), [6, "c", "c.1"], "closed");
    assert.deepStrictEqual(sequencedFrame(7, { op: "r", ref: "c.1", count: 2 }), [7, "r", "c.1", 2], "release");
    assert.deepStrictEqual(controlFrame({ kind: "error", code: "E", message: "m", fatal: true }), ["error", "E", "m", 1], "error fatal 1");
    assert.deepStrictEqual(controlFrame({ kind: "ack", seq: 2 }), ["ack", 2], "ack");
  });

  it("a packet of many frames of every kind round-trips in order", () => {
    const frames: unknown[][] = [...controlFrames.map(controlFrame), ...operations.map((op, i) => sequencedFrame(i + 1, op))];
    const text = jsonCodec.joinPacket(frames.map((f) => jsonCodec.encodeFrame(f)));
    const parsed = parsePacket(jsonCodec.decodePacket(text));
    assert.deepStrictEqual(parsed, [...controlFrames, ...operations.map((op, i) => ({ kind: "seq", seq: i + 1, ...op }))], "all frames, in order");
    assert.deepStrictEqual(parsePacket([]), [], "an empty packet has no frames");
  });

  it("random well-formed frames round-trip (fast-check)", () => {
    const ref = fc.string({ maxLength: 40 });
    const seq = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
    const operation: fc.Arbitrary<Operation> = fc.oneof(
      fc.record({ op: fc.constant("p" as const), target: ref, value: fc.jsonValue() }),
      fc.record({ op: fc.constant("p" as const), target: ref, value: fc.jsonValue(), lazy: fc.constant(true as const) }),
      fc.record({ op: fc.constant("a" as const), putSeq: seq, ok: fc.boolean() }),
      fc.record({ op: fc.constant("c" as const), ref }),
      fc.record({ op: fc.constant("r" as const), ref, count: seq }),
    );
    fc.assert(
      fc.property(seq, operation, (n, op) => {
        const parsed = throughWire(sequencedFrame(n, op));
        // JSON's own round trip of the value (-0 becomes 0 and so on).
        const expected = op.op === "p" ? { ...op, value: JSON.parse(JSON.stringify(op.value)) as unknown } : op;
        assert.deepStrictEqual(parsed, [{ kind: "seq", seq: n, ...expected }], "round trip");
      }),
      { seed: 2001, numRuns: 300 },
    );
  });
});

describe("frames: malformed frames are ERR_BAD_FRAME", () => {
  it("packets and frames of the wrong shape", () => {
    const bad: Array<[string, unknown]> = [
      ["not an array", { frames: [] }],
      ["a string", "[]"],
      ["null", null],
      ["a frame that is not an array", [1]],
      ["an empty frame", [[]]],
      ["an unknown head", [["hullo", 1, {}]]],
      ["a null head", [[null]]],
      ["an object head", [[{}]]],
      ["an array head", [[["ack"], 1]]],
      ["a boolean head", [[true]]],
      ["hello without body", [["hello", 1]]],
      ["hello with an extra element", [["hello", 1, { sid: null, secret: null, recv: 0 }, 1]]],
      ["hello with a string version", [["hello", "1", { sid: null, secret: null, recv: 0 }]]],
      ["hello with a fractional version", [["hello", 1.5, { sid: null, secret: null, recv: 0 }]]],
      ["hello with an array body", [["hello", 1, []]]],
      ["hello with negative recv", [["hello", 1, { sid: null, secret: null, recv: -1 }]]],
      ["hello with a numeric sid", [["hello", 1, { sid: 5, secret: null, recv: 0 }]]],
      ["welcome without limits", [["welcome", 1, { sid: "s", secret: null, recv: 0, resumed: false, heartbeat: 1, window: 1 }]]],
      ["welcome with window 0", [["welcome", 1, { sid: "s", secret: null, recv: 0, resumed: false, heartbeat: 1, window: 0, limits: { maxMessageSize: 1, maxChannels: 1 } }]]],
      ["welcome with resumed 1", [["welcome", 1, { sid: "s", secret: null, recv: 0, resumed: 1, heartbeat: 1, window: 1, limits: { maxMessageSize: 1, maxChannels: 1 } }]]],
      ["welcome with a null sid", [["welcome", 1, { sid: null, secret: null, recv: 0, resumed: false, heartbeat: 1, window: 1, limits: { maxMessageSize: 1, maxChannels: 1 } }]]],
      ["ack 0", [["ack", 0]]],
      ["ack -1", [["ack", -1]]],
      ["ack 1.5", [["ack", 1.5]]],
      ["ack of a string", [["ack", "1"]]],
      ["ack past the safe integers", [["ack", 2 ** 53]]],
      ["ack without number", [["ack"]]],
      ["ping without token", [["ping"]]],
      ["ping with two tokens", [["ping", 1, 2]]],
      ["ping with an object token", [["ping", {}]]],
      ["pong with an array token", [["pong", [1]]]],
      ["error without code", [["error"]]],
      ["error with a numeric code", [["error", 1, "m", 1]]],
      ["error with a numeric message", [["error", "E", 1, 1]]],
      ["bye without reason", [["bye"]]],
      ["bye with a numeric reason", [["bye", 1]]],
      ["seq 0", [[0, "p", "n:x", 1]]],
      ["negative seq", [[-1, "p", "n:x", 1]]],
      ["fractional seq", [[1.5, "p", "n:x", 1]]],
      ["NaN seq", [[Number.NaN, "p", "n:x", 1]]],
      ["unknown op", [[1, "x", "n:x", 1]]],
      ["missing op", [[1]]],
      ["put without value", [[1, "p", "n:x"]]],
      ["put with an extra element", [[1, "p", "n:x", 1, 2]]],
      ["put with a lazy flag of 0", [[1, "p", "n:x", 1, 0]]],
      ["put with a lazy flag of true", [[1, "p", "n:x", 1, true]]],
      ["put with a lazy flag and one more", [[1, "p", "n:x", 1, 1, 1]]],
      ["put with a numeric target", [[1, "p", 5, 1]]],
      ["accepted with ok 2", [[1, "a", 1, 2]]],
      ["accepted with ok true", [[1, "a", 1, true]]],
      ["accepted with putSeq 0", [[1, "a", 0, 1]]],
      ["accepted without ok", [[1, "a", 1]]],
      ["closed with a numeric ref", [[1, "c", 1]]],
      ["closed with an extra element", [[1, "c", "c.1", 1]]],
      ["release without count", [[1, "r", "c.1"]]],
      ["release with count 0", [[1, "r", "c.1", 0]]],
      ["release with a string count", [[1, "r", "c.1", "1"]]],
      ["a bad frame after good ones", [["ack", 1], [1, "c", "c.1"], ["nope"]]],
    ];
    for (const [what, packet] of bad) assertBadFrame(() => parsePacket(packet), what);
  });

  it(`a packet holds at most MAX_FRAMES_PER_PACKET (${MAX_FRAMES_PER_PACKET}) frames`, () => {
    const full = Array.from({ length: MAX_FRAMES_PER_PACKET }, () => ["ping", 1]);
    assert.equal(parsePacket(full).length, MAX_FRAMES_PER_PACKET, "exactly the limit parses");
    assertBadFrame(() => parsePacket([...full, ["ping", 1]]), "one frame more");
    // The count is checked before any frame: a huge packet of garbage is refused as a whole.
    assertBadFrame(() => parsePacket(new Array<unknown>(MAX_FRAMES_PER_PACKET * 10).fill(0)), "ten times the limit");
  });

  it("strings are bounded: targets and refs 1024, error codes 64, messages and reasons 1024, tokens and ids 64", () => {
    const s = (n: number): string => "x".repeat(n);
    const welcome = (sid: string): unknown[] => ["welcome", 1, { sid, secret: null, recv: 0, resumed: false, heartbeat: 1, window: 1, limits: { maxMessageSize: 1, maxChannels: 1 } }];
    const cases: Array<[string, (n: number) => unknown[], number]> = [
      ["put target", (n) => [1, "p", s(n), 1], 1024],
      ["closed ref", (n) => [1, "c", s(n)], 1024],
      ["release ref", (n) => [1, "r", s(n), 1], 1024],
      ["error code", (n) => ["error", s(n), "m", 0], 64],
      ["error message", (n) => ["error", "E", s(n), 0], 1024],
      ["bye reason", (n) => ["bye", s(n)], 1024],
      ["ping token", (n) => ["ping", s(n)], 64],
      ["pong token", (n) => ["pong", s(n)], 64],
      ["hello sid", (n) => ["hello", 1, { sid: s(n), secret: null, recv: 0 }], 64],
      ["hello secret", (n) => ["hello", 1, { sid: null, secret: s(n), recv: 0 }], 64],
      ["welcome sid", (n) => welcome(s(n)), 64],
    ];
    for (const [what, make, max] of cases) {
      assert.equal(parsePacket([make(max)]).length, 1, `${what}: ${max} characters are allowed`);
      assertBadFrame(() => parsePacket([make(max + 1)]), `${what}: ${max + 1} characters are refused`);
      assertBadFrame(() => parsePacket([make(1_000_000)]), `${what}: a million characters are refused`);
    }
  });

  it("a put's value is not validated here (decodeValue does that), but must be present", () => {
    const [frame] = parsePacket([[1, "p", "n:x", { "~bad": 1 }]]);
    assert.deepStrictEqual(frame, { kind: "seq", seq: 1, op: "p", target: "n:x", value: { "~bad": 1 } }, "value passed through untouched");
  });

  it("error frames: fatal is true only for 1", () => {
    for (const [fatal, expected] of [[1, true], [0, false], [true, false], ["1", false], [undefined, false]] as const) {
      const frame = parseFrame(["error", "E", "m", fatal]);
      assert.equal(frame.kind === "error" && frame.fatal, expected, `fatal ${String(fatal)}`);
    }
  });
});

/**
 * Objects a peer can send (they are valid JSON) whose conversion to a string throws:
 * `String({"toString": 1})` is a TypeError ("Cannot convert object to primitive value").
 */
const hostileObjects: Array<[string, string]> = [
  ["an object head with a non-callable toString", '[[{"toString":1}]]'],
  ["an object head with non-callable toString and valueOf", '[[{"toString":1,"valueOf":1}]]'],
  ["an array head holding such an object", '[[[{"toString":1}]]]'],
  ["an object op with a non-callable toString", '[[1,{"toString":1}]]'],
  ["an array op holding such an object", '[[1,[{"toString":0}],"x"]]'],
];

describe("frames: parsePacket never throws anything but ProtocolError", () => {
  for (const [what, text] of hostileObjects) {
    it(`${what} (${text}) is ERR_BAD_FRAME, not a TypeError`, () => {
      assertBadFrame(() => parsePacket(jsonCodec.decodePacket(text)), what);
    });
  }

  it("fc.anything() as a packet", () => {
    fc.assert(
      fc.property(fc.anything(), (packet) => {
        parsesOrBadFrame(packet);
      }),
      { seed: 2002, numRuns: 1000 },
    );
  });

  it("arrays of fc.anything() as a packet, and arrays of arrays as frames", () => {
    fc.assert(
      fc.property(fc.array(fc.anything(), { maxLength: 5 }), fc.array(fc.array(fc.anything(), { maxLength: 5 }), { maxLength: 5 }), (packet, frames) => {
        parsesOrBadFrame(packet);
        parsesOrBadFrame(frames);
      }),
      { seed: 2003, numRuns: 1000 },
    );
  });

  const heads = ["hello", "welcome", "ack", "ping", "pong", "error", "bye"] as const;
  const ops = ["p", "a", "c", "r"] as const;
  const json = fc.jsonValue({ maxDepth: 2 });
  /** JSON values plus the hostile objects above, so the fuzzers can find them. */
  const jsonish = fc.oneof(
    { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>({ toString: 1 }, { valueOf: 1, toString: 1 }, [{ toString: 0 }]) },
  );

  it("random frames starting with each known head", () => {
    const frame = fc.oneof(
      fc.tuple(fc.constantFrom(...heads), fc.array(jsonish, { maxLength: 4 })).map(([head, rest]) => [head, ...rest]),
      fc.tuple(fc.constantFrom(...heads), fc.integer({ min: -1, max: 3 }), jsonish).map(([head, v, body]) => [head, v, body]),
      fc
        .tuple(fc.constantFrom<string>(...heads), fc.integer({ min: 0, max: 2 }), fc.record({ sid: jsonish, secret: jsonish, recv: jsonish, resumed: jsonish, heartbeat: jsonish, window: jsonish, limits: jsonish }, { requiredKeys: [] }))
        .map(([head, v, body]) => [head, v, body]),
    );
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 4 }), (packet) => {
        parsesOrBadFrame(packet);
      }),
      { seed: 2004, numRuns: 2000 },
    );
  });

  it("random sequenced frames with each known op", () => {
    const frame = fc
      .tuple(fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double(), json), fc.oneof(fc.constantFrom<unknown>(...ops), json), fc.array(json, { maxLength: 3 }))
      .map(([seq, op, rest]) => [seq, op, ...rest]);
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 4 }), (packet) => {
        parsesOrBadFrame(packet);
      }),
      { seed: 2005, numRuns: 2000 },
    );
  });

  it("random JSON text through jsonCodec.decodePacket", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.array(fc.array(jsonish, { maxLength: 4 }), { maxLength: 4 }).map((v) => JSON.stringify(v)),
      fc.constantFrom("[", "[[", "[]]", "[[]]", '[["ack",1],]', "null", "[null]", '[["bye","x"]]', "\u0000", ""),
    );
    fc.assert(
      fc.property(text, (packetText) => {
        let packet: unknown;
        try {
          packet = jsonCodec.decodePacket(packetText);
        } catch (error) {
          assert.ok(error instanceof SyntaxError, `the JSON codec fails with a SyntaxError, got ${String(error)}`);
          return;
        }
        parsesOrBadFrame(packet);
      }),
      { seed: 2006, numRuns: 2000 },
    );
  });
});

describe("codec: jsonCodec", () => {
  it("joinPacket makes a JSON array of the frames", () => {
    assert.equal(jsonCodec.name, "json", "name");
    assert.equal(jsonCodec.joinPacket([]), "[]", "no frames");
    assert.equal(jsonCodec.joinPacket(['["ack",1]']), '[["ack",1]]', "one frame");
    assert.equal(jsonCodec.joinPacket(['["ack",1]', '["ping",2]']), '[["ack",1],["ping",2]]', "two frames");
    assert.deepStrictEqual(jsonCodec.decodePacket('[["ack",1]]'), [["ack", 1]], "decode");
  });

  it("renumber and framePut write, with the lazy flag or without, the text encodeFrame writes for that frame (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.string({ maxLength: 20 }), fc.jsonValue(), fc.boolean(), (seq, target, value, lazy) => {
        const expected = jsonCodec.encodeFrame(sequencedFrame(seq, { op: "p", target, value, lazy }));
        assert.equal(jsonCodec.renumber(jsonCodec.encodeFrame(sequencedFrame(0, { op: "p", target, value })), seq, lazy), expected, "renumber");
        assert.equal(jsonCodec.framePut(seq, target, jsonCodec.encodeValue(value), lazy), expected, "framePut");
      }),
      { seed: 2002, numRuns: 300 },
    );
  });

  it("encodeFrame throws a TypeError for a BigInt", () => {
    assert.throws(() => jsonCodec.encodeFrame([1, "p", "n:x", 1n]), TypeError, "BigInt");
  });
});
