// Values on the wire (docs/protocol.md section 2, "Values"): encodeValue/decodeValue through
// JSON text, the "~" escaping, channel references, prototype safety, JSON.stringify semantics,
// and the limits. Every property uses a fixed seed, so a run is the same every time.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeValue, encodeValue, MAX_DEPTH, REF_KEY, type RefReader, type RefWriter } from "../../src/wire/values.js";
import { ProtocolError } from "../../src/wire/protocol-error.js";
import { assertThrowsCode } from "../helpers/errors.js";

/** Stands in for a channel: the tests' writeRef recognises instances of it. */
class FakeChannel {
  constructor(readonly id: number) {}
}

/** A writeRef/readRef pair that maps FakeChannels to "t.<id>" and back, counting calls. */
function refTable(): { write: RefWriter; read: RefReader; writes: string[]; reads: string[]; byRef: Map<string, FakeChannel> } {
  const byRef = new Map<string, FakeChannel>();
  const writes: string[] = [];
  const reads: string[] = [];
  return {
    byRef,
    writes,
    reads,
    write: (object) => {
      if (!(object instanceof FakeChannel)) return undefined;
      const ref = `t.${object.id}`;
      byRef.set(ref, object);
      writes.push(ref);
      return ref;
    },
    read: (ref) => {
      reads.push(ref);
      const found = byRef.get(ref);
      if (found === undefined) throw new Error(`test: unknown ref ${ref}`);
      return found;
    },
  };
}

const noRefs: RefWriter = () => undefined;
const failRead: RefReader = (ref) => assert.fail(`readRef must not be called (called with ${JSON.stringify(ref)})`);

/** encode → JSON text → JSON.parse → decode. */
function roundTrip(value: unknown, write: RefWriter = noRefs, read: RefReader = failRead): unknown {
  const wire = encodeValue(value, write);
  const text = JSON.stringify(wire);
  assert.equal(typeof text, "string", "an encoded value must serialise to JSON text");
  return decodeValue(JSON.parse(text) as unknown, read);
}

/** What JSON alone makes of a value. */
function viaJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) as string) as unknown;
}

function nestedArrays(levels: number, inner: unknown = 0): unknown {
  let value: unknown = inner;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

function nestedObjects(levels: number, inner: unknown = 0): unknown {
  let value: unknown = inner;
  for (let i = 0; i < levels; i++) value = { k: value };
  return value;
}

function assertWireValueError(f: () => unknown, what: string): void {
  assertThrowsCode(f, "ERR_WIRE_VALUE", what, TypeError);
}

function assertBadFrame(f: () => unknown, what: string): void {
  assertThrowsCode(f, "ERR_BAD_FRAME", what, ProtocolError);
}

/** Keys that exercise the "~" escaping. */
const tildeKey = fc.oneof(
  fc.constantFrom("~", "~~", "~~~", "~c", "~~c", "~~~c", "~x", "c", "", "__proto__"),
  fc.string({ maxLength: 6 }).map((s) => `~${s}`),
  fc.string({ maxLength: 6 }).map((s) => `~~${s}`),
  fc.string({ maxLength: 6 }),
);

/** JSON values whose objects often have keys starting with "~", including {"~c": string}. */
const tildeJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(tildeKey, tie("value"), { maxKeys: 4 }),
    fc.string({ maxLength: 8 }).map((ref) => ({ "~c": ref })),
    tie("value").map((v) => ({ "~c": v })),
  ),
})).value;

describe("values: round trip of JSON data", () => {
  it("any JSON value comes back equal (fc.jsonValue)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.deepStrictEqual(roundTrip(value), viaJson(value), "round trip equals JSON's own round trip");
      }),
      { seed: 1001, numRuns: 500 },
    );
  });

  it("objects with keys starting with ~ come back unchanged, and never as references", () => {
    fc.assert(
      fc.property(tildeJson, (value) => {
        const refs = refTable();
        assert.deepStrictEqual(roundTrip(value, refs.write, refs.read), viaJson(value), "round trip keeps ~ keys as data");
        assert.deepStrictEqual(refs.reads, [], "no ~ key of user data is read as a reference");
      }),
      { seed: 1002, numRuns: 500 },
    );
  });

  it('a user object {"~c": "x"} is data: it travels as {"~~c": "x"} and comes back as {"~c": "x"}', () => {
    const wire = encodeValue({ "~c": "x" }, noRefs);
    assert.deepStrictEqual(wire, { "~~c": "x" }, "one more ~ on the wire");
    assert.deepStrictEqual(roundTrip({ "~c": "x" }), { "~c": "x" }, "back unchanged");
    assert.deepStrictEqual(roundTrip([{ "~c": "x" }, { "~~c": 1 }, { "~": 2, "~~": 3 }]), [{ "~c": "x" }, { "~~c": 1 }, { "~": 2, "~~": 3 }], "several levels of ~");
    assert.deepStrictEqual(encodeValue({ "~~c": 1, a: 2 }, noRefs), { "~~~c": 1, a: 2 }, "~~c travels as ~~~c");
  });

  it("a value without channels or ~ keys is returned as is, both ways", () => {
    const value = { a: [1, { b: "x" }], c: null };
    assert.equal(encodeValue(value, noRefs), value, "encode shares an unchanged value");
    assert.equal(decodeValue(value, failRead), value, "decode shares an unchanged value");
  });

  it("unchanged sub-objects are shared, not copied, when a sibling changes", () => {
    const refs = refTable();
    const shared = { deep: { list: [1, 2, 3] } };
    const list = [4, 5];
    const ch = new FakeChannel(1);
    const value = { shared, ch, list, "~k": shared };
    const wire = encodeValue(value, refs.write) as Record<string, unknown>;
    assert.notEqual(wire, value, "the object holding a channel is rebuilt");
    assert.equal(wire.shared, shared, "the unchanged sibling object is the same object");
    assert.equal(wire.list, list, "the unchanged sibling array is the same array");
    assert.equal(wire["~~k"], shared, "a renamed key keeps its unchanged value");
    assert.deepStrictEqual(wire.ch, { [REF_KEY]: "t.1" }, "the channel became a reference");

    const arrayValue = [shared, ch, list];
    const wireArray = encodeValue(arrayValue, refs.write) as unknown[];
    assert.equal(wireArray[0], shared, "array: unchanged item before the change is shared");
    assert.equal(wireArray[2], list, "array: unchanged item after the change is shared");

    const decoded = decodeValue(wire, refs.read) as Record<string, unknown>;
    assert.equal(decoded.shared, shared, "decode shares unchanged parts too");
    assert.equal(decoded.list, list, "decode shares unchanged arrays");
    assert.equal(decoded.ch, ch, "the reference came back as the channel");
    assert.equal(decoded["~k"], shared, "the escaped key is back, value shared");
    assert.deepStrictEqual(shared, { deep: { list: [1, 2, 3] } }, "the shared input was not modified");
  });

  it("the input value is never modified", () => {
    fc.assert(
      fc.property(tildeJson, (value) => {
        const before = JSON.stringify(value);
        encodeValue(value, noRefs);
        assert.equal(JSON.stringify(value), before, "encodeValue leaves its input alone");
        const wire = viaJson(encodeValue(value, noRefs));
        const wireBefore = JSON.stringify(wire);
        decodeValue(wire, failRead);
        assert.equal(JSON.stringify(wire), wireBefore, "decodeValue leaves its input alone");
      }),
      { seed: 1003, numRuns: 200 },
    );
  });
});

describe("values: channels", () => {
  it('channels anywhere in a value become {"~c": ref} and come back through readRef', () => {
    const refs = refTable();
    const a = new FakeChannel(1);
    const b = new FakeChannel(2);
    const value = { a, list: [b, { again: a }], "~c": a, plain: 1 };
    const wire = encodeValue(value, refs.write);
    assert.deepStrictEqual(
      viaJson(wire),
      { a: { "~c": "t.1" }, list: [{ "~c": "t.2" }, { again: { "~c": "t.1" } }], "~~c": { "~c": "t.1" }, plain: 1 },
      "the wire form",
    );
    assert.deepStrictEqual(refs.writes, ["t.1", "t.2", "t.1", "t.1"], "writeRef is asked once per occurrence");
    const back = decodeValue(JSON.parse(JSON.stringify(wire)) as unknown, refs.read) as typeof value;
    assert.equal(back.a, a, "a");
    assert.equal(back.list[0], b, "b");
    assert.equal((back.list[1] as { again: unknown }).again, a, "a again");
    assert.equal(back["~c"], a, "a under the ~c key of user data");
    assert.equal(back.plain, 1, "plain data");
    assert.deepStrictEqual(refs.reads, ["t.1", "t.2", "t.1", "t.1"], "readRef is asked once per occurrence");
  });

  it("a channel at the top of a value is a reference", () => {
    const refs = refTable();
    const a = new FakeChannel(7);
    assert.deepStrictEqual(encodeValue(a, refs.write), { "~c": "t.7" }, "top-level channel");
    assert.equal(roundTrip(a, refs.write, refs.read), a, "and back");
  });

  it("whatever readRef returns is what the application gets", () => {
    const marker = { proxy: true };
    assert.equal(decodeValue({ "~c": "anything" }, () => marker), marker, "top level");
    assert.deepStrictEqual(decodeValue([{ "~c": "x" }, 1], () => marker), [marker, 1], "inside an array");
  });

  it("a channel returned by toJSON is a reference too", () => {
    const refs = refTable();
    const a = new FakeChannel(3);
    const value = { wrapper: { toJSON: () => ({ inner: a }) } };
    assert.deepStrictEqual(viaJson(encodeValue(value, refs.write)), { wrapper: { inner: { "~c": "t.3" } } }, "the toJSON result is encoded");
  });

  it("random values with channels in random places round-trip to the same channels", () => {
    const pool = Array.from({ length: 4 }, (_, i) => new FakeChannel(i));
    const withChannels = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null)),
        fc.integer({ min: 0, max: 3 }).map((i) => pool[i] as FakeChannel),
        fc.array(tie("value"), { maxLength: 4 }),
        // Plain objects: a decoded object always has Object.prototype.
        fc.dictionary(tildeKey, tie("value"), { maxKeys: 4, noNullPrototype: true }),
      ),
    })).value;
    fc.assert(
      fc.property(withChannels, (value) => {
        const refs = refTable();
        const back = roundTrip(value, refs.write, refs.read);
        // Channels are compared by identity: deepStrictEqual on FakeChannel compares id and prototype.
        assert.deepStrictEqual(back, value, "same structure, same channels");
        assert.equal(refs.reads.length, refs.writes.length, "every reference written is read once");
      }),
      { seed: 1004, numRuns: 300 },
    );
  });
});

describe("values: prototype safety", () => {
  const hostile = '{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "prototype": {"polluted": 3}, "a": {"__proto__": {"polluted": 4}}}';

  function assertNoPollution(): void {
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined, "Object.prototype untouched");
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "a fresh object sees no polluted key");
    assert.equal(Object.getPrototypeOf(Object.prototype), null, "Object.prototype's own prototype unchanged");
  }

  function assertOwnDataKeys(result: unknown, what: string): void {
    assert.equal(Object.getPrototypeOf(result), Object.prototype, `${what}: a plain object`);
    const record = result as Record<string, unknown>;
    for (const key of ["__proto__", "constructor", "prototype"]) {
      const descriptor = Object.getOwnPropertyDescriptor(record, key);
      assert.ok(descriptor !== undefined, `${what}: ${key} is an own property`);
      assert.ok("value" in descriptor && descriptor.enumerable === true, `${what}: ${key} is an enumerable data property`);
    }
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(record, "__proto__")?.value, { polluted: 1 }, `${what}: __proto__ holds its data`);
    const inner = record.a;
    assert.equal(Object.getPrototypeOf(inner), Object.prototype, `${what}: nested object is plain`);
    assert.ok(Object.hasOwn(inner as object, "__proto__"), `${what}: nested __proto__ is own data`);
  }

  it("__proto__, constructor and prototype stay own data keys through an unchanged round trip", () => {
    const result = roundTrip(JSON.parse(hostile) as unknown);
    assertOwnDataKeys(result, "unchanged");
    assertNoPollution();
  });

  it("they stay own data keys when the decoder rebuilds the object (a ~ key forces a copy)", () => {
    const value = JSON.parse(hostile) as Record<string, unknown>;
    value["~rebuild"] = 1;
    (value.a as Record<string, unknown>)["~x"] = 2;
    const wire = JSON.parse(JSON.stringify(encodeValue(value, noRefs))) as unknown;
    const result = decodeValue(wire, failRead) as Record<string, unknown>;
    assertOwnDataKeys(result, "rebuilt");
    assert.equal(result["~rebuild"], 1, "the ~ key came back");
    assert.equal((result.a as Record<string, unknown>)["~x"], 2, "the nested ~ key came back");
    assertNoPollution();
  });

  it("they stay own data keys when the decoder rebuilds the object around a reference", () => {
    const marker = new FakeChannel(9);
    const wire = JSON.parse(hostile.replace('"prototype": {"polluted": 3}', '"prototype": {"polluted": 3}, "ch": {"~c": "t.9"}')) as unknown;
    const result = decodeValue(wire, () => marker) as Record<string, unknown>;
    assertOwnDataKeys(result, "around a reference");
    assert.equal(result.ch, marker, "the reference was read");
    assertNoPollution();
  });

  it("the encoder keeps an own __proto__ key as data when it rebuilds an object", () => {
    const refs = refTable();
    const value = JSON.parse(hostile) as Record<string, unknown>;
    value.ch = new FakeChannel(1);
    const wire = encodeValue(value, refs.write) as Record<string, unknown>;
    assert.notEqual(wire, value, "rebuilt");
    assertOwnDataKeys(wire, "encoded");
    const back = decodeValue(JSON.parse(JSON.stringify(wire)) as unknown, refs.read);
    assertOwnDataKeys(back, "encoded and decoded");
    assertNoPollution();
  });

  it("escaped ~__proto__ keys come back as __proto__ data", () => {
    const value = JSON.parse('{"~__proto__": {"polluted": 5}, "~constructor": 1}') as Record<string, unknown>;
    const result = roundTrip(value) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(result), Object.prototype, "plain object");
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(result, "~__proto__")?.value, { polluted: 5 }, "data kept");
    assertNoPollution();
    const wire = JSON.parse('{"~~__proto__": {"polluted": 6}}') as unknown;
    const decoded = decodeValue(wire, failRead);
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype, "~~__proto__ decodes to a plain object");
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(decoded, "~__proto__")?.value, { polluted: 6 }, "as own data");
    assertNoPollution();
  });

  it("random objects with these keys never touch a prototype", () => {
    const key = fc.constantFrom("__proto__", "constructor", "prototype", "~__proto__", "~~c", "toString", "valueOf", "a");
    const hostileJson = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue({ maxDepth: 0 }),
        fc.array(tie("value"), { maxLength: 3 }),
        fc.dictionary(key, tie("value"), { maxKeys: 5 }),
      ),
    })).value;
    fc.assert(
      fc.property(hostileJson, (value) => {
        // Through JSON text, so "__proto__" keys are own properties as they would be off the wire.
        const parsed = viaJson(value);
        const result = roundTrip(parsed);
        assert.deepStrictEqual(result, parsed, "round trip");
        assertNoPollution();
      }),
      { seed: 1005, numRuns: 300 },
    );
  });
});

describe("values: JSON.stringify semantics", () => {
  it("toJSON, Date, undefined and functions behave as in JSON.stringify", () => {
    const date = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    const fixtures: Array<[string, unknown]> = [
      ["a Date", { when: date }],
      ["a Date at the top", date],
      ["toJSON in an object", { a: { toJSON: () => "A" } }],
      ["toJSON gets its key", { k: { toJSON: (key: string) => `key:${key}` }, list: [{ toJSON: (key: string) => `key:${key}` }] }],
      ["undefined and functions in an array", [undefined, () => 1, Symbol("s"), 2]],
      ["undefined, functions and symbols in an object", { u: undefined, f() {}, s: Symbol("s"), kept: 1 }],
      ["NaN and Infinity", { n: Number.NaN, i: Number.POSITIVE_INFINITY, m: -0 }],
      ["boxed primitives", { s: new String("s"), n: new Number(1), b: new Boolean(false) }],
      ["a Map (no own enumerable keys)", { m: new Map([[1, 2]]) }],
      ["toJSON returning undefined inside an object", { gone: { toJSON: () => undefined }, kept: 1 }],
      ["toJSON returning undefined inside an array", [{ toJSON: () => undefined }]],
      ["non-enumerable and symbol keys", Object.defineProperties({ v: 1 }, { hidden: { value: 2, enumerable: false }, [Symbol("k")]: { value: 3, enumerable: true } })],
    ];
    for (const [what, value] of fixtures) {
      assert.deepStrictEqual(roundTrip(value), viaJson(value), what);
    }
  });

  it("undefined in an array becomes null after the round trip; functions in objects are dropped", () => {
    assert.deepStrictEqual(roundTrip([1, undefined, 3]), [1, null, 3], "undefined in an array");
    assert.deepStrictEqual(roundTrip({ a: 1, f: () => 2, u: undefined }), { a: 1 }, "function and undefined in an object");
  });

  it("a BigInt anywhere is refused by the encoder itself (ERR_WIRE_VALUE), not later by the codec", () => {
    for (const value of [1n, { a: 1n }, [1n], { deep: [{ x: 2n }] }]) {
      assertWireValueError(() => encodeValue(value, noRefs), `BigInt in ${typeof value}`);
    }
  });

  it("a value shared in several places (no cycle) is fine", () => {
    const shared = { x: 1 };
    assert.deepStrictEqual(roundTrip({ a: shared, b: [shared, shared] }), { a: { x: 1 }, b: [{ x: 1 }, { x: 1 }] }, "a DAG is not a cycle");
  });

  // JSON.stringify calls toJSON once and serialises what it returns as is: the result's own
  // toJSON is not called. A toJSON returning `this` is a common pattern.
  it("toJSON is called once, as in JSON.stringify: a toJSON returning this serialises the object's fields", () => {
    const self = {
      a: 1,
      toJSON(): unknown {
        return this;
      },
    };
    assert.deepStrictEqual(viaJson(self), { a: 1 }, "what JSON.stringify does");
    let result: unknown;
    assert.doesNotThrow(() => {
      result = roundTrip(self);
    }, "encodeValue must not recurse into the same toJSON forever");
    assert.deepStrictEqual(result, { a: 1 }, "same as JSON.stringify");
  });

  it("toJSON is called once, as in JSON.stringify: the result's own toJSON is not called", () => {
    const nested = { toJSON: () => ({ toJSON: () => 5, b: 2 }) };
    assert.deepStrictEqual(viaJson(nested), { b: 2 }, "what JSON.stringify does");
    assert.deepStrictEqual(roundTrip(nested), { b: 2 }, "same as JSON.stringify");
  });
});

describe("values: refused values", () => {
  it("undefined, a function or a symbol at the top throws a TypeError (ERR_WIRE_VALUE)", () => {
    assertWireValueError(() => encodeValue(undefined, noRefs), "undefined");
    assertWireValueError(() => encodeValue(() => 1, noRefs), "function");
    assertWireValueError(() => encodeValue(Symbol("s"), noRefs), "symbol");
  });

  // The protocol refuses `undefined` at the top "before anything is sent"; an object whose
  // toJSON returns undefined is exactly that (JSON.stringify(value) is undefined).
  it("a value whose toJSON returns undefined at the top is refused like undefined", () => {
    assertWireValueError(() => encodeValue({ toJSON: () => undefined }, noRefs), "toJSON returning undefined at the top");
  });

  it("cycles throw a TypeError (ERR_WIRE_VALUE)", () => {
    const object: Record<string, unknown> = { a: 1 };
    object.self = object;
    assertWireValueError(() => encodeValue(object, noRefs), "object cycle");
    const array: unknown[] = [1];
    array.push([array]);
    assertWireValueError(() => encodeValue(array, noRefs), "array cycle");
    const viaToJSON: Record<string, unknown> = {};
    viaToJSON.x = { toJSON: () => viaToJSON };
    assertWireValueError(() => encodeValue(viaToJSON, noRefs), "cycle through toJSON");
  });

  it(`nesting: ${MAX_DEPTH} levels encode and decode, ${MAX_DEPTH + 1} throw (TypeError on encode, ERR_BAD_FRAME on decode)`, () => {
    assert.equal(MAX_DEPTH, 256, "the protocol's depth");
    for (const make of [nestedArrays, nestedObjects]) {
      const ok = make(MAX_DEPTH);
      assert.deepStrictEqual(roundTrip(ok), ok, `${make.name}: ${MAX_DEPTH} levels round-trip`);
      const tooDeep = make(MAX_DEPTH + 1);
      assertWireValueError(() => encodeValue(tooDeep, noRefs), `${make.name}: encode ${MAX_DEPTH + 1} levels`);
      assertBadFrame(() => decodeValue(tooDeep, failRead), `${make.name}: decode ${MAX_DEPTH + 1} levels`);
    }
    // Deeper still, as a peer could send: an error, not a stack overflow.
    const veryDeep = JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`) as unknown;
    assertBadFrame(() => decodeValue(veryDeep, failRead), "decode 100000 levels");
    assertWireValueError(() => encodeValue(veryDeep, noRefs), "encode 100000 levels");
    // A reference at the deepest allowed level is still read.
    const marker = { m: 1 };
    assert.deepStrictEqual(decodeValue(nestedArrays(MAX_DEPTH - 1, { "~c": "r" }), () => marker), nestedArrays(MAX_DEPTH - 1, marker), "reference at depth 255");
  });

  it('a key with a single "~" other than a well-formed {"~c": string} is ERR_BAD_FRAME', () => {
    const bad: Array<[string, unknown]> = [
      ["~x", { "~x": 1 }],
      ["lone ~", { "~": 1 }],
      ["~c with a sibling", { "~c": "r", other: 1 }],
      ["~c next to ~~c", { "~c": "r", "~~c": 1 }],
      ["nested ~y", { a: [{ ok: 1 }, { "~y": 2 }] }],
      ["~C (case matters)", { "~C": "r" }],
      ["~c1", { "~c1": "r" }],
    ];
    for (const [what, value] of bad) assertBadFrame(() => decodeValue(value, failRead), what);
  });

  it("a reference that is not a string is ERR_BAD_FRAME", () => {
    for (const ref of [1, null, true, ["r"], { "~c": "r" }, {}]) {
      assertBadFrame(() => decodeValue({ "~c": ref }, failRead), `ref ${JSON.stringify(ref)}`);
      assertBadFrame(() => decodeValue([0, { deep: { "~c": ref } }], failRead), `nested ref ${JSON.stringify(ref)}`);
    }
  });

  it("decoding random wire data either succeeds or throws ERR_BAD_FRAME, nothing else", () => {
    const wireKey = fc.oneof(fc.constantFrom("~c", "~", "~~", "~~c", "__proto__", "a"), fc.string({ maxLength: 4 }));
    const wire = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue({ maxDepth: 0 }),
        fc.array(tie("value"), { maxLength: 3 }),
        fc.dictionary(wireKey, tie("value"), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(wire, (value) => {
        try {
          decodeValue(viaJson(value), () => null);
        } catch (error) {
          assert.ok(error instanceof ProtocolError, `only ProtocolError, got ${String(error)}`);
          assert.equal(error.code, "ERR_BAD_FRAME", "code");
        }
      }),
      { seed: 1006, numRuns: 500 },
    );
  });
});
